"""GX's SQL execution engine on DuckDB (pipeline.quality.gx_duckdb), through run_suite: real DuckDB, real GX.

Every expectation type the project's suites use passes on good rows and fails on one bad row, with its count and
failing value as the checks report them; the caller's connection is left as it was; what GX cannot evaluate on
DuckDB fails.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from pipeline.paths import EXPECTATIONS_DIR
from pipeline.quality.gx_duckdb import BATCH_VIEW
from pipeline.quality.sql_floor import run_floor
from pipeline.quality.suites import SuiteError, load_suite, run_suite

GOOD = "SELECT * FROM t"
CODES = ["E01000001", "E01000002", "W01000003", "E01000004"]

# type -> (kwargs, the batch with one bad row (or the bad table shape), the bad value reported, unexpected count)
CASES = {
    "expect_column_values_to_not_be_null": ({"column": "code"}, f"{GOOD} UNION ALL SELECT 9, NULL, 1, DATE '2024-05-01', NULL", None, 1),
    "expect_column_values_to_be_null": ({"column": "note"}, f"{GOOD} UNION ALL SELECT 9, 'E01000009', 1, DATE '2024-05-01', 'line 7: 2031-01'", "line 7: 2031-01", 1),
    "expect_column_values_to_be_in_set": ({"column": "code", "value_set": CODES + ["E01000009"]}, f"{GOOD} UNION ALL SELECT 9, 'Burglery', 1, DATE '2024-05-01', NULL", "Burglery", 1),
    "expect_column_values_to_match_regex": ({"column": "code", "regex": "^[EW]01[0-9]{6}$"}, f"{GOOD} UNION ALL SELECT 9, 'E0100001', 1, DATE '2024-05-01', NULL", "E0100001", 1),
    "expect_column_values_to_be_between": ({"column": "n", "min_value": 0, "max_value": 10}, f"{GOOD} UNION ALL SELECT 9, 'E01000009', -4, DATE '2024-05-01', NULL", -4, 1),
    "expect_column_values_to_be_unique": ({"column": "id"}, f"{GOOD} UNION ALL SELECT 2, 'E01000009', 1, DATE '2024-05-01', NULL", 2, 2),
    "expect_compound_columns_to_be_unique": ({"column_list": ["id", "d"]}, f"{GOOD} UNION ALL SELECT 3, 'E01000009', 1, DATE '2024-03-01', NULL", None, 2),
    "expect_table_columns_to_match_set": ({"column_set": ["id", "code", "n", "d", "note"], "exact_match": False}, "SELECT id, code, n, d FROM t", None, None),
    "expect_table_row_count_to_be_between": ({"min_value": 1}, f"{GOOD} WHERE FALSE", None, None),
}


def project_types() -> set[str]:
    return {e["type"] for path in EXPECTATIONS_DIR.glob("*.json") for e in json.loads(path.read_text(encoding="utf-8"))["expectations"]}


def table() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("CREATE TABLE t (id INTEGER, code VARCHAR, n INTEGER, d DATE, note VARCHAR)")
    con.executemany("INSERT INTO t VALUES (?, ?, ?, ?, NULL)", [[i + 1, c, i, f"2024-0{i + 1}-01"] for i, c in enumerate(CODES)])
    return con


def suite(folder: Path, kind: str, kwargs: dict, batch: str):
    path = folder / "marts.probe.json"
    path.write_text(json.dumps({"name": "marts.probe", "meta": {"csp": {"asset": "marts/probe", "batch": batch}},
                                "expectations": [{"type": kind, "kwargs": kwargs}]}), encoding="utf-8")
    return load_suite(path)


def test_every_project_expectation_type_has_a_bad_row_case():
    assert project_types() <= set(CASES), f"add a case for {sorted(project_types() - set(CASES))}"


@pytest.mark.parametrize("kind", sorted(CASES))
def test_each_expectation_type_fails_on_a_bad_row(tmp_path, kind):
    kwargs, bad_batch, bad_value, unexpected = CASES[kind]
    con = table()
    good = run_suite(con, suite(tmp_path, kind, kwargs, GOOD)).outcomes[0]
    assert good.success, good
    bad_suite = suite(tmp_path, kind, kwargs, bad_batch)
    outcome = run_suite(con, bad_suite)
    bad = outcome.outcomes[0]
    assert not bad.success and not outcome.passed, bad
    assert "could not be evaluated" not in str(bad.observed), bad  # failed on the data, not on the engine
    assert bad.unexpected_count == unexpected
    if bad_value is not None:
        assert bad.examples == [bad_value]
    if unexpected is not None:  # every bad batch has 5 rows, none of them NULL where the rule does not count NULLs
        assert str(bad.observed).startswith(f"{unexpected} of 5 "), bad.observed
    assert run_floor(con, bad_suite).outcomes[0].success is False  # the floor agrees


def test_the_callers_connection_is_left_as_it_was(tmp_path):
    """GX borrows the connection: an open transaction stays open and uncommitted, variables stay set, and the
    batch may use what SQLAlchemy would otherwise read as bind parameters (':30', '%')."""
    con = table()
    con.execute("SET VARIABLE cutoff = DATE '2024-03-01'")
    con.execute("BEGIN")
    con.execute("INSERT INTO t VALUES (5, 'E01000005', 5, DATE '2024-06-01', NULL)")
    batch = "SELECT *, CASE WHEN d > getvariable('cutoff') THEN strftime(d, '%Y-%m') || ' at 12:30' END AS late FROM t"
    probe = suite(tmp_path, "expect_column_values_to_be_null", {"column": "late"}, batch)
    outcome = run_suite(con, probe)
    assert outcome.rows == 5 and outcome.outcomes[0].unexpected_count == 2
    assert outcome.outcomes[0].examples == ["2024-04 at 12:30", "2024-06 at 12:30"]
    con.execute("ROLLBACK")  # still the caller's transaction: GX neither committed nor ended it
    assert con.execute("SELECT count(*) FROM t").fetchall() == [(4,)]
    assert con.execute(f"SELECT count(*) FROM duckdb_views() WHERE view_name = '{BATCH_VIEW}'").fetchall() == [(0,)]


def test_what_gx_cannot_evaluate_on_duckdb_fails(tmp_path):
    """An expectation GX has no SQL implementation for is a failed outcome that says so, never a pass."""
    con = table()
    probe = suite(tmp_path, "expect_column_values_to_match_strftime_format", {"column": "code", "strftime_format": "%Y"}, GOOD)
    outcome = run_suite(con, probe)
    assert not outcome.passed and "could not be evaluated" in str(outcome.outcomes[0].observed)


def test_a_batch_that_does_not_bind_names_the_suite(tmp_path):
    con = table()
    with pytest.raises(SuiteError, match=r"marts.probe.json: the batch query \(meta.csp.batch\) failed"):
        run_suite(con, suite(tmp_path, "expect_column_values_to_be_null", {"column": "note"}, "SELECT * FROM no_such_table"))
