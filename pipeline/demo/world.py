"""The synthetic demo world: one consistent set of crimes, ASB incidents, people and places in Calderdale,
April 2020 to March 2025, from which every agency's demo extract is written.

Everything random comes from one `numpy.random.default_rng(seed)`, drawn in a fixed order, so the same seed
always gives the same world (and the same files), whatever the clock, the machine or the hash seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from pipeline.demo.asb import build_asb
from pipeline.demo.crimes import build_crimes
from pipeline.demo.geography import load_lsoas
from pipeline.demo.hotspots import survey_terrain
from pipeline.demo.offences import check_streams, offence_categories
from pipeline.demo.places import build_places
from pipeline.demo.timeline import DEMO_END, DEMO_START

__all__ = ["DEMO_END", "DEMO_SEED", "DEMO_START", "DemoWorld", "build_world"]

DEMO_SEED = 20250331


@dataclass(frozen=True)
class DemoWorld:
    """The world's tables (polars), joined by `lsoa11cd` and `place_id`.

    - `lsoas`: Calderdale's LSOAs (ward, residents, households, centroid) and the neighbouring ones
      (`in_partnership` false).
    - `places`: map points, `On or near <street>`, with longitude and latitude.
    - `crimes`: one row per police recorded crime (see crimes.CRIME_SCHEMA).
    - `asb`: one row per ASB incident reported to the police (see asb.ASB_SCHEMA).
    """

    seed: int
    lsoas: pl.DataFrame
    places: pl.DataFrame
    crimes: pl.DataFrame
    asb: pl.DataFrame


def build_world(seed: int = DEMO_SEED) -> DemoWorld:
    """Generate the whole world from `seed`: a second or two."""
    categories = offence_categories()
    check_streams(categories)
    rng = np.random.default_rng(seed)
    lsoas = load_lsoas()
    places, popularity = build_places(lsoas, rng)
    terrain = survey_terrain(lsoas, rng)
    crimes = build_crimes(lsoas, terrain, popularity, categories, rng)
    asb = build_asb(lsoas, terrain, popularity, rng)
    return DemoWorld(seed=seed, lsoas=lsoas, places=places, crimes=crimes, asb=asb)
