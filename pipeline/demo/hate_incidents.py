"""The partnership's hate incident log: every hate incident reported to the police, the council or a
third-party reporting centre, by strand and route.

Police reports are the police's hate crimes (the same date, strand and LSOA) and non-crime hate incidents
drawn like them; the council's and the third-party centres' reports are drawn like the police's hate crimes
and moved by whole weeks (different incidents, the same places and rhythms), the third-party centres' with
more disability, sexual orientation and transgender hate, and often no LSOA. Quarterly files by incident
date, `2024-25-Q1.csv`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from pipeline.demo.delivery import numbered, source_rng, write_csv, write_quarterly
from pipeline.demo.echoes import echo_rows, partnership_crimes, shift_weeks
from pipeline.demo.records import draw_labels
from pipeline.demo.world import DemoWorld

SOURCE = "hate_incidents"
NON_CRIME = 0.30  # police non-crime hate incidents per hate crime
COUNCIL = 0.13  # reports to the council per police hate crime
THIRD_PARTY = 0.10  # reports to third-party reporting centres per police hate crime
THIRD_PARTY_STRANDS = {"race": 0.35, "disability": 0.20, "sexual orientation": 0.20, "transgender": 0.10, "religion": 0.08,
                       "sex or gender": 0.04, "alternative subculture": 0.03}
THIRD_PARTY_NO_LSOA = 0.3  # of third-party reports, made without an address
HEADINGS = {
    "incident_id": "Reference",
    "incident_date": "Date",
    "strand": "Motivation",
    "route": "Reported To",
    "lsoa_code": "LSOA Code",
}


def incident_rows(world: DemoWorld) -> pl.DataFrame:
    """Every hate incident of the period, in date order, in the canonical columns."""
    rng = source_rng(world.seed, SOURCE)
    hate = partnership_crimes(world).filter(pl.col("hate_strand").is_not_null()).select("committed_at", "hate_strand", "lsoa11cd")
    police = echo_rows(hate, 1.0, NON_CRIME, rng).with_columns(pl.lit("police").alias("route"))
    n_council, n_third = rng.poisson(COUNCIL * hate.height), rng.poisson(THIRD_PARTY * hate.height)
    council = _moved(hate, n_council, rng).with_columns(pl.lit("council").alias("route"))
    third = _moved(hate, n_third, rng).with_columns(
        pl.Series("hate_strand", draw_labels(THIRD_PARTY_STRANDS, n_third, rng).tolist(), dtype=pl.String),
        pl.when(pl.Series(rng.random(n_third) < THIRD_PARTY_NO_LSOA)).then(None).otherwise(pl.col("lsoa11cd")).alias("lsoa11cd"),
        pl.lit("third party").alias("route"),
    )
    columns = ["committed_at", "hate_strand", "lsoa11cd", "route"]
    incidents = pl.concat([police.select(columns), council.select(columns), third.select(columns)])
    incidents = incidents.with_columns(pl.Series("tiebreak", rng.random(incidents.height))).sort("committed_at", "tiebreak")
    return incidents.select(
        numbered("HATE", pl.col("committed_at")).alias("incident_id"),
        pl.col("committed_at").dt.date().alias("incident_date"),
        pl.col("hate_strand").alias("strand"),
        "route",
        pl.col("lsoa11cd").alias("lsoa_code"),
    )


def _moved(hate: pl.DataFrame, n: int, rng: np.random.Generator) -> pl.DataFrame:
    """`n` incidents drawn like the hate crimes, moved by whole weeks."""
    drawn = hate[rng.integers(0, hate.height, n)]
    return drawn.with_columns(pl.Series("committed_at", shift_weeks(drawn["committed_at"].to_numpy(), rng)).cast(pl.Datetime("us")))


def write_hate_incidents(world: DemoWorld, raw_dir: Path) -> list[Path]:
    """One file per financial quarter of the incident date; return the paths in quarter order."""
    return write_quarterly(
        incident_rows(world), "incident_date", raw_dir, lambda part, path: write_csv(part.rename(HEADINGS), path)
    )
