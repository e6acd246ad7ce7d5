"""Every landed row placed in partnership → ward → LSOA, for every source that carries a location.

Built from the registry (any source with an LSOA or postcode column), so a new source is placed without
touching this file. Rows outside every partnership (force files cover several CSPs) and rows with no
location are kept, with the reason; an LSOA in two partnerships (a county and its district) places its
rows in both. A source with only an outward postcode is placed by the partnership's postcode districts.

An LSOA code of the other vintage (police.uk's newer files carry 2021 codes) is converted to the
workspace's: exactly where it overlaps one LSOA of the workspace's vintage; where it overlaps several, by
the row's coordinates (a source with `longitude` and `latitude` columns) against the configured boundaries;
otherwise by best fit, the overlapping LSOA with the most residents. `placed_by` says which, per row
(docs/architecture.md, "Placement").
"""

from datetime import date

import dagster as dg
import polars as pl

from pipeline import partitions
from pipeline.geography import conversions, nearest_candidate, workspace_boundaries
from pipeline.ingest.landing import ensure_tables
from pipeline.resources import WorkspaceResource
from pipeline.sources import SOURCES


def _column(source, kind: str, name: str | None = None) -> str | None:
    return next((c.name for c in source.columns if c.type == kind and (name is None or c.name == name)), None)


LOCATED = {
    name: {
        "lsoa": _column(s, "lsoa"),
        "postcode": _column(s, "postcode"),
        "longitude": _column(s, "decimal", "longitude"),
        "latitude": _column(s, "decimal", "latitude"),
    }
    for name, s in SOURCES.items()
    if any(c.type in ("lsoa", "postcode") for c in s.columns)
}


def located_sql(span: tuple[date, date] | None = None) -> str:
    """Every located row of every source (of the months of `span`, [first day, day after]), with the LSOA code as
    written, its outward postcode and coordinates."""
    within = f" WHERE _period >= DATE '{span[0]}' AND _period < DATE '{span[1]}'" if span else ""
    return " UNION ALL ".join(
        f"SELECT '{name}' AS source, _file_id AS file_id, _line AS line, _period AS month, "
        f"{cols['lsoa'] or 'NULL'}::VARCHAR AS lsoa_code_given, {cols['postcode'] or 'NULL'}::VARCHAR AS outward_postcode, "
        f"{cols['longitude'] or 'NULL'}::DOUBLE AS longitude, {cols['latitude'] or 'NULL'}::DOUBLE AS latitude "
        f"FROM {SOURCES[name].table}{within}"
        for name, cols in LOCATED.items()
    )


def methods(vintage: int) -> dict[str, str]:
    """The `placed_by` labels of an LSOA converted from the other vintage."""
    other = 2021 if vintage == 2011 else 2011
    return {how: f"lsoa {other}→{vintage} {how}" for how in ("exact", "by coordinates", "best fit")}


def placement_sql(vintage: int) -> str:
    """Placements from the temp tables `located`, `candidates` and `by_coordinates` that `place` fills."""
    label = methods(vintage)
    return f"""
    WITH converted AS (
        SELECT l.*,
               CASE WHEN c.given_code IS NULL THEN l.lsoa_code_given
                    ELSE coalesce(bc.lsoa_code, c.best_fit) END AS lsoa_code,
               CASE WHEN c.given_code IS NULL THEN 'lsoa'
                    WHEN c.candidates = 1 THEN '{label["exact"]}'
                    WHEN bc.lsoa_code IS NOT NULL THEN '{label["by coordinates"]}'
                    ELSE '{label["best fit"]}' END AS lsoa_method
        FROM located AS l
        LEFT JOIN candidates AS c ON c.given_code = l.lsoa_code_given
        LEFT JOIN by_coordinates AS bc USING (source, file_id, line)
    )
    SELECT l.source, l.file_id, l.line, l.month, l.lsoa_code, l.lsoa_code_given, l.outward_postcode,
           coalesce(g.partnership_id, d.partnership_id) AS partnership_id,
           g.ward_code, g.ward_name,
           CASE WHEN g.partnership_id IS NOT NULL THEN l.lsoa_method
                WHEN d.partnership_id IS NOT NULL THEN 'postcode district' END AS placed_by,
           CASE WHEN l.lsoa_code IS NULL AND l.outward_postcode IS NULL THEN 'no location'
                WHEN g.partnership_id IS NULL AND d.partnership_id IS NULL THEN 'outside the partnership area'
           END AS unplaced_reason
    FROM converted AS l
    LEFT JOIN conformed.dim_geography AS g ON g.lsoa_code = l.lsoa_code
    LEFT JOIN reference.postcode_districts AS d
           ON l.lsoa_code IS NULL AND d.outward_postcode = l.outward_postcode
"""


def _temp_table(con, name: str, frame: pl.DataFrame) -> None:
    con.register(f"{name}_frame", frame.to_arrow())
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM {name}_frame")
    con.unregister(f"{name}_frame")


def place(con, ws, config, span: tuple[date, date] | None = None) -> dict[str, int]:
    """Build conformed.placements, for the months of `span` (whole when it is new or partnership.yaml or the
    placement rules changed); returns the rows placed in the run per `placed_by` (or unplaced reason)."""
    vintage = config.lsoa_vintage
    for name in LOCATED:
        ensure_tables(con, SOURCES[name])
    built_by = partitions.fingerprint(located_sql(), placement_sql(vintage), ws.config_path.read_text(encoding="utf-8"))
    if span and partitions.rebuilt_whole(con, "conformed.placements", built_by):
        span = None
    con.execute(f"CREATE OR REPLACE TEMP TABLE located AS {located_sql(span)}")
    ours = con.sql("SELECT lsoa_code AS candidate, max(residents) AS residents FROM conformed.dim_geography GROUP BY ALL").pl()
    # Each other-vintage code: how many LSOAs of ours it overlaps, and the best fit (most residents, then code).
    candidates = (
        conversions(vintage).join(ours, on="candidate", how="left")
        .sort(["given_code", "residents", "candidate"], descending=[False, True, False], nulls_last=True)
        .group_by("given_code", maintain_order=True)
        .agg(pl.len().alias("candidates"), pl.col("candidate").first().alias("best_fit"),
             pl.col("candidate").alias("overlaps"), pl.col("residents").is_not_null().any().alias("in_workspace"))
    )
    _temp_table(con, "candidates", candidates.select("given_code", "candidates", "best_fit"))

    # Rows whose code overlaps several LSOAs, one of them ours, and that carry coordinates: where the point lies.
    _temp_table(con, "ambiguous", candidates.filter((pl.col("candidates") > 1) & pl.col("in_workspace")).select("given_code"))
    points = con.execute(
        """SELECT source, file_id, line, lsoa_code_given, longitude, latitude FROM located
           WHERE longitude IS NOT NULL AND latitude IS NOT NULL
             AND lsoa_code_given IN (SELECT given_code FROM ambiguous)""").fetchall()
    overlapping = dict(zip(candidates["given_code"], candidates["overlaps"].to_list()))
    shapes = workspace_boundaries(ws, config, {c for *_, given, _, _ in points for c in overlapping[given]}) if points else {}
    chosen = [(s, f, line, nearest_candidate(lon, lat, overlapping[given], shapes)) for s, f, line, given, lon, lat in points]
    _temp_table(con, "by_coordinates", pl.DataFrame(
        [row for row in chosen if row[3] is not None],
        schema={"source": pl.String, "file_id": pl.String, "line": pl.Int64, "lsoa_code": pl.String}, orient="row",
    ))
    con.execute("CREATE SCHEMA IF NOT EXISTS conformed")
    partitions.replace_window(con, "conformed.placements", placement_sql(vintage), "month", span, built_by)
    return dict(con.execute(
        "SELECT coalesce(placed_by, unplaced_reason), count(*) FROM located AS l JOIN conformed.placements AS p "
        "USING (source, file_id, line) GROUP BY ALL ORDER BY ALL").fetchall())


@dg.asset(
    key=["conformed", "placements"],
    deps=[*(dg.AssetKey(["raw", name]) for name in LOCATED), dg.AssetKey(["conformed", "dim_geography"]),
          dg.AssetKey(["reference", "geography"])],
    group_name="conformed",
    description="Every located row of every source placed in partnership → ward → LSOA (converting the other LSOA "
                "vintage), or flagged as outside or unlocated; placed_by says how",
    kinds={"duckdb"},
    partitions_def=partitions.QUARTERS,
    backfill_policy=partitions.SINGLE_RUN,
)
def placements(context: dg.AssetExecutionContext, workspace: WorkspaceResource) -> dg.MaterializeResult:
    ws = workspace.get()
    with ws.connect() as con:
        counts = place(con, ws, ws.config(), partitions.window(context))
    summary = "; ".join(f"{how} {n:,}" for how, n in counts.items())
    return dg.MaterializeResult(metadata={"dagster/row_count": sum(counts.values()), "placement": summary, **counts})


ASSETS = [placements]
