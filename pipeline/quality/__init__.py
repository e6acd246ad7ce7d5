"""Data-quality suites: GX 1.x ExpectationSuite JSON files in expectations/, run on DuckDB batches.

`pipeline.quality.suites` is the runner (load_suites, run_suite: GX's SQL engine on DuckDB, set up by
`pipeline.quality.gx_duckdb`); `pipeline.quality.sql_floor` is the same checks as one DuckDB statement, for the
benchmark and the tests. Importing this package does not
import Great Expectations (seconds); the runner imports it when a suite is loaded or run.
"""

from pipeline.quality.suites import (
    ExpectationOutcome,
    Suite,
    SuiteError,
    SuiteOutcome,
    load_suite,
    load_suites,
    run_suite,
)

__all__ = [
    "ExpectationOutcome",
    "Suite",
    "SuiteError",
    "SuiteOutcome",
    "load_suite",
    "load_suites",
    "run_suite",
]
