"""The place, deprivation and harm marts on the demo: the town-centre hotspot is found, every row carries its
disclosure class, and harm built on the illustrative weights says so."""

import polars as pl
import pytest
import shapely

from pipeline.demo.hotspots import TOWN_CENTRES
from pipeline.geography import read_boundaries
from pipeline.paths import REFERENCE_DIR

MARTS = ("area_rates", "concentration", "hotspots", "deprivation", "harm", "time_profiles", "violence_profile")


@pytest.mark.parametrize("mart", MARTS)
def test_every_mart_row_carries_a_disclosure_class(demo_workspace, mart):
    ws, _ = demo_workspace
    frame = pl.read_parquet(ws.marts / f"{mart}.parquet")
    assert frame.height > 0
    assert set(frame["disclosure_class"].unique()) <= {"public", "restricted"}
    assert frame["disclosure_class"].null_count() == 0


def test_halifax_town_centre_is_a_persistent_hotspot(demo_workspace):
    ws, _ = demo_workspace
    _, longitude, latitude, _ = next(c for c in TOWN_CENTRES if c[0] == "Halifax")
    shapes = read_boundaries(REFERENCE_DIR / "calderdale_lsoa11_bsc.geojson")
    centre = next(code for code, shape in shapes.items() if shape.contains(shapely.Point(longitude, latitude)))
    hotspots = pl.read_parquet(ws.marts / "hotspots.parquet").filter(
        pl.col("indicator_id") == "total_crime", pl.col("area_type") == "lsoa", pl.col("complete"))
    latest = hotspots.filter(pl.col("period_start") == pl.col("period_start").max())
    row = latest.filter(pl.col("area_code") == centre).row(0, named=True)
    assert row["above_partnership"] and row["gi_star_hot"] and row["hot"] and row["persistent"], row
    # a hotspot is a few places, not the map
    assert latest["hot"].sum() < latest.height / 4


def test_area_rates_compare_each_interval_with_the_partnership(demo_workspace):
    ws, _ = demo_workspace
    rates = pl.read_parquet(ws.marts / "area_rates.parquet")
    assert set(rates["area_type"]) == {"ward", "lsoa"}
    above = rates.filter(pl.col("significance") == "above")
    assert above.height > 0 and (above["lower"] > above["partnership_value"]).all()
    similar = rates.filter(pl.col("significance") == "similar")
    assert ((similar["lower"] <= similar["partnership_value"]) & (similar["upper"] >= similar["partnership_value"])).all()


def test_harm_shares_add_up_and_the_illustrative_weights_are_labelled(demo_workspace):
    ws, _ = demo_workspace
    harm = pl.read_parquet(ws.marts / "harm.parquet")
    groups = harm.filter(pl.col("offence_group") != "All offences")
    totals = groups.group_by("partnership_id", "period").agg(pl.col("harm_share").sum(), pl.col("offences").sum())
    assert totals["harm_share"].to_list() == pytest.approx([100.0] * totals.height)
    overall = harm.filter(pl.col("offence_group") == "All offences").join(totals, on=["partnership_id", "period"])
    assert (overall["offences"] == overall["offences_right"]).all()
    assert harm["weights_illustrative"].all()
    assert harm["weights_source"].str.contains("not the ONS Crime Severity Score").all()


def test_crime_concentrates_in_the_most_deprived_fifth(demo_workspace):
    ws, _ = demo_workspace
    deprivation = pl.read_parquet(ws.marts / "deprivation.parquet").filter(pl.col("indicator_id") == "total_crime")
    assert deprivation.height > 0
    assert (deprivation["rate_ratio_lower"] > 1).all()
    concentration = pl.read_parquet(ws.marts / "concentration.parquet").filter(pl.col("indicator_id") == "total_crime")
    assert ((concentration["top5_share"] > 0.05) & (concentration["top10_share"] >= concentration["top5_share"])).all()
