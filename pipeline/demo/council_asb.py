"""Calderdale Council's ASB cases: the council's side of the ASB the police log, a subset of the police's
incidents (the same place and time, reported to the council too) plus the complaints only the council hears
(noise, neighbour disputes), with the tools used and when each case closed.

Quarterly files by reported date, `2024-25-Q1.csv`, with the council's headings and DD/MM/YYYY dates. A
case still open when the quarter's extract was run has no closed date.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from pipeline.demo.delivery import UK_DATE, in_period, numbered, quarter_end, source_rng, write_csv, write_quarterly, yes_no
from pipeline.demo.echoes import echo_rows, partnership_lsoas
from pipeline.demo.records import draw_labels
from pipeline.demo.world import DemoWorld

SOURCE = "council_asb"
# Share of the police's ASB incidents, by national category, that the council also takes on as a case.
ALSO_TO_COUNCIL = {"personal": 0.30, "nuisance": 0.12, "environmental": 0.35}
COUNCIL_ONLY = 0.45  # complaints only the council hears, per case that echoes a police incident
# The council's categories for each police category, and for the complaints only the council hears.
CATEGORIES = {
    "personal": {"personal": 0.5, "neighbour dispute": 0.5},
    "nuisance": {"nuisance": 0.45, "youth nuisance": 0.35, "drugs": 0.10, "noise": 0.10},
    "environmental": {"environmental": 1.0},
    "council only": {"noise": 0.60, "neighbour dispute": 0.30, "nuisance": 0.10},
}
CALLERS_PER_POINT = 25  # households around a map point that may complain; the same one again is a repeat caller
REPEAT_WINDOW_DAYS = 365
ACTIONS = {"none": 0.22, "advice": 0.30, "warning letter": 0.22, "mediation": 0.08, "ABC": 0.05, "CPN warning": 0.08,
           "CPN": 0.03, "injunction": 0.01, "CBO": 0.005, "closure order": 0.005}
REPEAT_ACTIONS = {"advice": 0.15, "warning letter": 0.30, "mediation": 0.10, "ABC": 0.12, "CPN warning": 0.18, "CPN": 0.09,
                  "injunction": 0.04, "CBO": 0.01, "closure order": 0.01}
DAYS_TO_CLOSE = (3.2, 0.9)  # lognormal (mu, sigma) of days from report to closure: median ~25 days
REPORT_DELAY = 0.6  # geometric: most reach the council the same day or the next


def case_rows(world: DemoWorld) -> pl.DataFrame:
    """Every council ASB case of the period, in reported order, in the canonical columns."""
    rng = source_rng(world.seed, SOURCE)
    lsoas = partnership_lsoas(world)
    police = world.asb.filter(pl.col("lsoa11cd").is_in(lsoas["lsoa11cd"].implode()))
    share = police["asb_category"].replace_strict(ALSO_TO_COUNCIL, return_dtype=pl.Float64).to_numpy()
    cases = echo_rows(police, share, COUNCIL_ONLY, rng, time="occurred_at")
    n = cases.height
    origin = np.where(cases["reported"].to_numpy(), cases["asb_category"].to_numpy().astype(str), "council only")
    category = np.empty(n, dtype=object)
    for key, shares in CATEGORIES.items():
        rows = np.flatnonzero(origin == key)
        category[rows] = draw_labels(shares, rows.size, rng)
    caller = cases["place_id"].to_numpy() * CALLERS_PER_POINT + rng.integers(0, CALLERS_PER_POINT, n)
    delay = rng.geometric(REPORT_DELAY, n) - 1
    reported = cases["occurred_at"].dt.date().to_numpy() + delay.astype("timedelta64[D]")
    frame = cases.select("lsoa11cd").with_columns(
        pl.Series("reported_date", reported).cast(pl.Date),
        pl.Series("category", category.tolist(), dtype=pl.String),
        pl.Series("caller", caller),
        pl.Series("tiebreak", rng.random(n)),
    ).filter(in_period(pl.col("reported_date"))).sort("reported_date", "tiebreak")
    previous = pl.col("reported_date").shift(1).over("caller", order_by="reported_date")
    frame = frame.with_columns(
        ((pl.col("reported_date") - previous).dt.total_days() <= REPEAT_WINDOW_DAYS).fill_null(False).alias("repeat_caller")
    )
    m = frame.height
    repeat = frame["repeat_caller"].to_numpy()
    action = np.where(repeat, draw_labels(REPEAT_ACTIONS, m, rng), draw_labels(ACTIONS, m, rng))
    days = np.ceil(rng.lognormal(*DAYS_TO_CLOSE, m)).astype(np.int64)
    frame = frame.with_columns(
        pl.Series("action", action.tolist(), dtype=pl.String),
        (pl.col("reported_date") + pl.duration(days=pl.Series(days))).alias("closed"),
    )
    extracted = quarter_end(pl.col("reported_date"))
    return frame.join(lsoas.select("lsoa11cd", "ward_cd"), on="lsoa11cd", how="left", maintain_order="left").select(
        numbered("ASB", pl.col("reported_date")).alias("case_id"),
        "reported_date",
        "category",
        pl.col("lsoa11cd").alias("lsoa_code"),
        pl.col("ward_cd").alias("ward_code"),
        yes_no("repeat_caller"),
        "action",
        pl.when(pl.col("closed") <= extracted).then(pl.col("closed")).alias("closed_date"),
    )


HEADINGS = {
    "case_id": "Case Reference",
    "reported_date": "Date Reported",
    "category": "ASB Category",
    "lsoa_code": "LSOA Code",
    "ward_code": "Ward Code",
    "repeat_caller": "Repeat Caller",
    "action": "Action Taken",
    "closed_date": "Date Closed",
}


def write_council_asb(world: DemoWorld, raw_dir: Path) -> list[Path]:
    """One file per financial quarter of the reported date; return the paths in quarter order."""
    rows = case_rows(world)
    return write_quarterly(
        rows, "reported_date", raw_dir, lambda part, path: write_csv(part.rename(HEADINGS), path, date_format=UK_DATE)
    )
