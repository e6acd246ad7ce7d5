"""Every suite in expectations/ becomes a blocking Dagster asset check on the asset it names.

The graph is built from the suite files' names and `meta.csp.asset` only, so loading the definitions
never imports Great Expectations; the suite is loaded and validated in full when the check runs, so a
malformed suite or a misspelt expectation type fails the check (and blocks what is downstream), never passes.
Failed `error` expectations block; failed `warn` expectations are reported. Every outcome is also written to
`quality.results`, which the data-quality report and the submissions mart read.
"""

import json
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import dagster as dg

from pipeline.models.sql_assets import set_run_variables
from pipeline.paths import EXPECTATIONS_DIR
from pipeline.resources import WorkspaceResource

RESULTS_DDL = """
CREATE SCHEMA IF NOT EXISTS quality;
CREATE TABLE IF NOT EXISTS quality.results (
    checked_at TIMESTAMP, suite VARCHAR, asset VARCHAR, expectation VARCHAR, column_name VARCHAR,
    severity VARCHAR, success BOOLEAN, observed VARCHAR, threshold VARCHAR, unexpected_count BIGINT,
    examples VARCHAR, rows_checked BIGINT);
"""


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


def run_and_record(con, path: Path):
    """Validate one suite on the warehouse and store its outcomes; returns the SuiteOutcome."""
    from pipeline.quality.suites import load_suite, run_suite

    outcome = run_suite(con, load_suite(path))
    now = datetime.now()
    con.execute(RESULTS_DDL)
    con.execute("DELETE FROM quality.results WHERE suite = ?", [outcome.suite.name])
    con.executemany(
        "INSERT INTO quality.results VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            [now, outcome.suite.name, outcome.suite.asset, o.type, o.column, o.severity, o.success,
             _text(o.observed), o.threshold, o.unexpected_count, _text(o.examples), outcome.rows]
            for o in outcome.outcomes
        ],
    )
    return outcome


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


def suite_check(suite: SuiteFile) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=dg.AssetKey(suite.asset.split("/")),
        name=suite.name.replace(".", "__"),
        blocking=True,
        additional_deps=suite.reads,
        description=f"expectations/{suite.path.name}: errors block everything downstream, warnings are reported",
    )
    def _check(workspace: WorkspaceResource) -> dg.AssetCheckResult:
        ws = workspace.get()
        with ws.connect() as con:
            set_run_variables(con, ws)
            outcome = run_and_record(con, suite.path)
        return dg.AssetCheckResult(
            passed=not outcome.errors and not outcome.warnings,
            severity=dg.AssetCheckSeverity.ERROR if outcome.errors else dg.AssetCheckSeverity.WARN,
            metadata=_metadata(outcome),
            description=outcome.summary(),
        )

    return _check


CHECKS = [suite_check(s) for s in suite_files()]
