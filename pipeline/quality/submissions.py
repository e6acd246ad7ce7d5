"""What each partner delivered, per source and month: the facts behind submission tracking.

Built from every raw table the registry knows, so a new source is tracked without touching this file.
Each landed row counts once, under the file that brought it (a superseded file's rows are gone).
"""

import dagster as dg

from pipeline.quality.checks import RESULTS_DDL
from pipeline.resources import WorkspaceResource
from pipeline.sources import SOURCES
from pipeline.ingest.landing import ensure_tables


@dg.asset(
    key=["conformed", "source_periods"],
    deps=[dg.AssetKey(["raw", name]) for name in SOURCES],
    group_name="conformed",
    description="Rows landed per source, file and month (from every raw table), for submission tracking",
    kinds={"duckdb"},
)
def source_periods(workspace: WorkspaceResource) -> dg.MaterializeResult:
    ws = workspace.get()
    with ws.connect() as con:
        con.execute(RESULTS_DDL)  # the submissions mart reads check results even before any suite has run
        for source in SOURCES.values():
            ensure_tables(con, source)
        union = "\nUNION ALL\n".join(
            f"SELECT '{s.name}' AS source, _file_id AS file_id, _period AS month, count(*) AS rows "
            f"FROM {s.table} GROUP BY ALL"
            for s in SOURCES.values()
        )
        con.execute("CREATE SCHEMA IF NOT EXISTS conformed")
        con.execute(f"CREATE OR REPLACE TABLE conformed.source_periods AS {union}")
        rows = con.execute("SELECT count(*) FROM conformed.source_periods").fetchone()[0]
    return dg.MaterializeResult(metadata={"dagster/row_count": rows})


ASSETS = [source_periods]
