"""Road collisions and casualties in Calderdale as STATS19 records them, in DfT's open-data layout plus the
contributory factors the partnership gets from the force (DfT does not publish them).

About 430 injury collisions and 560 casualties a year, 18% of casualties killed or seriously injured (about
100 a year, 7 of them killed), fewer in the 2020 lockdown and more in the dark months. Collisions happen at the
world's map points (streets), weighted towards the busy ones; 2% are just over the border (the highway
authority's extract is cut by a buffer round the district) and 3% have coordinates but no LSOA (DfT leaves the
LSOA blank where it cannot assign one). A speed factor (306 or 307) is recorded for about 12% of collisions,
more of the serious ones; the police did not attend a fifth of collisions, which then have no factors.

One pair of files per calendar year, `dft-road-casualty-statistics-collision-2021.csv` and `…-casualty-2021.csv`,
2020 from April and 2025 to March (the demo period).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from pipeline.demo.delivery import UK_DATE, source_rng, write_csv
from pipeline.demo.records import draw_labels
from pipeline.demo.timeline import DAYS
from pipeline.demo.world import DemoWorld

STREAM = "road_safety"  # one random stream for both files: they describe the same collisions
COLLISIONS_PER_YEAR = 430
SEASON = (1.08, 0.95, 0.93, 0.90, 0.95, 0.98, 0.97, 0.94, 1.02, 1.08, 1.12, 1.10)  # January first: dark evenings
LOCKDOWN = (np.datetime64("2020-04-01"), np.datetime64("2020-06-30"), 0.55)  # traffic fell by about half
EXTRA_CASUALTIES = 0.30  # casualties per collision beyond the first (Poisson)
SEVERITY = {"1": 0.012, "2": 0.168, "3": 0.820}  # of casualties: fatal, serious, slight
OUTSIDE = 0.02
NO_LSOA = 0.03
NOT_ATTENDED = 0.20  # police did not attend: no contributory factors recorded
SPEED = {"1": 0.30, "2": 0.20, "3": 0.10}  # share of collisions with a speed factor, by collision severity
OTHER_FACTORS = {"405": 0.30, "403": 0.12, "602": 0.12, "406": 0.10, "410": 0.08, "802": 0.07, "501": 0.05,
                 "301": 0.05, "408": 0.06, "710": 0.05}
CLASSES = {"1": 0.60, "2": 0.28, "3": 0.12}  # driver or rider, passenger, pedestrian
VEHICLE_TYPES = {"9": 0.68, "1": 0.08, "5": 0.05, "3": 0.03, "19": 0.06, "11": 0.03, "8": 0.03, "23": 0.01, "90": 0.03}
SPEED_LIMITS = {"30": 0.62, "20": 0.08, "40": 0.12, "50": 0.03, "60": 0.10, "70": 0.05}
FORCE = "13"  # DfT's code for West Yorkshire Police


def road_tables(world: DemoWorld) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(collisions, casualties), in date order, in DfT's columns (codes as published)."""
    rng = source_rng(world.seed, STREAM)
    days = DAYS
    month = days.astype("datetime64[M]").astype(np.int64) % 12
    level = np.array(SEASON)[month] * np.where((days >= LOCKDOWN[0]) & (days <= LOCKDOWN[1]), LOCKDOWN[2], 1.0)
    per_day = rng.poisson(COLLISIONS_PER_YEAR / 365.25 * level)
    when = np.repeat(days, per_day)
    n = when.size
    minutes = np.clip(rng.normal(15 * 60, 4 * 60, n), 0, 24 * 60 - 1).astype(int)  # afternoons, the school run

    places = world.places.join(world.lsoas.select("lsoa11cd", "in_partnership", "lad_cd"), on="lsoa11cd")
    inside, outside = places.filter(pl.col("in_partnership")), places.filter(~pl.col("in_partnership"))
    weight = rng.pareto(1.5, inside.height) + 1  # a few busy roads, many quiet streets
    out = rng.random(n) < OUTSIDE
    at = np.where(out, rng.integers(0, max(outside.height, 1), n), rng.choice(inside.height, n, p=weight / weight.sum()))
    chosen = pl.concat([inside[at[~out]], outside[at[out]]]) if outside.height else inside[at]
    order = np.concatenate([np.flatnonzero(~out), np.flatnonzero(out)])
    chosen = chosen[np.argsort(order)]
    lsoa = np.where(rng.random(n) < NO_LSOA, None, chosen["lsoa11cd"].to_numpy())

    casualties_each = 1 + rng.poisson(EXTRA_CASUALTIES, n)
    collision_of = np.repeat(np.arange(n), casualties_each)
    m = collision_of.size
    casualty_severity = draw_labels(SEVERITY, m, rng)
    worst = pl.DataFrame({"c": collision_of, "s": casualty_severity.astype(int)}).group_by("c").agg(pl.col("s").min()).sort("c")["s"]
    collision_severity = worst.cast(pl.String).to_numpy()
    attended = rng.random(n) >= NOT_ATTENDED
    speed = attended & (rng.random(n) < np.vectorize(SPEED.get)(collision_severity))
    factors = [
        " ".join(sorted({*draw_labels(OTHER_FACTORS, 1 + rng.poisson(0.6), rng)} | ({str(rng.choice(["306", "307"]))} if s else set())))
        if a else None
        for a, s in zip(attended, speed)
    ]
    years = when.astype("datetime64[Y]").astype(int) + 1970
    number = np.arange(n) - np.searchsorted(years, years, side="left") + 1
    ref = np.array([f"{FORCE}{k:07d}" for k in number])
    index = np.array([f"{y}{r}" for y, r in zip(years, ref)])
    jitter = rng.normal(0, 0.0004, (n, 2))
    classes = draw_labels(CLASSES, m, rng)
    vehicle_type = draw_labels(VEHICLE_TYPES, m, rng)
    ages = np.clip(rng.gamma(4.0, 9.5, m), 1, 99).astype(int)
    adjusted = np.where(casualty_severity == "2", 1.0, np.where(casualty_severity == "3", np.round(rng.beta(1, 30, m), 5), np.nan))

    collisions = pl.DataFrame({
        "collision_index": index,
        "collision_year": years,
        "collision_ref_no": ref,
        "longitude": np.round(chosen["longitude"].to_numpy() + jitter[:, 0], 5),
        "latitude": np.round(chosen["latitude"].to_numpy() + jitter[:, 1], 5),
        "police_force": FORCE,
        "collision_severity": collision_severity,
        "number_of_vehicles": np.maximum(1, rng.poisson(1.1, n) + (rng.random(n) < 0.85)),
        "number_of_casualties": casualties_each,
        "date": when.astype("datetime64[D]"),
        "day_of_week": (when.astype("datetime64[D]").astype(np.int64) + 4) % 7 + 1,  # DfT: 1 Sunday; 1970-01-01 was a Thursday
        "time": [f"{t // 60:02d}:{t % 60:02d}" for t in minutes],
        "local_authority_district": "-1",
        "local_authority_ons_district": chosen["lad_cd"].to_numpy(),
        "speed_limit": draw_labels(SPEED_LIMITS, n, rng),
        "urban_or_rural_area": np.where(rng.random(n) < 0.8, "1", "2"),
        "did_police_officer_attend_scene_of_accident": np.where(attended, "1", "2"),
        "lsoa_of_accident_location": [code or "-1" for code in lsoa],
        "contributory_factors": pl.Series(factors, dtype=pl.String),
    })
    casualties = pl.DataFrame({
        "collision_index": index[collision_of],
        "collision_year": years[collision_of],
        "collision_ref_no": ref[collision_of],
        "vehicle_reference": np.where(classes == "3", 1, 1 + (rng.random(m) < 0.3)),
        "casualty_reference": np.arange(m) - np.searchsorted(collision_of, collision_of, side="left") + 1,
        "casualty_class": classes,
        "sex_of_casualty": draw_labels({"1": 0.58, "2": 0.41, "9": 0.01}, m, rng),
        "age_of_casualty": ages,
        "casualty_severity": casualty_severity,
        "casualty_type": np.where(classes == "3", "0", vehicle_type),
        "lsoa_of_casualty": "-1",
        "casualty_adjusted_severity_serious": adjusted,
    }).with_columns(pl.col("casualty_adjusted_severity_serious").fill_nan(None))  # blank for the killed
    return collisions, casualties


def _by_year(frame: pl.DataFrame, raw_dir: Path, kind: str) -> list[Path]:
    return [
        write_csv(frame.filter(pl.col("collision_year") == year), raw_dir / f"dft-road-casualty-statistics-{kind}-{year}.csv",
                  date_format=UK_DATE)
        for year in sorted(frame["collision_year"].unique().to_list())
    ]


def write_road_collisions(world: DemoWorld, raw_dir: Path) -> list[Path]:
    """One file per calendar year; return the paths in year order."""
    return _by_year(road_tables(world)[0], raw_dir, "collision")


def write_road_casualties(world: DemoWorld, raw_dir: Path) -> list[Path]:
    """One file per calendar year; return the paths in year order."""
    return _by_year(road_tables(world)[1], raw_dir, "casualty")
