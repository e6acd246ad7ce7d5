"""Substance misuse treatment in Calderdale as NDTMS-style monthly aggregates by substance group: the number
in treatment, new presentations, those presenting 12 weeks earlier still retained, and successful
completions, from a month-by-month stock and flow model (synthetic rates, shaped like England's).

New presentations dipped in the spring 2020 lockdown and rose from 2022/23 with the drug strategy's extra
treatment funding. Quarterly files of three months each, `2024-25-Q1.csv`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from pipeline.demo.delivery import source_rng, write_csv, write_quarterly
from pipeline.demo.geography import CALDERDALE
from pipeline.demo.timeline import DEMO_END, DEMO_START
from pipeline.demo.world import DemoWorld

SOURCE = "health_treatment"


@dataclass(frozen=True)
class Group:
    substance: str
    new_per_month: float
    completion: float  # share of those in treatment completing successfully each month
    dropout: float  # share leaving otherwise each month
    retained: float  # share of new presentations still in treatment 12 weeks later


GROUPS = (
    Group("opiate", 10, 0.004, 0.008, 0.88),
    Group("non-opiate only", 12, 0.035, 0.030, 0.75),
    Group("alcohol only", 30, 0.030, 0.030, 0.78),
    Group("non-opiate and alcohol", 14, 0.025, 0.030, 0.74),
)
# New presentations by financial year relative to 2022/23, and in the first lockdown.
PRESENTATION_TREND = (0.92, 0.95, 1.00, 1.12, 1.18)
LOCKDOWN = {np.datetime64("2020-04", "M"): 0.55, np.datetime64("2020-05", "M"): 0.7, np.datetime64("2020-06", "M"): 0.85}
HEADINGS = {
    "month": "Period",
    "area_code": "LA Code",
    "substance": "Substance Group",
    "in_treatment": "Number in Treatment",
    "new_presentations": "New Presentations",
    "retained_12_weeks": "12 Week Retention",
    "successful_completions": "Successful Completions",
}


def treatment_rows(world: DemoWorld) -> pl.DataFrame:
    """One row per month and substance group, in month order."""
    rng = source_rng(world.seed, SOURCE)
    months = np.arange(np.datetime64(DEMO_START, "M"), np.datetime64(DEMO_END, "M") + 1)
    fy = (months.astype(np.int64) + 1970 * 12 - 3) // 12 - DEMO_START.year  # April starts a financial year
    level = np.array(PRESENTATION_TREND)[fy] * np.array([LOCKDOWN.get(m, 1.0) for m in months])
    rows = []
    for group in GROUPS:
        stock = round(group.new_per_month / (group.completion + group.dropout))  # start at the steady state
        new = rng.poisson(group.new_per_month * level)
        earlier = np.concatenate([rng.poisson(group.new_per_month, 3), new[:-3]])  # presentations 3 months before
        for i, month in enumerate(months):
            in_treatment = stock + int(new[i])
            completions = int(rng.binomial(stock, group.completion))
            dropouts = int(rng.binomial(stock - completions, group.dropout))
            rows.append((month, group.substance, in_treatment, int(new[i]), int(rng.binomial(earlier[i], group.retained)), completions))
            stock = in_treatment - completions - dropouts
    frame = pl.DataFrame(rows, schema=["month", "substance", "in_treatment", "new_presentations", "retained_12_weeks", "successful_completions"], orient="row")
    order = {g.substance: i for i, g in enumerate(GROUPS)}
    return frame.with_columns(
        pl.Series("month", frame["month"].to_numpy().astype("datetime64[D]")).cast(pl.Date),
        pl.lit(CALDERDALE).alias("area_code"),
        pl.col("substance").replace_strict(order, return_dtype=pl.Int64).alias("_order"),
    ).sort("month", "_order").select(list(HEADINGS))


def write_health_treatment(world: DemoWorld, raw_dir: Path) -> list[Path]:
    """One file per financial quarter; return the paths in quarter order."""
    return write_quarterly(
        treatment_rows(world), "month", raw_dir,
        lambda part, path: write_csv(part.rename(HEADINGS), path, date_format="%Y-%m"),
    )
