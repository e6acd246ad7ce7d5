"""Where synthetic events fall: residents, a ward's level, each LSOA's own propensity, the pull of the town
centres (Halifax above all), a few LSOAs with big shops, a share over the border and a share with no location."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from pipeline.demo.places import METRES_PER_DEGREE_LAT, METRES_PER_DEGREE_LON

# (name, longitude, latitude, pull relative to Halifax)
TOWN_CENTRES = (
    ("Halifax", -1.8575, 53.7217, 1.00),
    ("Brighouse", -1.7840, 53.7030, 0.25),
    ("Sowerby Bridge", -1.9090, 53.7080, 0.12),
    ("Hebden Bridge", -2.0120, 53.7420, 0.12),
    ("Todmorden", -2.0970, 53.7137, 0.12),
    ("Elland", -1.8380, 53.6850, 0.10),
)
CENTRE_RADIUS_M = 700.0  # the town-centre pull falls off as a Gaussian of this scale
# Deprivation stands in as a ward level: central Halifax and the north Halifax estates high, the upper valley low.
WARD_LEVEL = {
    "Park": 2.6,
    "Town": 2.4,
    "Ovenden": 1.7,
    "Illingworth and Mixenden": 1.6,
    "Sowerby Bridge": 1.2,
    "Brighouse": 1.1,
    "Elland": 1.0,
    "Todmorden": 0.9,
    "Warley": 0.85,
    "Skircoat": 0.75,
    "Rastrick": 0.75,
    "Calder": 0.7,
    "Luddendenfoot": 0.65,
    "Northowram and Shelf": 0.65,
    "Hipperholme and Lightcliffe": 0.55,
    "Greetland and Stainland": 0.55,
    "Ryburn": 0.5,
}
LSOA_SPREAD = 0.3  # standard deviation of the log of an LSOA's own propensity within its ward
SHOP_SHARE = 0.1  # LSOAs with a supermarket or retail park outside the town centres
CROSS_BORDER_SHARE = 0.03  # events a force-wide file places in the neighbouring districts
NO_LOCATION_SHARE = 0.005  # events with no location


@dataclass(frozen=True)
class Terrain:
    """The fixed per-LSOA weights every stream of events combines (one row per LSOA of `load_lsoas`)."""

    residential: np.ndarray  # residents x ward level x propensity; neighbours: propensity only
    centre: np.ndarray  # pull of the town centres
    shops: np.ndarray  # 1 where there is a big shop
    in_partnership: np.ndarray


def survey_terrain(lsoas: pl.DataFrame, rng: np.random.Generator) -> Terrain:
    """Draw each LSOA's propensity and shops, and measure its distance from the town centres."""
    inside = lsoas["in_partnership"].to_numpy()
    ward = lsoas["ward_nm"].replace_strict(WARD_LEVEL, default=1.0, return_dtype=pl.Float64).to_numpy()
    residents = lsoas["residents"].fill_null(0).to_numpy().astype(float)
    propensity = rng.lognormal(-LSOA_SPREAD**2 / 2, LSOA_SPREAD, lsoas.height)
    residential = np.where(inside, residents * ward * propensity, propensity)
    lon, lat = lsoas["longitude"].to_numpy(), lsoas["latitude"].to_numpy()
    centre = np.zeros(lsoas.height)
    for _, c_lon, c_lat, pull in TOWN_CENTRES:
        d2 = ((lon - c_lon) * METRES_PER_DEGREE_LON) ** 2 + ((lat - c_lat) * METRES_PER_DEGREE_LAT) ** 2
        centre += pull * np.exp(-d2 / (2 * CENTRE_RADIUS_M**2))
    shops = ((rng.random(lsoas.height) < SHOP_SHARE) & inside).astype(float)
    return Terrain(residential=residential, centre=np.where(inside, centre, 0.0), shops=shops, in_partnership=inside)


def location_weights(terrain: Terrain, centre_pull: float, shop_pull: float = 0.0) -> np.ndarray:
    """Probability of each LSOA for one stream: `centre_pull` and `shop_pull` are extra events at a town centre
    or a big shop, in multiples of an average partnership LSOA's; `CROSS_BORDER_SHARE` goes to the neighbours."""
    inside = terrain.in_partnership
    average = terrain.residential[inside].mean()
    local = np.where(inside, terrain.residential + average * (centre_pull * terrain.centre + shop_pull * terrain.shops), 0.0)
    border = np.where(inside, 0.0, terrain.residential)
    return local / local.sum() * (1 - CROSS_BORDER_SHARE) + border / border.sum() * CROSS_BORDER_SHARE


def locate(n: int, weights: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """An LSOA index for each of `n` events, or -1 for the few with no location."""
    index = rng.choice(weights.size, size=n, p=weights)
    return np.where(rng.random(n) < NO_LOCATION_SHARE, -1, index)
