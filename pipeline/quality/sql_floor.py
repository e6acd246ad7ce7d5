"""The floor for a suite: its expectations as ONE plain DuckDB statement computing the same pass/fail as GX.

The benchmark (pipeline/bench.py) compares GX's validation of a suite with this statement on the same
table, and the tests check that both agree, expectation by expectation. The semantics follow GX 1.x's
pandas engine:

- column map expectations count unexpected values among the non-null ones (nulls are "missing"), except
  to_be_null / to_not_be_null, which count over every row; success is (considered - unexpected) /
  considered >= mostly, and vacuously true when nothing is considered;
- uniqueness counts every row of a duplicated group as unexpected (pandas `duplicated(keep=False)`), after
  `ignore_row_if` has filtered the rows for compound keys;
- table expectations compare the row count or the column names.

Only the expectation types (and kwargs) listed in SUPPORTED are translated; anything else raises SuiteError,
so a floor never reports a pass for a check it did not make.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pipeline.quality.suites import Suite, SuiteError, check_variables, column_of, threshold

if TYPE_CHECKING:
    import duckdb

_COMMON = {"catch_exceptions", "result_format", "description", "notes"}
SUPPORTED: dict[str, set[str]] = {
    "expect_column_to_exist": {"column"},
    "expect_table_columns_to_match_set": {"column_set", "exact_match"},
    "expect_table_row_count_to_be_between": {"min_value", "max_value", "strict_min", "strict_max"},
    "expect_table_row_count_to_equal": {"value"},
    "expect_column_values_to_not_be_null": {"column", "mostly"},
    "expect_column_values_to_be_null": {"column", "mostly"},
    "expect_column_values_to_be_in_set": {"column", "value_set", "mostly"},
    "expect_column_values_to_not_be_in_set": {"column", "value_set", "mostly"},
    "expect_column_values_to_match_regex": {"column", "regex", "mostly"},
    "expect_column_values_to_not_match_regex": {"column", "regex", "mostly"},
    "expect_column_values_to_be_between": {"column", "min_value", "max_value", "strict_min", "strict_max", "mostly"},
    "expect_column_values_to_be_unique": {"column", "mostly"},
    "expect_compound_columns_to_be_unique": {"column_list", "mostly", "ignore_row_if"},
}


@dataclass
class FloorOutcome:
    type: str
    column: str | None
    severity: str
    success: bool
    observed: object  # the row count or column names for table expectations; the unexpected count otherwise
    threshold: str
    unexpected_count: int | None


@dataclass
class FloorResult:
    suite: Suite
    outcomes: list[FloorOutcome]
    rows: int
    seconds: float
    sql: str

    @property
    def errors(self) -> list[FloorOutcome]:
        return [o for o in self.outcomes if not o.success and o.severity == "error"]

    @property
    def warnings(self) -> list[FloorOutcome]:
        return [o for o in self.outcomes if not o.success and o.severity == "warn"]

    @property
    def passed(self) -> bool:
        return not self.errors


def ident(name: str) -> str:
    return '"' + str(name).replace('"', '""') + '"'


def literal(value) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise SuiteError(f"the SQL floor cannot compare with {value!r}")
        return repr(value)
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise SuiteError(f"the SQL floor cannot write {value!r} ({type(value).__name__}) as a literal")


def _number(value, where: str) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SuiteError(f"{where}: the SQL floor supports numeric bounds only, found {value!r}")
    return literal(value)


def _mostly(considered: str, unexpected: str, mostly) -> str:
    m = 1.0 if mostly is None else float(mostly)
    empty = "agg.n = 0" if considered == "agg.n" else f"agg.n = 0 OR {considered} = 0"
    return f"({empty} OR ({considered} - {unexpected})::DOUBLE / {considered} >= {m!r})"


def _range(value: str, kwargs: dict, where: str) -> str:
    parts = []
    if kwargs.get("min_value") is not None:
        parts.append(f"{value} {'>' if kwargs.get('strict_min') else '>='} {_number(kwargs['min_value'], where)}")
    if kwargs.get("max_value") is not None:
        parts.append(f"{value} {'<' if kwargs.get('strict_max') else '<='} {_number(kwargs['max_value'], where)}")
    if not parts:
        raise SuiteError(f"{where}: min_value and max_value are both missing")
    return " AND ".join(parts)


def floor_sql(suite: Suite) -> str:
    """The single DuckDB statement: one row with n (rows), and ok_i / u_i / obs_i for each expectation i."""
    aggregates = ["count(*) AS n"]  # over the batch, in one scan
    side = []  # further CTEs (uniqueness groups, column names), each one row
    finals = ["agg.n AS n"]
    needs_columns = False
    for i, spec in enumerate(suite.expectations):
        kind, kwargs = spec["type"], spec["kwargs"]
        where = f"{suite.label}: expectation {i + 1} ({kind})"
        if kind not in SUPPORTED:
            raise SuiteError(f"{where}: the SQL floor does not translate this expectation type")
        extra = set(kwargs) - SUPPORTED[kind] - _COMMON
        if extra:
            raise SuiteError(f"{where}: the SQL floor does not translate kwarg(s) {', '.join(sorted(extra))}")
        column = ident(kwargs["column"]) if "column" in kwargs else None
        mostly = kwargs.get("mostly")
        if kind in ("expect_column_to_exist", "expect_table_columns_to_match_set"):
            needs_columns = True
            if kind == "expect_column_to_exist":
                ok = f"list_contains(cols.names, {literal(kwargs['column'])})"
            else:
                wanted = "[" + ", ".join(literal(c) for c in kwargs["column_set"]) + "]"
                if kwargs.get("exact_match", True) is False:
                    ok = f"list_has_all(cols.names, {wanted}::VARCHAR[])"
                else:
                    ok = f"list_sort(list_distinct(cols.names)) = list_sort(list_distinct({wanted}::VARCHAR[]))"
            finals += [f"{ok} AS ok_{i}", f"NULL::BIGINT AS u_{i}", f"cols.names AS obs_{i}"]
        elif kind == "expect_table_row_count_to_be_between":
            finals += [f"({_range('agg.n', kwargs, where)}) AS ok_{i}", f"NULL::BIGINT AS u_{i}", f"agg.n AS obs_{i}"]
        elif kind == "expect_table_row_count_to_equal":
            finals += [f"agg.n = {_number(kwargs['value'], where)} AS ok_{i}", f"NULL::BIGINT AS u_{i}", f"agg.n AS obs_{i}"]
        elif kind in ("expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique"):
            columns = [kwargs["column"]] if "column" in kwargs else list(kwargs["column_list"])
            keys = ", ".join(ident(c) for c in columns)
            if kind == "expect_column_values_to_be_unique":
                keep = f"{ident(columns[0])} IS NOT NULL"
            else:
                rule = kwargs.get("ignore_row_if", "all_values_are_missing")
                if rule == "all_values_are_missing":
                    keep = "NOT (" + " AND ".join(f"{ident(c)} IS NULL" for c in columns) + ")"
                elif rule == "any_value_is_missing":
                    keep = " AND ".join(f"{ident(c)} IS NOT NULL" for c in columns)
                elif rule == "never":
                    keep = "TRUE"
                else:
                    raise SuiteError(f"{where}: the SQL floor does not translate ignore_row_if={rule!r}")
            side.append(
                f"dup_{i} AS (SELECT coalesce(sum(k) FILTER (WHERE k > 1), 0) AS u, coalesce(sum(k), 0) AS c "
                f"FROM (SELECT count(*) AS k FROM batch WHERE {keep} GROUP BY {keys}))"
            )
            finals += [f"{_mostly(f'dup_{i}.c', f'dup_{i}.u', mostly)} AS ok_{i}", f"dup_{i}.u::BIGINT AS u_{i}", f"dup_{i}.u::BIGINT AS obs_{i}"]
        else:
            if kind == "expect_column_values_to_not_be_null":
                bad, considered = f"{column} IS NULL", "agg.n"
            elif kind == "expect_column_values_to_be_null":
                bad, considered = f"{column} IS NOT NULL", "agg.n"
            else:
                considered = f"agg.c_{i}"
                aggregates.append(f"count({column}) AS c_{i}")
                if kind in ("expect_column_values_to_be_in_set", "expect_column_values_to_not_be_in_set"):
                    values = kwargs["value_set"] or []
                    member = f"{column} IN ({', '.join(literal(v) for v in values)})" if values else "FALSE"
                    bad = f"{column} IS NOT NULL AND {'NOT ' if kind.endswith('to_be_in_set') else ''}({member})"
                elif kind in ("expect_column_values_to_match_regex", "expect_column_values_to_not_match_regex"):
                    match = f"regexp_matches({column}::VARCHAR, {literal(kwargs['regex'])})"
                    bad = f"{column} IS NOT NULL AND {'NOT ' if '_not_' not in kind else ''}{match}"
                else:  # expect_column_values_to_be_between
                    bad = f"{column} IS NOT NULL AND NOT ({_range(column, kwargs, where)})"
            # sum(CASE …) rather than count(*) FILTER (WHERE …): the same count, and DuckDB computes it about a
            # quarter faster (measured on the benchmark's 3M-row table), so the floor is as low as one scan goes
            aggregates.append(f"coalesce(sum(CASE WHEN {bad} THEN 1 ELSE 0 END), 0) AS u_{i}")
            finals += [f"{_mostly(considered, f'agg.u_{i}', mostly)} AS ok_{i}", f"agg.u_{i} AS u_{i}", f"agg.u_{i} AS obs_{i}"]
    ctes = [f"batch AS (\n{suite.batch}\n)", f"agg AS (SELECT {', '.join(aggregates)} FROM batch)"]
    if needs_columns:
        ctes.append(f"cols AS (SELECT list(column_name) AS names FROM (DESCRIBE (\n{suite.batch}\n)))")
    ctes += side
    sources = ["agg"] + (["cols"] if needs_columns else []) + [c.split(" AS ", 1)[0] for c in side]
    return "WITH " + ",\n".join(ctes) + "\nSELECT " + ",\n".join(finals) + "\nFROM " + ", ".join(sources)


def run_floor(con: "duckdb.DuckDBPyConnection", suite: Suite) -> FloorResult:
    """Run the floor statement on `con`; the same variables as run_suite must be set."""
    sql = floor_sql(suite)
    check_variables(con, suite)
    started = time.perf_counter()
    try:
        cursor = con.execute(sql)
        row = cursor.fetchall()[0]  # fetchall completes the result: DuckDB 2 refuses new work on an unfinished one
        names = [d[0] for d in cursor.description]
    except Exception as exc:
        raise SuiteError(f"{suite.label}: the SQL floor statement failed: {exc}") from exc
    seconds = time.perf_counter() - started
    values = dict(zip(names, row))
    outcomes = []
    for i, spec in enumerate(suite.expectations):
        unexpected = values[f"u_{i}"]
        outcomes.append(
            FloorOutcome(
                type=spec["type"],
                column=column_of(spec["kwargs"]),
                severity=spec["meta"]["severity"],
                success=bool(values[f"ok_{i}"]),
                observed=values[f"obs_{i}"],
                threshold=threshold(spec["type"], spec["kwargs"]),
                unexpected_count=None if unexpected is None else int(unexpected),
            )
        )
    return FloorResult(suite=suite, outcomes=outcomes, rows=int(values["n"]), seconds=seconds, sql=sql)
