"""West Yorkshire Fire and Rescue Service incidents in Calderdale, as the service's partnership extract
gives them: every incident attended, with the deliberate-fire categories of the information-sharing duty.

Deliberate fires fall where the police's ASB and criminal damage concentrate, on evenings and weekends, in
dry springs and summers, and around bonfire night (Halloween to 6 November, and 5 November above all);
dwelling fires follow the residents, chimney fires the upper valley in winter. Quarterly files by call date,
`2024-25-Q1.csv`, CRLF line endings, the service's headings.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from pipeline.demo.delivery import CRLF, numbered, source_rng, write_csv, write_quarterly, yes_no
from pipeline.demo.echoes import lsoa_weights, partnership_crimes, partnership_lsoas, pick_lsoas, resident_weights
from pipeline.demo.hotspots import WARD_LEVEL
from pipeline.demo.records import draw_labels
from pipeline.demo.timeline import DEMO_END, DEMO_START, Rhythm, event_times
from pipeline.demo.world import DemoWorld

SOURCE = "fire_incidents"


@dataclass(frozen=True)
class Kind:
    """Incidents alike: their type, how many a year and when, how many deliberate, where, and what burned."""

    incident_type: str
    rhythm: Rhythm
    deliberate: float
    where: str  # "disorder" (ASB and damage), "residents", "deprived", "crime" (all crime) or "upland"
    properties: dict[str, float]
    casualty: float = 0.0  # chance of one or more casualties
    fatality: float = 0.0
    smoke_alarm: bool = False  # dwelling fires record whether a smoke alarm was fitted and worked


KINDS = (
    Kind("secondary fire", Rhythm(420, (1.10, 1.05, 1.00, 0.95, 0.92), season="fire", covid=1.3, bonfire=2.5), 1.0, "disorder",
         {"Loose refuse": 0.30, "Refuse/rubbish container": 0.25, "Grassland, woodland and crops": 0.20, "Wheelie bin": 0.15,
          "Derelict building": 0.04, "Other outdoor": 0.06}, casualty=0.002),
    Kind("secondary fire", Rhythm(130, season="fire", weekday="flat", hours="daytime"), 0.0, "upland",
         {"Grassland, woodland and crops": 0.55, "Loose refuse": 0.25, "Other outdoor": 0.20}),
    Kind("primary fire", Rhythm(115, season="dark_nights", weekday="flat"), 0.10, "deprived",
         {"Dwelling - house": 0.62, "Dwelling - flat": 0.32, "Dwelling - other": 0.06}, casualty=0.12, fatality=0.008,
         smoke_alarm=True),
    Kind("primary fire", Rhythm(75, hours="overnight"), 0.50, "disorder",
         {"Car": 0.75, "Van": 0.12, "Motorcycle": 0.08, "Other road vehicle": 0.05}, casualty=0.01),
    Kind("primary fire", Rhythm(65, weekday="flat", hours="daytime"), 0.25, "crime",
         {"Shop": 0.20, "Industrial premises": 0.25, "Other building": 0.30, "Outdoor structure": 0.25}, casualty=0.03),
    Kind("chimney fire", Rhythm(30, season="heating", weekday="flat"), 0.0, "upland", {"Dwelling - house - chimney": 1.0}),
    Kind("false alarm", Rhythm(1100, season="flat", weekday="flat", hours="daytime"), 0.06, "crime",
         {"Dwelling - house": 0.35, "Dwelling - flat": 0.15, "Care home": 0.08, "Hospital": 0.05, "School": 0.07,
          "Office": 0.10, "Shop": 0.08, "Other building": 0.12}),
    Kind("road traffic collision", Rhythm(130, season="dark_nights", weekday="flat", hours="daytime", covid=0.5), 0.0, "residents",
         {"Car": 0.80, "Van": 0.10, "Motorcycle": 0.06, "Other road vehicle": 0.04}, casualty=0.55),
    Kind("special service", Rhythm(450, weekday="flat", hours="daytime"), 0.0, "residents",
         {"Dwelling - house": 0.40, "Road": 0.20, "River or canal": 0.05, "Lift": 0.05, "Other": 0.30}, casualty=0.10),
)
BONFIRE_NIGHT_EXTRA = 14  # more deliberate secondary fires on each 5 November evening (Poisson mean)
ATTACK_ON_CREW = 0.015  # of deliberate secondary fires (bonfire night: BONFIRE_ATTACKS)
BONFIRE_ATTACKS = 0.08
SMOKE_ALARM = {"present and operated": 0.55, "present, did not operate": 0.20, "absent": 0.20, "unknown": 0.05}
HEADINGS = {
    "incident_id": "Incident Number",
    "call_datetime": "Call Date Time",
    "incident_type": "Incident Type",
    "deliberate": "Motive Deliberate",
    "property_type": "Property Type",
    "lsoa_code": "LSOA Code",
    "casualties": "Non-fatal Casualties",
    "fatalities": "Fatalities",
    "smoke_alarm": "Smoke Alarm",
    "attack_on_crew": "Attack on Crew",
}


def _weights(world: DemoWorld) -> dict[str, np.ndarray]:
    crimes = partnership_crimes(world).filter(pl.col("lsoa11cd").is_not_null())
    lsoas = partnership_lsoas(world)
    disorder = pl.concat([
        world.asb.select("lsoa11cd"),
        crimes.filter(pl.col("police_uk_category") == "Criminal damage and arson").select("lsoa11cd"),
    ]).drop_nulls()
    level = lsoas["ward_nm"].replace_strict(WARD_LEVEL, default=1.0, return_dtype=pl.Float64).to_numpy()
    upland = lsoas["residents"].to_numpy() / level**2
    return {
        "disorder": lsoa_weights(world, disorder),
        "residents": resident_weights(world),
        "deprived": lsoa_weights(world, crimes.filter("domestic_abuse")),
        "crime": lsoa_weights(world, crimes),
        "upland": upland / upland.sum(),
    }


def _bonfire_nights(rng: np.random.Generator) -> np.ndarray:
    nights = [np.datetime64(f"{year}-11-05") for year in range(DEMO_START.year, DEMO_END.year)]
    counts = rng.poisson(BONFIRE_NIGHT_EXTRA, len(nights))
    days = np.repeat(np.array(nights, dtype="datetime64[s]"), counts)
    return days + rng.integers(17 * 3600, 24 * 3600, days.size).astype("timedelta64[s]")


def incident_rows(world: DemoWorld) -> pl.DataFrame:
    """Every incident of the period, in call order, in the canonical columns."""
    rng = source_rng(world.seed, SOURCE)
    weights = _weights(world)
    parts = []
    for index, kind in enumerate(KINDS):
        times = event_times(kind.rhythm, rng)
        if index == 0:
            times = np.sort(np.concatenate([times, _bonfire_nights(rng)]), kind="stable")
        n = times.size
        casualty = rng.random(n) < kind.casualty
        parts.append(pl.DataFrame({
            "call_datetime": times.astype("datetime64[us]"),
            "incident_type": np.full(n, kind.incident_type),
            "deliberate": rng.random(n) < kind.deliberate,
            "property_type": draw_labels(kind.properties, n, rng).astype(str),
            "lsoa_code": pick_lsoas(world, weights[kind.where], n, rng),
            "casualties": np.where(casualty, rng.geometric(0.7, n), 0),
            "fatalities": (rng.random(n) < kind.fatality).astype(np.int64),
            "smoke_alarm": draw_labels(SMOKE_ALARM, n, rng).astype(str) if kind.smoke_alarm else np.full(n, None, dtype=object),
            "tiebreak": rng.random(n),
        }, schema_overrides={"smoke_alarm": pl.String}))
    incidents = pl.concat(parts).sort("call_datetime", "tiebreak")
    bonfire = (incidents["call_datetime"].dt.month() == 11) & (incidents["call_datetime"].dt.day() == 5)
    attack_share = np.where(bonfire.to_numpy(), BONFIRE_ATTACKS, ATTACK_ON_CREW)
    deliberate_secondary = (incidents["deliberate"] & (incidents["incident_type"] == "secondary fire")).to_numpy()
    attack = deliberate_secondary & (rng.random(incidents.height) < attack_share)
    return incidents.with_columns(pl.Series("attack_on_crew", attack)).select(
        numbered("WYFRS", pl.col("call_datetime"), width=5).alias("incident_id"),
        "call_datetime", "incident_type", "deliberate", "property_type", "lsoa_code", "casualties", "fatalities",
        "smoke_alarm", "attack_on_crew",
    )


def write_fire_incidents(world: DemoWorld, raw_dir: Path) -> list[Path]:
    """One file per financial quarter of the call date; return the paths in quarter order."""
    rows = incident_rows(world).with_columns(yes_no("deliberate"), yes_no("attack_on_crew"))
    return write_quarterly(
        rows, "call_datetime", raw_dir,
        lambda part, path: write_csv(part.rename(HEADINGS), path, line_end=CRLF, datetime_format="%Y-%m-%d %H:%M"),
    )
