"""Every suite in expectations/ becomes a blocking Dagster asset check on the asset it names.

The graph is built from the suite files' names and `meta.csp.asset` only, so loading the definitions
never imports Great Expectations; the suite is loaded and validated in full when the check runs, so a
malformed suite or a misspelt expectation type fails the check (and blocks what is downstream), never passes.
Failed `error` expectations block; failed `warn` expectations are reported. Every outcome is also written to
`quality.results`, which the data-quality report and the submissions mart read.

A check on a partitioned asset is partitioned too: it validates the landed rows of the run's quarters only (by
their `_period`), and quality.results says which months its latest validation covered.
"""

import dataclasses
import json
import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import dagster as dg

from pipeline import partitions
from pipeline.models.sql_assets import set_run_variables
from pipeline.paths import EXPECTATIONS_DIR
from pipeline.resources import WorkspaceResource

RESULTS_DDL = """
CREATE SCHEMA IF NOT EXISTS quality;
CREATE TABLE IF NOT EXISTS quality.results (
    checked_at TIMESTAMP, suite VARCHAR, asset VARCHAR, expectation VARCHAR, column_name VARCHAR,
    severity VARCHAR, success BOOLEAN, observed VARCHAR, threshold VARCHAR, unexpected_count BIGINT,
    examples VARCHAR, rows_checked BIGINT);
ALTER TABLE quality.results ADD COLUMN IF NOT EXISTS months VARCHAR;
"""


# The table every check writes its outcomes to: in the graph as an asset of its own (Dagster cannot draw an edge
# from a check), so that what reads it, submission tracking (sql/marts/mart_submissions.sql), shows the dependency.
RESULTS = dg.AssetSpec(
    ["quality", "results"], group_name="quality", kinds={"duckdb"},
    description="Each suite's latest outcome per expectation (and which months it covered): written by every check "
                "of expectations/*.json, read by submission tracking and the data-quality report",
)

_READS_REFERENCE = re.compile(r"\breference\.([a-z][a-z0-9_]*)\b")


@dataclass(frozen=True)
class SuiteFile:
    name: str
    path: Path
    asset: str

    @property
    def reads(self) -> list[dg.AssetKey]:
        """Reference tables the suite's SQL reads (e.g. reference.known_gaps): built before the check runs."""
        from pipeline.reference import ASSETS as REFERENCE_ASSETS

        known = {key for asset in REFERENCE_ASSETS for key in asset.keys}
        found = {dg.AssetKey(["reference", t]) for t in _READS_REFERENCE.findall(self.path.read_text(encoding="utf-8"))}
        return sorted((found & known) - {dg.AssetKey(self.asset.split("/"))}, key=str)


def suite_files(folder: Path = EXPECTATIONS_DIR) -> list[SuiteFile]:
    """The suites by name and asset, read without GX; a file that cannot be read still gets its check, which fails."""
    files = []
    for path in sorted(folder.glob("*.json")):
        try:
            asset = json.loads(path.read_text(encoding="utf-8"))["meta"]["csp"]["asset"]
        except (ValueError, KeyError, TypeError):
            asset = None
        if not isinstance(asset, str) or "/" not in asset:
            asset = path.stem.replace(".", "/", 1)
        files.append(SuiteFile(path.stem, path, asset))
    return files


def run_and_record(con, path: Path, months: tuple[date, date] | None = None):
    """Validate one suite on the warehouse (on the rows of `months` only, when given) and store its outcomes;
    returns the SuiteOutcome."""
    from pipeline.quality.suites import load_suite, run_suite

    suite = load_suite(path)
    if months is not None:
        suite = within_months(con, suite, months)
    outcome = run_suite(con, suite)
    now = datetime.now()
    con.execute(RESULTS_DDL)
    con.execute("DELETE FROM quality.results WHERE suite = ?", [outcome.suite.name])
    label = partitions.window_label(months) if months else None
    con.executemany(
        "INSERT INTO quality.results BY NAME SELECT ? AS checked_at, ? AS suite, ? AS asset, ? AS expectation, "
        "? AS column_name, ? AS severity, ? AS success, ? AS observed, ? AS threshold, ? AS unexpected_count, "
        "? AS examples, ? AS rows_checked, ? AS months",
        [
            [now, outcome.suite.name, outcome.suite.asset, o.type, o.column, o.severity, o.success,
             _text(o.observed), o.threshold, o.unexpected_count, _text(o.examples), outcome.rows, label]
            for o in outcome.outcomes
        ],
    )
    return outcome


def within_months(con, suite, months: tuple[date, date]):
    """The suite with its batch cut to the landed rows of `months` (by their `_period`). A batch of another grain
    (the volume suites' one row per month of the reporting period, each against its band from every other
    month) is small and validated whole."""
    if "_period" not in con.sql(f"SELECT * FROM (\n{suite.batch}\n) LIMIT 0").columns:
        return suite
    return dataclasses.replace(suite, batch=f"SELECT * FROM (\n{suite.batch}\n) WHERE _period >= DATE '{months[0]}' "
                                            f"AND _period < DATE '{months[1]}'")


def _text(value) -> str | None:
    return None if value is None or value == [] else str(value)


def _metadata(outcome) -> dict:
    rows = [
        f"| {'✅' if o.success else ('❌' if o.severity == 'error' else '⚠️')} | {o.severity} | {o.description} | "
        f"{_text(o.observed) or ''} | {o.threshold} | {', '.join(map(str, o.examples[:3]))} |"
        for o in outcome.outcomes
    ]
    table = "| | severity | expectation | observed | threshold | failing examples |\n|---|---|---|---|---|---|\n" + "\n".join(rows)
    return {
        "suite": str(outcome.suite.label),
        "rows_checked": outcome.rows,
        "expectations": len(outcome.outcomes),
        "failed_errors": len(outcome.errors),
        "failed_warnings": len(outcome.warnings),
        "results": dg.MetadataValue.md(table),
        "seconds": round(outcome.seconds, 3),
    }


def suite_check(suite: SuiteFile, partitioned: frozenset[str]) -> dg.AssetChecksDefinition:
    by_month = suite.asset in partitioned

    @dg.asset_check(
        asset=dg.AssetKey(suite.asset.split("/")),
        name=suite.name.replace(".", "__"),
        blocking=True,
        additional_deps=suite.reads,
        description=f"expectations/{suite.path.name}: errors block everything downstream, warnings are reported"
                    + ("; validates the months of the run" if by_month else ""),
        partitions_def=partitions.QUARTERS if by_month else None,
    )
    def _check(context: dg.AssetCheckExecutionContext, workspace: WorkspaceResource) -> dg.AssetCheckResult:
        ws = workspace.get()
        months = partitions.window(context.op_execution_context) if by_month else None
        with ws.connect() as con:
            set_run_variables(con, ws)
            outcome = run_and_record(con, suite.path, months)
        return dg.AssetCheckResult(
            passed=not outcome.errors and not outcome.warnings,
            severity=dg.AssetCheckSeverity.ERROR if outcome.errors else dg.AssetCheckSeverity.WARN,
            metadata={**({"months": partitions.window_label(months)} if months else {}), **_metadata(outcome)},
            description=outcome.summary(),
        )

    return _check


def _partitioned_assets() -> frozenset[str]:
    """The partitioned assets (raw sources, partitioned models), by their key as a suite names it."""
    from pipeline.models.sql_assets import discover
    from pipeline.sources import SOURCES

    return frozenset([f"raw/{name}" for name, s in SOURCES.items() if s.partitioned] + [f"{m.layer}/{m.name}" for m in discover() if m.partitioned]
                     + ["conformed/placements"])


CHECKS = [suite_check(s, _partitioned_assets()) for s in suite_files()]
