"""Provenance: `manifest.json` in every edition says what it was built from, by which code, under which rules.

Everything in it is a function of the inputs except `built_at`, the one field that records the wall clock;
the documents themselves carry the build epoch (`SOURCE_DATE_EPOCH`), so two builds from the same inputs are
byte-identical but for that field.
"""

from __future__ import annotations

import json
import os
import subprocess
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Iterator, Sequence

from pipeline.ingest.landing import file_sha256 as sha256  # one home for a file's SHA-256
from pipeline.paths import PROJECT_ROOT
from pipeline.workspace import Workspace

MANIFEST = "manifest.json"
EPOCH_ENV = "SOURCE_DATE_EPOCH"  # https://reproducible-builds.org/specs/source-date-epoch/


def build_epoch(ws: Workspace) -> int:
    """The one time stamp documents carry: $SOURCE_DATE_EPOCH if set, else midnight UTC after the period's last month."""
    if os.environ.get(EPOCH_ENV, "").isdigit():
        return int(os.environ[EPOCH_ENV])
    end = ws.config().period.end
    year, month = int(end[:4]), int(end[5:])
    after = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
    return int(after.timestamp())


@contextmanager
def epoch(ws: Workspace) -> Iterator[int]:
    """Set SOURCE_DATE_EPOCH while an edition is built (Typst, and every tool that honours it, reads it)."""
    value, before = build_epoch(ws), os.environ.get(EPOCH_ENV)
    os.environ[EPOCH_ENV] = str(value)
    try:
        yield value
    finally:
        if before is None:
            os.environ.pop(EPOCH_ENV, None)
        else:
            os.environ[EPOCH_ENV] = before


def epoch_datetime() -> datetime:
    """The build epoch as a datetime (naive UTC), for file formats that stamp a date: e.g. xlsxwriter's
    `workbook.set_properties({"created": epoch_datetime()})` makes figures.xlsx byte-identical between builds."""
    value = os.environ.get(EPOCH_ENV, "")
    return datetime.fromtimestamp(int(value) if value.isdigit() else 0, UTC).replace(tzinfo=None)


def code_version() -> str:
    """The git commit the code was built from, or the installed package's version."""
    if (PROJECT_ROOT / ".git").exists():
        done = subprocess.run(["git", "-C", str(PROJECT_ROOT), "rev-parse", "HEAD"], capture_output=True, text=True)
        if done.returncode == 0:
            return f"git {done.stdout.strip()}"
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"csp {version('csp')}"
    except PackageNotFoundError:
        return "unknown"


def inputs(ws: Workspace) -> list[dict]:
    """Every extract in the warehouse (raw._manifest: file_id is the file's SHA-256) and the checks run on it."""
    with ws.connect(read_only=True) as con:
        files = con.execute(
            """SELECT source, file_name, file_id AS sha256, strftime(period_from, '%Y-%m') AS period_from,
                      strftime(period_to, '%Y-%m') AS period_to, rows_accepted, superseded_by IS NOT NULL AS superseded
               FROM raw._manifest ORDER BY source, file_name, file_id"""
        ).fetchall()
        names = ("source", "file", "sha256", "period_from", "period_to", "rows_accepted", "superseded")
        return [dict(zip(names, row)) for row in files]


def checks(ws: Workspace, reads: Sequence[str]) -> list[dict]:
    """Per suite, the latest result of each expectation on the extracts and on the marts the edition reads:
    how many passed, warned and failed (checks of other marts may run after the edition is built)."""
    with ws.connect(read_only=True) as con:
        if not con.execute("SELECT 1 FROM information_schema.tables WHERE table_schema = 'quality' AND table_name = 'results'").fetchone():
            return []
        rows = con.execute(
            """WITH latest AS (
                   SELECT * FROM quality.results
                   QUALIFY row_number() OVER (PARTITION BY suite, asset, expectation, column_name ORDER BY checked_at DESC) = 1)
               SELECT suite, asset, count(*) FILTER (WHERE success),
                      count(*) FILTER (WHERE NOT success AND severity = 'warn'),
                      count(*) FILTER (WHERE NOT success AND severity = 'error')
               FROM latest WHERE asset LIKE 'raw/%' OR list_contains(?, asset) GROUP BY ALL ORDER BY suite, asset""",
            [list(reads)],
        ).fetchall()
    return [dict(zip(("suite", "asset", "passed", "warned", "failed"), row)) for row in rows]


def shared_facts(ws: Workspace, reads: Sequence[str]) -> dict:
    """What every edition of one publishing run records alike (the period, epoch, code, configuration, inputs and
    checks): read once a run rather than once an edition (a git call and two warehouse queries)."""
    period = ws.config().period
    return {
        "period": {"start": period.start, "end": period.end},
        "build_epoch": build_epoch(ws),
        "code_version": code_version(),
        "configuration_sha256": sha256(ws.config_path),
        "inputs": inputs(ws),
        "checks": checks(ws, reads),
    }


def write_manifest(folder: Path, shared: dict, *, report: str, partnership: str, edition: str,
                   disclosure: str | None) -> Path:
    """Write folder/manifest.json for the edition whose files are already in folder (`shared`: shared_facts())."""
    outputs = {p.name: sha256(p) for p in sorted(folder.iterdir()) if p.is_file() and p.name != MANIFEST}
    manifest = {
        **shared,
        "report": report,
        "partnership": partnership,
        "edition": edition,
        "built_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),  # the one field that differs between identical builds
        "disclosure_rule": disclosure or "none: restricted edition (OFFICIAL-SENSITIVE), not disclosure-controlled",
        "outputs": outputs,
    }
    path = folder / MANIFEST
    path.write_text(json.dumps(manifest, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")
    return path
