"""The population denominators: Census 2011 usual residents and households for Calderdale's LSOAs (real, from
data/reference), and a synthetic ONS-style mid-year estimate for each year of the demo period, so that each
financial year's rates divide by that year's residents (as a partnership's do once it drops ONS's yearly
files in raw/population/).

Everything beyond the Census's residents and households is modelled, not counted: females, females aged 16
and over (the MARAC denominator), residents aged 10-17 and 0-24 are each LSOA's residents times Calderdale-like
shares (`SHARES`); a mid-year's residents and households are the Census's grown by `ANNUAL_GROWTH` a year,
with a small per-LSOA variation drawn from the population's own random stream.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from pipeline.demo.delivery import source_rng, write_csv
from pipeline.demo.timeline import DEMO_END, DEMO_START
from pipeline.demo.world import DemoWorld

SOURCE = "population"
CENSUS_YEAR = 2011
MID_YEARS = tuple(range(DEMO_START.year, DEMO_END.year))  # 30 June of each is inside the demo period: 2020 … 2024
ANNUAL_GROWTH = 0.004  # Calderdale grew by roughly 0.3-0.5% a year after 2011
SHARES = {  # of all residents, roughly Calderdale's
    "females": 0.511,
    "adult_females": 0.412,  # females aged 16 and over: about 84,000 of 203,826 in 2011
    "aged_10_17": 0.098,
    "aged_0_24": 0.295,
}


def _with_shares(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns((pl.col("persons") * share).round().cast(pl.Int64).alias(name) for name, share in SHARES.items())


def population_rows(world: DemoWorld, year: int = CENSUS_YEAR) -> pl.DataFrame:
    """Calderdale's LSOAs in the canonical layout for one year: the Census itself for 2011, else a mid-year estimate."""
    lsoas = world.lsoas.filter("in_partnership").sort("lsoa11cd")
    growth = pl.lit(1.0)
    if year != CENSUS_YEAR:
        drift = source_rng(world.seed, f"{SOURCE}-growth").normal(0.0, 0.003, lsoas.height)  # per LSOA, fixed across years
        growth = (1 + ANNUAL_GROWTH + pl.Series(drift)) ** (year - CENSUS_YEAR)
    frame = lsoas.select(
        pl.col("lsoa11cd").alias("lsoa_code"),
        pl.lit(year).alias("year"),
        (pl.col("residents") * growth).round().cast(pl.Int64).alias("persons"),
        (pl.col("households") * growth).round().cast(pl.Int64).alias("households"),
    )
    return _with_shares(frame).select("lsoa_code", "year", "persons", "females", "adult_females", "households", "aged_10_17", "aged_0_24")


def write_population(world: DemoWorld, raw_dir: Path) -> list[Path]:
    """`calderdale-lsoa-census-2011.csv`, then one `calderdale-lsoa-mid-<year>.csv` per mid-year of the period."""
    paths = [write_csv(population_rows(world), raw_dir / "calderdale-lsoa-census-2011.csv")]
    for year in MID_YEARS:
        paths.append(write_csv(population_rows(world, year), raw_dir / f"calderdale-lsoa-mid-{year}.csv"))
    return paths
