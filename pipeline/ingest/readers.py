"""Read a dropped file (CSV, XLSX or Parquet) into text columns with its line numbers, or refuse it.

Everything is read as text: typing is the parser's job, so that a bad value becomes a row-level reject
naming its line and column instead of a failed file. File-level faults raise `FileRefused`.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import polars as pl

UTF8_BOM = b"\xef\xbb\xbf"


class FileRefused(Exception):
    """The whole file is refused; the message names the file and, where it can, the column and what was expected."""

    def __init__(self, path: Path | str, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{path}: {reason}")


@dataclass
class TextTable:
    headings: list[str]
    data: pl.DataFrame  # columns c0…cN, all strings, in file order
    lines: pl.Series  # the line (CSV), sheet row (XLSX) or row number (Parquet) each record starts on
    encoding: str
    truncated_last_line: bool = False
    sheet: str | None = None  # XLSX: the sheet read (an ONS workbook names its year there)


def check_readable(path: Path) -> None:
    """Refuse what is not a readable, non-empty file before anything else is done with it."""
    if path.is_dir():
        raise FileRefused(path, "is a folder, not a file; drop the extract files themselves into the source folder")
    try:
        size = path.stat().st_size
        with path.open("rb"):
            pass
    except OSError as exc:
        raise FileRefused(path, f"cannot be read ({exc.strerror})") from None
    if size == 0:
        raise FileRefused(path, "is empty (0 bytes); expected a header row and data rows")


def read_text_table(path: Path, *, sheet: str | None = None, header_row: int = 1) -> TextTable:
    check_readable(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _read_csv(path)
    if suffix == ".xlsx":
        return _read_xlsx(path, sheet, header_row)
    if suffix == ".parquet":
        return _read_parquet(path)
    raise FileRefused(path, f"has suffix {path.suffix!r}; expected .csv, .xlsx or .parquet")


def _decode(path: Path, raw: bytes) -> tuple[str, str]:
    if b"\x00" in raw[:65536]:
        raise FileRefused(path, "contains NUL bytes: it is a binary file, not a CSV text file")
    if raw.startswith(UTF8_BOM):
        raw, bom = raw[len(UTF8_BOM):], True
    else:
        bom = False
    try:
        return raw.decode("utf-8"), "utf-8-sig" if bom else "utf-8"
    except UnicodeDecodeError as exc:
        utf8_error = exc
    try:
        return raw.decode("cp1252"), "windows-1252"
    except UnicodeDecodeError:
        line = raw[: utf8_error.start].count(b"\n") + 1
        raise FileRefused(
            path, f"line {line}: bytes that are neither UTF-8 nor Windows-1252 text; expected a CSV text file"
        ) from None


def _read_csv(path: Path) -> TextTable:
    raw = path.read_bytes()
    text, encoding = _decode(path, raw)
    first_record = next(csv.reader(io.StringIO(text)), None)
    if not first_record or not any(cell.strip() for cell in first_record):
        raise FileRefused(path, "has no header row; expected the column headings on line 1")
    headings = [cell.strip() for cell in first_record]
    names = [f"c{i}" for i in range(len(headings))]
    try:
        data = pl.read_csv(
            io.BytesIO(text.encode("utf-8")),
            has_header=True,
            new_columns=names,
            infer_schema=False,
            raise_if_empty=False,
        )
    except pl.exceptions.PolarsError as exc:
        detail = str(exc).splitlines()[0]
        raise FileRefused(path, f"is not a well-formed CSV file ({detail}); expected {len(headings)} fields a line") from None
    if data.width != len(headings):
        raise FileRefused(path, f"has rows with {data.width} fields under a header of {len(headings)}")
    # A record starts on line 2 plus the newlines held inside the quoted values of the records before it.
    newlines = pl.sum_horizontal(pl.col(n).str.count_matches("\n").fill_null(0) for n in names) if names else pl.lit(0)
    lines = data.select((pl.lit(2) + newlines.cum_sum() - newlines + pl.int_range(pl.len())).alias("line"))["line"]
    truncated = _last_record_short(text, len(headings)) and data.height > 0
    return TextTable(headings, data, lines, encoding, truncated_last_line=truncated)


def _last_record_short(text: str, width: int) -> bool:
    """A file cut off mid-line ends without a newline, its last record short of fields."""
    if not text or text.endswith(("\n", "\r")):
        return False
    tail = text[text.rfind("\n") + 1 :]
    fields = next(csv.reader([tail]), [])
    return len(fields) < width


def _read_xlsx(path: Path, sheet: str | None, header_row: int) -> TextTable:
    from openpyxl import load_workbook  # only XLSX extracts need it

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a file that is not a workbook
        raise FileRefused(path, f"is not a readable XLSX workbook ({type(exc).__name__})") from None
    try:
        if sheet is None:
            ws = book.worksheets[0]
        elif sheet in book.sheetnames:
            ws = book[sheet]
        else:
            raise FileRefused(path, f"has no sheet {sheet!r}; its sheets are {', '.join(map(repr, book.sheetnames))}")
        rows = list(ws.iter_rows(min_row=header_row, values_only=True))
    finally:
        book.close()
    if not rows or not any(v is not None and str(v).strip() for v in rows[0]):
        raise FileRefused(path, f"sheet {ws.title!r} has no headings on row {header_row}")
    headings = [str(v).strip() if v is not None else "" for v in rows[0]]
    while headings and not headings[-1]:
        headings.pop()
    names = [f"c{i}" for i in range(len(headings))]
    body = [r for r in rows[1:]]
    columns = {n: [_cell_text(r[i]) if i < len(r) else None for r in body] for i, n in enumerate(names)}
    data = pl.DataFrame(columns, schema={n: pl.String for n in names})
    lines = pl.Series("line", range(header_row + 1, header_row + 1 + len(body)), dtype=pl.Int64)
    keep = data.select(pl.any_horizontal(pl.col(names).is_not_null()).alias("k"))["k"] if names else None
    if keep is not None:
        data, lines = data.filter(keep), lines.filter(keep)
    return TextTable(headings, data, lines, "xlsx", sheet=ws.title)


def _cell_text(value: object) -> str | None:
    if value is None:
        return None
    if hasattr(value, "isoformat"):
        text = value.isoformat()
        return text[:10] if text.endswith("T00:00:00") else text.replace("T", " ")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _read_parquet(path: Path) -> TextTable:
    try:
        frame = pl.read_parquet(path)
    except Exception as exc:  # pyarrow/polars raise several kinds for a damaged file
        raise FileRefused(path, f"is not a readable Parquet file ({type(exc).__name__})") from None
    headings = list(frame.columns)
    names = [f"c{i}" for i in range(len(headings))]
    data = frame.rename(dict(zip(headings, names))).with_columns(pl.all().cast(pl.String))
    return TextTable(headings, data, pl.Series("line", range(1, frame.height + 1), dtype=pl.Int64), "parquet")
