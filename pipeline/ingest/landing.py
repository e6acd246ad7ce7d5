"""Land dropped files into the warehouse's raw schema, once each, atomically, with a manifest.

- A file is known by the SHA-256 of its bytes: the same content dropped again, under any name, is skipped.
- A file that covers a period (per issuer) already loaded from another file is a corrected re-issue: it
  replaces those rows, `raw._supersessions` records which file superseded which, for which period, and the
  older file's manifest entry says which file last superseded it and how many of its rows were replaced.
- Everything for one file happens in one DuckDB transaction; a refused file changes no data table and is
  recorded in `raw._refusals` with the reason, so that `csp check` can send it back to the partner.
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
from pipeline.ingest.parse import ParseContext, Parsed, map_headings, parse_table
from pipeline.ingest.readers import FileRefused, check_readable, read_text_table
from pipeline.paths import REFERENCE_DIR
from pipeline.sources.base import Source

_DUCK_TYPES = {
    "text": "VARCHAR", "code": "VARCHAR", "integer": "BIGINT", "decimal": "DOUBLE", "boolean": "BOOLEAN",
    "month": "DATE", "date": "DATE", "datetime": "TIMESTAMP", "time": "TIME", "lsoa": "VARCHAR",
    "pseudonym": "VARCHAR", "postcode": "VARCHAR",
}

BOOKKEEPING_DDL = """
CREATE SCHEMA IF NOT EXISTS raw;
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
"""


@dataclass
class FileOutcome:
    file_name: str
    status: str  # loaded | already loaded | refused
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


def ensure_tables(con: duckdb.DuckDBPyConnection, source: Source) -> None:
    con.execute(BOOKKEEPING_DDL)
    columns = ", ".join(f'"{c.name}" {_DUCK_TYPES[c.type]}' for c in source.columns)
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
) -> LandingSummary:
    ensure_tables(con, source)
    summary = LandingSummary(source.name)
    for path in files:
        name = str(path.relative_to(root)) if root and path.is_relative_to(root) else path.name
        summary.files.append(_land_one(con, source, path, name, settings, ctx))
    return summary


def _land_one(con, source: Source, path: Path, name: str, settings: SourceSettings, ctx: ParseContext) -> FileOutcome:
    file_id = None
    try:
        check_readable(path)
        if path.suffix.lower() not in source.file_suffixes:
            raise FileRefused(path, f"has suffix {path.suffix!r}; {source.name} reads {', '.join(source.file_suffixes)} files, so expected one of those")
        file_id = file_sha256(path)
        if con.execute("SELECT 1 FROM raw._manifest WHERE source = ? AND file_id = ?", [source.name, file_id]).fetchone():
            return FileOutcome(name, "already loaded", "the same content was loaded before (perhaps under another name)")
        try:
            table = read_text_table(path, sheet=settings.sheet or source.sheet, header_row=settings.header_row or source.header_row)
            if source.prepare is not None:
                table = source.prepare(table, path)
        except (FileRefused, MemoryError):
            raise
        except Exception as exc:  # a reading library choking on a damaged file refuses that file, not the whole run
            raise FileRefused(path, f"could not be read ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); expected a well-formed {path.suffix} file") from None
        mapping, warnings = map_headings(source, table, settings.aliases, path, settings.constants)
        if table.data.height == 0:
            raise FileRefused(path, "has a header but no data rows; expected data rows after the headings on line 1")
        parsed = parse_table(source, table, mapping, ctx, settings.constants)
        rejected_rows = parsed.rows_read - parsed.rows.height
        if parsed.rows_read and rejected_rows / parsed.rows_read > settings.max_reject_share:
            examples = "; ".join(  # values cut short: the refusal names where to look, raw values stay readable
                f"line {r['line']} column {r['column']!r} value {_shortened(r['value'])!r}: {r['reason']}"
                for r in parsed.rejects.head(3).iter_rows(named=True)
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
    superseded = _write(con, source, file_id, name, path, table.encoding, parsed, warnings + parsed.warnings)
    return FileOutcome(
        name, "loaded", "; ".join(warnings + parsed.warnings), parsed.rows_read, parsed.rows.height,
        parsed.rows_read - parsed.rows.height, superseded, parsed.rows_repeated,
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


def _write(con, source: Source, file_id: str, name: str, path: Path, encoding: str, parsed: Parsed, warnings: list[str]) -> list[str]:
    """One transaction: replace re-issued periods, add the rows, the rejects and the manifest entry."""
    period = pl.col(source.period_column)
    issuer = pl.col(source.issuer_column).fill_null("") if source.issuer_column else pl.lit("")
    rows = parsed.rows.with_columns(
        pl.lit(file_id).alias("_file_id"),
        issuer.alias("_issuer"),
        period.cast(pl.Date).dt.truncate("1mo").alias("_period"),
    )
    covered = rows.select("_issuer", "_period").unique()
    rejects = parsed.rejects.with_columns(pl.lit(file_id).alias("file_id"), pl.lit(source.name).alias("source"))
    now = datetime.now()
    columns = ", ".join(f'"{c.name}"' for c in source.columns)
    con.execute("BEGIN TRANSACTION")
    try:
        con.register("incoming", rows.to_arrow())
        con.register("covered", covered.to_arrow())
        con.register("incoming_rejects", rejects.to_arrow())
        replaced = con.execute(
            f"""SELECT t._issuer, t._period, t._file_id, count(*) AS n FROM {source.table} t
                JOIN covered c ON t._issuer = c._issuer AND t._period = c._period
                GROUP BY ALL ORDER BY ALL"""
        ).fetchall()
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
            'INSERT INTO raw._rejects SELECT file_id, source, line, "column", value, reason FROM incoming_rejects'
        )
        span = rows.select(pl.col("_period").min().alias("a"), pl.col("_period").max().alias("b")).row(0)
        con.execute(
            "INSERT INTO raw._manifest (file_id, source, file_name, size_bytes, encoding, period_from, period_to, "
            "rows_read, rows_accepted, rows_rejected, warnings, loaded_at, superseded_by, rows_superseded, rows_repeated) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, 0, ?)",
            [file_id, source.name, name, path.stat().st_size, encoding, span[0], span[1], parsed.rows_read,
             rows.height, parsed.rows_read - rows.height, warnings, now, parsed.rows_repeated],
        )
        # this content, or a fixed file sent under the refused one's name, answers the earlier refusal
        con.execute(
            "DELETE FROM raw._refusals WHERE source = ? AND (file_id = ? OR file_name = ?)", [source.name, file_id, name]
        )
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    finally:
        for view in ("incoming", "covered", "incoming_rejects"):
            con.unregister(view)
    return sorted({old for _, _, old, _ in replaced})


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
