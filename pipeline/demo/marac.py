"""Calderdale MARAC cases and IDVA referrals, from the same domestic abuse victims as the police's crimes.

Each domestic abuse crime is risk-assessed (DASH: high, medium or standard, by offence); a victim's first
high-risk crime refers them to MARAC. SafeLives' repeat definition then applies: any further domestic abuse
crime against the victim within 12 months of their last referral is referred again, as a repeat, whatever its
risk (crimes within `FOLD_DAYS` of the last referral are part of that referral). The victim id is the
police's, so that it pseudonymises to the same value as in the force's extract; the perpetrator's is the
crime's offender id. The referring agency is drawn: about 64% police, the rest partner agencies (SafeLives:
36% of referrals come from partners). Cases are heard at the next fortnightly meeting.

IDVA referrals: every high-risk case heard at MARAC, plus medium- and standard-risk victims referred by
the police, partners or themselves. No victim id (the IDVA service shares counts by risk, sex and source).

Quarterly files by meeting date (MARAC) and referral date (IDVA), dates written DD/MM/YYYY.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from pipeline.demo.delivery import UK_DATE, in_period, numbered, source_rng, write_csv, write_quarterly, yes_no
from pipeline.demo.echoes import partnership_crimes
from pipeline.demo.records import dealt_labels, draw_labels
from pipeline.demo.world import DemoWorld

MARAC = "marac"
IDVA = "idva_referrals"
# Chance a domestic abuse crime is assessed high risk, by offence code (others: DEFAULT_HIGH); medium risk
# is MEDIUM_SHARE of the rest.
HIGH_RISK = {"5D": 0.40, "5E": 0.30, "11A": 0.30, "19C": 0.35, "20A": 0.15, "8Q": 0.18, "8R": 0.15, "3B": 0.15,
             "8N": 0.07, "8L": 0.04, "105A": 0.025, "58A": 0.015, "58C": 0.015, "58D": 0.015}
DEFAULT_HIGH = 0.025
MEDIUM_SHARE = 0.45
FOLD_DAYS = 14  # a further crime this soon after a referral is part of it, not a new referral
REPEAT_DAYS = 365
REPEAT_IDENTIFIED = 0.75  # share of further crimes within 12 months that agencies flag back to MARAC
REFERRAL_DELAY_DAYS = 3  # from the crime being recorded to the referral, at most
FIRST_MEETING = np.datetime64("2020-04-07")  # fortnightly, on Tuesdays
MEETING_EVERY_DAYS = 14
LEAD_DAYS = 5  # a referral needs this long to be researched before it is heard
REFERRERS = {"police": 0.64, "idva": 0.12, "children's services": 0.06, "health": 0.06, "housing": 0.03,
             "voluntary sector": 0.04, "adult services": 0.02, "probation": 0.01, "education": 0.01, "other": 0.01}
ETHNICITY = {"White British": 0.80, "White Other": 0.03, "Asian or Asian British: Pakistani": 0.10,
             "Asian or Asian British: Other": 0.02, "Mixed": 0.02, "Black or Black British": 0.01, "Other": 0.005,
             "Not known": 0.015}
DISABILITY = 0.07
LGBT = 0.02
# IDVA referrals below the MARAC threshold, per MARAC case, and where they come from.
IDVA_OTHER = 0.8
IDVA_RISK = {"medium": 0.7, "standard": 0.3}
IDVA_SOURCES = {"police": 0.35, "self": 0.25, "health": 0.10, "voluntary sector": 0.10, "children's services": 0.08,
                "housing": 0.05, "adult services": 0.03, "other": 0.04}
MARAC_HEADINGS = {
    "case_id": "MARAC Ref",
    "victim_id": "Victim ID",
    "perpetrator_id": "Perpetrator ID",
    "meeting_date": "MARAC Date",
    "repeat": "Repeat Case",
    "referring_agency": "Referring Agency",
    "risk_level": "Risk Level",
    "victim_sex": "Victim Gender",
    "victim_age_band": "Victim Age Band",
    "ethnicity": "Victim Ethnicity",
    "disability": "Disability",
    "lgbt": "LGBT+",
}
IDVA_HEADINGS = {
    "referral_id": "Referral ID",
    "referral_date": "Referral Date",
    "risk_level": "Risk Level",
    "victim_sex": "Gender",
    "referral_source": "Referral Source",
}


def assessed_crimes(world: DemoWorld, rng: np.random.Generator) -> pl.DataFrame:
    """The partnership's domestic abuse crimes against a person, by victim and time, with their DASH risk."""
    crimes = partnership_crimes(world).filter(pl.col("domestic_abuse") & pl.col("victim_id").is_not_null())
    crimes = crimes.sort("victim_id", "recorded_date", "crime_ref")
    high = crimes["offence_code"].replace_strict(HIGH_RISK, default=DEFAULT_HIGH, return_dtype=pl.Float64).to_numpy()
    u = rng.random(crimes.height)
    risk = np.where(u < high, "high", np.where(u < high + (1 - high) * MEDIUM_SHARE, "medium", "standard"))
    return crimes.with_columns(pl.Series("risk_level", risk))


def _referrals(crimes: pl.DataFrame, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Which crimes are referred to MARAC, and which of those are repeats (crimes sorted by victim and date)."""
    flagged = (rng.random(crimes.height) < REPEAT_IDENTIFIED).tolist()
    victim = crimes["victim_id"].to_list()
    day = crimes["recorded_date"].to_numpy().astype("datetime64[D]").astype(np.int64).tolist()
    high = (crimes["risk_level"] == "high").to_list()
    referred = np.zeros(crimes.height, dtype=bool)
    repeat = np.zeros(crimes.height, dtype=bool)
    current, last = None, None
    for i in range(crimes.height):
        if victim[i] != current:
            current, last = victim[i], None
        since = day[i] - last if last is not None else None
        if since is not None and since <= FOLD_DAYS:
            continue
        if since is not None and since <= REPEAT_DAYS and flagged[i]:
            referred[i] = repeat[i] = True
        elif high[i]:
            referred[i] = True
        if referred[i]:
            last = day[i]
    return referred, repeat


def _next_meeting(day: np.ndarray) -> np.ndarray:
    """The first fortnightly meeting at least `LEAD_DAYS` after each referral day."""
    ready = (day + LEAD_DAYS - FIRST_MEETING).astype(np.int64)
    return FIRST_MEETING + (np.ceil(np.maximum(ready, 0) / MEETING_EVERY_DAYS) * MEETING_EVERY_DAYS).astype("timedelta64[D]")


def marac_rows(world: DemoWorld) -> pl.DataFrame:
    """Every MARAC case heard in the period, in meeting order, in the canonical columns (plus `referral_date`)."""
    rng = source_rng(world.seed, MARAC)
    crimes = assessed_crimes(world, rng)
    referred, repeat = _referrals(crimes, rng)
    cases = crimes.filter(pl.Series(referred)).with_columns(pl.Series("repeat", repeat[referred]))
    n = cases.height
    referral = cases["recorded_date"].to_numpy().astype("datetime64[D]") + rng.integers(0, REFERRAL_DELAY_DAYS + 1, n).astype("timedelta64[D]")
    victims = cases["victim_id"].unique().sort()
    traits = pl.DataFrame({
        "victim_id": victims,
        "ethnicity": draw_labels(ETHNICITY, victims.len(), rng).tolist(),
        "disability": rng.random(victims.len()) < DISABILITY,
        "lgbt": rng.random(victims.len()) < LGBT,
    }, schema_overrides={"ethnicity": pl.String})
    cases = cases.with_columns(
        pl.Series("referral_date", referral).cast(pl.Date),
        pl.Series("meeting_date", _next_meeting(referral)).cast(pl.Date),
        pl.Series("referring_agency", dealt_labels(REFERRERS, n, rng).tolist(), dtype=pl.String),
        pl.Series("tiebreak", rng.random(n)),
    ).join(traits, on="victim_id", how="left", maintain_order="left")
    cases = cases.filter(in_period(pl.col("meeting_date"))).sort("meeting_date", "tiebreak")
    return cases.select(
        numbered("MARAC", pl.col("meeting_date")).alias("case_id"),
        "victim_id",
        pl.col("offender_id").alias("perpetrator_id"),
        "meeting_date",
        "repeat",
        "referring_agency",
        "risk_level",
        "victim_sex",
        "victim_age_band",
        "ethnicity",
        "disability",
        "lgbt",
        "referral_date",
    )


def write_marac(world: DemoWorld, raw_dir: Path) -> list[Path]:
    """One file per financial quarter of the meeting date; return the paths in quarter order."""
    rows = marac_rows(world).drop("referral_date").with_columns(yes_no("repeat"), yes_no("disability"), yes_no("lgbt"))
    return write_quarterly(
        rows, "meeting_date", raw_dir, lambda part, path: write_csv(part.rename(MARAC_HEADINGS), path, date_format=UK_DATE)
    )


def idva_rows(world: DemoWorld) -> pl.DataFrame:
    """Every IDVA referral of the period, in referral order, in the canonical columns."""
    rng = source_rng(world.seed, IDVA)
    cases = marac_rows(world).filter(pl.col("risk_level") == "high")
    high = cases.select(
        "referral_date", "risk_level", "victim_sex",
        pl.when(pl.col("referring_agency") == "idva").then(pl.lit("police")).otherwise(pl.col("referring_agency")).alias("referral_source"),
    )
    crimes = assessed_crimes(world, source_rng(world.seed, MARAC)).filter(pl.col("risk_level") != "high")
    n = int(rng.poisson(IDVA_OTHER * cases.height))
    picked = crimes[np.sort(rng.choice(crimes.height, size=min(n, crimes.height), replace=False))]
    m = picked.height
    others = picked.select(
        (pl.col("recorded_date") + pl.duration(days=pl.Series(rng.integers(0, 8, m)))).alias("referral_date"),
        pl.Series("risk_level", draw_labels(IDVA_RISK, m, rng).tolist(), dtype=pl.String),
        "victim_sex",
        pl.Series("referral_source", draw_labels(IDVA_SOURCES, m, rng).tolist(), dtype=pl.String),
    )
    referrals = pl.concat([high, others]).with_columns(pl.Series("tiebreak", rng.random(high.height + m)))
    referrals = referrals.filter(in_period(pl.col("referral_date"))).sort("referral_date", "tiebreak")
    return referrals.select(
        numbered("IDVA", pl.col("referral_date")).alias("referral_id"), "referral_date", "risk_level", "victim_sex", "referral_source"
    )


def write_idva_referrals(world: DemoWorld, raw_dir: Path) -> list[Path]:
    """One file per financial quarter of the referral date; return the paths in quarter order."""
    return write_quarterly(
        idva_rows(world), "referral_date", raw_dir, lambda part, path: write_csv(part.rename(IDVA_HEADINGS), path, date_format=UK_DATE)
    )
