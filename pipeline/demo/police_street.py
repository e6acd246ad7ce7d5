"""The world as data.police.uk street-level files, written exactly as police.uk publishes them: one file per
month, `<YYYY-MM>-west-yorkshire-street.csv`, UTF-8 without a BOM, CRLF line endings.

What police.uk does and this copies: `Crime ID` is 64 hex characters and blank on ASB rows (here an HMAC-SHA256
of the crime reference, keyed from the world's seed: without the seed a crime reference from the force's own
extract cannot be matched to its police.uk row, as with the real, unlinkable ids); `Month` is the month the crime was committed or the incident occurred; every point is
"On or near" a map point, never an address; No Location rows have no coordinates and no LSOA; rows in the
neighbouring districts stay in (the file is force-wide); `Last outcome category` is blank for ASB and
`Context` is always empty.

Row order (police.uk's own is close to this): by LSOA name, within an LSOA the ASB rows first, then crimes by
crime type, then by time and reference; the No Location rows come last.
"""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import numpy as np
import polars as pl

from pipeline.demo.delivery import source_rng
from pipeline.demo.offences import ASB_CRIME_TYPE
from pipeline.demo.timeline import DEMO_END, DEMO_START
from pipeline.demo.world import DemoWorld

FORCE = "West Yorkshire Police"
FILE_NAME = "{month}-west-yorkshire-street.csv"
HEADER = (
    "Crime ID",
    "Month",
    "Reported by",
    "Falls within",
    "Longitude",
    "Latitude",
    "Location",
    "LSOA code",
    "LSOA name",
    "Crime type",
    "Last outcome category",
    "Context",
)
NO_LOCATION = "No Location"
LINE_END = "\r\n"


def crime_id_key(seed: int) -> bytes:
    """The key of the Crime IDs: 32 bytes drawn from a stream of the seed's own (not the world's)."""
    return source_rng(seed, "police_street crime id").bytes(32)


def crime_id(crime_ref: str, key: bytes) -> str:
    """police.uk's 64-hex-character id for a crime: stable for a crime reference and a seed, unlinkable without it."""
    return hmac.new(key, crime_ref.encode("utf-8"), hashlib.sha256).hexdigest()


def _points(world: DemoWorld) -> pl.DataFrame:
    """Each map point's police.uk columns: coordinates to 6 decimals, `On or near …`, LSOA code and name."""
    places = world.places
    return places.select(
        "place_id",
        pl.Series("Longitude", np.char.mod("%.6f", places["longitude"].to_numpy())),
        pl.Series("Latitude", np.char.mod("%.6f", places["latitude"].to_numpy())),
        ("On or near " + pl.col("street")).alias("Location"),
        pl.col("lsoa11cd").alias("LSOA code"),
    ).join(world.lsoas.select(pl.col("lsoa11cd").alias("LSOA code"), pl.col("lsoa11nm").alias("LSOA name")), on="LSOA code", how="left")


def street_rows(world: DemoWorld) -> pl.DataFrame:
    """Every crime and ASB row of the period, in the police.uk columns and in file order."""
    key = crime_id_key(world.seed)
    crimes = world.crimes.select(
        pl.Series("Crime ID", [crime_id(r, key) for r in world.crimes["crime_ref"].to_list()], dtype=pl.String),
        pl.col("committed_at").alias("at"),
        pl.col("crime_ref").alias("ref"),
        "place_id",
        pl.col("police_uk_category").alias("Crime type"),
        pl.col("outcome").alias("Last outcome category"),
    )
    asb = world.asb.select(
        pl.lit(None, pl.String).alias("Crime ID"),
        pl.col("occurred_at").alias("at"),
        pl.col("incident_ref").alias("ref"),
        "place_id",
        pl.lit(ASB_CRIME_TYPE).alias("Crime type"),
        pl.lit(None, pl.String).alias("Last outcome category"),
    )
    rows = pl.concat([asb, crimes]).join(_points(world), on="place_id", how="left", maintain_order="left")
    return (
        rows.with_columns(
            pl.col("at").dt.strftime("%Y-%m").alias("Month"),
            pl.lit(FORCE).alias("Reported by"),
            pl.lit(FORCE).alias("Falls within"),
            pl.col("Location").fill_null(NO_LOCATION),
            pl.lit(None, pl.String).alias("Context"),
        )
        .sort(
            pl.col("place_id").is_null(),
            "LSOA name",
            pl.col("Crime type") != ASB_CRIME_TYPE,
            "Crime type",
            "at",
            "ref",
        )
        .select(*HEADER)
    )


def write_police_street(world: DemoWorld, raw_dir: Path) -> list[Path]:
    """Write one police.uk file per month of the demo period into `raw_dir`; return their paths in month order."""
    raw_dir.mkdir(parents=True, exist_ok=True)
    rows = street_rows(world)
    months = np.arange(np.datetime64(DEMO_START, "M"), np.datetime64(DEMO_END, "M") + 1).astype(str)
    written = []
    for month in months:
        path = raw_dir / FILE_NAME.format(month=month)
        rows.filter(pl.col("Month") == month).write_csv(path, line_terminator=LINE_END)
        written.append(path)
    return written
