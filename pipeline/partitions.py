"""Time partitions: one calendar of quarters (April, July, October, January: financial quarters) for every
table that holds rows by month (raw, staging, conformed).

Landing gives each raw row its `_period` (the month of its period column), and the staging and conformed models
that carry a `month` declare it (`-- partitioned by quarter`); a row's partition is its month's quarter. One
calendar for every source rather than one per cadence: a Dagster run covers one range of one partitions
definition, and conformed.placements places every source's rows together. Quarters rather than months: Dagster
records every partition of every asset a run builds (two events each, tens of milliseconds apiece in its
SQLite storage), and five years of months across 35 tables made a first build minutes slower; a quarter is
what partners deliver, and a new police.uk month rebuilds its quarter's three months, still nothing else.

A run covers a range of quarters (`range_tags`); each partitioned table replaces exactly the rows of those
months (`replace_window`), in one transaction. Marts aggregate across quarters and stay unpartitioned: they are
rebuilt whole, from the partitioned tables. Which quarters a run covers is decided by pipeline/ingest/plan.py.

A partitioned table is rebuilt whole, whatever the range, when what builds it changed (`fingerprint`: its SQL,
the shared macros, partnership.yaml): a window of a table built by other rules would mix two versions.
"""

from __future__ import annotations

import hashlib
import warnings
from datetime import date, datetime

import dagster as dg
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG, PARTITION_NAME_TAG

# A range of months as one step (backfill_policy) is beta in Dagster 1.13, and partitioned checks are a preview:
# both are what this module is for, so say so once here rather than on every import of the definitions.
warnings.filterwarnings("ignore", message=r"Parameter `backfill_policy`", category=dg.BetaWarning)
warnings.filterwarnings("ignore", message=r"Specifying a partitions_def on an AssetCheckSpec", category=dg.PreviewWarning)

FIRST_MONTH = "2000-01-01"  # police.uk starts in December 2010; partner history rarely goes back further
QUARTERS = dg.TimeWindowPartitionsDefinition(  # up to the current quarter
    start=FIRST_MONTH, cron_schedule="0 0 1 1,4,7,10 *", fmt="%Y-%m-%d", end_offset=1)
SINGLE_RUN = dg.BackfillPolicy.single_run()  # a range of quarters is one step: one DELETE and INSERT, not one each

BUILDS_DDL = """
CREATE SCHEMA IF NOT EXISTS raw;
CREATE TABLE IF NOT EXISTS raw._builds (target VARCHAR PRIMARY KEY, fingerprint VARCHAR, built_at TIMESTAMP);
"""


def quarter_key(month: date) -> str:
    """The partition key of the quarter a month lies in: its first day (2025-01-01 for 2025-03)."""
    return date(month.year, (month.month - 1) // 3 * 3 + 1, 1).isoformat()


def range_tags(first: date, last: date) -> dict[str, str]:
    """Run tags that make one run cover the quarters of the months from `first` to `last` (inclusive); one
    quarter is named as such, so that its checks are recorded against it."""
    if quarter_key(first) == quarter_key(last):
        return {PARTITION_NAME_TAG: quarter_key(first)}
    return {ASSET_PARTITION_RANGE_START_TAG: quarter_key(first), ASSET_PARTITION_RANGE_END_TAG: quarter_key(last)}


def window(context) -> tuple[date, date]:
    """The run's quarters as [first day, first day after the last quarter)."""
    span = context.partition_time_window
    return span.start.date(), span.end.date()


def month_after(month: date) -> date:
    return date(month.year + (month.month == 12), month.month % 12 + 1, 1)


def window_label(span: tuple[date, date]) -> str:
    """'2025-03', or '2020-04 to 2025-03', for [first day, day after the last month]."""
    first, after = span
    last = date(after.year - (after.month == 1), (after.month - 2) % 12 + 1, 1)
    return first.strftime("%Y-%m") if first == last else f"{first:%Y-%m} to {last:%Y-%m}"


def fingerprint(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:16]


def rebuilt_whole(con, table: str, built_by: str) -> bool:
    """Whether the table must be rebuilt whole: it is new, or what builds it (`built_by`, a fingerprint) changed."""
    con.execute(BUILDS_DDL)
    schema, name = table.split(".")
    exists = con.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = ? AND table_name = ?", [schema, name]).fetchone()[0]
    known = con.execute("SELECT fingerprint FROM raw._builds WHERE target = ?", [table]).fetchone()
    return not exists or known is None or known[0] != built_by


def replace_window(con, table: str, select_sql: str, column: str, span: tuple[date, date] | None, built_by: str) -> None:
    """Make `table` hold the rows of `select_sql` for the months of `span` ([first day, day after]), leaving
    other months as they are; with `span` None, the whole of `select_sql`. One transaction; records `built_by`."""
    con.execute(BUILDS_DDL)
    con.execute("BEGIN")
    try:
        if span is None:
            con.execute(f"CREATE OR REPLACE TABLE {table} AS\n{select_sql}")
        else:
            bounds = [span[0], span[1]]
            con.execute(f"DELETE FROM {table} WHERE {column} >= ? AND {column} < ?", bounds)
            con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM (\n{select_sql}\n) WHERE {column} >= ? AND {column} < ?", bounds)
        con.execute("INSERT OR REPLACE INTO raw._builds VALUES (?, ?, ?)", [table, built_by, datetime.now()])
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
