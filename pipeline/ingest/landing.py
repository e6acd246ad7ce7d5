"""Land dropped files into the warehouse's raw schema, once each, atomically, with a manifest.

- A file is known by the SHA-256 of its bytes: the same content dropped again, under any name, is skipped.
- A file that covers a period (per issuer) already loaded from another file is a corrected re-issue: it
  replaces those rows, `raw._supersessions` records which file superseded which, for which period, and the
  older file's manifest entry says which file last superseded it and how many of its rows were replaced.
- Unless the re-issue would lose data: one that shrinks or grows a period by more than
  `reissue_tolerance` (20%), covers fewer LSOAs or fewer values of the source's category column (crime
  types), or shares no row with what it replaces (a second file for the period, not a correction), is held:
  nothing changes but a record in `raw._held`, until `csp accept` (or `accept_reissues`) applies it.
- Everything for one file happens in one DuckDB transaction; a refused file changes no data table and is
  recorded in `raw._refusals` with the reason, so that `csp check` can send it back to the partner. Until
  then its parsed rows wait in temp tables of the same connection (`Staging`), a chunk at a time for a
  large CSV.
- The raw folder is only ever read.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path

import duckdb
import polars as pl

from pipeline.config import SourceSettings
from pipeline.geography import national_lsoa_codes
from pipeline.ingest.parse import DUCK_TYPES, ParseContext, Parsed, Staging, map_headings, parse_table
from pipeline.ingest.readers import FileRefused, NotStreamable, check_readable, read_csv_stream, read_text_table
from pipeline.paths import REFERENCE_DIR
from pipeline.sources.base import Source

BOOKKEEPING_DDL = """
CREATE SCHEMA IF NOT EXISTS raw;
CREATE SCHEMA IF NOT EXISTS reference;
-- the volume suites read it; until reference/known_gaps runs, no gap is declared
CREATE TABLE IF NOT EXISTS reference.known_gaps (source VARCHAR, month DATE, reason VARCHAR);
CREATE TABLE IF NOT EXISTS raw._manifest (
    file_id VARCHAR, source VARCHAR, file_name VARCHAR, size_bytes BIGINT, encoding VARCHAR,
    period_from DATE, period_to DATE, rows_read BIGINT, rows_accepted BIGINT, rows_rejected BIGINT,
    warnings VARCHAR[], loaded_at TIMESTAMP, PRIMARY KEY (source, file_id));
ALTER TABLE raw._manifest ADD COLUMN IF NOT EXISTS superseded_by VARCHAR;
ALTER TABLE raw._manifest ADD COLUMN IF NOT EXISTS rows_superseded BIGINT DEFAULT 0;
ALTER TABLE raw._manifest ADD COLUMN IF NOT EXISTS rows_repeated BIGINT DEFAULT 0;
CREATE TABLE IF NOT EXISTS raw._rejects (
    file_id VARCHAR, source VARCHAR, line BIGINT, "column" VARCHAR, value VARCHAR, reason VARCHAR);
CREATE TABLE IF NOT EXISTS raw._supersessions (
    source VARCHAR, issuer VARCHAR, period DATE, old_file_id VARCHAR, new_file_id VARCHAR,
    rows_replaced BIGINT, superseded_at TIMESTAMP);
CREATE TABLE IF NOT EXISTS raw._refusals (
    file_id VARCHAR, source VARCHAR, file_name VARCHAR, reason VARCHAR, seen_at TIMESTAMP,
    PRIMARY KEY (source, file_id));
CREATE TABLE IF NOT EXISTS raw._held (
    file_id VARCHAR, source VARCHAR, file_name VARCHAR, issuer VARCHAR, period DATE, replaces VARCHAR,
    rows_now BIGINT, rows_held BIGINT, rows_in_common BIGINT, lsoas_now BIGINT, lsoas_held BIGINT,
    categories_now BIGINT, categories_held BIGINT, reason VARCHAR, held_at TIMESTAMP,
    PRIMARY KEY (source, file_id, issuer, period));
"""


@dataclass
class FileOutcome:
    file_name: str
    status: str  # loaded | already loaded | held | refused
    detail: str = ""
    rows_read: int = 0
    rows_accepted: int = 0
    rows_rejected: int = 0
    superseded: list[str] = field(default_factory=list)
    rows_repeated: int = 0  # accepted rows that exactly repeat an earlier row of the file (kept)


@dataclass
class LandingSummary:
    source: str
    files: list[FileOutcome] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for f in self.files if f.status == status)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def content_id(path: Path) -> str:
    """The file's SHA-256 (how landing knows a file), remembered for the process by path, size, modification and
    change time, so that a run's plan, its landing and the sensor hash a file once."""
    stat = path.stat()
    return _content_id(path, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino)


@lru_cache(maxsize=8192)
def _content_id(path: Path, size: int, modified: int, changed: int, inode: int) -> str:
    return file_sha256(path)


def ensure_tables(con: duckdb.DuckDBPyConnection, source: Source) -> None:
    con.execute(BOOKKEEPING_DDL)
    columns = ", ".join(f'"{c.name}" {DUCK_TYPES[c.type]}' for c in source.columns)
    con.execute(
        f"CREATE TABLE IF NOT EXISTS {source.table} ({columns}, "
        "_file_id VARCHAR, _line BIGINT, _issuer VARCHAR, _period DATE)"
    )


def candidate_files(folder: Path, source: Source) -> list[Path]:
    """Every entry of the drop folder, oldest first, so that a later delivery supersedes an earlier one."""
    if not folder.is_dir():
        return []
    entries = [p for p in folder.iterdir() if not p.name.startswith(".")]
    return sorted(entries, key=lambda p: (_modified(p), p.name))


def _modified(path: Path) -> int:
    """When an entry was last changed; a dangling link has its own time (it is refused when landed)."""
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return path.lstat().st_mtime_ns


def land_source(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    files: list[Path],
    settings: SourceSettings,
    ctx: ParseContext,
    *,
    root: Path | None = None,
    accept: Accept | None = None,
) -> LandingSummary:
    """Land each file in turn; `accept` applies the one file it names even where a re-issue would be held."""
    ensure_tables(con, source)
    summary = LandingSummary(source.name)
    for path in files:
        name = str(path.relative_to(root)) if root and path.is_relative_to(root) else path.name
        summary.files.append(_land_one(con, source, path, name, settings, ctx, accept if accept and accept.path == path else None))
    if accept is None:  # a held file taken out of the folder is no longer waiting for the analyst
        con.execute("DELETE FROM raw._held WHERE source = ? AND list_position(?, file_name) IS NULL",
                    [source.name, [f.file_name for f in summary.files]])
    return summary


@dataclass(frozen=True)
class Accept:
    """The analyst's `csp accept FILE`: apply it although it would be held; `add` keeps the rows it would replace."""

    path: Path
    add: bool = False


def _land_one(con, source: Source, path: Path, name: str, settings: SourceSettings, ctx: ParseContext,
              accept: Accept | None = None) -> FileOutcome:
    staging = Staging(con, source)
    try:
        return _stage_and_write(con, source, path, name, settings, ctx, staging, accept)
    finally:
        staging.drop()


def open_table(path: Path, source: Source, settings: SourceSettings, *, whole: bool = False):
    """The file's text: a large CSV as a stream of chunks (unless `whole`, or a `prepare` reshapes it), else whole."""
    try:
        if path.suffix.lower() == ".csv" and source.prepare is None and not whole:
            return read_csv_stream(path)
        table = read_text_table(path, sheet=settings.sheet or source.sheet, header_row=settings.header_row or source.header_row)
        return source.prepare(table, path) if source.prepare is not None else table
    except (FileRefused, MemoryError):
        raise
    except Exception as exc:  # a reading library choking on a damaged file refuses that file, not the whole run
        raise FileRefused(path, f"could not be read ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); expected a well-formed {path.suffix} file") from None


def _stage_and_write(con, source: Source, path: Path, name: str, settings: SourceSettings, ctx: ParseContext,
                     staging: Staging, accept: Accept | None) -> FileOutcome:
    file_id = None
    try:
        check_readable(path)
        if path.suffix.lower() not in source.file_suffixes:
            raise FileRefused(path, f"has suffix {path.suffix!r}; {source.name} reads {', '.join(source.file_suffixes)} files, so expected one of those")
        file_id = content_id(path)
        if con.execute("SELECT 1 FROM raw._manifest WHERE source = ? AND file_id = ?", [source.name, file_id]).fetchone():
            return FileOutcome(name, "already loaded", "the same content was loaded before (perhaps under another name)")
        table = open_table(path, source, settings)
        mapping, warnings = map_headings(source, table, settings.aliases, path, settings.constants)
        try:
            parsed = parse_table(source, table, mapping, ctx, settings.constants, staging=staging)
        except NotStreamable:  # e.g. a stray quote: the careful reader, on the whole file
            table = open_table(path, source, settings, whole=True)
            parsed = parse_table(source, table, mapping, ctx, settings.constants, staging=Staging(con, source))
        if parsed.rows_read == 0:
            raise FileRefused(path, "has a header but no data rows; expected data rows after the headings on line 1")
        rejected_rows = parsed.rows_read - parsed.rows_accepted
        if parsed.rows_read and rejected_rows / parsed.rows_read > settings.max_reject_share:
            examples = "; ".join(  # values cut short: the refusal names where to look, raw values stay readable
                f"line {r['line']} column {r['column']!r} value {_shortened(r['value'])!r}: {r['reason']}"
                for r in staging.rejects(limit=3).iter_rows(named=True)
            )
            raise FileRefused(
                path,
                f"{rejected_rows:,} of {parsed.rows_read:,} rows ({rejected_rows / parsed.rows_read:.0%}) were rejected, "
                f"more than the limit of {settings.max_reject_share:.0%} (sources.{source.name}.max_reject_share); "
                f"for example {examples}",
            )
    except FileRefused as refusal:
        _record_refusal(con, source, file_id or _id_or_path(path), name, refusal.reason)
        return FileOutcome(name, "refused", refusal.reason)
    hold = None if accept or settings.accept_reissues else settings.reissue_tolerance
    superseded, held = _write(con, source, file_id, name, path, table.encoding, parsed, warnings + parsed.warnings,
                              hold_beyond=hold, add=bool(accept and accept.add))
    if held:
        return FileOutcome(name, "held", held, parsed.rows_read, 0, 0)
    return FileOutcome(
        name, "loaded", "; ".join(warnings + parsed.warnings), parsed.rows_read, parsed.rows_accepted,
        parsed.rows_read - parsed.rows_accepted, superseded, parsed.rows_repeated,
    )


def _shortened(value: str | None, limit: int = 40) -> str | None:
    return value if value is None or len(value) <= limit else value[:limit] + "…"


def _id_or_path(path: Path) -> str:
    """A refused file's id: its hash when it is a readable regular file (never open a FIFO: it would block)."""
    try:
        if path.is_file():
            return file_sha256(path)
    except OSError:
        pass
    return f"unreadable:{path}"


def _record_refusal(con, source: Source, file_id: str, name: str, reason: str) -> None:
    con.execute(
        "INSERT OR REPLACE INTO raw._refusals VALUES (?, ?, ?, ?, ?)",
        [file_id, source.name, name, reason, datetime.now()],
    )


def _write(con, source: Source, file_id: str, name: str, path: Path, encoding: str, parsed: Parsed, warnings: list[str],
           *, hold_beyond: float | None, add: bool = False) -> tuple[list[str], str]:
    """One transaction: hold a re-issue that would lose data (returns why), or replace the re-issued periods
    (none when `add`) and add the rows, the rejects and the manifest entry (returns the files superseded)."""
    issuer = f'coalesce("{source.issuer_column}", \'\')' if source.issuer_column else "''"
    con.execute(  # the staged rows as they will land (file_id is a hex digest)
        f"""CREATE OR REPLACE TEMP VIEW incoming AS
            SELECT *, '{file_id}' AS _file_id, {issuer} AS _issuer,
                   date_trunc('month', CAST("{source.period_column}" AS DATE))::DATE AS _period
            FROM temp.staged"""
    )
    now = datetime.now()
    columns = ", ".join(f'"{c.name}"' for c in source.columns)
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("CREATE OR REPLACE TEMP TABLE covered AS SELECT DISTINCT _issuer, _period FROM incoming")
        # this content, or a fixed file sent under the refused one's name, answers the earlier refusal
        con.execute(
            "DELETE FROM raw._refusals WHERE source = ? AND (file_id = ? OR file_name = ?)", [source.name, file_id, name]
        )
        con.execute("DELETE FROM raw._held WHERE source = ? AND file_id = ?", [source.name, file_id])
        # the rows landed for the periods this file covers, per earlier file: none for a new month, and then
        # there is nothing to replace and no re-issue to weigh
        existing = con.execute(
            f"""SELECT t._issuer, t._period, t._file_id, count(*) AS n FROM {source.table} t
                JOIN covered c ON t._issuer = c._issuer AND t._period = c._period
                GROUP BY ALL ORDER BY ALL"""
        ).fetchall()
        findings = _reissue_findings(con, source, hold_beyond) if existing and hold_beyond is not None else []
        if findings:
            reason = held_reason(name, findings, source)
            con.executemany(
                "INSERT INTO raw._held VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [[file_id, source.name, name, f.issuer, f.period, f.replaces, f.rows_now, f.rows_held, f.rows_in_common,
                  f.lsoas_now, f.lsoas_held, f.categories_now, f.categories_held, reason, now] for f in findings],
            )
            con.execute("COMMIT")
            return [], reason
        replaced = [] if add else existing
        if replaced:
            con.execute(
                f"""DELETE FROM {source.table} t USING covered c
                    WHERE t._issuer = c._issuer AND t._period = c._period"""
            )
            con.executemany(
                "INSERT INTO raw._supersessions VALUES (?, ?, ?, ?, ?, ?, ?)",
                [[source.name, iss, per, old, file_id, n, now] for iss, per, old, n in replaced],
            )
            by_file: dict[str, int] = {}
            for _, _, old, n in replaced:
                by_file[old] = by_file.get(old, 0) + n
            con.executemany(
                "UPDATE raw._manifest SET superseded_by = ?, rows_superseded = coalesce(rows_superseded, 0) + ? "
                "WHERE source = ? AND file_id = ?",
                [[file_id, n, source.name, old] for old, n in sorted(by_file.items())],
            )
        con.execute(
            f"INSERT INTO {source.table} ({columns}, _line, _file_id, _issuer, _period) "
            f"SELECT {columns}, _line, _file_id, _issuer, _period FROM incoming"
        )
        con.execute(
            'INSERT INTO raw._rejects SELECT ?, ?, line, "column", value, reason FROM temp.staged_rejects',
            [file_id, source.name],
        )
        span = con.execute("SELECT min(_period), max(_period) FROM incoming").fetchall()[0]
        con.execute(
            "INSERT INTO raw._manifest (file_id, source, file_name, size_bytes, encoding, period_from, period_to, "
            "rows_read, rows_accepted, rows_rejected, warnings, loaded_at, superseded_by, rows_superseded, rows_repeated) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, 0, ?)",
            [file_id, source.name, name, path.stat().st_size, encoding, span[0], span[1], parsed.rows_read,
             parsed.rows_accepted, parsed.rows_read - parsed.rows_accepted, warnings, now, parsed.rows_repeated],
        )
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    finally:
        con.execute("DROP VIEW IF EXISTS temp.incoming; DROP TABLE IF EXISTS temp.covered")
    return sorted({old for _, _, old, _ in replaced}), ""


@dataclass(frozen=True)
class Finding:
    """One period (per issuer) a re-issue would replace, measured against the rows landed for it now."""

    issuer: str
    period: date
    replaces: str  # the files whose rows it would replace
    rows_now: int
    rows_held: int
    rows_in_common: int
    lsoas_now: int | None
    lsoas_held: int | None
    categories_now: int | None
    categories_held: int | None

    def change(self) -> float:
        return (self.rows_held - self.rows_now) / self.rows_now


def _reissue_findings(con, source: Source, tolerance: float) -> list[Finding]:
    """The periods where the incoming file would lose data: too few or too many rows, fewer LSOAs or categories
    than the rows it replaces, or no row in common with them (a second file for the period, not a correction)."""
    cols = [c.name for c in source.columns]
    row_hash = "hash(" + ", ".join(f'CAST(x."{c}" AS {DUCK_TYPES[source.column(c).type]})' for c in cols) + ")"

    def distinct(column: str | None) -> str:
        return f'count(DISTINCT x."{column}")' if column else "NULL::BIGINT"

    measures = f"count(*) AS n, {distinct(source.lsoa_column)} AS lsoas, {distinct(source.category_column)} AS cats"
    rows = con.execute(
        f"""WITH now AS (
                SELECT x._issuer, x._period, {measures},
                       string_agg(DISTINCT coalesce(m.file_name, x._file_id), ', ' ORDER BY coalesce(m.file_name, x._file_id)) AS files
                FROM {source.table} AS x JOIN covered USING (_issuer, _period)
                LEFT JOIN raw._manifest AS m ON m.file_id = x._file_id AND m.source = ?
                GROUP BY ALL),
            held AS (SELECT x._issuer, x._period, {measures} FROM incoming AS x GROUP BY ALL),
            common AS (
                SELECT i._issuer, i._period, count(*) AS n
                FROM (SELECT _issuer, _period, {row_hash} AS h FROM incoming AS x) AS i
                SEMI JOIN (SELECT _issuer, _period, {row_hash} AS h FROM {source.table} AS x JOIN covered USING (_issuer, _period)) AS o
                    ON o._issuer = i._issuer AND o._period = i._period AND o.h = i.h
                GROUP BY ALL)
            SELECT now._issuer, now._period, now.files, now.n, held.n, coalesce(common.n, 0),
                   now.lsoas, held.lsoas, now.cats, held.cats
            FROM now JOIN held USING (_issuer, _period) LEFT JOIN common USING (_issuer, _period)
            ORDER BY now._period, now._issuer""",
        [source.name],
    ).fetchall()
    findings = [Finding(*row) for row in rows]
    return [
        f for f in findings
        if f.rows_in_common == 0 or abs(f.change()) > tolerance
        or (f.lsoas_held or 0) < (f.lsoas_now or 0) or (f.categories_held or 0) < (f.categories_now or 0)
    ]


def _count(n: int, noun: str) -> str:
    """`12 LSOAs`, `1 crime type`: a count with its noun, from a column name such as crime_type or category."""
    words = noun.replace("_", " ")
    plural = words if words.endswith("s") else (words[:-1] + "ies" if words.endswith("y") else words + "s")
    return f"{n:,} {words if n == 1 else plural}"


def held_reason(name: str, findings: list[Finding], source: Source, shown: int = 3) -> str:
    """What a held file would replace and by what, and the command that applies it (word for word in docs/bad-inputs.md)."""
    parts, second_file = [], False
    for f in findings[:shown]:
        month = f"{f.period:%Y-%m}"
        if f.rows_in_common == 0:
            second_file = True
            parts.append(f"two files cover {month}: it shares no row with the {f.rows_now:,} rows already landed from {f.replaces}")
            continue
        covered = []
        if f.lsoas_held is not None and f.lsoas_held < f.lsoas_now:
            covered.append(f"{_count(f.lsoas_held, 'LSOA')} instead of {f.lsoas_now:,}")
        if f.categories_held is not None and f.categories_held < f.categories_now:
            covered.append(f"{_count(f.categories_held, source.category_column)} instead of {f.categories_now:,}")
        parts.append(f"it would replace {f.rows_now:,} rows of {month} with {f.rows_held:,} ({f.change():+.0%})"
                     + (f", and cover {' and '.join(covered)}" if covered else ""))
    if len(findings) > shown:
        parts.append(f"and {len(findings) - shown} more period(s) (raw._held)")
    action = (f"run `csp accept {name}` to replace those rows with this file's, or `csp accept {name} --add` to keep both"
              if second_file else f"run `csp accept {name}` to apply it")
    return "held, not applied: " + "; ".join(parts) + "; " + action


@lru_cache(maxsize=1)
def reference_lists() -> dict[str, frozenset[str]]:
    """Closed lists a column can name in `Column.reference`."""
    offences = pl.read_csv(REFERENCE_DIR / "ho_offence_codes_to_policeuk.csv", infer_schema=False)
    return {"offence_codes": frozenset(offences["Offence_Code"].to_list())}


def parse_context(today: date, pseudonymise) -> ParseContext:
    return ParseContext(
        lsoa_codes=national_lsoa_codes(), today=today, pseudonymise=pseudonymise,
        references=reference_lists(),
    )
