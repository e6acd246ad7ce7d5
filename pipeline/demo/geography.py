"""Where the demo happens: Calderdale's 128 LSOAs on real ONS geography (the national files the workspace
itself uses: ONS best-fit wards, Census 2011 population), and the neighbouring West Yorkshire LSOAs whose
crimes a force-wide police file also carries (cross-border rows)."""

from __future__ import annotations

import json

import polars as pl

from pipeline.geography import LOOKUP_FILE, POPULATION_FILE, VINTAGES_FILE
from pipeline.paths import REFERENCE_DIR

CALDERDALE = "E08000033"
NEIGHBOUR_LADS = ("E08000032", "E08000034")  # Bradford, Kirklees
# MSOAs of Bradford and Kirklees along the Calderdale boundary, with the mean (longitude, latitude) of their
# border LSOAs' ONS centroids: the demo's boundary file (with ONS centroids and areas) covers Calderdale only.
NEIGHBOUR_MSOAS = {
    "Bradford 049": (-1.8142, 53.7726),
    "Bradford 055": (-1.7964, 53.7698),
    "Bradford 058": (-1.8487, 53.7652),
    "Bradford 059": (-1.7917, 53.7593),
    "Bradford 061": (-1.7709, 53.7388),
    "Kirklees 003": (-1.7527, 53.7275),
    "Kirklees 022": (-1.7606, 53.6811),
    "Kirklees 027": (-1.8090, 53.6690),
    "Kirklees 030": (-1.8365, 53.6632),
    "Kirklees 036": (-1.8568, 53.6557),
}
NEIGHBOUR_AREA_M2 = 1_000_000.0  # a typical urban LSOA, for spreading a neighbour's map points

LSOA_SCHEMA = {
    "lsoa11cd": pl.String,
    "lsoa11nm": pl.String,
    "lad_cd": pl.String,
    "ward_cd": pl.String,
    "ward_nm": pl.String,
    "residents": pl.Int64,
    "households": pl.Int64,
    "longitude": pl.Float64,
    "latitude": pl.Float64,
    "area_m2": pl.Float64,
    "in_partnership": pl.Boolean,
}


def _calderdale() -> pl.DataFrame:
    population = pl.read_csv(REFERENCE_DIR / POPULATION_FILE, infer_schema=False).filter(pl.col("lad_cd") == CALDERDALE)
    wards = pl.read_csv(REFERENCE_DIR / LOOKUP_FILE, infer_schema=False)  # the ONS best fit, as the workspace uses
    features = json.loads((REFERENCE_DIR / "calderdale_lsoa11_bsc.geojson").read_text(encoding="utf-8"))["features"]
    shapes = pl.DataFrame(
        [
            {
                "lsoa11cd": f["properties"]["LSOA11CD"],
                "longitude": float(f["properties"]["LONG"]),
                "latitude": float(f["properties"]["LAT"]),
                "area_m2": float(f["properties"]["Shape__Area"]),
            }
            for f in features
        ]
    )
    return (
        population.join(wards.select("lsoa11cd", "ward_cd", "ward_nm"), on="lsoa11cd", how="left")
        .join(shapes, on="lsoa11cd", how="left")
        .select(
            "lsoa11cd",
            "lsoa11nm",
            "lad_cd",
            "ward_cd",
            "ward_nm",
            pl.col("usual_residents").cast(pl.Int64).alias("residents"),
            pl.col("households").cast(pl.Int64),
            "longitude",
            "latitude",
            "area_m2",
            pl.lit(True).alias("in_partnership"),
        )
    )


def _neighbours() -> pl.DataFrame:
    lookup = pl.read_csv(REFERENCE_DIR / VINTAGES_FILE, infer_schema=False)
    centres = pl.DataFrame(
        {
            "msoa": list(NEIGHBOUR_MSOAS),
            "longitude": [c[0] for c in NEIGHBOUR_MSOAS.values()],
            "latitude": [c[1] for c in NEIGHBOUR_MSOAS.values()],
        }
    )
    return (
        lookup.filter(pl.col("lad22cd").is_in(NEIGHBOUR_LADS))
        .select("lsoa11cd", "lsoa11nm", pl.col("lad22cd").alias("lad_cd"))
        .unique("lsoa11cd")
        .with_columns(pl.col("lsoa11nm").str.slice(0, pl.col("lsoa11nm").str.len_chars() - 1).alias("msoa"))
        .join(centres, on="msoa", how="inner")
        .select(
            "lsoa11cd",
            "lsoa11nm",
            "lad_cd",
            pl.lit(None, pl.String).alias("ward_cd"),
            pl.lit(None, pl.String).alias("ward_nm"),
            pl.lit(None, pl.Int64).alias("residents"),
            pl.lit(None, pl.Int64).alias("households"),
            "longitude",
            "latitude",
            pl.lit(NEIGHBOUR_AREA_M2).alias("area_m2"),
            pl.lit(False).alias("in_partnership"),
        )
    )


def load_lsoas() -> pl.DataFrame:
    """Calderdale's LSOAs (ward, residents, households, ONS centroid), then the neighbours, in code order.

    A neighbour's longitude and latitude are its MSOA's border centre; `places` spreads them out.
    """
    calderdale = _calderdale().sort("lsoa11cd")
    incomplete = calderdale.filter(pl.any_horizontal(pl.all().is_null()))
    if incomplete.height:
        raise ValueError(f"LSOA {incomplete['lsoa11cd'][0]} lacks a ward, population or boundary in {REFERENCE_DIR}")
    return pl.concat([calderdale, _neighbours().sort("lsoa11cd")]).cast(LSOA_SCHEMA)
