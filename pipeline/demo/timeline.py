"""When synthetic events happen: the five demo financial years, and the rhythms crime and ASB follow in them.

A `Rhythm` turns a yearly volume into an expected count for every day (trend, season, day of week, the
Covid-19 lockdowns, bonfire night) and then a time of day, so that every source generated from the world
shows the patterns an analyst would look for. Fixed dates only: nothing depends on today.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

DEMO_START = date(2020, 4, 1)
DEMO_END = date(2025, 3, 31)
DAYS = np.arange(np.datetime64(DEMO_START, "D"), np.datetime64(DEMO_END, "D") + 1)
FINANCIAL_YEARS = 5

# Trend values are levels at the middle of each financial year (1 October); days between are interpolated.
_TREND_ANCHORS = np.array([np.datetime64(f"{DEMO_START.year + i}-10-01", "D") for i in range(FINANCIAL_YEARS)])

# Relative level by calendar month, January first.
SEASONS = {
    "summer": (0.90, 0.88, 0.95, 0.98, 1.04, 1.08, 1.13, 1.09, 1.02, 1.01, 0.97, 0.95),
    "dark_nights": (1.10, 1.00, 0.94, 0.88, 0.86, 0.85, 0.88, 0.92, 0.96, 1.10, 1.22, 1.20),
    "retail": (0.95, 0.92, 0.98, 0.97, 1.00, 0.98, 1.00, 1.00, 0.97, 1.02, 1.06, 1.15),
    "asb": (0.76, 0.76, 0.90, 1.02, 1.14, 1.22, 1.30, 1.24, 1.02, 1.04, 0.90, 0.78),
    # outdoor fires: dry springs (grass and moorland) and summer evenings; wet, dark winters are quiet
    "fire": (0.70, 0.80, 1.15, 1.50, 1.35, 1.15, 1.15, 1.10, 0.90, 0.85, 0.85, 0.60),
    # chimney fires: the heating season
    "heating": (1.60, 1.50, 1.20, 0.80, 0.40, 0.20, 0.20, 0.20, 0.50, 1.10, 1.50, 1.80),
    "flat": (1.0,) * 12,
}

# Relative level by day of the week, Monday first. For night-time economy rhythms the day is the night's start.
WEEKDAYS = {
    "flat": (1.00, 1.00, 1.00, 1.00, 1.04, 1.00, 0.86),
    "weekend": (0.88, 0.86, 0.88, 0.93, 1.14, 1.32, 1.16),
    "nte_nights": (0.15, 0.15, 0.25, 0.55, 2.30, 2.80, 0.50),
}

# Relative level by hour of the day, midnight first.
HOURS = {
    "daytime": (0.10, 0.05, 0.03, 0.03, 0.03, 0.05, 0.20, 0.50, 1.20, 2.50, 3.50, 4.00,
                4.20, 4.30, 4.50, 4.50, 4.20, 3.80, 3.00, 2.00, 1.20, 0.60, 0.30, 0.15),
    "evening": (1.60, 1.20, 0.90, 0.60, 0.40, 0.30, 0.40, 0.80, 1.30, 1.60, 1.80, 2.00,
                2.20, 2.30, 2.50, 2.80, 3.20, 3.50, 3.60, 3.60, 3.40, 3.10, 2.60, 2.10),
    "overnight": (3.00, 3.00, 3.00, 2.50, 2.00, 1.50, 1.20, 1.20, 1.30, 1.50, 1.60, 1.60,
                  1.70, 1.80, 2.00, 2.20, 2.50, 2.80, 3.00, 3.20, 3.30, 3.40, 3.40, 3.20),
    "domestic": (2.00, 1.60, 1.20, 0.80, 0.50, 0.40, 0.50, 0.80, 1.10, 1.30, 1.40, 1.50,
                 1.60, 1.70, 1.80, 2.00, 2.30, 2.60, 2.90, 3.10, 3.20, 3.10, 2.90, 2.50),
    "proactive": (0.80, 0.60, 0.40, 0.30, 0.20, 0.20, 0.30, 0.60, 1.00, 1.40, 1.80, 2.20,
                  2.50, 2.80, 3.00, 3.20, 3.30, 3.30, 3.20, 3.00, 2.60, 2.10, 1.60, 1.10),
    # bars and clubs: 21:00 to 04:59 only; the small hours belong to the next calendar day
    "nte": (5.00, 4.50, 3.50, 2.00, 0.80, 0.00, 0.00, 0.00, 0.00, 0.00, 0.00, 0.00,
            0.00, 0.00, 0.00, 0.00, 0.00, 0.00, 0.00, 0.00, 0.00, 1.50, 3.00, 4.50),
}
NIGHT_ENDS_HOUR = 5

# First lockdown: a rhythm's `covid` level applies in full in April 2020 and fades through May and June.
COVID_FADE = {np.datetime64("2020-04", "M"): 1.0, np.datetime64("2020-05", "M"): 0.65, np.datetime64("2020-06", "M"): 0.3}
# Pubs and clubs shut (England, then West Yorkshire's tier 3): night-time economy crime all but stops.
HOSPITALITY_CLOSED = (
    (np.datetime64("2020-03-23"), np.datetime64("2020-07-03")),
    (np.datetime64("2020-11-05"), np.datetime64("2021-04-11")),
)
NTE_WHEN_CLOSED = 0.15
BONFIRE_SEASON = ((10, 24), (11, 6))  # Halloween to bonfire night, inclusive (month, day)


@dataclass(frozen=True)
class Rhythm:
    """How many events a year, and when: the knobs every generated source turns."""

    per_year: float  # events a year at the 2022/23 level
    trend: tuple[float, float, float, float, float] = (1.0, 1.0, 1.0, 1.0, 1.0)  # level per financial year
    season: str = "summer"
    weekday: str = "weekend"
    hours: str = "evening"
    covid: float = 1.0  # level in April 2020 relative to normal
    bonfire: float = 1.0  # level from Halloween to bonfire night relative to normal
    nte: bool = False  # night-time economy: stops while hospitality is closed


def _month_of_year(days: np.ndarray) -> np.ndarray:
    return days.astype("datetime64[M]").astype(np.int64) % 12


def _weekday(days: np.ndarray) -> np.ndarray:
    return (days.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday


def daily_rate(rhythm: Rhythm, days: np.ndarray = DAYS) -> np.ndarray:
    """Expected events on each day."""
    season = np.array(SEASONS[rhythm.season])
    weekday = np.array(WEEKDAYS[rhythm.weekday])
    rate = rhythm.per_year / 365.25 * np.interp(days.astype(np.int64), _TREND_ANCHORS.astype(np.int64), rhythm.trend)
    rate = rate * (season / season.mean())[_month_of_year(days)] * (weekday / weekday.mean())[_weekday(days)]
    months = days.astype("datetime64[M]")
    for month, fade in COVID_FADE.items():
        rate = np.where(months == month, rate * (1 + (rhythm.covid - 1) * fade), rate)
    month_day = (_month_of_year(days) + 1) * 100 + (days - months.astype("datetime64[D]")).astype(np.int64) + 1
    (m1, d1), (m2, d2) = BONFIRE_SEASON
    rate = np.where((month_day >= m1 * 100 + d1) & (month_day <= m2 * 100 + d2), rate * rhythm.bonfire, rate)
    if rhythm.nte:
        for first, last in HOSPITALITY_CLOSED:
            rate = np.where((days >= first) & (days <= last), rate * NTE_WHEN_CLOSED, rate)
    return rate


def times_on(days: np.ndarray, rhythm: Rhythm, rng: np.random.Generator) -> np.ndarray:
    """A time of day for each event day (datetime64[s]); night-time economy small hours roll to the next day."""
    hours = np.array(HOURS[rhythm.hours])
    cdf = np.cumsum(hours) / hours.sum()
    hour = np.minimum(np.searchsorted(cdf, rng.random(days.size), side="right"), 23)
    minute = rng.integers(0, 60, days.size)
    day = days + (hour < NIGHT_ENDS_HOUR) if rhythm.nte else days
    return day.astype("datetime64[s]") + (hour * 3600 + minute * 60).astype("timedelta64[s]")


def event_times(rhythm: Rhythm, rng: np.random.Generator) -> np.ndarray:
    """Every event of a rhythm over the demo period, in time order (datetime64[s])."""
    counts = rng.poisson(daily_rate(rhythm))
    days = np.repeat(DAYS, counts)
    times = times_on(days, rhythm, rng)
    times = times[times < (np.datetime64(DEMO_END, "D") + 1).astype("datetime64[s]")]
    return np.sort(times, kind="stable")
