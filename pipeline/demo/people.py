"""Who: victims and offenders as pseudonymous people who recur, so that repeat victimisation, MARAC repeats
and prolific offenders can be measured from any source generated out of the world.

Domestic abuse is generated victim first: each victim's first crime follows the stream's rhythm, and about a
third suffer further crimes weeks or months later (SafeLives: 31% of MARAC cases are repeats within 12
months), usually by the same perpetrator.
"""

from __future__ import annotations

import numpy as np

from pipeline.demo.timeline import DAYS, Rhythm, daily_rate

AGE_BANDS = ("0-17", "18-24", "25-34", "35-44", "45-54", "55-64", "65+")
AGE_PROFILES = {
    "adult": (0.10, 0.17, 0.24, 0.19, 0.15, 0.09, 0.06),
    "young_adult": (0.03, 0.42, 0.32, 0.13, 0.07, 0.02, 0.01),
    "young": (0.25, 0.30, 0.20, 0.11, 0.07, 0.04, 0.03),
    "domestic": (0.03, 0.20, 0.33, 0.23, 0.13, 0.05, 0.03),
    "sexual": (0.38, 0.20, 0.17, 0.11, 0.08, 0.04, 0.02),
    "property": (0.02, 0.08, 0.20, 0.21, 0.20, 0.15, 0.14),
}
UNKNOWN_AGE_SHARE = 0.015
UNKNOWN_SEX_SHARE = 0.01

VICTIM_POOL_FACTOR = 4  # other victims come from a pool 4x a stream's crimes: about 1 crime in 9 hits a repeat victim
OFFENDER_POOL = 20_000  # people who may commit the other crimes with an identified suspect
OFFENDER_SHAPE = 0.4  # gamma shape of how often each offends: small values give a prolific few

DA_REPEAT_SHARE = 0.32  # domestic abuse victims who suffer at least one more crime
DA_FURTHER_REPEAT = 0.5  # after each repeat, the chance of yet another
DA_GAP_DAYS = 110.0  # mean days between a victim's crimes
DA_NEW_PERPETRATOR = 0.1  # repeats by someone other than the first perpetrator
DA_BURN_IN_DAYS = 365  # victims whose abuse began in the year before the demo, so early repeats are not missing


def victim_traits(n: int, ages: str, female: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Age band and sex (`F`, `M` or `unknown`) for `n` people."""
    profile = np.array(AGE_PROFILES[ages])
    age = np.array(AGE_BANDS)[rng.choice(len(AGE_BANDS), n, p=profile / profile.sum())]
    age = np.where(rng.random(n) < UNKNOWN_AGE_SHARE, "unknown", age)
    sex = np.where(rng.random(n) < female, "F", "M")
    sex = np.where(rng.random(n) < UNKNOWN_SEX_SHARE, "unknown", sex)
    return age.astype(object), sex.astype(object)


def repeat_victims(n: int, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """A victim (index into a pool) for each of `n` crimes, and the pool's size."""
    pool = max(1, VICTIM_POOL_FACTOR * n)
    return rng.integers(0, pool, n), pool


def offending_rates(rng: np.random.Generator) -> np.ndarray:
    """How likely each member of the offender pool is to be the suspect of a crime (sums to 1)."""
    rate = rng.gamma(OFFENDER_SHAPE, 1.0, OFFENDER_POOL)
    return rate / rate.sum()


def prolific_offenders(n: int, rates: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """An offender (index into the shared pool) for each of `n` crimes."""
    return rng.choice(rates.size, n, p=rates)


def domestic_victims(rhythm: Rhythm, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Days of domestic abuse crimes, with victim and perpetrator indices, over the demo period.

    First crimes follow `rhythm` divided by the mean crimes per victim, so the total follows the rhythm too.
    """
    days = np.arange(DAYS[0] - DA_BURN_IN_DAYS, DAYS[-1] + 1)
    crimes_per_victim = 1 + DA_REPEAT_SHARE / (1 - DA_FURTHER_REPEAT)
    first = np.repeat(days, rng.poisson(daily_rate(rhythm, days) / crimes_per_victim))
    victims = first.size
    count = 1 + np.where(rng.random(victims) < DA_REPEAT_SHARE, rng.geometric(1 - DA_FURTHER_REPEAT, victims), 0)

    victim = np.repeat(np.arange(victims), count)
    start = np.repeat(np.cumsum(count) - count, count)
    nth = np.arange(victim.size) - start
    gap = np.where(nth == 0, 0, np.ceil(rng.exponential(DA_GAP_DAYS, victim.size))).astype(np.int64)
    elapsed = np.cumsum(gap)
    elapsed -= elapsed[start]
    day = first[victim] + elapsed

    perpetrator = np.where((nth > 0) & (rng.random(victim.size) < DA_NEW_PERPETRATOR), victims + np.arange(victim.size), victim)
    keep = (day >= DAYS[0]) & (day <= DAYS[-1])
    return day[keep], victim[keep], perpetrator[keep]


def pseudonyms(keys: np.ndarray, prefix: str, rng: np.random.Generator) -> np.ndarray:
    """Turn internal integer keys (-1: nobody) into ids like `V004211`, numbered in a random order so that an
    id says nothing about how it was generated."""
    unique, inverse = np.unique(keys, return_inverse=True)
    number = rng.permutation(unique.size)
    ids = np.array([f"{prefix}{k:06d}" for k in number], dtype=object)[inverse]
    return np.where(keys < 0, None, ids)
