"""Yorkshire Ambulance Service call-outs in Calderdale to assaults, stabbings, shootings, alcohol, overdoses
and self-harm (the information-sharing duty's crime and disorder call-outs), with LSOA and outward postcode.

Assaults, stabbings and shootings echo the police's violent crimes (a share of them, and more that were never
reported, moved by whole weeks); alcohol call-outs cluster on weekend nights in the town centres, overdoses
and self-harm where deprivation is (the LSOAs of domestic abuse). Quarterly files by call date,
`2024-25-Q1.csv`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from pipeline.demo.delivery import numbered, source_rng, write_csv, write_quarterly
from pipeline.demo.echoes import (
    VIOLENCE_WITH_INJURY,
    echo_rows,
    lsoa_weights,
    partnership_crimes,
    partnership_lsoas,
    pick_lsoas,
    resident_weights,
)
from pipeline.demo.timeline import DEMO_END, Rhythm, event_times
from pipeline.demo.world import DemoWorld

SOURCE = "health_ambulance"
# Shares of the police's crimes an ambulance was called to, and further unreported ones per reported one.
ASSAULT = 0.18
ASSAULT_NTE = 0.30
ASSAULT_DOMESTIC = 0.08
ASSAULT_NOT_REPORTED = 0.4
STABBING = 0.5  # of violence with injury and robbery with a knife
SHOOTING = 0.6  # of violence with a firearm
# call-outs not tied to a crime: (rhythm, where)
OTHER_CALLS = {
    "alcohol": Rhythm(1200, (0.90, 1.00, 1.00, 1.02, 1.02), hours="evening"),
    "overdose": Rhythm(700, (1.05, 1.00, 1.00, 1.04, 1.08), season="flat", weekday="flat"),
    "self-harm": Rhythm(650, (1.08, 1.05, 1.00, 1.00, 1.02), season="flat", weekday="flat"),
}
CALL_DELAY_MINUTES = 20  # from the event to the 999 call, at most
HEADINGS = {
    "incident_id": "CAD Number",
    "call_datetime": "Call Date Time",
    "category": "Call Category",
    "lsoa_code": "LSOA Code",
    "outward_postcode": "Postcode District",
}


def callout_rows(world: DemoWorld) -> pl.DataFrame:
    """Every call-out of the period, in call order, in the canonical columns."""
    rng = source_rng(world.seed, SOURCE)
    crimes = partnership_crimes(world).filter(pl.col("lsoa11cd").is_not_null())
    violence = crimes.filter(pl.col("offence_code").is_in(VIOLENCE_WITH_INJURY))
    share = np.select(
        [violence["night_time_economy"].to_numpy(), violence["domestic_abuse"].to_numpy()], [ASSAULT_NTE, ASSAULT_DOMESTIC], ASSAULT
    )
    knives = crimes.filter(pl.col("knife") & (pl.col("offence_code").is_in(VIOLENCE_WITH_INJURY) | pl.col("offence_code").is_in(["34A", "34B"])))
    guns = crimes.filter(pl.col("firearm") & (pl.col("police_uk_category") == "Violence and sexual offences"))
    parts = [
        echo_rows(violence, share, ASSAULT_NOT_REPORTED, rng).select("committed_at", "lsoa11cd", pl.lit("assault").alias("category")),
        echo_rows(knives, STABBING, 0.0, rng).select("committed_at", "lsoa11cd", pl.lit("stabbing").alias("category")),
        echo_rows(guns, SHOOTING, 0.0, rng).select("committed_at", "lsoa11cd", pl.lit("shooting").alias("category")),
    ]
    night = lsoa_weights(world, crimes.filter("night_time_economy"))
    deprived = lsoa_weights(world, crimes.filter("domestic_abuse"))
    residents = resident_weights(world)
    where = {"alcohol": 0.5 * night + 0.5 * residents, "overdose": deprived, "self-harm": 0.5 * deprived + 0.5 * residents}
    for category, rhythm in OTHER_CALLS.items():
        times = event_times(rhythm, rng)
        parts.append(pl.DataFrame({
            "committed_at": times.astype("datetime64[us]"),
            "lsoa11cd": pick_lsoas(world, where[category], times.size, rng),
            "category": np.full(times.size, category),
        }))
    calls = pl.concat(parts)
    delay = rng.integers(0, CALL_DELAY_MINUTES + 1, calls.height) * 60_000_000
    calls = calls.with_columns(
        (pl.col("committed_at") + pl.duration(microseconds=pl.Series(delay))).alias("call_datetime"),
        pl.Series("tiebreak", rng.random(calls.height)),
    ).filter(pl.col("call_datetime").dt.date() <= DEMO_END).sort("call_datetime", "tiebreak")
    return calls.join(partnership_lsoas(world).select("lsoa11cd", "outward_postcode"), on="lsoa11cd", how="left", maintain_order="left").select(
        numbered("YAS", pl.col("call_datetime"), width=6).alias("incident_id"),
        "call_datetime",
        "category",
        pl.col("lsoa11cd").alias("lsoa_code"),
        "outward_postcode",
    )


def write_health_ambulance(world: DemoWorld, raw_dir: Path) -> list[Path]:
    """One file per financial quarter of the call date; return the paths in quarter order."""
    return write_quarterly(
        callout_rows(world), "call_datetime", raw_dir,
        lambda part, path: write_csv(part.rename(HEADINGS), path, datetime_format="%Y-%m-%d %H:%M:%S"),
    )
