"""A&E assault attendances at Calderdale Royal Hospital in the Information Sharing to Tackle Violence
minimum data set (SCCI1594): one row per attendance, no patient identifiers, the place at most an outward
postcode and a street.

The attendances echo the police's violence with injury: a share of those crimes (more of the night-time
economy's and of knife crimes, fewer of domestic abuse) brought someone to the emergency department, at the
crime's time and place; a further share of assaults were never reported to the police, drawn like them and
moved by whole weeks (keeping the Friday and Saturday night peaks). Monthly files, as the standard asks:
`RWY01-2024-05.csv`, the reporting period in every row.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from pipeline.demo.delivery import source_rng, write_csv
from pipeline.demo.echoes import VIOLENCE_WITH_INJURY, echo_rows, partnership_crimes, partnership_lsoas
from pipeline.demo.records import draw_labels
from pipeline.demo.timeline import DEMO_END, DEMO_START
from pipeline.demo.world import DemoWorld

SOURCE = "health_istv"
SITE = "RWY01"  # a synthetic site code standing for Calderdale Royal Hospital's emergency department
ATTEND = 0.08  # share of violence with injury after which the victim attended A&E
ATTEND_NTE = 0.22
ATTEND_KNIFE = 0.30
ATTEND_DOMESTIC = 0.05
NOT_REPORTED = 0.25  # further attendances for assaults the police never recorded, per one they did
ARRIVAL_DELAY = (3.8, 0.8)  # lognormal minutes from assault to arrival: median ~45 minutes
METHODS = {
    "night": {"body part": 0.62, "glass or bottle": 0.14, "blunt object": 0.06, "other": 0.08, "unknown": 0.10},
    "other": {"body part": 0.70, "blunt object": 0.10, "glass or bottle": 0.03, "other": 0.07, "unknown": 0.10},
}
OTHER_METHODS = {"bitten": 0.3, "thrown object": 0.25, "strangulation": 0.2, "burn": 0.1, "vehicle": 0.15}
PLACES = {
    "night": {"pub or club": 0.45, "street": 0.50, "other": 0.05},
    "domestic": {"home": 0.90, "unknown": 0.10},
    "other": {"street": 0.45, "home": 0.20, "workplace": 0.08, "public transport": 0.04, "school": 0.04, "other": 0.09,
              "unknown": 0.10},
}
DESCRIBED = ("street", "pub or club", "public transport")  # location types described by the nearest street
HEADINGS = {
    "site_code": "Site Code",
    "period_start": "Reporting Period Start Date",
    "period_end": "Reporting Period End Date",
    "arrival_datetime": "Arrival Date Time",
    "assault_datetime": "Assault Date Time",
    "assault_method": "Assault Method",
    "method_other": "Assault Method Other",
    "location_type": "Assault Location Type",
    "location_description": "Assault Location Description",
    "outward_postcode": "Postcode District",
}


def _by_group(group: np.ndarray, tables: dict[str, dict[str, float]], rng: np.random.Generator) -> np.ndarray:
    out = np.empty(group.size, dtype=object)
    for name, shares in tables.items():
        rows = np.flatnonzero(group == name)
        out[rows] = draw_labels(shares, rows.size, rng)
    return out


def attendance_rows(world: DemoWorld) -> pl.DataFrame:
    """Every attendance of the period, in arrival order, in the canonical columns."""
    rng = source_rng(world.seed, SOURCE)
    violence = partnership_crimes(world).filter(pl.col("offence_code").is_in(VIOLENCE_WITH_INJURY))
    share = np.select(
        [violence["knife"].to_numpy(), violence["night_time_economy"].to_numpy(), violence["domestic_abuse"].to_numpy()],
        [ATTEND_KNIFE, ATTEND_NTE, ATTEND_DOMESTIC], ATTEND,
    )
    seen = echo_rows(violence, share, NOT_REPORTED, rng)
    n = seen.height
    knife, firearm = seen["knife"].to_numpy(), seen["firearm"].to_numpy()
    night, domestic = seen["night_time_economy"].to_numpy(), seen["domestic_abuse"].to_numpy()
    group = np.where(night, "night", np.where(domestic, "domestic", "other"))
    method = _by_group(np.where(night, "night", "other"), METHODS, rng)
    method = np.where(knife, "knife or sharp object", np.where(firearm, "firearm", method))
    other = np.where(method == "other", draw_labels(OTHER_METHODS, n, rng), None)
    place = _by_group(group, PLACES, rng)
    delay = np.ceil(rng.lognormal(*ARRIVAL_DELAY, n)).astype(np.int64)
    assault = seen["committed_at"].to_numpy()
    arrival = assault + (delay * 60_000_000).astype("timedelta64[us]")
    streets = world.places.select("place_id", "street")
    frame = (
        seen.select("lsoa11cd", "place_id")
        .with_columns(
            pl.Series("assault_datetime", assault),
            pl.Series("arrival_datetime", arrival),
            pl.Series("assault_method", method.tolist(), dtype=pl.String),
            pl.Series("method_other", other.tolist(), dtype=pl.String),
            pl.Series("location_type", place.tolist(), dtype=pl.String),
        )
        .join(streets, on="place_id", how="left", maintain_order="left")
        .join(partnership_lsoas(world).select("lsoa11cd", "outward_postcode"), on="lsoa11cd", how="left", maintain_order="left")
        .filter(pl.col("arrival_datetime").dt.date() <= DEMO_END)
        .sort("arrival_datetime", "assault_datetime", maintain_order=True)
    )
    month = pl.col("arrival_datetime").dt.truncate("1mo").dt.date()
    return frame.select(
        pl.lit(SITE).alias("site_code"),
        month.alias("period_start"),
        month.dt.month_end().alias("period_end"),
        "arrival_datetime",
        "assault_datetime",
        "assault_method",
        "method_other",
        "location_type",
        pl.when(pl.col("location_type").is_in(DESCRIBED)).then(pl.col("street")).alias("location_description"),
        "outward_postcode",
    )


def write_health_istv(world: DemoWorld, raw_dir: Path) -> list[Path]:
    """One file per month of arrival, `RWY01-<YYYY-MM>.csv`; return the paths in month order."""
    rows = attendance_rows(world).rename(HEADINGS)
    months = np.arange(np.datetime64(DEMO_START, "M"), np.datetime64(DEMO_END, "M") + 1)
    written = []
    for month in months:
        part = rows.filter(pl.col(HEADINGS["period_start"]) == month.astype("datetime64[D]").astype(object))
        written.append(write_csv(part, raw_dir / f"{SITE}-{month}.csv", datetime_format="%Y-%m-%d %H:%M"))
    return written
