"""The marts of area outlines the documents' maps draw (pipeline/publish/choropleth.py draws them).

An outline is the union of its LSOAs' boundaries (reference.boundaries, from `geography.boundaries` in
partnership.yaml), grouped by reference.geography, simplified for drawing: a ward's is its LSOAs dissolved with
shapely, so the map and the tables agree on which LSOA is in which ward; an LSOA's is its own boundary.
`marts.mart_ward_shapes` holds the wards, `marts.mart_lsoa_shapes` the LSOAs (the restricted edition's small-area
maps; pipeline/publish/disclosure.py keeps them out of the public edition).
"""

import dagster as dg
import polars as pl
import shapely
from dagster import AssetExecutionContext

from pipeline.analysis.engine import write_mart
from pipeline.resources import WorkspaceResource

# About 30 m: under a pixel at the size a partnership's map is drawn (640 px across a local authority), and a
# quarter of the bytes. Each outline is simplified on its own, so neighbours' shared edges may part by up to this.
SIMPLIFY_DEGREES = 0.0004
# What each mart holds: the code and name columns of its areas (from reference.geography).
AREAS = {
    "ward": ("mart_ward_shapes", ("ward_code", "ward_name")),
    "lsoa": ("mart_lsoa_shapes", ("lsoa_code", "lsoa_name", "ward_code", "ward_name")),
}


def area_shapes(geography: pl.DataFrame, boundaries: dict[str, shapely.Geometry], area: str) -> pl.DataFrame:
    """One row per partnership and area (`ward` or `lsoa`): its outline (WKT, lon/lat), the union of its LSOAs'
    boundaries; `lsoas_drawn` below `lsoas` says some of its LSOAs have no boundary; public (ONS boundaries)."""
    _, columns = AREAS[area]
    schema = {"partnership_id": pl.String, **{c: pl.String for c in columns}, "lsoas": pl.Int64,
              "lsoas_drawn": pl.Int64, "wkt": pl.String, "disclosure_class": pl.String}
    rows = []
    for *names, codes in geography.group_by("partnership_id", *columns).agg(
            pl.col("lsoa_code").alias("_lsoas")).sort("partnership_id", columns[0]).rows():
        parts = [boundaries[c] for c in codes if c in boundaries]
        if not parts:
            continue
        outline = shapely.union_all(parts).simplify(SIMPLIFY_DEGREES, preserve_topology=True)
        rows.append({**dict(zip(["partnership_id", *columns], names)), "lsoas": len(codes), "lsoas_drawn": len(parts),
                     "wkt": outline.wkt, "disclosure_class": "public"})  # published ONS boundaries
    return pl.DataFrame(rows, schema=schema)


def shapes_asset(area: str) -> dg.AssetsDefinition:
    mart, _ = AREAS[area]
    description = {"ward": "Each partnership's wards as outlines (WKT, lon/lat): its LSOA boundaries dissolved by ward",
                   "lsoa": "Each partnership's LSOAs as outlines (WKT, lon/lat), with their wards: the restricted edition's small-area maps"}

    @dg.asset(name=mart, key_prefix="marts", deps=[dg.AssetKey(["reference", "geography"]), dg.AssetKey(["reference", "boundaries"])],
              group_name="marts", kinds={"python", "parquet"}, description=description[area])
    def _asset(context: AssetExecutionContext, workspace: WorkspaceResource) -> dg.MaterializeResult:
        ws = workspace.get()
        with ws.connect() as con:
            geography = pl.from_arrow(con.sql(
                "SELECT partnership_id, lsoa_code, lsoa_name, ward_code, ward_name FROM reference.geography").to_arrow_table())
            boundaries = {code: shapely.from_wkb(wkb) for code, wkb in
                          con.execute("SELECT lsoa_code, geometry FROM reference.boundaries").fetchall()}
            frame = area_shapes(geography, boundaries, area)
            write_mart(con, ws, mart, frame)
        missing = geography.filter(~pl.col("lsoa_code").is_in(list(boundaries)))["lsoa_code"].n_unique()
        return dg.MaterializeResult(metadata={"dagster/row_count": frame.height, "LSOAs without a boundary": missing})

    return _asset


ASSETS = [shapes_asset(area) for area in AREAS]
