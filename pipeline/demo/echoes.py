"""How the other agencies' events echo the police's: the partnership's own crimes, where a kind of event
concentrates (LSOA weights measured from the world's crimes and ASB), events copied from a sample of crimes
(an A&E attendance after an assault) and events like them that the police never heard of.

An echo that is not itself a crime keeps the crime's time of day and day of week but moves by whole weeks,
so that night-time and weekend peaks survive while no echo can be matched to a particular crime.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from pipeline.demo.timeline import DEMO_END, DEMO_START
from pipeline.demo.world import DemoWorld

# The LSOA codes of the partnership's wards map onto these outward postcodes (by ward; a synthetic but
# plausible lookup: the real postcode districts straddle ward boundaries).
WARD_POSTCODE = {
    "Town": "HX1",
    "Park": "HX1",
    "Warley": "HX2",
    "Illingworth and Mixenden": "HX2",
    "Luddendenfoot": "HX2",
    "Ovenden": "HX3",
    "Skircoat": "HX3",
    "Northowram and Shelf": "HX3",
    "Hipperholme and Lightcliffe": "HX3",
    "Greetland and Stainland": "HX4",
    "Elland": "HX5",
    "Sowerby Bridge": "HX6",
    "Ryburn": "HX6",
    "Calder": "HX7",
    "Todmorden": "OL14",
    "Brighouse": "HD6",
    "Rastrick": "HD6",
}
# Offence codes of the Home Office subgroup "Violence with injury".
VIOLENCE_WITH_INJURY = ("2", "37.1", "4.3", "4.4", "4.6", "4.7", "4.8", "4.9", "5D", "5E", "8N", "8P", "8S")
LATEST = np.datetime64(DEMO_END, "D") + 1


def partnership_lsoas(world: DemoWorld) -> pl.DataFrame:
    """The partnership's LSOAs with ward and outward postcode, in code order."""
    return world.lsoas.filter("in_partnership").select(
        "lsoa11cd", "ward_cd", "ward_nm", "residents",
        pl.col("ward_nm").replace_strict(WARD_POSTCODE, return_dtype=pl.String).alias("outward_postcode"),
    )


def partnership_crimes(world: DemoWorld) -> pl.DataFrame:
    """The crimes the force's extract for the partnership holds: those in its LSOAs, and those with no location."""
    inside = world.lsoas.filter("in_partnership")["lsoa11cd"].implode()
    return world.crimes.filter(pl.col("lsoa11cd").is_null() | pl.col("lsoa11cd").is_in(inside))


def lsoa_weights(world: DemoWorld, events: pl.DataFrame, smoothing: float = 0.5) -> np.ndarray:
    """Probability of each partnership LSOA (in `partnership_lsoas` order) for an event like `events`'s
    (rows with an `lsoa11cd`), smoothed so that no LSOA is impossible."""
    codes = partnership_lsoas(world).select("lsoa11cd")
    counts = codes.join(events.group_by("lsoa11cd").len(), on="lsoa11cd", how="left", maintain_order="left")["len"].fill_null(0).to_numpy()
    weights = counts + smoothing
    return weights / weights.sum()


def resident_weights(world: DemoWorld) -> np.ndarray:
    residents = partnership_lsoas(world)["residents"].to_numpy().astype(float)
    return residents / residents.sum()


def pick_lsoas(world: DemoWorld, weights: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """`n` LSOA codes drawn with `weights` (in `partnership_lsoas` order)."""
    codes = partnership_lsoas(world)["lsoa11cd"].to_numpy()
    return codes[rng.choice(codes.size, n, p=weights)]


def shift_weeks(times: np.ndarray, rng: np.random.Generator, most: int = 8) -> np.ndarray:
    """Move each time by a whole number of weeks (up to `most` either way), kept inside the demo period."""
    weeks = rng.integers(-most, most + 1, times.size)
    moved = times + (weeks * 7).astype("timedelta64[D]")
    first = np.datetime64(DEMO_START, "D").astype(times.dtype)
    last = LATEST.astype(times.dtype)
    back = moved - (((moved >= last).astype(np.int64) * 7 * (most + 1))).astype("timedelta64[D]")
    ahead = back + (((back < first).astype(np.int64) * 7 * (most + 1))).astype("timedelta64[D]")
    return ahead


def echo_rows(events: pl.DataFrame, share: np.ndarray | float, extra: float, rng: np.random.Generator,
              time: str = "committed_at") -> pl.DataFrame:
    """A sample of `events` (each kept with its `share`) and `extra` as many again drawn like them but moved by
    whole weeks (events the police never recorded); a column `reported` says which is which. In time order."""
    kept = events.filter(pl.Series(rng.random(events.height) < share))
    n_extra = rng.poisson(extra * kept.height) if kept.height else 0
    unreported = kept[rng.integers(0, max(kept.height, 1), n_extra)] if n_extra else kept.clear()
    moved = shift_weeks(unreported[time].to_numpy(), rng)
    unreported = unreported.with_columns(pl.Series(time, moved).cast(events.schema[time]))
    both = [kept.with_columns(pl.lit(True).alias("reported")), unreported.with_columns(pl.lit(False).alias("reported"))]
    return pl.concat(both).sort(time, maintain_order=True)
