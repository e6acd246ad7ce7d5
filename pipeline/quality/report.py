"""`csp check`'s findings: a summary per source for the terminal, and an HTML data-quality report an analyst
can send back to a partner (which files were refused or held and why, which rows were rejected or repeat
another exactly, what each file was warned about, which checks failed, which quarters are overdue, which months
are missing or outside the period).

Read from the warehouse read-only after the checks have run; it is written into restricted/, because the
failing examples it quotes are the partner's own values.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from pipeline.models.sql_assets import as_of
from pipeline.paths import REPORTS_DIR
from pipeline.quality.periods import PeriodFindings, period_findings
from pipeline.sources import SOURCES
from pipeline.workspace import Workspace

REJECT_EXAMPLES = 20


@dataclass
class SourceStatus:
    source: str
    agency: str
    title: str
    files_loaded: int = 0
    files_refused: int = 0
    rows_read: int = 0
    rows_accepted: int = 0
    rows_rejected: int = 0
    rows_repeated: int = 0  # accepted rows equal to an earlier row of their file (pipeline.ingest.parse.exact_repeats)
    passed: int = 0
    warned: int = 0
    failed: int = 0
    overdue: list[str] = field(default_factory=list)
    refusals: list[tuple[str, str]] = field(default_factory=list)
    held: list[tuple[str, str]] = field(default_factory=list)  # (file, why), until `csp accept` or the file goes
    periods: PeriodFindings = field(default_factory=PeriodFindings)
    expected_because: str | None = None  # None: the workspace does not expect this source
    cadence: str = ""
    lag_months: int = 0
    rejects: list[tuple] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)  # (file, warning) of files landed
    failures: list[tuple] = field(default_factory=list)

    @property
    def blocking(self) -> bool:
        return self.failed > 0


def table_exists(con, schema: str, table: str) -> bool:
    return bool(con.execute(
        "SELECT 1 FROM duckdb_tables() WHERE schema_name = ? AND table_name = ?", [schema, table]).fetchone())


def _still_there(ws: Workspace, source: str, file_name: str) -> bool:
    """Whether a refused file is still in its folder (named relative to the workspace, or by name when outside it)."""
    candidates = (ws.root / file_name, ws.source_folder(ws.config(), source) / Path(file_name).name)
    return any(p.exists() or p.is_symlink() for p in candidates)


def collect(ws: Workspace) -> list[SourceStatus]:
    from pipeline.quality.freshness import read_freshness  # which imports table_exists from here

    statuses = {name: SourceStatus(name, s.agency, s.title) for name, s in SOURCES.items()}
    if not ws.database.exists():
        return list(statuses.values())
    with ws.connect(read_only=True) as con:
        if not table_exists(con, "raw", "_manifest"):
            return list(statuses.values())
        for name, files, read, ok, bad, repeated in con.execute(
            "SELECT source, count(*), sum(rows_read), sum(rows_accepted), sum(rows_rejected), sum(rows_repeated) "
            "FROM raw._manifest GROUP BY ALL"
        ).fetchall():
            st = statuses[name]
            st.files_loaded, st.rows_read, st.rows_accepted, st.rows_rejected = files, int(read), int(ok), int(bad)
            st.rows_repeated = int(repeated or 0)
        for name, file_name, warning in con.execute(
            "SELECT source, file_name, unnest(warnings) FROM raw._manifest WHERE len(warnings) > 0 ORDER BY ALL"
        ).fetchall():
            statuses[name].warnings.append((file_name, warning))
        for name, file_name, reason in con.execute("SELECT source, file_name, reason FROM raw._refusals ORDER BY ALL").fetchall():
            if not _still_there(ws, name, file_name):
                continue  # taken out of the folder since: nothing left to fix
            statuses[name].files_refused += 1
            statuses[name].refusals.append((file_name, reason))
        for name, file_name, line, column, value, reason in con.execute(
            f"""SELECT source, file_name, line, "column", value, reason FROM (
                    SELECT r.*, m.file_name, row_number() OVER (PARTITION BY r.source ORDER BY m.file_name, r.line) AS n
                    FROM raw._rejects r JOIN raw._manifest m USING (file_id, source))
                WHERE n <= {REJECT_EXAMPLES} ORDER BY source, file_name, line"""
        ).fetchall():
            statuses[name].rejects.append((file_name, line, column, value, reason))
        if table_exists(con, "quality", "results"):
            for asset, suite, expectation, column, severity, success, observed, threshold, examples in con.execute(
                """SELECT asset, suite, expectation, column_name, severity, success, observed, threshold, examples
                   FROM quality.results ORDER BY suite"""
            ).fetchall():
                name = asset.split("/", 1)[1]
                targets = [statuses[name]] if asset.startswith("raw/") and name in statuses else []
                if suite == "conformed.source_periods":  # the rejects suite speaks for every source with rejects
                    targets = [s for s in statuses.values() if s.rows_rejected]
                for st in targets:
                    if success:
                        st.passed += 1
                    elif severity == "warn":
                        st.warned += 1
                        st.failures.append((suite, expectation, column, severity, observed, threshold, examples))
                    else:
                        st.failed += 1
                        st.failures.append((suite, expectation, column, severity, observed, threshold, examples))
        if table_exists(con, "raw", "_held"):
            for name, file_name, reason in con.execute(
                "SELECT DISTINCT source, file_name, reason FROM raw._held ORDER BY ALL"
            ).fetchall():
                statuses[name].held.append((file_name, reason))
        for name, f in read_freshness(con).items():  # expected or not, cadence, lag, overdue quarters
            if name in statuses:
                st = statuses[name]
                st.expected_because, st.cadence, st.lag_months, st.overdue = f.expected_because, f.cadence, f.lag_months, f.overdue
        if table_exists(con, "marts", "mart_submissions"):
            if table_exists(con, "reference", "known_gaps") and table_exists(con, "conformed", "source_periods"):
                for name, found in period_findings(con, ws.config(), as_of()).items():
                    if name in statuses:
                        statuses[name].periods = found
    return list(statuses.values())


def _table(caption: str, headings: list[str], rows: list[list]) -> str:
    head = "".join(f'<th scope="col">{html.escape(h)}</th>' for h in headings)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape('' if v is None else str(v))}</td>" for v in row) + "</tr>" for row in rows
    )
    return f"<table><caption>{html.escape(caption)}</caption><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def write_report(ws: Workspace, statuses: list[SourceStatus], target: Path) -> Path:
    """One self-contained, accessible HTML page, written beside its target and then renamed into place."""
    css = (REPORTS_DIR / "assets" / "csp.css").read_text(encoding="utf-8")
    config = ws.config()
    parts = [
        f"<h1>Data quality: {html.escape(config.workspace.name)}</h1>",
        f"<p>Checked {datetime.now():%d %B %Y at %H:%M}. Extracts in <code>{html.escape(str(ws.raw))}</code>, "
        f"reporting period {config.period.start} to {config.period.end}.</p>",
        _table(
            "Summary by source",
            ["Agency", "Source", "Files loaded", "Files refused", "Rows read", "Accepted", "Rejected",
             "Repeated exactly", "Checks passed", "Warnings", "Failed", "Overdue quarters"],
            [[s.agency, s.title, s.files_loaded, s.files_refused, f"{s.rows_read:,}", f"{s.rows_accepted:,}",
              f"{s.rows_rejected:,}", f"{s.rows_repeated:,}", s.passed, s.warned, s.failed, len(s.overdue)] for s in statuses],
        ),
    ]
    for s in statuses:
        found = s.periods
        if not (s.refusals or s.held or s.rejects or s.warnings or s.failures or s.overdue
                or found.outside or found.missing or found.known_gaps):
            continue
        parts.append(f"<h2>{html.escape(s.title)} <small>({html.escape(s.source)}, {html.escape(s.agency)})</small></h2>")
        if s.refusals:
            parts.append(_table("Files refused", ["File", "Why"], [list(r) for r in s.refusals]))
        if s.held:
            parts.append(_table("Files held, not applied (a re-issue that would lose data)", ["File", "Why"], [list(h) for h in s.held]))
        for heading, lines in (("Months missing", found.missing), ("Known gaps (partnership.yaml)", found.known_gaps),
                               ("Landed outside the reporting period (kept as history)", found.outside)):
            if lines:
                parts.append(f"<p>{heading}: {html.escape('; '.join(lines))}.</p>")
        if s.rejects:
            parts.append(_table(f"Rows rejected (first {REJECT_EXAMPLES})", ["File", "Line", "Column", "Value", "Why"],
                                [list(r) for r in s.rejects]))
        if s.warnings:
            parts.append(_table("Files landed with warnings (rows repeated exactly, values cut, new values…)",
                                ["File", "Warning"], [list(w) for w in s.warnings]))
        if s.failures:
            parts.append(_table("Checks not met", ["Suite", "Expectation", "Column", "Severity", "Observed", "Threshold", "Examples"],
                                [list(f) for f in s.failures]))
        if s.overdue:
            parts.append(f"<p>Overdue quarters: {html.escape(', '.join(s.overdue))}.</p>")
    page = (
        '<!DOCTYPE html><html lang="en-GB"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Data quality: {html.escape(config.workspace.name)}</title><style>{css}</style></head>"
        f'<body><main id="main">{"".join(parts)}</main></body></html>'
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    partial.write_text(page, encoding="utf-8")
    partial.replace(target)
    return target
