"""The crime mix: streams of offences that share a rhythm, a geography and a kind of victim.

Each stream draws real Home Office offence codes; the police.uk crime type always comes from the code, through
the Home Office lookup shipped in data/reference, so the two can never disagree. Volumes are crimes a year at
the 2022/23 level (cross-border and no-location rows included) and give a mix close to England's: violence and
sexual offences about 38%, then criminal damage and arson, public order, other theft, shoplifting, vehicle
crime and burglary.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from pipeline.demo.timeline import Rhythm
from pipeline.paths import REFERENCE_DIR
from pipeline.sources.police_street import ASB, CURRENT_CRIME_TYPES

# police.uk's crime types, spelt as in its files (the Home Office lookup capitalises them differently)
POLICE_UK_CRIME_TYPES = CURRENT_CRIME_TYPES
ASB_CRIME_TYPE = ASB

# Racially or religiously aggravated offences: always hate crimes, of the race strand or the religion strand.
AGGRAVATED_CODES = ("8M", "8P", "105B", "9B", "58J")
AGGRAVATED_RELIGION_SHARE = 0.15
# Strands of the other hate crimes (police recorded hate crime in England and Wales, roughly).
HATE_STRANDS = {"race": 0.50, "sexual orientation": 0.20, "disability": 0.13, "transgender": 0.10, "religion": 0.07}
# Share of a code's crimes involving a knife or sharp instrument, or a firearm.
KNIFE_SHARE = {"10D": 1.0, "90": 1.0, "2": 0.5, "5D": 0.35, "34A": 0.3, "34B": 0.15, "3B": 0.08, "8N": 0.03, "5E": 0.1}
FIREARM_SHARE = {"10A": 1.0, "10B": 1.0, "81": 1.0, "34A": 0.04, "5D": 0.02, "3B": 0.01, "34B": 0.005}
# Offences against a business (its shop or premises is the victim, not a person).
BUSINESS_CODES = ("46", "30C", "30D", "34A")


@dataclass(frozen=True)
class Stream:
    """Crimes that happen alike: when (rhythm), what (codes), where (pulls), to whom and by whom."""

    name: str
    rhythm: Rhythm
    codes: dict[str, float]  # Home Office offence code -> share of the stream
    centre: float = 1.0  # pull of the town centres (see hotspots.location_weights)
    shops: float = 0.0  # pull of LSOAs with a big shop
    domestic: bool = False  # domestic abuse: victims recur (see people.domestic_victims)
    alcohol: float = 0.0  # share flagged alcohol-related
    hate: float = 0.0  # share flagged as hate crime, besides the aggravated codes
    victim: float = 1.0  # share with an identified victim
    victim_ages: str = "adult"  # a profile of people.AGE_PROFILES
    victim_female: float = 0.5
    offender: float = 0.5  # share with an identified suspect
    outcomes: str = "suspect"  # the outcomes.PROFILES entry once a suspect is identified


STREAMS = (
    Stream(
        "domestic",
        Rhythm(3250, (0.97, 1.02, 1.00, 0.98, 0.97), hours="domestic", covid=1.12),
        {"105A": 0.34, "8N": 0.21, "8L": 0.12, "8Q": 0.08, "8R": 0.06, "3B": 0.04, "5D": 0.02, "5E": 0.01,
         "19C": 0.03, "20A": 0.02, "11A": 0.01, "58A": 0.05, "58C": 0.015, "58D": 0.005},
        centre=0.0, domestic=True, alcohol=0.3, victim_ages="domestic", victim_female=0.78, offender=0.92,
        outcomes="domestic",
    ),
    Stream(
        "nte_violence",
        Rhythm(880, (1.00, 1.00, 1.00, 1.00, 0.97), weekday="nte_nights", hours="nte", nte=True),
        {"8N": 0.45, "105A": 0.40, "5D": 0.06, "104": 0.05, "8S": 0.03, "20A": 0.01},
        centre=120.0, alcohol=0.8, hate=0.02, victim=0.97, victim_ages="young_adult", victim_female=0.22,
        offender=0.6,
    ),
    Stream(
        "violence",
        Rhythm(3900, (0.97, 0.99, 1.00, 0.99, 0.96), covid=0.8),
        {"105A": 0.30, "8N": 0.18, "8R": 0.17, "8L": 0.12, "104": 0.05, "3B": 0.04, "105B": 0.03, "8S": 0.02,
         "5D": 0.02, "8M": 0.02, "8Q": 0.02, "8P": 0.01, "11A": 0.01, "5E": 0.01, "36": 0.003, "106": 0.003,
         "4.4": 0.002, "2": 0.001, "4.8": 0.001, "1/4.1/4.10/4.2": 0.0004},
        centre=10.0, alcohol=0.18, hate=0.02, victim=0.98, offender=0.7, victim_female=0.45,
    ),
    Stream(
        "sexual",
        Rhythm(660, (0.85, 1.00, 1.00, 1.02, 1.03), covid=0.7),
        {"20A": 0.30, "19C": 0.22, "88E": 0.10, "22B": 0.07, "20B": 0.06, "19D": 0.05, "19E": 0.03, "17A": 0.03,
         "21": 0.03, "17B": 0.02, "88A": 0.02, "71": 0.02, "19F": 0.02, "22A": 0.01, "73": 0.01, "19G": 0.01,
         "88C": 0.01, "70": 0.005},
        centre=2.0, alcohol=0.1, hate=0.005, victim_ages="sexual", victim_female=0.85, offender=0.6,
    ),
    Stream(
        "damage",
        Rhythm(2000, (1.00, 1.00, 1.00, 0.96, 0.93), covid=0.85, bonfire=1.35),
        {"58C": 0.34, "58A": 0.30, "58B": 0.14, "58D": 0.13, "56B": 0.06, "58J": 0.02, "56A": 0.01},
        centre=2.0, alcohol=0.1, hate=0.005, victim=0.93, victim_ages="property", offender=0.22,
    ),
    Stream(
        "nte_public_order",
        Rhythm(340, (1.00, 1.00, 1.00, 1.00, 0.97), weekday="nte_nights", hours="nte", nte=True),
        {"9A": 0.93, "62A": 0.04, "9B": 0.03},
        centre=120.0, alcohol=0.85, hate=0.04, victim=0.6, victim_ages="young_adult", victim_female=0.3,
        offender=0.75,
    ),
    Stream(
        "public_order",
        Rhythm(1850, (1.02, 1.04, 1.00, 0.95, 0.90), covid=0.95),
        {"9A": 0.84, "9B": 0.12, "62A": 0.02, "66": 0.02},
        centre=12.0, alcohol=0.2, hate=0.06, victim=0.75, victim_female=0.45, offender=0.65,
    ),
    Stream(
        "other_theft",
        Rhythm(2060, (0.85, 0.94, 1.00, 1.00, 0.98), weekday="flat", hours="daytime", covid=0.6),
        {"49": 0.62, "49A": 0.18, "40": 0.08, "35": 0.05, "41": 0.03, "43": 0.02, "42": 0.01, "47": 0.01},
        centre=6.0, shops=1.0, victim=0.95, victim_ages="property", offender=0.15,
    ),
    Stream(
        "shoplifting",
        Rhythm(1530, (0.80, 0.84, 1.00, 1.25, 1.45), season="retail", weekday="flat", hours="daytime", covid=0.45),
        {"46": 1.0},
        centre=30.0, shops=4.0, offender=0.5,
    ),
    Stream(
        "vehicle",
        Rhythm(1530, (1.02, 0.97, 1.00, 0.97, 0.92), season="dark_nights", weekday="flat", hours="overnight", covid=0.7),
        {"45": 0.55, "48": 0.28, "126": 0.14, "37.2": 0.03},
        centre=2.0, victim=0.97, victim_ages="property", victim_female=0.42, offender=0.06,
    ),
    Stream(
        "burglary",
        Rhythm(1320, (1.18, 1.07, 1.00, 0.92, 0.84), season="dark_nights", weekday="flat", hours="overnight", covid=0.65),
        {"28E": 0.60, "28F": 0.12, "28G": 0.02, "29A": 0.01, "30C": 0.20, "30D": 0.05},
        centre=0.3, victim=0.98, victim_ages="property", offender=0.12,
    ),
    Stream(
        "other_crime",
        Rhythm(875, (0.95, 1.00, 1.00, 1.02, 1.03), weekday="flat", hours="daytime", covid=0.9),
        {"54": 0.12, "59": 0.12, "86": 0.12, "99": 0.12, "802": 0.10, "95": 0.10, "79": 0.08, "33": 0.06,
         "61": 0.04, "61A": 0.03, "33A": 0.03, "69": 0.02, "24": 0.01, "38": 0.01, "80": 0.01, "96": 0.01,
         "814": 0.01, "27": 0.005},
        centre=3.0, victim=0.25, offender=0.85,
    ),
    Stream(
        "drugs",
        Rhythm(660, (1.35, 1.12, 1.00, 0.95, 1.00), hours="proactive", covid=1.5),
        {"92E": 0.55, "92A": 0.22, "92D": 0.20, "92C": 0.03},
        centre=10.0, victim=0.0, offender=0.99, outcomes="drugs",
    ),
    Stream(
        "theft_from_person",
        Rhythm(330, (0.60, 0.85, 1.00, 1.12, 1.22), hours="daytime", covid=0.3),
        {"39": 1.0},
        centre=25.0, victim_ages="young", victim_female=0.55, offender=0.08,
    ),
    Stream(
        "robbery",
        Rhythm(265, (0.85, 0.95, 1.00, 1.06, 1.08), covid=0.5),
        {"34B": 0.88, "34A": 0.12},
        centre=10.0, victim_ages="young", victim_female=0.22, offender=0.3,
    ),
    Stream(
        "weapons",
        Rhythm(285, (0.95, 1.00, 1.00, 1.05, 1.06), hours="proactive", covid=0.9),
        {"10D": 0.50, "10C": 0.25, "90": 0.16, "10B": 0.04, "81": 0.03, "10A": 0.02},
        centre=6.0, victim=0.0, offender=0.97,
    ),
    Stream(
        "bicycle",
        Rhythm(215, (1.25, 1.05, 1.00, 0.93, 0.88), weekday="flat", hours="daytime", covid=1.1),
        {"44": 1.0},
        centre=5.0, victim=0.97, victim_ages="young", victim_female=0.2, offender=0.05,
    ),
)


def offence_categories() -> dict[str, str]:
    """Home Office offence code -> police.uk crime type as police.uk spells it, for every code in the lookup."""
    lookup = pl.read_csv(REFERENCE_DIR / "ho_offence_codes_to_policeuk.csv", infer_schema=False)
    spelling = {t.lower(): t for t in POLICE_UK_CRIME_TYPES}
    categories = {}
    for code, category in lookup.select("Offence_Code", "Police.uk_Cat").iter_rows():
        if category.lower() not in spelling:
            raise ValueError(f"offence code {code}: police.uk category {category!r} is not one of police.uk's crime types")
        categories[code] = spelling[category.lower()]
    return categories


def check_streams(categories: dict[str, str]) -> None:
    """Every code a stream, or a flag table, uses must be a real Home Office code."""
    used = {code for s in STREAMS for code in s.codes} | set(AGGRAVATED_CODES) | set(KNIFE_SHARE) | set(FIREARM_SHARE) | set(BUSINESS_CODES)
    unknown = sorted(used - categories.keys())
    if unknown:
        raise ValueError(f"offence codes not in ho_offence_codes_to_policeuk.csv: {', '.join(unknown)}")
