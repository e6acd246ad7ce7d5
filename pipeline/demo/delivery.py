"""How the demo's extracts are delivered: each source's own random stream, the financial quarters agencies
deliver by, and files written the way agencies save them (CSV with or without a BOM, LF or CRLF; XLSX).

Every writer draws from `source_rng(seed, name)`, a stream of its own derived from the world's seed and the
source's name, so that adding or changing one writer never changes another source's files.
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from datetime import date, datetime
from pathlib import Path
from typing import Callable

import numpy as np
import polars as pl

from pipeline.demo.timeline import DEMO_END, DEMO_START

LF = "\n"
CRLF = "\r\n"
UK_DATE = "%d/%m/%Y"  # how most partner spreadsheets write dates
# The date written into the XLSX files' properties and zip entries, so that the same seed gives the same bytes.
XLSX_STAMP = datetime(2025, 4, 30, 9, 0, 0)


def source_rng(seed: int, name: str) -> np.random.Generator:
    """A random stream of its own for one source (or purpose), from the world's seed and a stable name."""
    tag = int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:8], "big")
    return np.random.default_rng([seed, tag])


def financial_quarter(when: pl.Expr) -> pl.Expr:
    """`2024-25-Q1` for April–June 2024 … `2024-25-Q4` for January–March 2025 (a date or datetime column)."""
    fy = when.dt.year() - (when.dt.month() < 4).cast(pl.Int32)
    quarter = ((when.dt.month() + 8) % 12) // 3 + 1
    return pl.format("{}-{}-Q{}", fy, ((fy + 1) % 100).cast(pl.String).str.zfill(2), quarter)


def demo_quarters() -> list[str]:
    """The twenty quarters of the demo period, in order."""
    return [f"{y}-{(y + 1) % 100:02d}-Q{q}" for y in range(DEMO_START.year, DEMO_END.year) for q in (1, 2, 3, 4)]


def quarter_start(label: str) -> date:
    year, quarter = int(label[:4]), int(label[-1])
    return date(year + (quarter == 4), (quarter * 3 + 1) if quarter < 4 else 1, 1)


def quarter_end(day: pl.Expr) -> pl.Expr:
    """The last day of the quarter a date falls in (when that quarter's extract is run)."""
    return day.dt.truncate("1q").dt.offset_by("3mo").dt.offset_by("-1d")


def in_period(when: pl.Expr) -> pl.Expr:
    """Whether a date or datetime falls in the demo period (April 2020 – March 2025)."""
    day = when.cast(pl.Date)
    return (day >= DEMO_START) & (day <= DEMO_END)


def yes_no(column: str) -> pl.Expr:
    """A boolean as partner extracts write it: Y or N (blank when unknown)."""
    return pl.when(pl.col(column)).then(pl.lit("Y")).when(pl.col(column).not_()).then(pl.lit("N")).alias(column)


def numbered(prefix: str, when: pl.Expr, width: int = 4) -> pl.Expr:
    """`{prefix}/{yy}/{n}`: a reference numbered from 1 within each calendar year, in the frame's order."""
    year = when.dt.year()
    number = pl.int_range(1, pl.len() + 1).over(year)
    return pl.format("{}/{}/{}", pl.lit(prefix), (year % 100).cast(pl.String).str.zfill(2), number.cast(pl.String).str.zfill(width))


def write_csv(frame: pl.DataFrame, path: Path, *, bom: bool = False, line_end: str = LF, date_format: str | None = None,
              datetime_format: str | None = None, time_format: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.write_csv(
        path, include_bom=bom, line_terminator=line_end, date_format=date_format, datetime_format=datetime_format,
        time_format=time_format,
    )
    return path


def write_quarterly(frame: pl.DataFrame, period: str, raw_dir: Path, write: Callable[[pl.DataFrame, Path], Path],
                    name: str = "{quarter}.csv") -> list[Path]:
    """One file per financial quarter of the `period` column (a date or datetime), in quarter order.

    The files partition the period column, so no file covers a month another covers (which would make it a
    corrected re-issue of that month). The `period` column itself is kept; quarters with no rows get no file.
    """
    labelled = frame.with_columns(financial_quarter(pl.col(period)).alias("_quarter"))
    written = []
    for quarter in sorted(labelled["_quarter"].unique().to_list()):
        rows = labelled.filter(pl.col("_quarter") == quarter).drop("_quarter")
        written.append(write(rows, raw_dir / name.format(quarter=quarter)))
    return written


def write_xlsx(frame: pl.DataFrame, path: Path, sheet: str, *, title: str = "") -> Path:
    """A one-sheet workbook, headings on row 1, with fixed document dates so that its bytes depend on the data only."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    book.properties.creator = "csp demo (synthetic data)"
    book.properties.title = title or None
    book.properties.created = XLSX_STAMP
    ws = book.create_sheet(sheet)
    ws.append(frame.columns)
    for row in frame.iter_rows():
        ws.append(list(row))
    buffer = io.BytesIO()
    book.save(buffer)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(_fixed_zip(buffer.getvalue()))
    return path


def _fixed_zip(data: bytes) -> bytes:
    """The workbook again, with the save time openpyxl writes replaced and every zip entry dated `XLSX_STAMP`."""
    stamp = XLSX_STAMP.strftime("%Y-%m-%dT%H:%M:%SZ")
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)", rb"\g<1>" + stamp.encode() + rb"\g<2>", content)
            entry = zipfile.ZipInfo(info.filename, date_time=XLSX_STAMP.timetuple()[:6])
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            target.writestr(entry, content)
    return out.getvalue()
