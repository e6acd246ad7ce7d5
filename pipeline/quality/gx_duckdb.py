"""Great Expectations' SQL execution engine on the caller's DuckDB connection: the checks run where the data is.

GX 1.x validates SQL through SQLAlchemy, and duckdb-engine gives SQLAlchemy a DuckDB dialect, but out of the box
the pair fails (see ../shared/stack-notes.md; great_expectations #10738, #11579):

- every metric errors with "list index out of range": GX runs a query inside `with engine.connect()` and fetches
  its rows after the block, and leaving the block sends a ROLLBACK (and closes the connection), which discards
  DuckDB's unfetched result. Here SQLAlchemy borrows the caller's connection (`_Borrowed`): closing it, and
  the ROLLBACK, are no-ops, so the result survives and the caller's connection, its variables and any
  transaction it has open are left as they were (GX only reads);
- regex expectations raise "Regex is not supported for dialect duckdb": GX knows no regex function for DuckDB.
  `DuckDBExecutionEngine` is a subclass of GX's SQL engine for which the regex conditions are registered with
  DuckDB's `regexp_matches` (a search, like the pandas engine's `str.contains`); every other metric is GX's own,
  found by GX's registry through the subclass.

The suite's batch query becomes a temporary view on the connection, so GX's queries read it by name (and
SQLAlchemy never parses the suite's SQL); one datasource, asset and batch definition serve every suite.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb

    from pipeline.quality.suites import Suite

BATCH_VIEW = "csp_gx_batch"  # the temporary view GX's query asset reads: the suite's batch, replaced per validation


class _Current(threading.local):
    con: "duckdb.DuckDBPyConnection | None" = None


_CURRENT = _Current()


@lru_cache(maxsize=1)
def _engine_types():
    """The DuckDB execution engine, its regex metrics and its datasource type, defined once GX is imported."""
    from typing import Literal, Type

    import sqlalchemy as sa
    from great_expectations.datasource.fluent.sql_datasource import SQLDatasource
    from great_expectations.execution_engine import SqlAlchemyExecutionEngine
    from great_expectations.expectations.metrics.map_metric_provider import (
        ColumnMapMetricProvider,
        column_condition_partial,
    )

    class DuckDBExecutionEngine(SqlAlchemyExecutionEngine):
        """GX's SQL engine; a class of its own so that DuckDB's regex conditions can be registered for it."""

    def _regex(column, regex):
        return sa.func.regexp_matches(sa.cast(column, sa.String), sa.literal(regex, sa.String))

    class DuckDBMatchRegex(ColumnMapMetricProvider):
        condition_metric_name = "column_values.match_regex"
        condition_value_keys = ("regex",)

        @column_condition_partial(engine=DuckDBExecutionEngine)
        def _sqlalchemy(cls, column, regex, **kwargs):
            return _regex(column, regex)

    class DuckDBNotMatchRegex(ColumnMapMetricProvider):
        condition_metric_name = "column_values.not_match_regex"
        condition_value_keys = ("regex",)

        @column_condition_partial(engine=DuckDBExecutionEngine)
        def _sqlalchemy(cls, column, regex, **kwargs):
            return sa.not_(_regex(column, regex))

    class CspDuckDBDatasource(SQLDatasource):
        """A SQL datasource validated by DuckDBExecutionEngine."""

        type: Literal["csp_duckdb"] = "csp_duckdb"  # type: ignore[assignment]

        @property
        def execution_engine_type(self) -> Type[SqlAlchemyExecutionEngine]:
            return DuckDBExecutionEngine

    return DuckDBExecutionEngine, CspDuckDBDatasource


def _borrow():
    """SQLAlchemy's `creator`: the connection being validated, wrapped so that GX cannot close or roll it back."""
    from duckdb_engine import ConnectionWrapper

    class _Borrowed(ConnectionWrapper):
        def close(self) -> None:
            self.closed = True  # the caller's connection stays open

        # GX only reads. SQLAlchemy wraps its queries in BEGIN … ROLLBACK; on DuckDB the ROLLBACK drops the result
        # GX has yet to fetch, and a BEGIN would make the caller's connection part of GX's transaction.
        def begin(self) -> None:
            pass

        def rollback(self) -> None:
            pass

        def commit(self) -> None:
            pass

    if _CURRENT.con is None:
        raise RuntimeError("GX asked for a DuckDB connection outside pipeline.quality.gx_duckdb.validating()")
    return _Borrowed(_CURRENT.con)


def batch_definition(context):
    """One datasource on the borrowed connection, with one query asset reading BATCH_VIEW; made once per context."""
    from sqlalchemy.pool import NullPool

    _, datasource_type = _engine_types()
    datasource = context.add_datasource(datasource=datasource_type(
        name="csp_duckdb", connection_string="duckdb:///:memory:", kwargs={"creator": _borrow, "poolclass": NullPool},
    ))
    asset = datasource.add_query_asset("batch", query=f"SELECT * FROM {BATCH_VIEW}")
    return asset.add_batch_definition_whole_table("whole")


@contextmanager
def validating(con: "duckdb.DuckDBPyConnection", suite: "Suite"):
    """`with validating(con, suite):` GX's DuckDB datasource reads the suite's batch on `con` until the block ends."""
    from pipeline.quality.suites import SuiteError

    try:
        con.execute(f"CREATE OR REPLACE TEMP VIEW {BATCH_VIEW} AS\n{suite.batch}")
    except Exception as exc:
        raise SuiteError(f"{suite.label}: the batch query (meta.csp.batch) failed: {exc}") from exc
    _CURRENT.con = con
    try:
        yield
    finally:
        _CURRENT.con = None
        con.execute(f"DROP VIEW IF EXISTS {BATCH_VIEW}")
