"""Map points: like police.uk's anonymous snap points, each LSOA has a fixed set of points near its centroid,
each "On or near" a street or a landmark, and every located event is placed on one of them.

Street names are synthetic (a stem and a kind drawn from fixed pools), so no point claims to be a real address.
"""

from __future__ import annotations

import numpy as np
import polars as pl

POINTS_PER_LSOA = 16
LANDMARK_SHARE = 0.35  # chance that an LSOA's first point is a landmark rather than a street
POINT_POPULARITY = 1.0  # gamma shape of a point's share of its LSOA's events: smaller is more concentrated
METRES_PER_DEGREE_LAT = 111_200.0
METRES_PER_DEGREE_LON = 65_900.0  # at Calderdale's latitude (53.7° N)
SPREAD_OF_AREA = 0.3  # a point's distance from the centroid, as a share of the square root of the LSOA's area
SPREAD_LIMITS_M = (120.0, 900.0)
NEIGHBOUR_CENTRE_SPREAD_M = 600.0  # a neighbour LSOA's centre around its MSOA's border centre

STREET_STEMS = (
    "Albert", "Akroyd", "Ash", "Bank", "Beech", "Birch", "Blackwall", "Bolton", "Brook", "Brunswick", "Burnley",
    "Calder", "Carr", "Castle", "Chapel", "Church", "Clare", "Clough", "Commercial", "Cross", "Crossley", "Dale",
    "Dean", "Elm", "Field", "Fountain", "Garden", "Gibbet", "Green", "Hall", "Hanson", "Heath", "Hebble", "High",
    "Hill", "Holme", "Hope", "Hough", "Industrial", "King", "Lister", "Lower", "Manor", "Market", "Mill", "Moor",
    "Mount", "Nab", "New", "North", "Oak", "Old", "Park", "Pellon", "Prospect", "Queen", "Railway", "Rock", "Royd",
    "Ryburn", "St John's", "Savile", "School", "Shaw", "Spring", "Station", "Stone", "Sunny Bank", "Swan",
    "Upper", "Vale", "Victoria", "Wade", "Water", "Well", "West", "Willow", "Wood", "York",
)
STREET_KINDS = (
    "Road", "Street", "Lane", "Close", "Avenue", "Terrace", "Drive", "Grove", "Crescent", "Place", "Gardens",
    "Fold", "Mount", "Way", "Court", "View", "Bank", "Croft", "Square", "Walk",
)
LANDMARKS = ("Supermarket", "Parking Area", "Sports/Recreation Area", "Petrol Station", "Shopping Area")

PLACE_SCHEMA = {"place_id": pl.Int64, "lsoa11cd": pl.String, "longitude": pl.Float64, "latitude": pl.Float64, "street": pl.String}


def build_places(lsoas: pl.DataFrame, rng: np.random.Generator) -> tuple[pl.DataFrame, np.ndarray]:
    """The map points of every LSOA, `POINTS_PER_LSOA` each, and their popularity.

    Point `place_id = lsoa_index * POINTS_PER_LSOA + k`; the popularity array (one row per LSOA) is the
    cumulative share of its events each point takes, for `pick_places`.
    """
    n = lsoas.height
    centre_lon = lsoas["longitude"].to_numpy().copy()
    centre_lat = lsoas["latitude"].to_numpy().copy()
    outside = ~lsoas["in_partnership"].to_numpy()
    centre_lon[outside] += rng.normal(0, NEIGHBOUR_CENTRE_SPREAD_M, outside.sum()) / METRES_PER_DEGREE_LON
    centre_lat[outside] += rng.normal(0, NEIGHBOUR_CENTRE_SPREAD_M, outside.sum()) / METRES_PER_DEGREE_LAT

    spread = np.clip(SPREAD_OF_AREA * np.sqrt(lsoas["area_m2"].to_numpy()), *SPREAD_LIMITS_M)[:, None]
    lon = centre_lon[:, None] + rng.normal(0, 1, (n, POINTS_PER_LSOA)) * spread / METRES_PER_DEGREE_LON
    lat = centre_lat[:, None] + rng.normal(0, 1, (n, POINTS_PER_LSOA)) * spread / METRES_PER_DEGREE_LAT

    names = np.array([f"{stem} {kind}" for stem in STREET_STEMS for kind in STREET_KINDS], dtype=object)
    chosen = rng.random((n, names.size)).argsort(axis=1)[:, :POINTS_PER_LSOA]  # distinct streets per LSOA
    streets = names[chosen]
    landmark = rng.random(n) < LANDMARK_SHARE
    streets[landmark, 0] = np.array(LANDMARKS, dtype=object)[rng.integers(0, len(LANDMARKS), landmark.sum())]

    popularity = rng.gamma(POINT_POPULARITY, 1.0, (n, POINTS_PER_LSOA))
    cumulative = np.cumsum(popularity, axis=1) / popularity.sum(axis=1, keepdims=True)

    places = pl.DataFrame(
        {
            "place_id": np.arange(n * POINTS_PER_LSOA),
            "lsoa11cd": np.repeat(lsoas["lsoa11cd"].to_numpy(), POINTS_PER_LSOA),
            "longitude": np.round(lon.ravel(), 6),
            "latitude": np.round(lat.ravel(), 6),
            "street": streets.ravel(),
        },
        schema=PLACE_SCHEMA,
    )
    return places, cumulative


def pick_places(lsoa_index: np.ndarray, popularity: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A map point for each event in LSOA `lsoa_index` (-1, no location, gives -1)."""
    located = lsoa_index >= 0
    u = rng.random(lsoa_index.size)
    k = (u[:, None] > popularity[np.where(located, lsoa_index, 0)]).sum(axis=1)
    return np.where(located, lsoa_index * POINTS_PER_LSOA + np.minimum(k, POINTS_PER_LSOA - 1), -1)
