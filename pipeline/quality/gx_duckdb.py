"""Great Expectations' SQL execution engine on the caller's DuckDB connection: the checks run where the data is.

GX 1.x validates SQL through SQLAlchemy, and duckdb-engine gives SQLAlchemy a DuckDB dialect, but out of the box
the pair fails (../shared/stack-notes.md; great_expectations #10738, #11579):

- every metric errors with "list index out of range": GX runs each query inside `with engine.connect()` and
  fetches its rows after the block, and leaving the block rolls back (duckdb-engine wraps every connection in a
  real DuckDB transaction), which discards DuckDB's unfetched result. Here SQLAlchemy borrows the caller's
  connection instead: its BEGIN, ROLLBACK, COMMIT and close are no-ops, so the result survives, and the
  caller's connection, its variables (getvariable) and any transaction it has open are left as they were.
  GX only reads.
- regex expectations raise "Regex is not supported for dialect duckdb": GX knows no regex function for DuckDB.
  DuckDBExecutionEngine is GX's SQL engine under a class of its own, for which the regex conditions are
  registered with DuckDB's `regexp_matches` (a search, like the pandas engine's `str.contains`); every other
  metric is GX's own, which GX's registry finds through the subclass.

The suite's batch query becomes a temporary view on the connection (BATCH_VIEW), which GX's one query asset
reads by name: SQLAlchemy never parses the suite's SQL, and one datasource serves every suite.
"""

from __future__ import annotations

from contextlib import contextmanager
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb

    from pipeline.quality.suites import Suite

BATCH_VIEW = "csp_gx_batch"

# The connection being validated. Validations are serialised (pipeline.quality.suites._LOCK), and GX resolves
# metrics on the calling thread; `_borrow` refuses to run outside `validating`.
_current: list = []


@lru_cache(maxsize=1)
def _types():
    """The borrowed-connection wrapper, DuckDB's execution engine (with its regex metrics) and its datasource type:
    defined once, after GX and duckdb-engine are imported."""
    from typing import Literal, Type

    import sqlalchemy as sa
    from duckdb_engine import ConnectionWrapper
    from great_expectations.datasource.fluent.sql_datasource import SQLDatasource
    from great_expectations.execution_engine import SqlAlchemyExecutionEngine
    from great_expectations.expectations.metrics.map_metric_provider import (
        ColumnMapMetricProvider,
        column_condition_partial,
    )

    class Borrowed(ConnectionWrapper):
        """The caller's connection as SQLAlchemy's DB-API connection: GX cannot end its transaction or close it."""

        def begin(self) -> None:
            pass

        def rollback(self) -> None:
            pass

        def commit(self) -> None:
            pass

        def close(self) -> None:
            self.closed = True

    class DuckDBExecutionEngine(SqlAlchemyExecutionEngine):
        """GX's SQL engine, as a class of its own so that DuckDB's regex conditions can be registered for it."""

    def matches(column, regex):
        return sa.func.regexp_matches(sa.cast(column, sa.String), sa.literal(regex, sa.String))

    class DuckDBMatchRegex(ColumnMapMetricProvider):
        condition_metric_name = "column_values.match_regex"
        condition_value_keys = ("regex",)

        @column_condition_partial(engine=DuckDBExecutionEngine)
        def _sqlalchemy(cls, column, regex, **kwargs):
            return matches(column, regex)

    class DuckDBNotMatchRegex(ColumnMapMetricProvider):
        condition_metric_name = "column_values.not_match_regex"
        condition_value_keys = ("regex",)

        @column_condition_partial(engine=DuckDBExecutionEngine)
        def _sqlalchemy(cls, column, regex, **kwargs):
            return sa.not_(matches(column, regex))

    class CspDuckDBDatasource(SQLDatasource):
        """GX's SQL datasource, validated by DuckDBExecutionEngine."""

        type: Literal["csp_duckdb"] = "csp_duckdb"  # type: ignore[assignment]

        @property
        def execution_engine_type(self) -> Type[SqlAlchemyExecutionEngine]:
            return DuckDBExecutionEngine

    return Borrowed, CspDuckDBDatasource


def _borrow():
    """SQLAlchemy's `creator`: the connection being validated, borrowed."""
    if not _current:
        raise RuntimeError("GX asked for a DuckDB connection outside pipeline.quality.gx_duckdb.validating()")
    borrowed, _ = _types()
    return borrowed(_current[-1])


def batch_definition(context):
    """A datasource on the borrowed connection in `context`, with one query asset reading BATCH_VIEW."""
    from sqlalchemy.pool import NullPool

    _, datasource_type = _types()
    datasource = context.add_datasource(datasource=datasource_type(
        name="csp_duckdb", connection_string="duckdb:///:memory:", kwargs={"creator": _borrow, "poolclass": NullPool},
    ))
    return datasource.add_query_asset("batch", query=f"SELECT * FROM {BATCH_VIEW}").add_batch_definition_whole_table("whole")


@contextmanager
def validating(con: "duckdb.DuckDBPyConnection", suite: "Suite"):
    """`with validating(con, suite):` GX's DuckDB datasource reads the suite's batch on `con` until the block ends."""
    from pipeline.quality.suites import SuiteError

    try:
        import duckdb_engine  # noqa: F401 (checked on every run: _types() is made once)

        _types()
    except ImportError as exc:  # without duckdb-engine (or SQLAlchemy) GX cannot reach DuckDB: no check may pass
        raise SuiteError(f"{suite.label}: {exc}; GX validates on DuckDB through duckdb-engine. "
                         "Install the locked packages (make install).") from exc
    try:
        con.execute(f"CREATE OR REPLACE TEMP VIEW {BATCH_VIEW} AS\n{suite.batch}")
    except Exception as exc:
        raise SuiteError(f"{suite.label}: the batch query (meta.csp.batch) failed: {exc}") from exc
    _current.append(con)
    try:
        yield
    finally:
        _current.pop()
        con.execute(f"DROP VIEW IF EXISTS {BATCH_VIEW}")
