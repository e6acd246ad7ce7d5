"""Calderdale Council's environmental crime log: fly-tipping above all (the size of each tip, and what the
council did), graffiti, abandoned vehicles, littering, dog fouling and fly-posting.

Fly-tipping concentrates where the police's environmental ASB and criminal damage do, rose when the tips
shut in spring 2020, and peaks in spring and summer; graffiti and fly-posting follow the town centres.
Quarterly files by reported date, `2024-25-Q1.csv`, with the council's headings.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from pipeline.demo.delivery import in_period, numbered, source_rng, write_csv, write_quarterly
from pipeline.demo.echoes import lsoa_weights, partnership_crimes, pick_lsoas, resident_weights
from pipeline.demo.records import draw_labels
from pipeline.demo.timeline import Rhythm, event_times
from pipeline.demo.world import DemoWorld

SOURCE = "council_environment"
# category: (rhythm, where: "tipping", "centre" or "residents")
KINDS = {
    "fly-tipping": (Rhythm(3600, (0.98, 1.05, 1.00, 1.02, 1.00), weekday="flat", hours="daytime", covid=1.5), "tipping"),
    "graffiti": (Rhythm(250, weekday="flat", hours="daytime"), "centre"),
    "abandoned vehicle": (Rhythm(350, season="flat", weekday="flat", hours="daytime"), "residents"),
    "littering": (Rhythm(200, weekday="flat", hours="daytime"), "centre"),
    "dog fouling": (Rhythm(300, season="dark_nights", weekday="flat", hours="daytime"), "residents"),
    "fly-posting": (Rhythm(60, season="flat", weekday="flat", hours="daytime"), "centre"),
    "other": (Rhythm(100, season="flat", weekday="flat", hours="daytime"), "residents"),
}
# Fly-tips by size (roughly England's shares) and what the council did.
SIZES = {"single item": 0.25, "car boot": 0.30, "small van": 0.28, "transit van": 0.12, "tipper lorry": 0.04, "significant": 0.01}
ACTIONS = {"cleared": 0.80, "none": 0.06, "warning": 0.08, "fixed penalty notice": 0.05, "prosecution": 0.01}
ON_THE_SPOT = {"cleared": 0.40, "none": 0.25, "warning": 0.20, "fixed penalty notice": 0.15}  # littering, dog fouling
REPORT_DELAY = 0.7  # geometric: most are reported the day they are found
HEADINGS = {
    "incident_id": "Reference",
    "reported_date": "Date Reported",
    "category": "Type",
    "lsoa_code": "LSOA Code",
    "size": "Size",
    "action": "Enforcement",
}


def incident_rows(world: DemoWorld) -> pl.DataFrame:
    """Every incident of the period, in reported order, in the canonical columns."""
    rng = source_rng(world.seed, SOURCE)
    crimes = partnership_crimes(world).filter(pl.col("lsoa11cd").is_not_null())
    tipping = pl.concat([
        world.asb.filter(pl.col("asb_category") == "environmental").select("lsoa11cd"),
        crimes.filter(pl.col("police_uk_category") == "Criminal damage and arson").select("lsoa11cd"),
    ]).drop_nulls()
    weights = {"tipping": lsoa_weights(world, tipping), "centre": lsoa_weights(world, crimes), "residents": resident_weights(world)}
    parts = []
    for category, (rhythm, where) in KINDS.items():
        times = event_times(rhythm, rng)
        n = times.size
        days = times.astype("datetime64[D]") + (rng.geometric(REPORT_DELAY, n) - 1).astype("timedelta64[D]")
        if category == "fly-tipping":
            size, action = draw_labels(SIZES, n, rng).astype(object), draw_labels(ACTIONS, n, rng)
        else:
            size = np.full(n, None, dtype=object)
            action = draw_labels(ON_THE_SPOT if category in ("littering", "dog fouling") else {"cleared": 0.9, "none": 0.1}, n, rng)
        parts.append(pl.DataFrame({
            "reported_date": days,
            "category": np.full(n, category),
            "lsoa_code": pick_lsoas(world, weights[where], n, rng),
            "size": size.tolist(),
            "action": action.astype(str),
            "tiebreak": rng.random(n),
        }, schema_overrides={"size": pl.String, "reported_date": pl.Date}))
    incidents = pl.concat(parts).filter(in_period(pl.col("reported_date"))).sort("reported_date", "tiebreak")
    return incidents.select(
        numbered("ENV", pl.col("reported_date"), width=5).alias("incident_id"),
        "reported_date", "category", "lsoa_code", "size", "action",
    )


def write_council_environment(world: DemoWorld, raw_dir: Path) -> list[Path]:
    """One file per financial quarter of the reported date; return the paths in quarter order."""
    return write_quarterly(
        incident_rows(world), "reported_date", raw_dir, lambda part, path: write_csv(part.rename(HEADINGS), path)
    )
