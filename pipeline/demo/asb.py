"""Anti-social behaviour incidents reported to the police: summer evenings, Halloween to bonfire night, and
the spring 2020 lockdown, when reports of Covid-19 breaches were logged as ASB."""

from __future__ import annotations

import numpy as np
import polars as pl

from pipeline.demo.hotspots import Terrain, locate, location_weights
from pipeline.demo.places import pick_places
from pipeline.demo.records import draw_labels, location_columns, yearly_references
from pipeline.demo.timeline import Rhythm, event_times

ASB_RHYTHM = Rhythm(6200, (1.08, 1.02, 1.00, 0.93, 0.88), season="asb", covid=1.6, bonfire=1.7)
ASB_CENTRE_PULL = 8.0
# national incident categories for ASB (police incident recording standard)
ASB_CATEGORIES = {"nuisance": 0.72, "personal": 0.22, "environmental": 0.06}
INCIDENT_REF_PREFIX = "WY-ASB"

ASB_SCHEMA = {
    "incident_ref": pl.String,
    "occurred_at": pl.Datetime("us"),
    "lsoa11cd": pl.String,
    "place_id": pl.Int64,
    "asb_category": pl.String,
}


def build_asb(lsoas: pl.DataFrame, terrain: Terrain, popularity: np.ndarray, rng: np.random.Generator) -> pl.DataFrame:
    """Every ASB incident, referenced `WY-ASB-<year>-<n>` in time order."""
    occurred = event_times(ASB_RHYTHM, rng)
    n = occurred.size
    lsoa = locate(n, location_weights(terrain, ASB_CENTRE_PULL), rng)
    place = pick_places(lsoa, popularity, rng)
    return pl.DataFrame(
        [
            pl.Series("incident_ref", yearly_references(INCIDENT_REF_PREFIX, occurred).tolist(), dtype=pl.String),
            pl.Series("occurred_at", occurred.astype("datetime64[us]")),
            *location_columns(lsoas, lsoa, place),
            pl.Series("asb_category", draw_labels(ASB_CATEGORIES, n, rng).tolist(), dtype=pl.String),
        ]
    ).cast(ASB_SCHEMA)
