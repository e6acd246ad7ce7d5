"""Time profiles and the Serious Violence Duty profile on the demo: the analytics find the weekend-night and
evening peaks the demo plants (pipeline/demo/timeline.py) and the Halifax town centre. (Every row's disclosure
class: test_assessment_place.py.)"""

import numpy as np
import polars as pl
import shapely

from pipeline.analysis.time_profiles import is_nte
from pipeline.demo.hotspots import TOWN_CENTRES
from pipeline.demo.timeline import HOURS, WEEKDAYS
from pipeline.geography import read_boundaries
from pipeline.paths import REFERENCE_DIR

VIOLENCE_SOURCES = ("police_crimes", "health_ambulance", "health_istv")


def latest_complete(frame: pl.DataFrame) -> pl.DataFrame:
    complete = frame.filter(pl.col("complete"))
    return complete.filter(pl.col("period_start") == complete["period_start"].max())


def test_violence_peaks_on_friday_and_saturday_nights(demo_workspace):
    ws, _ = demo_workspace
    profiles = latest_complete(pl.read_parquet(ws.marts / "time_profiles.parquet").filter(pl.col("theme") == "serious violence"))
    assert set(profiles["source"]) == set(VIOLENCE_SOURCES)
    for source in VIOLENCE_SOURCES:
        rows = profiles.filter(pl.col("source") == source)
        cells = rows.filter(pl.col("measure") == "hour_weekday")
        assert cells.height == 168
        peak = cells.sort("numerator", descending=True).head(1)
        # the busiest hour of the week falls on a Friday or Saturday night
        assert peak.select(is_nte(pl.col("weekday"), pl.col("hour"))).item(), (source, peak.row(0, named=True))
        nte = rows.filter(pl.col("measure") == "night_time_economy").row(0, named=True)
        assert nte["significance"] == "above" and nte["lower"] > nte["expected"], (source, nte)


def test_all_crime_peaks_on_weekend_evenings(demo_workspace):
    ws, _ = demo_workspace
    cells = latest_complete(pl.read_parquet(ws.marts / "time_profiles.parquet").filter(
        pl.col("theme") == "crime", pl.col("source") == "police_crimes", pl.col("measure") == "hour_weekday"))
    peak = cells.sort("numerator", descending=True).row(0, named=True)
    busiest_days = {int(d) + 1 for d in np.argsort(WEEKDAYS["weekend"])[-2:]}  # the demo's two busiest days
    evening = np.array(HOURS["evening"])
    evening_hours = set(np.flatnonzero(evening >= 0.8 * evening.max()).tolist())  # its evening peak
    assert peak["weekday"] in busiest_days and peak["hour"] in evening_hours, peak


def test_the_violence_profile_finds_the_town_centre_and_says_what_is_missing(demo_workspace):
    ws, _ = demo_workspace
    profile = pl.read_parquet(ws.marts / "violence_profile.parquet")
    assert set(profile["section"]) == {"where", "when", "who", "drivers", "data_gaps"}
    assert profile["finding"].null_count() == 0
    _, longitude, latitude, _ = next(c for c in TOWN_CENTRES if c[0] == "Halifax")
    shapes = read_boundaries(REFERENCE_DIR / "calderdale_lsoa11_bsc.geojson")
    centre = next(code for code, shape in shapes.items() if shape.contains(shapely.Point(longitude, latitude)))
    hotspots = pl.read_parquet(ws.marts / "hotspots.parquet")
    town_ward = hotspots.filter(pl.col("area_type") == "lsoa", pl.col("area_code") == centre)["ward_code"].unique().item()
    top = profile.filter(pl.col("section") == "where", pl.col("indicator_id") == "non_domestic_violence_with_injury", pl.col("rank") == 1)
    assert top.height == 1 and top["area_type"].item() == "ward" and top["area_code"].item() == town_ward
    drivers = profile.filter(pl.col("section") == "drivers")
    ratio = drivers.filter(pl.col("measure") == "deprivation_rate_ratio", pl.col("source") == "police_crimes").row(0, named=True)
    assert ratio["lower"] > 1 and ratio["significance"] == "above"
    assert drivers.filter(pl.col("measure") == "night_time_economy").height == len(VIOLENCE_SOURCES)
    gaps = profile.filter(pl.col("section") == "data_gaps")
    assert set(gaps.filter(pl.col("measure") == "quarters_received")["source"]) == set(VIOLENCE_SOURCES)
    assert gaps.filter(pl.col("measure") == "drugs_flag")["significance"].to_list() == ["not recorded"]
