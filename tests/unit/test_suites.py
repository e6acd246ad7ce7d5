"""The data-quality runner: suites load or fail loudly, GX validates real DuckDB tables, and the SQL floor agrees.

Real Great Expectations, real DuckDB, no mocks. GX's import (several seconds) is paid once for the module.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from pipeline.paths import EXPECTATIONS_DIR
from pipeline.quality.sql_floor import SUPPORTED, floor_sql, run_floor
from pipeline.quality.suites import Suite, SuiteError, load_suite, load_suites, run_suite
from pipeline.sources.police_street import CRIME_TYPES, OUTCOMES

CRIME_ID = "a" * 63 + "1"


def write_suite(folder: Path, name: str, expectations: list, batch="SELECT * FROM counts", asset=None, **extra) -> Path:
    layer = name.split(".")[0]
    document = {
        "name": name,
        "expectations": expectations,
        "meta": {"csp": {"asset": asset or f"{layer}/{name.split('.')[1]}", "batch": batch}},
        **extra,
    }
    path = folder / f"{name}.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


# A small monthly-count table and a suite over it: the shape of a mart.
COUNTS_EXPECTATIONS = [
    {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1}},
    {"type": "expect_table_columns_to_match_set", "kwargs": {"column_set": ["month", "crime_type", "records"], "exact_match": False}},
    {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "month"}, "meta": {"severity": "error"}},
    {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "crime_type", "value_set": sorted(CRIME_TYPES)}},
    {"type": "expect_column_values_to_be_between", "kwargs": {"column": "records", "min_value": 0, "max_value": 100000}},
    {"type": "expect_compound_columns_to_be_unique", "kwargs": {"column_list": ["month", "crime_type"]}},
    {"type": "expect_column_values_to_match_regex", "kwargs": {"column": "label", "regex": "^[0-9]{4}-[0-9]{2}$", "mostly": 0.5},
     "meta": {"severity": "warn"}},
]

GOOD_ROWS = [
    ("2024-01-01", "Burglary", 12, "2024-01"),
    ("2024-01-01", "Drugs", 3, "2024-01"),
    ("2024-02-01", "Burglary", 0, "2024-02"),
    ("2024-02-01", "Anti-social behaviour", 40, "2024-02"),
]
BAD_ROWS = [
    ("2024-01-01", "Burglary", 12, "2024-01"),
    ("2024-01-01", "Burglery", 3, "2024-01"),  # unknown crime type
    ("2024-02-01", "Drugs", -4, "Feb 2024"),  # negative count (and an odd label: only a warning, mostly 0.5)
    (None, "Robbery", 5, None),  # missing month
    ("2024-02-01", "Drugs", 7, "2024-02"),  # the same month and crime type again
]


def counts_table(con: duckdb.DuckDBPyConnection, rows: list) -> None:
    con.execute("CREATE OR REPLACE TABLE counts (month DATE, crime_type VARCHAR, records BIGINT, label VARCHAR)")
    con.executemany("INSERT INTO counts VALUES (?, ?, ?, ?)", rows)


@pytest.fixture(scope="module")
def counts_suite(tmp_path_factory) -> Suite:
    folder = tmp_path_factory.mktemp("suites")
    return load_suite(write_suite(folder, "marts.counts", COUNTS_EXPECTATIONS))


# A small raw.police_street table, as landing leaves it, and the project's own suites over it.
def raw_police_table(con: duckdb.DuckDBPyConnection, broken: bool = False) -> None:
    con.execute("CREATE SCHEMA IF NOT EXISTS raw")
    con.execute(
        """CREATE OR REPLACE TABLE raw.police_street (crime_id VARCHAR, month DATE, reported_by VARCHAR,
        falls_within VARCHAR, longitude DOUBLE, latitude DOUBLE, location VARCHAR, lsoa_code VARCHAR,
        lsoa_name VARCHAR, crime_type VARCHAR, outcome VARCHAR, context VARCHAR,
        _file_id VARCHAR, _line BIGINT, _issuer VARCHAR, _period DATE)"""
    )
    con.execute(
        """INSERT INTO raw.police_street
        SELECT CASE WHEN i % 4 = 0 THEN NULL ELSE sha256(i::VARCHAR) END,
               DATE '2024-01-01' + INTERVAL (i % 12) MONTH, 'West Yorkshire Police', 'West Yorkshire Police',
               CASE WHEN i % 10 = 0 THEN NULL ELSE -1.86 + i / 10000.0 END,
               CASE WHEN i % 10 = 0 THEN NULL ELSE 53.72 END,
               CASE WHEN i % 10 = 0 THEN 'No Location' ELSE 'On or near High Street' END,
               CASE WHEN i % 10 = 0 THEN NULL ELSE 'E0101' || lpad((1000 + i % 128)::VARCHAR, 4, '0') END,
               CASE WHEN i % 10 = 0 THEN NULL ELSE 'Calderdale 001A' END,
               CASE WHEN i % 4 = 0 THEN 'Anti-social behaviour' ELSE 'Burglary' END,
               CASE WHEN i % 4 = 0 THEN NULL ELSE 'Under investigation' END,
               NULL, 'f1', i + 2, 'West Yorkshire Police', DATE '2024-01-01' + INTERVAL (i % 12) MONTH
        FROM range(240) AS t(i)"""
    )
    if broken:
        con.execute("UPDATE raw.police_street SET crime_type = 'Burglery' WHERE _line = 3")
        con.execute("UPDATE raw.police_street SET lsoa_code = 'E0101100' WHERE _line = 4")
        con.execute("UPDATE raw.police_street SET crime_id = upper(crime_id) WHERE _line = 5")
        con.execute("UPDATE raw.police_street SET month = current_date + INTERVAL 62 DAY WHERE _line = 6")
        con.execute("UPDATE raw.police_street SET longitude = 12.5 WHERE _line = 7")
        con.execute("UPDATE raw.police_street SET outcome = 'Transferred to Mars' WHERE _line = 8")
        con.execute("DELETE FROM raw.police_street WHERE month = DATE '2024-09-01'")  # a missing force file


def set_period(con, start="2024-01-01", end="2024-12-01") -> None:
    """The run's reporting period, and no known gaps (the volume suites read reference.known_gaps)."""
    con.execute("SET VARIABLE period_start = ?", [start])
    con.execute("SET VARIABLE period_end = ?", [end])
    con.execute("CREATE SCHEMA IF NOT EXISTS reference")
    con.execute("CREATE TABLE IF NOT EXISTS reference.known_gaps (source VARCHAR, month DATE, reason VARCHAR)")


def failed(outcome) -> dict[str, object]:
    return {f"{o.type}:{o.column}": o for o in outcome.outcomes if not o.success}


def assert_floor_agrees(con, suite: Suite, outcome) -> None:
    floor = run_floor(con, suite)
    assert floor.rows == outcome.rows
    for gx_outcome, sql_outcome in zip(outcome.outcomes, floor.outcomes, strict=True):
        assert (gx_outcome.type, gx_outcome.column) == (sql_outcome.type, sql_outcome.column)
        assert gx_outcome.success == sql_outcome.success, f"{gx_outcome.type}({gx_outcome.column}): GX {gx_outcome.success}, SQL {sql_outcome.success}"
        if gx_outcome.unexpected_count is not None:
            assert gx_outcome.unexpected_count == sql_outcome.unexpected_count, gx_outcome
    assert floor.passed == outcome.passed


# ----------------------------------------------------------------------------------------------- loading


def test_every_project_suite_loads():
    suites = load_suites()
    names = {s.name for s in suites}
    assert {"raw.police_street", "raw.police_street_volume", "marts.mart_crime_monthly_ward"} <= names
    assert len(suites) == len(list(EXPECTATIONS_DIR.glob("*.json")))
    for suite in suites:
        assert suite.asset.count("/") == 1 and suite.asset.split("/")[0] == suite.name.split(".")[0]
        assert all(e["meta"]["severity"] in ("error", "warn") for e in suite.expectations)
        assert all(e["type"] in SUPPORTED for e in suite.expectations), "the benchmark floor must translate every project suite"
        floor_sql(suite)


def test_police_street_suite_lists_the_sources_own_values():
    suite = load_suite(EXPECTATIONS_DIR / "raw.police_street.json")
    sets = {e["kwargs"]["column"]: set(e["kwargs"]["value_set"]) for e in suite.expectations if "value_set" in e["kwargs"]}
    assert sets == {"crime_type": set(CRIME_TYPES), "outcome": set(OUTCOMES)}


def test_misspelt_expectation_type_names_the_file_and_the_expectation(tmp_path):
    expectations = [dict(e) for e in COUNTS_EXPECTATIONS[:3]] + [{"type": "expect_column_values_to_be_nul", "kwargs": {"column": "month"}}]
    path = write_suite(tmp_path, "marts.typo", expectations)
    with pytest.raises(SuiteError) as error:
        load_suite(path)
    message = str(error.value)
    assert "marts.typo.json: expectation 4: unknown type 'expect_column_values_to_be_nul'" in message
    assert "did you mean expect_column_values_to_be_null?" in message
    with pytest.raises(SuiteError, match="marts.typo.json"):
        load_suites(tmp_path)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda p: p.write_text('{"name": "marts.bad", "expectations": [', encoding="utf-8"), "not valid JSON"),
        (lambda p: p.write_text(json.dumps({"name": "marts.bad", "expectations": [{"type": "expect_column_to_exist", "kwargs": {"column": "a"}}]}), encoding="utf-8"),
         "meta.csp is missing"),
        (lambda p: p.write_text(json.dumps({"name": "marts.bad", "meta": {"csp": {"batch": "SELECT 1"}},
                                            "expectations": [{"type": "expect_column_to_exist", "kwargs": {"column": "a"}}]}), encoding="utf-8"),
         "meta.csp.asset is None"),
        (lambda p: write_suite(p.parent, "marts.bad", [{"type": "expect_column_to_exist", "kwargs": {"column": "a"}, "meta": {"severity": "fatal"}}]),
         "expectation 1 (expect_column_to_exist): meta.severity is 'fatal'; expected 'error' or 'warn'"),
        (lambda p: write_suite(p.parent, "marts.bad", [{"type": "expect_column_values_to_be_between", "kwargs": {"colum": "a", "min_value": 0}}]),
         "expectation 1 (expect_column_values_to_be_between): GX refused its kwargs"),
        (lambda p: write_suite(p.parent, "marts.bad", []), "must be a non-empty list"),
        (lambda p: write_suite(p.parent, "marts.bad", [{"type": "expect_column_to_exist", "kwargs": {"column": "a"}}], batch="DROP TABLE x"),
         "meta.csp.batch must be a DuckDB SELECT"),
        (lambda p: write_suite(p.parent, "marts.bad", [{"type": "expect_column_to_exist", "kwargs": {"column": "a"}}], asset="raw/x"),
         "differs from meta.csp.asset's layer"),
        (lambda p: p.write_text(json.dumps({"name": "marts.other", "meta": {"csp": {"asset": "marts/x", "batch": "SELECT 1"}},
                                            "expectations": [{"type": "expect_column_to_exist", "kwargs": {"column": "a"}}]}), encoding="utf-8"),
         "it must be the file's name without .json"),
    ],
)
def test_malformed_suites_raise(tmp_path, edit, message):
    path = tmp_path / "marts.bad.json"
    edit(path)
    with pytest.raises(SuiteError) as error:
        load_suite(path)
    assert "marts.bad.json" in str(error.value)
    assert message in str(error.value)


def test_missing_great_expectations_is_an_error_not_a_pass(tmp_path, monkeypatch):
    import sys

    path = write_suite(tmp_path, "marts.counts", COUNTS_EXPECTATIONS)
    monkeypatch.setitem(sys.modules, "great_expectations", None)  # what `import` sees when the package is absent
    with pytest.raises(SuiteError, match="Great Expectations cannot be imported"):
        load_suite(path)
    monkeypatch.undo()
    suite = load_suite(path)
    con = duckdb.connect()
    counts_table(con, GOOD_ROWS)
    monkeypatch.setitem(sys.modules, "great_expectations", None)
    with pytest.raises(SuiteError, match="Great Expectations cannot be imported"):
        run_suite(con, suite)
    monkeypatch.undo()
    monkeypatch.setitem(sys.modules, "duckdb_engine", None)  # GX reaches DuckDB through duckdb-engine
    with pytest.raises(SuiteError, match="marts.counts.json: .*duckdb-engine"):
        run_suite(con, suite)


# ----------------------------------------------------------------------------------------------- validating


def test_a_good_table_passes_and_the_floor_agrees(counts_suite):
    con = duckdb.connect()
    counts_table(con, GOOD_ROWS)
    outcome = run_suite(con, counts_suite)
    assert outcome.rows == 4
    assert outcome.passed and not outcome.errors and not outcome.warnings, outcome.summary()
    assert [o.threshold for o in outcome.outcomes][3:5] == [f"in set of {len(CRIME_TYPES)} values", "between 0 and 100,000"]
    assert_floor_agrees(con, counts_suite, outcome)


def test_a_bad_table_fails_with_observed_values_and_examples(counts_suite):
    con = duckdb.connect()
    counts_table(con, BAD_ROWS)
    outcome = run_suite(con, counts_suite)
    assert not outcome.passed
    bad = failed(outcome)
    assert set(bad) == {
        "expect_column_values_to_not_be_null:month",
        "expect_column_values_to_be_in_set:crime_type",
        "expect_column_values_to_be_between:records",
        "expect_compound_columns_to_be_unique:month, crime_type",
    }
    crime_type = bad["expect_column_values_to_be_in_set:crime_type"]
    assert (crime_type.severity, crime_type.unexpected_count, crime_type.examples) == ("error", 1, ["Burglery"])
    assert crime_type.observed == "1 of 5 non-null values unexpected (20.00%)"
    records = bad["expect_column_values_to_be_between:records"]
    assert (records.unexpected_count, records.examples, records.threshold) == (1, [-4], "between 0 and 100,000")
    month = bad["expect_column_values_to_not_be_null:month"]
    assert month.unexpected_count == 1 and month.observed == "1 of 5 rows unexpected (20.00%)"
    duplicated = bad["expect_compound_columns_to_be_unique:month, crime_type"]
    assert duplicated.unexpected_count == 2  # both rows of the repeated key
    # The odd label is 1 of 4 non-null labels: within mostly 0.5, so it passes (and would only warn)
    label = next(o for o in outcome.outcomes if o.column == "label")
    assert label.success and label.severity == "warn" and label.threshold == "matches ^[0-9]{4}-[0-9]{2}$, mostly 0.5"
    assert len(outcome.errors) == 4 and not outcome.warnings
    assert_floor_agrees(con, counts_suite, outcome)


def test_a_missing_column_fails_rather_than_passes(counts_suite):
    con = duckdb.connect()
    con.execute("CREATE TABLE counts AS SELECT DATE '2024-01-01' AS month, 'Drugs' AS crime_type, 1 AS records")
    outcome = run_suite(con, counts_suite)
    label = next(o for o in outcome.outcomes if o.column == "label")
    assert not label.success and "could not be evaluated" in str(label.observed)
    assert outcome.passed  # it is a warn-severity expectation: failed, reported, not blocking


def test_project_raw_suites_on_a_good_and_a_broken_raw_table():
    suites = {s.name: s for s in load_suites()}
    raw, volume = suites["raw.police_street"], suites["raw.police_street_volume"]
    con = duckdb.connect()
    set_period(con)
    raw_police_table(con)
    for suite in (raw, volume):
        outcome = run_suite(con, suite)
        assert outcome.passed and not outcome.warnings, outcome.summary()
        assert_floor_agrees(con, suite, outcome)

    raw_police_table(con, broken=True)
    outcome = run_suite(con, raw)
    bad = failed(outcome)
    assert set(bad) == {
        "expect_column_values_to_be_in_set:crime_type",
        "expect_column_values_to_match_regex:lsoa_code",
        "expect_column_values_to_match_regex:crime_id",
        "expect_column_values_to_be_null:future_month",
        "expect_column_values_to_be_between:longitude",
        "expect_column_values_to_be_in_set:outcome",
    }
    assert bad["expect_column_values_to_be_in_set:crime_type"].examples == ["Burglery"]
    assert bad["expect_column_values_to_match_regex:lsoa_code"].examples == ["E0101100"]
    assert bad["expect_column_values_to_be_between:longitude"].examples == [12.5]
    assert bad["expect_column_values_to_be_in_set:outcome"].severity == "warn"
    assert [o.description for o in outcome.warnings] == ["last outcome, where present, is a category seen before (new ones are kept)"]
    assert_floor_agrees(con, raw, outcome)

    outcome = run_suite(con, volume)
    bad = failed(outcome)
    empty = bad["expect_column_values_to_be_null:month_without_records"]
    assert (empty.severity, empty.unexpected_count, empty.examples) == ("error", 1, ["2024-09"])
    assert not outcome.passed
    assert_floor_agrees(con, volume, outcome)


def _police_volume_2024():
    """The police.uk volume suite and a connection with the 2024 period set and a `raw` schema to fill."""
    volume = load_suite(EXPECTATIONS_DIR / "raw.police_street_volume.json")
    con = duckdb.connect()
    set_period(con, "2024-01-01", "2024-12-01")
    con.execute("CREATE SCHEMA raw")
    return volume, con


def test_volume_band_warns_on_an_outlying_month():
    volume, con = _police_volume_2024()
    con.execute("CREATE TABLE raw.police_street AS SELECT DATE '2023-01-01' + INTERVAL (i % 24) MONTH AS month FROM range(24 * 500) AS t(i)")
    con.execute("INSERT INTO raw.police_street SELECT DATE '2024-03-01' FROM range(1500)")  # March: 2,000 records
    outcome = run_suite(con, volume)
    assert outcome.passed and [o.column for o in outcome.warnings] == ["month_outside_band"]
    assert outcome.warnings[0].examples == ["2024-03: 2000 records, expected 433 to 567"]
    assert_floor_agrees(con, volume, outcome)


def test_a_police_street_table_with_no_rows_at_all_is_left_to_submission_tracking():
    """A partnership that does not use police.uk street files (or has none yet) is not failed on every month."""
    volume, con = _police_volume_2024()
    con.execute("CREATE TABLE raw.police_street (month DATE)")
    outcome = run_suite(con, volume)
    assert outcome.passed and not outcome.errors, [(o.column, o.examples) for o in outcome.errors]
    assert_floor_agrees(con, volume, outcome)
    con.execute("INSERT INTO raw.police_street SELECT DATE '2024-01-01' FROM range(10)")  # one month landed: the rest are missing
    assert [o.column for o in run_suite(con, volume).errors] == ["month_without_records"]


def test_unset_period_variables_refuse_to_run():
    volume = load_suite(EXPECTATIONS_DIR / "raw.police_street_volume.json")
    con = duckdb.connect()
    raw_police_table(con)
    with pytest.raises(SuiteError, match=r"getvariable\('period_end'\), which is not set"):
        run_suite(con, volume)
    with pytest.raises(SuiteError, match="not set"):
        run_floor(con, volume)


def test_mart_suite_on_a_mart_shaped_table():
    mart = load_suite(EXPECTATIONS_DIR / "marts.mart_crime_monthly_ward.json")
    con = duckdb.connect()
    con.execute("CREATE SCHEMA marts")
    con.execute(
        """CREATE TABLE marts.mart_crime_monthly_ward AS
        SELECT 'calderdale' AS partnership_id, DATE '2024-01-01' + INTERVAL (i // 3) MONTH AS month, '2024-0x' AS month_label,
               '2023/24' AS financial_year, 4 AS fy_quarter, 'crime' AS record_kind,
               ['Burglary', 'Drugs', 'Robbery'][(i % 3) + 1] AS crime_type, 'E05001371' AS ward_code,
               'Brighouse Ward' AS ward_name, 1 + i AS records
        FROM range(12) AS t(i)"""
    )
    outcome = run_suite(con, mart)
    assert outcome.passed and not outcome.warnings, outcome.summary()
    assert_floor_agrees(con, mart, outcome)
    con.execute("INSERT INTO marts.mart_crime_monthly_ward SELECT * REPLACE (0 AS records, 'theft' AS record_kind) FROM marts.mart_crime_monthly_ward LIMIT 1")
    outcome = run_suite(con, mart)
    assert {o.type for o in outcome.errors} == {
        "expect_column_values_to_be_in_set", "expect_column_values_to_be_between", "expect_compound_columns_to_be_unique",
    }
    assert_floor_agrees(con, mart, outcome)


def test_the_floor_refuses_what_it_cannot_translate(tmp_path):
    path = write_suite(tmp_path, "marts.mean", [{"type": "expect_column_mean_to_be_between", "kwargs": {"column": "records", "min_value": 0}}])
    with pytest.raises(SuiteError, match="the SQL floor does not translate this expectation type"):
        floor_sql(load_suite(path))
