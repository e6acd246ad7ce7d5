"""The mart of ward outlines the documents' maps draw (pipeline/publish/choropleth.py draws them).

Ward outlines are the partnership's LSOA boundaries (reference.boundaries, from `geography.boundaries` in
partnership.yaml) dissolved with shapely by the ward each LSOA belongs to (reference.geography), so the map
and the tables agree on which LSOA is in which ward.
"""

import dagster as dg
import polars as pl
import shapely
from dagster import AssetExecutionContext

from pipeline.models.sql_assets import export_parquet
from pipeline.resources import WorkspaceResource

MART = "mart_ward_shapes"
SIMPLIFY_DEGREES = 0.0004  # about 30 m: invisible at the size drawn, a quarter of the bytes
SCHEMA = {"partnership_id": pl.String, "ward_code": pl.String, "ward_name": pl.String, "lsoas": pl.Int64,
          "lsoas_drawn": pl.Int64, "wkt": pl.String, "disclosure_class": pl.String}


def ward_shapes(geography: pl.DataFrame, boundaries: dict[str, shapely.Geometry]) -> pl.DataFrame:
    """One row per partnership and ward: its outline (WKT, lon/lat), the union of its LSOAs' boundaries;
    `lsoas_drawn` below `lsoas` says some of its LSOAs have no boundary; public (ONS boundaries)."""
    rows = []
    for partnership, ward_code, ward_name, codes in geography.group_by(
            "partnership_id", "ward_code", "ward_name").agg("lsoa_code").sort("partnership_id", "ward_code").rows():
        parts = [boundaries[c] for c in codes if c in boundaries]
        if not parts:
            continue
        outline = shapely.union_all(parts).simplify(SIMPLIFY_DEGREES, preserve_topology=True)
        rows.append({"partnership_id": partnership, "ward_code": ward_code, "ward_name": ward_name,
                     "lsoas": len(codes), "lsoas_drawn": len(parts), "wkt": outline.wkt,
                     "disclosure_class": "public"})  # published ONS boundaries
    return pl.DataFrame(rows, schema=SCHEMA)


@dg.asset(key=["marts", MART], deps=[dg.AssetKey(["reference", "geography"]), dg.AssetKey(["reference", "boundaries"])],
          group_name="marts", kinds={"python", "parquet"},
          description="Each partnership's wards as outlines (WKT, lon/lat): its LSOA boundaries dissolved by ward")
def mart_ward_shapes(context: AssetExecutionContext, workspace: WorkspaceResource) -> dg.MaterializeResult:
    ws = workspace.get()
    with ws.connect() as con:
        geography = pl.from_arrow(con.sql(
            "SELECT partnership_id, lsoa_code, ward_code, ward_name FROM reference.geography").to_arrow_table())
        boundaries = {code: shapely.from_wkb(wkb) for code, wkb in
                      con.execute("SELECT lsoa_code, geometry FROM reference.boundaries").fetchall()}
        frame = ward_shapes(geography, boundaries)
        con.execute("CREATE SCHEMA IF NOT EXISTS marts")
        con.register("incoming", frame.to_arrow())
        con.execute(f"CREATE OR REPLACE TABLE marts.{MART} AS SELECT * FROM incoming")
        con.unregister("incoming")
        export_parquet(con, f"marts.{MART}", ws.marts / f"{MART}.parquet")
    missing = frame.filter(pl.col("lsoas_drawn") < pl.col("lsoas"))
    return dg.MaterializeResult(metadata={"dagster/row_count": frame.height,
                                          "wards with LSOAs missing from the boundaries": missing.height})


ASSETS = [mart_ward_shapes]
