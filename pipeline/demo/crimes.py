"""Police recorded crime in the world: one row per crime, carrying everything a force's own extract would
(offence code, times, location, flags, victim and offender, outcome), built stream by stream."""

from __future__ import annotations

import numpy as np
import polars as pl

from pipeline.demo.hotspots import Terrain, locate, location_weights
from pipeline.demo.offences import (
    AGGRAVATED_CODES,
    AGGRAVATED_RELIGION_SHARE,
    BUSINESS_CODES,
    FIREARM_SHARE,
    HATE_STRANDS,
    KNIFE_SHARE,
    STREAMS,
    Stream,
)
from pipeline.demo.outcomes import last_outcomes
from pipeline.demo.people import (
    domestic_victims,
    offending_rates,
    prolific_offenders,
    pseudonyms,
    repeat_victims,
    victim_traits,
)
from pipeline.demo.places import pick_places
from pipeline.demo.records import draw_labels, location_columns, yearly_references
from pipeline.demo.timeline import event_times, times_on

RECORDING_SAME_DAY = 0.55  # recorded the day it happened; otherwise one or more days later (geometric)
MAX_RECORDING_DELAY_DAYS = 10
CRIME_REF_PREFIX = "WY"

# Victims and offenders are integer keys until the end: domain x KEY_SPAN + index within the domain.
KEY_SPAN = 10**9
BUSINESS_DOMAIN = 90  # a shop or premises, keyed by its map point: the same shop is victimised again and again
OFFENDER_POOL_DOMAIN = 91

CRIME_SCHEMA = {
    "crime_ref": pl.String,
    "recorded_date": pl.Date,
    "committed_at": pl.Datetime("us"),
    "lsoa11cd": pl.String,
    "place_id": pl.Int64,
    "offence_code": pl.String,
    "police_uk_category": pl.String,
    "outcome": pl.String,
    "domestic_abuse": pl.Boolean,
    "hate_strand": pl.String,
    "knife": pl.Boolean,
    "firearm": pl.Boolean,
    "alcohol": pl.Boolean,
    "night_time_economy": pl.Boolean,
    "victim_id": pl.String,
    "offender_id": pl.String,
    "victim_age_band": pl.String,
    "victim_sex": pl.String,
}


def _share_of(code: np.ndarray, shares: dict[str, float]) -> np.ndarray:
    """Each crime's share from a per-code table (0 for codes not listed)."""
    unique, inverse = np.unique(code, return_inverse=True)
    return np.array([shares.get(c, 0.0) for c in unique.tolist()])[inverse]


def _stream_crimes(
    index: int,
    stream: Stream,
    lsoas: pl.DataFrame,
    terrain: Terrain,
    popularity: np.ndarray,
    offenders: np.ndarray,
    rng: np.random.Generator,
) -> tuple[pl.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    """One stream's crimes, with their victim and offender keys and outcome profile (kept out of the frame)."""
    if stream.domestic:
        days, victim, perpetrator = domestic_victims(stream.rhythm, rng)
        committed = times_on(days, stream.rhythm, rng)
        ages, sexes = victim_traits(int(victim.max()) + 1, stream.victim_ages, stream.victim_female, rng)
    else:
        committed = event_times(stream.rhythm, rng)
        victim, pool = repeat_victims(committed.size, rng)
        perpetrator = prolific_offenders(committed.size, offenders, rng)
        ages, sexes = victim_traits(pool, stream.victim_ages, stream.victim_female, rng)
    n = committed.size
    lsoa = locate(n, location_weights(terrain, stream.centre, stream.shops), rng)
    place = pick_places(lsoa, popularity, rng)

    code = draw_labels(stream.codes, n, rng).astype(str)
    knife = rng.random(n) < _share_of(code, KNIFE_SHARE)
    firearm = rng.random(n) < _share_of(code, FIREARM_SHARE)
    aggravated_strand = np.where(rng.random(n) < AGGRAVATED_RELIGION_SHARE, "religion", "race")
    other_strand = np.where(rng.random(n) < stream.hate, draw_labels(HATE_STRANDS, n, rng), None)
    hate = np.where(np.isin(code, AGGRAVATED_CODES), aggravated_strand, other_strand)

    business = np.isin(code, BUSINESS_CODES)
    person = (rng.random(n) < stream.victim) & ~business
    business_key = np.where(place >= 0, BUSINESS_DOMAIN * KEY_SPAN + place, -1)  # premises unknown: no victim id
    victim_key = np.where(person, index * KEY_SPAN + victim, np.where(business, business_key, -1))
    offender_domain = index if stream.domestic else OFFENDER_POOL_DOMAIN
    identified = rng.random(n) < stream.offender
    offender_key = np.where(identified, offender_domain * KEY_SPAN + perpetrator, -1)
    profile = np.where(identified, stream.outcomes, "no_suspect")

    frame = pl.DataFrame(
        [
            pl.Series("committed_at", committed.astype("datetime64[us]")),
            *location_columns(lsoas, lsoa, place),
            pl.Series("offence_code", code, dtype=pl.String),
            pl.Series("domestic_abuse", np.full(n, stream.domestic)),
            pl.Series("hate_strand", hate.tolist(), dtype=pl.String),
            pl.Series("knife", knife),
            pl.Series("firearm", firearm),
            pl.Series("alcohol", rng.random(n) < stream.alcohol),
            pl.Series("night_time_economy", np.full(n, stream.rhythm.nte)),
            pl.Series("victim_age_band", np.where(person, ages[victim], None).tolist(), dtype=pl.String),
            pl.Series("victim_sex", np.where(person, sexes[victim], None).tolist(), dtype=pl.String),
        ]
    )
    return frame, victim_key, offender_key, profile


def build_crimes(
    lsoas: pl.DataFrame, terrain: Terrain, popularity: np.ndarray, categories: dict[str, str], rng: np.random.Generator
) -> pl.DataFrame:
    """Every crime of every stream, referenced `WY-<year recorded>-<n>` in recording order."""
    offenders = offending_rates(rng)
    parts = [_stream_crimes(i, s, lsoas, terrain, popularity, offenders, rng) for i, s in enumerate(STREAMS)]
    crimes = pl.concat([p[0] for p in parts])
    victim_key, offender_key, profile = (np.concatenate([p[k] for p in parts]) for k in (1, 2, 3))

    committed_day = crimes["committed_at"].to_numpy().astype("datetime64[D]")
    delay = np.minimum(rng.geometric(RECORDING_SAME_DAY, crimes.height) - 1, MAX_RECORDING_DELAY_DAYS)
    crimes = crimes.with_columns(
        pl.Series("recorded_date", committed_day + delay).cast(pl.Date),
        pl.Series("outcome", last_outcomes(profile, committed_day, rng).tolist(), dtype=pl.String),
        pl.Series("victim_id", pseudonyms(victim_key, "V", rng).tolist(), dtype=pl.String),
        pl.Series("offender_id", pseudonyms(offender_key, "O", rng).tolist(), dtype=pl.String),
        pl.col("offence_code").replace_strict(categories, return_dtype=pl.String).alias("police_uk_category"),
        pl.Series("tiebreak", rng.random(crimes.height)),
    ).sort("recorded_date", "committed_at", "tiebreak")
    references = yearly_references(CRIME_REF_PREFIX, crimes["recorded_date"].to_numpy())
    return (
        crimes.with_columns(pl.Series("crime_ref", references.tolist(), dtype=pl.String))
        .sort("committed_at", "crime_ref")
        .select(list(CRIME_SCHEMA))
        .cast(CRIME_SCHEMA)
    )
