"""Geography, in one place: the national reference files, local authorities, each partnership's LSOAs and
wards, LSOA boundaries, and converting an LSOA code of the other vintage into the workspace's.

The national files ship in data/reference/ (rebuilt by `python -m pipeline.geography_build`, see
data/reference/ATTRIBUTION.md). A partnership may still name its own lookup, population and boundary files in
`partnership.yaml`; the national ones are simply the defaults `csp init --local-authority` writes.
"""

from __future__ import annotations

import difflib
import json
from functools import lru_cache
from pathlib import Path

import polars as pl
import shapely

from pipeline.paths import REFERENCE_DIR

LOOKUP_FILE = "lsoa11_ward19_lad19_bestfit.csv.gz"  # LSOA 2011 → ward (Dec 2019) → LA (Dec 2019), ONS best fit
POPULATION_FILE = "lsoa11_census2011_population.csv.gz"  # Census 2011 usual residents and households
VINTAGES_FILE = "lsoa11_to_lsoa21.csv.gz"  # LSOA 2011 ↔ 2021 exact fit, with CHGIND
IMD_FILE = "lsoa11_imd2019.csv.gz"  # IMD 2019 (England) / WIMD 2019 (Wales) rank and decile
BOUNDARIES_FILE = "lsoa11_boundaries.parquet"  # LSOA 2011 boundaries as WKB, lon/lat
BOUNDARY_DECIMALS = 4  # places of lon/lat kept in the shipped boundaries (~7 m)


def _read(name: str, columns: list[str] | None = None) -> pl.DataFrame:
    return pl.read_csv(REFERENCE_DIR / name, columns=columns, infer_schema=False)


# --- local authorities -------------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def local_authorities() -> pl.DataFrame:
    """Every local authority of England and Wales by its Dec 2019 or 2022 GSS code (they differ where
    districts merged, e.g. Buckinghamshire 2020, Northamptonshire 2021), with its name."""
    lad19 = _read(LOOKUP_FILE, ["lad_cd", "lad_nm"])
    lad22 = _read(VINTAGES_FILE, ["lad22cd", "lad22nm"]).rename({"lad22cd": "lad_cd", "lad22nm": "lad_nm"})
    return pl.concat([lad19, lad22]).unique("lad_cd").sort("lad_cd")


def closest_local_authorities(given: str, n: int = 3) -> list[str]:
    """'E09000002 Barking and Dagenham'-style suggestions for a code or name that matched nothing: names
    containing the text first, then the nearest codes and names by spelling."""
    las = local_authorities()
    label = {c: f"{c} {name}" for c, name in las.iter_rows()}
    by_name = {name.lower(): c for c, name in las.iter_rows()}
    text = given.strip().lower()
    found = [c for name, c in sorted(by_name.items()) if text and text in name]
    found += difflib.get_close_matches(given.strip().upper(), list(label), n=n, cutoff=0.6)
    found += [by_name[name] for name in difflib.get_close_matches(text, list(by_name), n=n, cutoff=0.5)]
    return [label[c] for c in dict.fromkeys(found)][:n]


def unknown_local_authority(code: str) -> str | None:
    """Why `code` is not a local authority we know, with the closest ones, or None when it is one."""
    if code.strip().upper() in set(local_authorities()["lad_cd"]):
        return None
    near = closest_local_authorities(code)
    hint = f"; closest: {', '.join(near)}" if near else ""
    return f"{code!r} is not the GSS code of a local authority of England or Wales (Dec 2019 or 2022 codes){hint}"


def local_authority_names(codes: list[str]) -> list[str]:
    names = dict(local_authorities().iter_rows())
    return [names[c] for c in codes]


# --- LSOA vintages -----------------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def vintage_lookup() -> pl.DataFrame:
    """Every LSOA 2011 → 2021 pair: lsoa11cd, lsoa11nm, lsoa21cd, lsoa21nm, chgind, lad22cd, lad22nm."""
    return _read(VINTAGES_FILE)


@lru_cache(maxsize=1)
def national_lsoa_codes() -> pl.DataFrame:
    """Every LSOA code of England and Wales and whether it is a 2011 code, a 2021 code, or both (unchanged)."""
    lookup = vintage_lookup()
    old, new = set(lookup["lsoa11cd"]), set(lookup["lsoa21cd"])
    codes = sorted(old | new)
    return pl.DataFrame({"lsoa_code": codes, "in_2011": [c in old for c in codes], "in_2021": [c in new for c in codes]})


def conversions(vintage: int) -> pl.DataFrame:
    """Each LSOA code of the other vintage (not also a code of `vintage`) with the codes of `vintage` it overlaps.

    One candidate is an exact conversion (a 2021 LSOA split out of one 2011 LSOA; a 2011 LSOA merged into one
    2021 LSOA); several (a 2021 LSOA merged from 2011 ones, a 2011 LSOA split into 2021 ones, or redrawn) need
    the row's coordinates, or else a best fit.
    """
    ours, theirs = ("lsoa11cd", "lsoa21cd") if vintage == 2011 else ("lsoa21cd", "lsoa11cd")
    lookup = vintage_lookup()
    return (
        lookup.filter(~pl.col(theirs).is_in(lookup[ours].implode()))
        .select(pl.col(theirs).alias("given_code"), pl.col(ours).alias("candidate"))
        .unique()
        .sort("given_code", "candidate")
    )


# --- a partnership's LSOAs, wards and population ----------------------------------------------------------

def geography_frame(ws, config) -> pl.DataFrame:
    """One row per partnership and LSOA: its ward, and the residents and households of the population year.

    An LSOA belongs to a partnership when it is in the lookup file and its local authority (Dec 2019 or 2022
    code) is one of the partnership's.
    """
    from pipeline.config import resolve_file

    lookup = vintage_lookup()
    lad19 = _read(LOOKUP_FILE, ["lsoa11cd", "lad_cd"]).rename({"lsoa11cd": "lsoa_code", "lad_cd": "lad19_code"})
    frames = []
    for p in config.partnerships:
        geo = p.geography
        wards = pl.read_csv(resolve_file(geo.lookup.file, ws.root), infer_schema=False).select(
            pl.col(geo.lookup.lsoa).alias("lsoa_code"),
            pl.col(geo.lookup.ward_code).alias("ward_code"),
            pl.col(geo.lookup.ward_name).alias("ward_name"),
        )
        pop_cols = [pl.col(geo.population.lsoa).alias("lsoa_code"), pl.col(geo.population.persons).cast(pl.Int64).alias("residents")]
        if geo.population.households:
            pop_cols.append(pl.col(geo.population.households).cast(pl.Int64).alias("households"))
        population = pl.read_csv(resolve_file(geo.population.file, ws.root), infer_schema=False).select(pop_cols)
        if "households" not in population.columns:
            population = population.with_columns(pl.lit(None, pl.Int64).alias("households"))
        code, name = ("lsoa11cd", "lsoa11nm") if geo.vintage == 2011 else ("lsoa21cd", "lsoa21nm")
        names = lookup.select(pl.col(code).alias("lsoa_code"), pl.col(name).alias("lsoa_name"), pl.col("lad22cd").alias("lad_code")).unique("lsoa_code")
        frame = (
            wards.join(names, on="lsoa_code", how="left")
            .join(lad19, on="lsoa_code", how="left")
            .filter(pl.col("lad_code").is_in(p.local_authorities) | pl.col("lad19_code").is_in(p.local_authorities))
            .join(population, on="lsoa_code", how="left")
            .with_columns(
                pl.lit(p.id).alias("partnership_id"),
                pl.lit(p.name).alias("partnership_name"),
                pl.lit(geo.population.year).alias("population_year"),
                pl.lit(geo.vintage).alias("lsoa_vintage"),
            )
        )
        if frame.is_empty():
            raise ValueError(f"partnership {p.id}: no LSOA of {geo.lookup.file} lies in {', '.join(p.local_authorities)}")
        frames.append(frame)
    return pl.concat(frames).select(
        "partnership_id", "partnership_name", "lsoa_code", "lsoa_name", "ward_code", "ward_name", "lad_code",
        "residents", "households", "population_year", "lsoa_vintage",
    )


# --- boundaries ----------------------------------------------------------------------------------------------

def read_boundaries(path: Path, codes: set[str] | None = None) -> dict[str, shapely.Geometry]:
    """LSOA code → polygon (lon/lat) from the shipped Parquet (WKB) or any GeoJSON whose features carry
    LSOA11CD or LSOA21CD; limited to `codes` when given."""
    if path.suffix == ".parquet":
        frame = pl.read_parquet(path)
        if codes is not None:
            frame = frame.filter(pl.col(frame.columns[0]).is_in(sorted(codes)))
        return {code: polygonal(shape) for code, shape in zip(frame[frame.columns[0]], shapely.from_wkb(frame["geometry"].to_list()))}
    shapes = {}
    for feature in json.loads(path.read_text(encoding="utf-8"))["features"]:
        props = feature["properties"]
        code = props.get("LSOA11CD") or props.get("LSOA21CD")
        if code is None:
            raise ValueError(f"{path}: a feature has neither LSOA11CD nor LSOA21CD among its properties")
        if codes is None or code in codes:
            shapes[code] = polygonal(shapely.from_geojson(json.dumps(feature["geometry"])))
    return shapes


def polygonal(shape: shapely.Geometry) -> shapely.Geometry:
    """A boundary's polygons alone. Generalising and rounding coordinates can leave a zero-area line beside them
    (one LSOA of the shipped file, E01024572, is a collection of polygons and a line), which contiguity and maps
    cannot take."""
    if shape.geom_type in ("Polygon", "MultiPolygon"):
        return shape
    return shapely.union_all([p for p in shapely.get_parts(shape) if p.geom_type in ("Polygon", "MultiPolygon")])


def workspace_boundaries(ws, config, codes: set[str]) -> dict[str, shapely.Geometry]:
    """The boundaries of `codes` from every partnership's configured boundary file (none configured: empty)."""
    from pipeline.config import resolve_file

    shapes: dict[str, shapely.Geometry] = {}
    for spec in dict.fromkeys(p.geography.boundaries for p in config.partnerships if p.geography.boundaries):
        shapes.update(read_boundaries(resolve_file(spec, ws.root), codes - set(shapes)))
    return shapes


def nearest_candidate(longitude: float, latitude: float, candidates: list[str], shapes: dict[str, shapely.Geometry]) -> str | None:
    """The candidate LSOA whose polygon holds the point, or else lies nearest to it (generalised boundaries
    leave points near an edge just outside); None when no candidate has a boundary."""
    point = shapely.Point(longitude, latitude)
    known = [c for c in candidates if c in shapes]
    if not known:
        return None
    distances = shapely.distance(point, [shapes[c] for c in known])
    return known[int(distances.argmin())]


# --- national deprivation ----------------------------------------------------------------------------------

def imd_frame() -> pl.DataFrame:
    """IMD 2019 (England) / WIMD 2019 (Wales) rank and decile per LSOA 2011: 1 = most deprived. The two
    indices rank different sets of LSOAs (`imd_index` says which) and are not comparable with each other."""
    return _read(IMD_FILE).select(
        pl.col("lsoa11cd").alias("lsoa_code"), "imd_index",
        pl.col("imd_rank").cast(pl.Int32), pl.col("imd_of").cast(pl.Int32), pl.col("imd_decile").cast(pl.Int8),
    )
