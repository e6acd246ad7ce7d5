"""Prevent referrals and Channel cases in Calderdale as the council's Prevent lead reports them: quarterly
counts by type of concern, zeros included. About ten referrals a year, a few discussed at the Channel panel
and fewer adopted, so most cells are 0, 1 or 2: the numbers disclosure control exists for.

One file per quarter, `2024-25-Q1.csv`, one row per type of concern.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from pipeline.demo.delivery import demo_quarters, quarter_start, source_rng, write_csv, write_quarterly
from pipeline.demo.world import DemoWorld

SOURCE = "prevent"
REFERRALS_PER_YEAR = (7, 14)  # each year's total is drawn evenly from this range (inclusive)
CONCERNS = {"extreme right-wing": 0.25, "islamist": 0.15, "mixed, unclear or unstable": 0.42, "other": 0.18}
DISCUSSED = 0.40  # of referrals, discussed at the Channel panel
ADOPTED = 0.45  # of those discussed, adopted as Channel cases
HEADINGS = {
    "quarter_start": "Quarter",
    "concern_type": "Type of Concern",
    "referrals": "Referrals",
    "channel_discussed": "Discussed at Channel",
    "channel_adopted": "Adopted as Channel Cases",
}


def prevent_rows(world: DemoWorld) -> pl.DataFrame:
    """One row per quarter and type of concern, in quarter order."""
    rng = source_rng(world.seed, SOURCE)
    quarters = demo_quarters()
    concerns = np.array(list(CONCERNS))
    p = np.tile(np.array(list(CONCERNS.values())), 4)  # a year's cells: 4 quarters x the concerns
    years = len(quarters) // 4
    totals = rng.integers(REFERRALS_PER_YEAR[0], REFERRALS_PER_YEAR[1] + 1, years)
    referrals = np.concatenate([rng.multinomial(total, p / p.sum()) for total in totals])
    discussed = rng.binomial(referrals, DISCUSSED)
    adopted = rng.binomial(discussed, ADOPTED)
    return pl.DataFrame({
        "quarter_start": [quarter_start(q) for q in quarters for _ in concerns],
        "concern_type": np.tile(concerns, len(quarters)).tolist(),
        "referrals": referrals,
        "channel_discussed": discussed,
        "channel_adopted": adopted,
    }, schema_overrides={"quarter_start": pl.Date})


def write_prevent(world: DemoWorld, raw_dir: Path) -> list[Path]:
    """One file per financial quarter; return the paths in quarter order."""
    return write_quarterly(
        prevent_rows(world), "quarter_start", raw_dir,
        lambda part, path: write_csv(part.rename(HEADINGS), path, date_format="%Y-%m"),
    )
