"""How generated events become rows: labels drawn from share tables, references numbered within each year,
and LSOA codes and map points that are null for the events with no location."""

from __future__ import annotations

import numpy as np
import polars as pl


def draw_labels(shares: dict[str, float], n: int, rng: np.random.Generator) -> np.ndarray:
    """`n` labels drawn in proportion to `shares` (normalised, so shares need not add up to 1)."""
    labels = np.array(list(shares), dtype=object)
    p = np.array(list(shares.values()))
    return labels[rng.choice(labels.size, n, p=p / p.sum())]


def dealt_labels(shares: dict[str, float], n: int, rng: np.random.Generator) -> np.ndarray:
    """`n` labels in proportion to `shares` as exactly as whole numbers allow (the remainder drawn), shuffled."""
    labels = np.array(list(shares), dtype=object)
    p = np.array(list(shares.values()))
    p = p / p.sum()
    counts = np.floor(p * n).astype(np.int64)
    dealt = np.concatenate([np.repeat(labels, counts), labels[rng.choice(labels.size, n - counts.sum(), p=p)]])
    return dealt[rng.permutation(n)]


def yearly_references(prefix: str, when: np.ndarray) -> np.ndarray:
    """`{prefix}-{year}-{n:06d}`, numbered from 1 within each calendar year, for events already in order."""
    years = when.astype("datetime64[Y]").astype(np.int64) + 1970
    first_of_year = np.searchsorted(years, years, side="left")
    number = np.arange(years.size) - first_of_year + 1
    return np.array([f"{prefix}-{y}-{n:06d}" for y, n in zip(years.tolist(), number.tolist())], dtype=object)


def location_columns(lsoas: pl.DataFrame, lsoa_index: np.ndarray, place_id: np.ndarray) -> list[pl.Series]:
    """`lsoa11cd` and `place_id` columns (index -1: no location, null)."""
    codes = lsoas["lsoa11cd"].to_numpy()[np.maximum(lsoa_index, 0)]
    return [
        pl.Series("lsoa11cd", np.where(lsoa_index >= 0, codes, None).tolist(), dtype=pl.String),
        pl.Series("place_id", np.where(place_id >= 0, place_id, None).tolist(), dtype=pl.Int64),
    ]
