"""The indicator engine: every catalogue indicator (indicators/*.yaml) computed for every area and period into
`marts.indicator_values`, the one table documents read figures from.

For each indicator the numerator query gives rows per partnership, ward, LSOA and month; the engine sums them
over each area (partnership, ward, LSOA, down to the indicator's smallest geography) and period of
`conformed.dim_period` (month, quarter, financial year, rolling 12 months), counting only months its sources
delivered (`conformed.source_periods`), so a month with no events is a zero and a month never delivered is no
figure. A rate divides by the population of the year nearest the period's middle (`conformed.period_population`)
and says which year; proportions and ratios divide by their own `per`. Intervals come from
pipeline/analysis/stats.py. Nothing here reads the clock: the latest period is the workspace's period end.
"""

from __future__ import annotations

from typing import Iterable, Iterator

import dagster as dg
import polars as pl

from pipeline.analysis import stats
from pipeline.analysis.catalogue import Indicator, load_catalogue
from pipeline.models.sql_assets import _REFERENCE, export_parquet, set_run_variables
from pipeline.resources import WorkspaceResource
from pipeline.sources import SOURCES

# Which periods each area type is published for: every period for the partnership, fewer for small areas
# (monthly ward and LSOA figures are mostly noise and would multiply the mart's size).
PERIODS_BY_AREA = {
    "partnership": ("month", "quarter", "financial_year", "rolling_12"),
    "ward": ("quarter", "financial_year", "rolling_12"),
    "lsoa": ("financial_year", "rolling_12"),
}
STALE_YEARS = 5  # a denominator more than this many years from the period is flagged (suite marts.indicator_values)


def catalogue_frame(catalogue: dict[str, Indicator]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The catalogue as two tables for SQL: one row per indicator, and one per indicator and source it needs
    delivered (population is the denominator's source, not a delivery)."""
    indicators = pl.DataFrame(
        [
            {"indicator_id": i.id, "title": i.title, "theme": i.theme, "kind": i.kind,
             "denominator_kind": i.denominator if i.kind == "rate" else ("count" if i.kind in ("proportion", "ratio") else None),
             "multiplier": i.multiplier, "unit": i.unit, "polarity": i.polarity, "disclosure": i.disclosure,
             "smallest_geography": i.smallest_geography, "geographies": list(i.geographies)}
            for i in catalogue.values()
        ],
        schema_overrides={"denominator_kind": pl.String},
    )
    sources = pl.DataFrame(
        [
            {"indicator_id": i.id, "source": s, "period_grain": SOURCES[s].period_grain, "annual_snapshot": i.annual_snapshot}
            for i in catalogue.values() for s in i.sources if SOURCES[s].agency != "reference"
        ]
    )
    return indicators, sources


def rows_sql(catalogue: dict[str, Indicator]) -> str:
    """Every indicator's numerator rows in one table, tagged with the indicator's id."""
    return "\nUNION ALL\n".join(
        f"SELECT '{i.id}' AS indicator_id, partnership_id, ward_code, lsoa_code, month::DATE AS month, "
        f"numerator::DOUBLE AS numerator, denominator::DOUBLE AS denominator\nFROM (\n{i.numerator_sql}\n)"
        for i in catalogue.values()
    )


VALUES_SQL = f"""
WITH delivered AS (  -- the months each indicator's sources delivered: a quarterly row covers its quarter, a yearly
                    -- row its 12 months, a survey's fieldwork (annual_snapshot) its financial year
    SELECT DISTINCT s.indicator_id, s.source, m.month
    FROM indicator_sources AS s
    JOIN conformed.source_periods AS p ON p.source = s.source
    JOIN conformed.dim_month AS m ON CASE
        WHEN s.annual_snapshot THEN fy_start(m.month) = fy_start(p.month)
        WHEN s.period_grain = 'year' THEN m.month BETWEEN p.month AND (p.month + INTERVAL 11 MONTH)::DATE
        WHEN s.period_grain = 'quarter' THEN m.month BETWEEN p.month AND (p.month + INTERVAL 2 MONTH)::DATE
        ELSE m.month = p.month END
),
needed AS (SELECT indicator_id, count(*) AS sources FROM indicator_sources GROUP BY ALL),
covered AS (
    SELECT d.indicator_id, d.month
    FROM delivered AS d JOIN needed AS n USING (indicator_id)
    GROUP BY d.indicator_id, d.month, n.sources
    HAVING count(DISTINCT d.source) = n.sources
),
period_cover AS (
    SELECT c.indicator_id, p.period_type, p.period, count(*) AS months_covered
    FROM covered AS c JOIN conformed.dim_period AS p USING (month)
    GROUP BY ALL
),
periods AS (
    SELECT DISTINCT period_type, period, period_start, period_end, period_months, mid_year FROM conformed.dim_period
),
areas AS (
    SELECT DISTINCT 'partnership' AS area_type, partnership_id AS area_code, partnership_name AS area_name, partnership_id FROM conformed.dim_geography
    UNION ALL SELECT DISTINCT 'ward', ward_code, ward_name, partnership_id FROM conformed.dim_geography
    UNION ALL SELECT DISTINCT 'lsoa', lsoa_code, lsoa_name, partnership_id FROM conformed.dim_geography
),
area_periods AS (
    SELECT * FROM (VALUES {", ".join(f"('{a}', '{p}')" for a, ps in PERIODS_BY_AREA.items() for p in ps)}) AS t(area_type, period_type)
),
grid AS (
    SELECT i.*, a.area_type, a.area_code, a.area_name, a.partnership_id, p.*, c.months_covered
    FROM indicators AS i
    JOIN areas AS a ON list_contains(i.geographies, a.area_type)
    JOIN area_periods AS ap ON ap.area_type = a.area_type
    JOIN periods AS p ON p.period_type = ap.period_type
    JOIN period_cover AS c ON c.indicator_id = i.indicator_id AND c.period_type = p.period_type AND c.period = p.period
),
counted AS (  -- only months the sources delivered count; summed per LSOA and month first, as every period and
             -- area above it is a sum of those (one row per event would be multiplied by every period it falls in)
    SELECT r.indicator_id, r.partnership_id, r.ward_code, r.lsoa_code, r.month,
           sum(r.numerator) AS numerator, sum(r.denominator) AS denominator
    FROM indicator_rows AS r JOIN covered AS c ON c.indicator_id = r.indicator_id AND c.month = r.month
    WHERE r.partnership_id IS NOT NULL
    GROUP BY ALL
),
monthly AS (  -- per area and month, for the area types each indicator is published for
    SELECT r.indicator_id, a.area_type, a.area_code, r.partnership_id, r.month,
           sum(r.numerator) AS numerator, sum(r.denominator) AS denominator
    FROM counted AS r
    CROSS JOIN LATERAL (VALUES ('partnership', r.partnership_id), ('ward', r.ward_code), ('lsoa', r.lsoa_code)) AS a(area_type, area_code)
    JOIN indicators AS i ON i.indicator_id = r.indicator_id AND list_contains(i.geographies, a.area_type)
    WHERE a.area_code IS NOT NULL
    GROUP BY ALL
),
sums AS (  -- each period an area type is published for, as the sum of its months (a month falls in up to 15
           -- periods: laying every area over every period first took tens of GB at national scale)
    SELECT m.indicator_id, m.area_type, m.area_code, m.partnership_id, p.period_type, p.period,
           sum(m.numerator) AS numerator, sum(m.denominator) AS denominator
    FROM monthly AS m
    JOIN area_periods AS ap ON ap.area_type = m.area_type
    JOIN conformed.dim_period AS p ON p.month = m.month AND p.period_type = ap.period_type
    GROUP BY ALL
)
SELECT g.indicator_id, g.title, g.theme, g.kind, g.partnership_id, g.area_type, g.area_code, g.area_name,
       g.period_type, g.period, g.period_start, g.period_end, g.period_months, g.months_covered,
       g.months_covered = g.period_months AS complete,
       coalesce(s.numerator, 0) AS numerator,
       CASE WHEN g.kind = 'rate' THEN pop.value WHEN g.kind = 'count' THEN NULL ELSE coalesce(s.denominator, 0) END AS denominator,
       g.denominator_kind,
       pop.year AS denominator_year,
       pop.source AS denominator_source,
       g.mid_year AS period_mid_year,
       g.multiplier, g.unit, g.polarity, g.disclosure,
       g.disclosure AS disclosure_class  -- the name every mart uses; `disclosure` is what pipeline/publish/disclosure.py reads
FROM grid AS g
LEFT JOIN sums AS s ON s.indicator_id = g.indicator_id AND s.area_type = g.area_type AND s.area_code = g.area_code
    AND s.partnership_id = g.partnership_id AND s.period_type = g.period_type AND s.period = g.period
LEFT JOIN conformed.period_population AS pop ON g.kind = 'rate' AND pop.period_type = g.period_type AND pop.period = g.period
    AND pop.area_type = g.area_type AND pop.area_code = g.area_code AND pop.partnership_id = g.partnership_id
    AND pop.denominator = g.denominator_kind
"""


def with_intervals(frame: pl.DataFrame) -> pl.DataFrame:
    """value, lower and upper for every row, by kind: rates and ratios with the Fingertips Poisson limits,
    proportions with Wilson's, counts as a Poisson count (a rate per 1 over a denominator of 1). A proportion
    or ratio over nothing has no value and is dropped."""
    frame = frame.filter(~pl.col("kind").is_in(["proportion", "ratio"]) | (pl.col("denominator") > 0))
    if frame.is_empty():
        return frame.with_columns(pl.lit(None, pl.Float64).alias(c) for c in ("value", "lower", "upper"))
    parts = []
    for (kind, multiplier), part in frame.group_by("kind", "multiplier", maintain_order=True):
        if kind == "proportion":
            part = stats.proportion_ci_frame(part, "numerator", "denominator", multiplier=multiplier)
        elif kind == "count":
            part = stats.rate_ci_frame(part.with_columns(pl.lit(1.0).alias("_one")), "numerator", "_one", multiplier=1).drop("_one")
        else:
            part = stats.rate_ci_frame(part, "numerator", "denominator", multiplier=multiplier)
        parts.append(part)
    return pl.concat(parts).sort("indicator_id", "area_type", "area_code", "period_type", "period_start")


BATCH_ROWS = 500_000  # the national mart is about 10 million rows: held whole with its intervals it took 24 GB


def compute_values(con, catalogue: dict[str, Indicator]) -> Iterator[pl.DataFrame]:
    """The mart in order, batch by batch with its intervals: DuckDB lays the grid (spilling to disk as it needs),
    Python adds the intervals a batch at a time."""
    indicators, sources = catalogue_frame(catalogue)
    con.register("indicators", indicators.to_arrow())
    con.register("indicator_sources", sources.to_arrow())
    con.execute(f"CREATE OR REPLACE TEMP TABLE indicator_rows AS {rows_sql(catalogue)}")
    reader = con.sql(f"""
        SELECT * FROM ({VALUES_SQL})
        ORDER BY indicator_id, area_type, area_code, period_type, period_start
    """).to_arrow_reader(BATCH_ROWS)
    for batch in reader:
        frame = with_intervals(pl.from_arrow(batch))
        if frame.height:
            yield frame


def catalogue_reads(catalogue: dict[str, Indicator]) -> list[dg.AssetKey]:
    """The tables the numerators read, stated once in their SQL (as for every SQL model)."""
    return sorted({dg.AssetKey([s, t]) for i in catalogue.values() for s, t in _REFERENCE.findall(i.numerator_sql)}, key=str)


def write_mart(con, ws, name: str, frame: pl.DataFrame | Iterable[pl.DataFrame]) -> int:
    """Replace marts.<name> with the frame (or the frames, in order, of a mart too large to hold whole: they go
    through a Parquet file first, as the connection is still reading them) and export it for the documents."""
    if not isinstance(frame, pl.DataFrame):
        return _write_batches(con, ws, name, frame)
    con.execute("CREATE SCHEMA IF NOT EXISTS marts")
    con.register("incoming", frame.to_arrow())
    con.execute(f"CREATE OR REPLACE TABLE marts.{name} AS SELECT * FROM incoming")
    con.unregister("incoming")
    export_parquet(con, f"marts.{name}", ws.marts / f"{name}.parquet")
    return frame.height


def _write_batches(con, ws, name: str, frames: Iterable[pl.DataFrame]) -> int:
    import pyarrow.parquet as pq

    ws.marts.mkdir(parents=True, exist_ok=True)
    staged = ws.marts / f".{name}.batches.parquet"
    writer, rows = None, 0
    try:
        for frame in frames:
            table = frame.to_arrow()
            writer = writer or pq.ParquetWriter(staged, table.schema)
            writer.write_table(table)
            rows += frame.height
        if writer is None:
            raise ValueError(f"marts.{name}: no rows and so no columns to write")
        writer.close()
        con.execute("CREATE SCHEMA IF NOT EXISTS marts")
        con.execute(f"CREATE OR REPLACE TABLE marts.{name} AS SELECT * FROM read_parquet('{staged}')")
        export_parquet(con, f"marts.{name}", ws.marts / f"{name}.parquet")
    finally:
        staged.unlink(missing_ok=True)
    return rows


@dg.asset(
    key=["marts", "indicator_values"],
    deps=[*catalogue_reads(load_catalogue()), *(dg.AssetKey(["conformed", t]) for t in ("dim_period", "dim_month", "dim_geography", "period_population", "source_periods"))],
    group_name="marts",
    description="Every catalogue indicator by area (partnership, ward, LSOA) and period (month, quarter, financial year, rolling 12 months), with denominator, its year, and 95% interval",
    kinds={"duckdb", "python"},
)
def indicator_values(workspace: WorkspaceResource) -> dg.MaterializeResult:
    ws = workspace.get()
    with ws.connect() as con:
        set_run_variables(con, ws)
        rows = write_mart(con, ws, "indicator_values", compute_values(con, load_catalogue()))
    return dg.MaterializeResult(metadata={"dagster/row_count": rows})


ASSETS = [indicator_values]
