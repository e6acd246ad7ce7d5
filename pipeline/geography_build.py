"""Rebuild the national reference geography shipped in data/reference/ from the ONS files it was cut from.

    python -m pipeline.geography_build ../shared/data/geography/england_wales

Run it only when a source file changes; `csp` itself never reads the originals. Each output is small enough
to keep in git (the largest, the boundaries, is 1.7 MB against the 32 MB GeoJSON it comes from).
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import polars as pl
import shapely

from pipeline.geography import (
    BOUNDARIES_FILE, BOUNDARY_DECIMALS, IMD_FILE, LOOKUP_FILE, POPULATION_FILE, VINTAGES_FILE,
)
from pipeline.paths import REFERENCE_DIR

EXPECTED_LSOAS = 34_753  # LSOAs (2011) of England and Wales


def _write_csv_gz(frame: pl.DataFrame, name: str) -> Path:
    """gzip with no timestamp in the header, so an unchanged rebuild gives unchanged bytes."""
    import gzip

    path = REFERENCE_DIR / name
    with path.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9, mtime=0) as handle:
        handle.write(frame.write_csv().encode("utf-8"))
    return path


def best_fit(source: Path) -> pl.DataFrame:
    """LSOA 2011 → ward (Dec 2019) → local authority (Dec 2019), the ONS best fit, in our column names."""
    return pl.read_csv(source / "lsoa11_ward19_lad19_bestfit.csv", infer_schema=False).select(
        pl.col("LSOA11CD").alias("lsoa11cd"), pl.col("LSOA11NM").alias("lsoa11nm"),
        pl.col("WD19CD").alias("ward_cd"), pl.col("WD19NM").alias("ward_nm"),
        pl.col("LAD19CD").alias("lad_cd"), pl.col("LAD19NM").alias("lad_nm"),
    ).sort("lsoa11cd")


def census_2011(source: Path) -> pl.DataFrame:
    """Usual residents and households per LSOA from the national Census 2011 table as published.

    The original repeats the heading `Persons` three times (all residents, in households, in communal
    establishments: the first is the total), has an unnamed blank column, writes thousands as "1,563" and
    leaves the region blank for Wales; only the codes and the two counts are kept.
    """
    raw = pl.read_csv(source / "census_2011_population_hh.csv", infer_schema=False)
    persons = raw.columns[raw.columns.index("Persons")]  # the first of the three: polars renames the others

    def count(column: str) -> pl.Expr:
        return pl.col(column).str.replace_all(",", "").cast(pl.Int64, strict=True)

    return raw.select(
        pl.col("LSOA Code").alias("lsoa11cd"), pl.col("LSOA Name").alias("lsoa11nm"),
        pl.col("Local authority code").alias("lad_cd"), pl.col("Local authority name").alias("lad_nm"),
        count(persons).alias("usual_residents"), count("Households").alias("households"),
    ).sort("lsoa11cd")


def vintages(source: Path) -> pl.DataFrame:
    """Every LSOA 2011 → 2021 pair with CHGIND (U unchanged, S split, M merged, X redrawn) and the 2022 LA."""
    raw = pl.read_csv(source / "lsoa11_to_lsoa21_exact.csv", infer_schema=False, encoding="utf8-lossy")
    raw = raw.rename({raw.columns[0]: raw.columns[0].lstrip("\ufeff")})  # the file starts with a BOM
    return raw.select(
        pl.col(c).alias(c.lower()) for c in ("LSOA11CD", "LSOA11NM", "LSOA21CD", "LSOA21NM", "CHGIND", "LAD22CD", "LAD22NM")
    )


def imd_2019(source: Path) -> pl.DataFrame:
    """IMD 2019 (England, rank of 32,844) or WIMD 2019 (Wales, rank of 1,909) per LSOA 2011; 1 = most deprived."""
    return pl.read_csv(source / "lsoa11_imd2019_rank.csv", infer_schema=False).select(
        pl.col("LSOA11CD").alias("lsoa11cd"), pl.col("index").alias("imd_index"),
        pl.col("rank").cast(pl.Int32).alias("imd_rank"), pl.col("of").cast(pl.Int32).alias("imd_of"),
        pl.col("decile").cast(pl.Int8).alias("imd_decile"),
    ).sort("lsoa11cd")


def boundaries(source: Path) -> pl.DataFrame:
    """LSOA 2011 boundaries (super generalised, clipped) as WKB, lon/lat rounded to BOUNDARY_DECIMALS places.

    ~4 decimal places is ~7 m on the ground, finer than the generalisation itself; GEOS's precision
    reducer keeps each polygon valid. This is what takes 32 MB of GeoJSON to 1.7 MB of Parquet.
    """
    features = json.loads((source / "lsoa11_bsc.geojson").read_text(encoding="utf-8"))["features"]
    shapes = shapely.from_geojson([json.dumps(f["geometry"]) for f in features])
    shapes = shapely.make_valid(shapely.set_precision(shapes, 10.0 ** -BOUNDARY_DECIMALS))
    return pl.DataFrame(
        {"lsoa11cd": [f["properties"]["LSOA11CD"] for f in features], "geometry": shapely.to_wkb(shapes)}
    ).sort("lsoa11cd")


def build(source: Path) -> dict[str, int]:
    """Write every shipped file; returns each file's size in bytes. Fails if a file lost or gained LSOAs."""
    lookup, population, imd, shapes = best_fit(source), census_2011(source), imd_2019(source), boundaries(source)
    for name, frame in (("best fit", lookup), ("census", population), ("IMD", imd), ("boundaries", shapes)):
        if frame.height != EXPECTED_LSOAS or frame["lsoa11cd"].n_unique() != EXPECTED_LSOAS:
            raise ValueError(f"{name}: {frame.height} rows, {frame['lsoa11cd'].n_unique()} LSOAs; expected {EXPECTED_LSOAS:,}")
    paths = [
        _write_csv_gz(lookup, LOOKUP_FILE), _write_csv_gz(population, POPULATION_FILE),
        _write_csv_gz(imd, IMD_FILE), _write_csv_gz(vintages(source), VINTAGES_FILE),
    ]
    buffer = io.BytesIO()
    shapes.write_parquet(buffer, compression="zstd", compression_level=19, statistics=False)
    (REFERENCE_DIR / BOUNDARIES_FILE).write_bytes(buffer.getvalue())
    paths.append(REFERENCE_DIR / BOUNDARIES_FILE)
    return {p.name: p.stat().st_size for p in paths}


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    for name, size in build(Path(sys.argv[1])).items():
        print(f"{name}: {size / 1024:,.0f} KB")
