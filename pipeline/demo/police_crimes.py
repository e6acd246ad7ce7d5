"""The force's own recorded-crime extract for the partnership, written from the world's crimes: the same
crimes police.uk shows (every one in the partnership's LSOAs, and those with no location, here with a blank
LSOA), with the offence code, times, flags, victim and offender the force holds.

Delivered quarterly by recorded date, as West Yorkshire Police's analysts save it from Excel ("CSV UTF-8":
a byte order mark and CRLF line endings), with their own headings and dates written DD/MM/YYYY. The last
quarter's extract was run on 11 April 2025 and includes the crimes committed by 31 March but recorded in
the first days of April, so that every crime of the period is in some file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from pipeline.demo.delivery import CRLF, UK_DATE, financial_quarter, source_rng, write_csv, yes_no
from pipeline.demo.echoes import partnership_crimes
from pipeline.demo.timeline import DEMO_END
from pipeline.demo.world import DemoWorld

SOURCE = "police_crimes"
UNKNOWN_TIME_CODES = ("28E", "28F", "28G", "29A", "30C", "30D", "45", "48", "126", "58A", "58C")  # discovered later
UNKNOWN_TIME_SHARE = 0.04  # of those, the time committed is left blank (the force records a from/to window)
# The force's headings (each one the source accepts), in the order of its extract.
HEADINGS = {
    "crime_ref": "Crime Reference",
    "recorded_date": "Recorded Date",
    "committed_date": "Committed Date",
    "committed_time": "Committed Time",
    "offence_code": "HO Offence Code",
    "lsoa11cd": "LSOA Code",
    "domestic_abuse": "DA Flag",
    "hate_strand": "Hate Strand",
    "knife": "Knife Flag",
    "firearm": "Firearm Flag",
    "alcohol": "Alcohol Flag",
    "night_time_economy": "NTE Flag",
    "victim_id": "Victim ID",
    "offender_id": "Offender ID",
    "victim_age_band": "Victim Age Band",
    "victim_sex": "Victim Sex",
    "outcome": "Outcome",
}
FLAGS = ("domestic_abuse", "knife", "firearm", "alcohol", "night_time_economy")


def crime_rows(world: DemoWorld) -> pl.DataFrame:
    """The extract's rows, in recording order, with the force's headings (plus the `_quarter` it goes in)."""
    crimes = partnership_crimes(world).sort("recorded_date", "crime_ref")
    rng = source_rng(world.seed, SOURCE)
    unknown_time = crimes["offence_code"].is_in(UNKNOWN_TIME_CODES).to_numpy() & (rng.random(crimes.height) < UNKNOWN_TIME_SHARE)
    last_quarter = financial_quarter(pl.lit(DEMO_END))
    return crimes.select(
        "crime_ref",
        "recorded_date",
        pl.col("committed_at").dt.date().alias("committed_date"),
        pl.when(pl.Series(~unknown_time)).then(pl.col("committed_at").dt.strftime("%H:%M")).alias("committed_time"),
        "offence_code",
        "lsoa11cd",
        yes_no("domestic_abuse"),
        "hate_strand",
        *(yes_no(flag) for flag in FLAGS[1:]),
        "victim_id",
        "offender_id",
        "victim_age_band",
        "victim_sex",
        "outcome",
        # crimes recorded after the period (committed in its last days) go in its last quarter's extract
        pl.min_horizontal(financial_quarter(pl.col("recorded_date")), last_quarter).alias("_quarter"),
    ).rename(HEADINGS)


def write_police_crimes(world: DemoWorld, raw_dir: Path) -> list[Path]:
    """One file per financial quarter, `<2024-25-Q1>.csv`; return the paths in quarter order."""
    rows = crime_rows(world)
    written = []
    for quarter in np.unique(rows["_quarter"].to_numpy()).tolist():
        part = rows.filter(pl.col("_quarter") == quarter).drop("_quarter")
        written.append(write_csv(part, raw_dir / f"{quarter}.csv", bom=True, line_end=CRLF, date_format=UK_DATE))
    return written
