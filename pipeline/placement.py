"""Every landed row placed in partnership → ward → LSOA, for every source that carries a location.

Built from the registry (any source with an LSOA or postcode column), so a new source is placed without
touching this file. Rows outside every partnership (force files cover several CSPs) and rows with no
location are kept, with the reason; an LSOA in two partnerships (a county and its district) places its
rows in both. A source with only an outward postcode is placed by the partnership's postcode districts.
"""

import dagster as dg

from pipeline.ingest.landing import ensure_tables
from pipeline.resources import WorkspaceResource
from pipeline.sources import SOURCES

LOCATED = {
    name: (
        next((c.name for c in s.columns if c.type == "lsoa"), None),
        next((c.name for c in s.columns if c.type == "postcode"), None),
    )
    for name, s in SOURCES.items()
    if any(c.type in ("lsoa", "postcode") for c in s.columns)
}


def placement_sql() -> str:
    parts = [
        f"SELECT '{name}' AS source, _file_id AS file_id, _line AS line, _period AS month, "
        f"{lsoa or 'NULL'}::VARCHAR AS lsoa_code, {postcode or 'NULL'}::VARCHAR AS outward_postcode "
        f"FROM {SOURCES[name].table}"
        for name, (lsoa, postcode) in LOCATED.items()
    ]
    return f"""
        WITH located AS ({' UNION ALL '.join(parts)})
        SELECT l.*,
               coalesce(g.partnership_id, d.partnership_id) AS partnership_id,
               g.ward_code, g.ward_name,
               CASE WHEN g.partnership_id IS NOT NULL THEN 'lsoa'
                    WHEN d.partnership_id IS NOT NULL THEN 'postcode district' END AS placed_by,
               CASE WHEN l.lsoa_code IS NULL AND l.outward_postcode IS NULL THEN 'no location'
                    WHEN g.partnership_id IS NULL AND d.partnership_id IS NULL THEN 'outside the partnership area'
               END AS unplaced_reason
        FROM located AS l
        LEFT JOIN conformed.dim_geography AS g ON g.lsoa_code = l.lsoa_code
        LEFT JOIN reference.postcode_districts AS d
               ON l.lsoa_code IS NULL AND d.outward_postcode = l.outward_postcode
    """


@dg.asset(
    key=["conformed", "placements"],
    deps=[*(dg.AssetKey(["raw", name]) for name in LOCATED), dg.AssetKey(["conformed", "dim_geography"]),
          dg.AssetKey(["reference", "geography"])],
    group_name="conformed",
    description="Every located row of every source placed in partnership → ward → LSOA, or flagged as outside or unlocated",
    kinds={"duckdb"},
)
def placements(workspace: WorkspaceResource) -> dg.MaterializeResult:
    ws = workspace.get()
    with ws.connect() as con:
        for name in LOCATED:
            ensure_tables(con, SOURCES[name])
        con.execute(f"CREATE OR REPLACE TABLE conformed.placements AS {placement_sql()}")
        counts = dict(con.execute(
            "SELECT coalesce(unplaced_reason, 'placed'), count(*) FROM conformed.placements GROUP BY ALL").fetchall())
    return dg.MaterializeResult(metadata={"dagster/row_count": sum(counts.values()), **{k.replace(" ", "_"): v for k, v in counts.items()}})


ASSETS = [placements]
