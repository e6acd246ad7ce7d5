"""The population denominators, delivered once: Census 2011 usual residents and households for Calderdale's
LSOAs (real, from data/reference) in the population source's canonical layout, year 2011, with two modelled
columns the rates need: females, and females aged 16 and over (the MARAC denominator), each LSOA's residents
times Calderdale's 2011 shares (`FEMALE_SHARE`, `ADULT_FEMALE_SHARE`). Those two are estimates, not Census
counts: the shipped Census table has no sex or age.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from pipeline.demo.delivery import write_csv
from pipeline.demo.world import DemoWorld

SOURCE = "population"
CENSUS_YEAR = 2011
FEMALE_SHARE = 0.511  # of Calderdale's usual residents in 2011, roughly
ADULT_FEMALE_SHARE = 0.412  # females aged 16 and over: about 84,000 of 203,826


def population_rows(world: DemoWorld) -> pl.DataFrame:
    lsoas = world.lsoas.filter("in_partnership").sort("lsoa11cd")
    return lsoas.select(
        pl.col("lsoa11cd").alias("lsoa_code"),
        pl.lit(CENSUS_YEAR).alias("year"),
        pl.col("residents").alias("persons"),
        (pl.col("residents") * FEMALE_SHARE).round().cast(pl.Int64).alias("females"),
        (pl.col("residents") * ADULT_FEMALE_SHARE).round().cast(pl.Int64).alias("adult_females"),
        "households",
    )


def write_population(world: DemoWorld, raw_dir: Path) -> list[Path]:
    """One file, `calderdale-lsoa-census-2011.csv`."""
    return [write_csv(population_rows(world), raw_dir / "calderdale-lsoa-census-2011.csv")]
