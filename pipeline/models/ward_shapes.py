"""The mart of ward outlines the documents' maps draw (pipeline/publish/choropleth.py draws them).

Ward outlines are the partnership's LSOA boundaries (`geography.boundaries` in partnership.yaml) dissolved
with shapely by the ward each LSOA belongs to (reference.geography), so the map and the tables agree on
which LSOA is in which ward.
"""

import json
from pathlib import Path

import dagster as dg
import polars as pl
from dagster import AssetExecutionContext

from pipeline.config import resolve_file
from pipeline.models.sql_assets import export_parquet
from pipeline.resources import WorkspaceResource

MART = "mart_ward_shapes"
SIMPLIFY_DEGREES = 0.0004  # about 30 m: invisible at the size drawn, a quarter of the bytes


def lsoa_shapes(path: Path) -> dict[str, object]:
    """LSOA code → shapely geometry, from a GeoJSON file whose features carry the code in LSOA11CD/LSOA21CD."""
    import shapely.geometry

    features = json.loads(path.read_text(encoding="utf-8"))["features"]
    shapes = {}
    for feature in features:
        props = feature["properties"]
        code = props.get("LSOA11CD") or props.get("LSOA21CD") or props.get("lsoa_code")
        if code is None:
            raise ValueError(f"{path}: a feature has no LSOA11CD, LSOA21CD or lsoa_code property: {sorted(props)[:8]}")
        shapes[code] = shapely.geometry.shape(feature["geometry"])
    return shapes


def ward_shapes(geography: pl.DataFrame, shapes_by_partnership: dict[str, dict[str, object]]) -> pl.DataFrame:
    """One row per partnership and ward: its outline (WKT, lon/lat), the union of its LSOAs' boundaries."""
    import shapely

    rows = []
    for partnership, ward_code, ward_name, codes in geography.group_by(
            "partnership_id", "ward_code", "ward_name").agg("lsoa_code").sort("partnership_id", "ward_code").rows():
        shapes = shapes_by_partnership.get(partnership) or {}
        parts = [shapes[c] for c in codes if c in shapes]
        if not parts:
            continue
        outline = shapely.union_all(parts).simplify(SIMPLIFY_DEGREES, preserve_topology=True)
        rows.append({"partnership_id": partnership, "ward_code": ward_code, "ward_name": ward_name,
                     "lsoas": len(codes), "lsoas_drawn": len(parts), "wkt": outline.wkt})
    schema = {"partnership_id": pl.String, "ward_code": pl.String, "ward_name": pl.String, "lsoas": pl.Int64,
              "lsoas_drawn": pl.Int64, "wkt": pl.String}
    return pl.DataFrame(rows, schema=schema)


@dg.asset(key=["marts", MART], deps=[dg.AssetKey(["reference", "geography"])], group_name="marts",
          description="Each partnership's wards as outlines (WKT, lon/lat): its LSOA boundaries dissolved by ward",
          kinds={"python", "parquet"})
def mart_ward_shapes(context: AssetExecutionContext, workspace: WorkspaceResource) -> dg.MaterializeResult:
    ws = workspace.get()
    config = ws.config()
    shapes = {p.id: lsoa_shapes(resolve_file(p.geography.boundaries, ws.root))
              for p in config.partnerships if p.geography.boundaries}
    with ws.connect() as con:
        geography = pl.from_arrow(con.sql("SELECT partnership_id, lsoa_code, ward_code, ward_name FROM reference.geography").to_arrow_table())
        frame = ward_shapes(geography, shapes)
        con.execute("CREATE SCHEMA IF NOT EXISTS marts")
        con.register("incoming", frame.to_arrow())
        con.execute(f"CREATE OR REPLACE TABLE marts.{MART} AS SELECT * FROM incoming")
        con.unregister("incoming")
        export_parquet(con, f"marts.{MART}", ws.marts / f"{MART}.parquet")
    missing = frame.filter(pl.col("lsoas_drawn") < pl.col("lsoas"))
    return dg.MaterializeResult(metadata={"dagster/row_count": frame.height,
                                          "wards with LSOAs missing from the boundaries": missing.height})


ASSETS = [mart_ward_shapes]
