"""The partnership's quarterly activity return, as the community safety team collates it from the partners who
own each measure: the activity measures of a strategy modelled on Sutton's (docs/demo-data.md), which no agency
extract holds. Counts drift up or down a little from year to year; the hate crime training's "better
understanding" share is a binomial draw from the quarter's participants asked, about 72%.

One file per quarter, `2024-25-Q1.csv`, one row per measure.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from pipeline.demo.delivery import demo_quarters, quarter_start, source_rng, write_csv, write_quarterly
from pipeline.demo.world import DemoWorld

SOURCE = "partnership_activity"
# measure -> (owner, quarterly mean in 2020/21, yearly change); counts are Poisson around the mean
COUNTS = {
    "interventions_delivered": ("Community Safety Team", 55, 1.06),
    "people_trained": ("Community Safety Team", 80, 1.05),
    "campaign_reach": ("Communications Team", 2200, 1.08),
    "community_tension_reports": ("Cohesion Team", 8, 0.97),
    "young_people_engaged": ("Youth Service", 45, 1.04),
    "womens_hub_clients": ("Women's Centre", 32, 1.05),
    "recovery_programme_victims": ("Domestic Abuse Service", 24, 1.03),
}
TRAINING = ("hate_training_better_understanding", "Hate Crime Partnership")
ASKED = (25, 60)  # participants asked after the hate crime training each quarter (inclusive range)
BETTER = 0.72
HEADINGS = {"measure": "Measure", "quarter_start": "Quarter", "value": "Value", "unit": "Unit",
            "denominator": "Out Of", "owner": "Owner", "comment": "Comment"}


def activity_rows(world: DemoWorld) -> pl.DataFrame:
    """One row per measure and quarter, in quarter order (values as the return writes them)."""
    rng = source_rng(world.seed, SOURCE)
    rows = []
    for i, label in enumerate(demo_quarters()):
        start = quarter_start(label)
        for measure, (owner, mean, change) in COUNTS.items():
            value = rng.poisson(mean * change ** (i / 4))
            rows.append((measure, start, str(value), "count", None, owner, None))
        asked = int(rng.integers(ASKED[0], ASKED[1] + 1))
        better = int(rng.binomial(asked, BETTER))
        rows.append((TRAINING[0], start, f"{100 * better / asked:.1f}", "%", asked, TRAINING[1], f"{better} of {asked} participants"))
    return pl.DataFrame(rows, orient="row", schema={
        "measure": pl.String, "quarter_start": pl.Date, "value": pl.String, "unit": pl.String, "denominator": pl.Int64,
        "owner": pl.String, "comment": pl.String,
    })


def write_partnership_activity(world: DemoWorld, raw_dir: Path) -> list[Path]:
    """One file per financial quarter; return the paths in quarter order."""
    return write_quarterly(
        activity_rows(world), "quarter_start", raw_dir,
        lambda part, path: write_csv(part.rename(HEADINGS), path, date_format="%Y-%m"),
    )

