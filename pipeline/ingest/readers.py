"""Read a dropped file (CSV, XLSX or Parquet) into text columns with its line numbers, or refuse it.

Everything is read as text: typing is the parser's job, so that a bad value becomes a row-level reject
naming its line and column instead of a failed file. File-level faults raise `FileRefused`.

A CSV record's line is the physical line it starts on, counting the lines taken by quoted values that hold
line breaks. A record with more or fewer fields than the header is a row fault (`TextTable.faults`), named
with its line; a last line cut short without a line ending is a truncated line; blank lines are skipped.

A CSV larger than `CHUNK_BYTES` is read a chunk of whole records at a time (`read_csv_stream`), with the same
line numbers and faults; one the chunked reader cannot take (a stray quote, Windows-1252 text, CR-only line
ends) is read whole, as any small file is.
"""

from __future__ import annotations

import csv
import io
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import polars as pl

UTF8_BOM = b"\xef\xbb\xbf"
CHUNK_BYTES = 64 << 20  # a CSV larger than this is read a chunk at a time (read_csv_stream)
_SNIFF = 65536  # how much of a file is looked at to tell text from binary
_CONTROL = set(range(0, 32)) - {9, 10, 12, 13}  # C0 controls other than tab, LF, FF, CR never occur in CSV text
_OTHER_DELIMITERS = {";": "semicolon", "|": "vertical bar", "\t": "tab"}  # what spreadsheets export instead of commas
_MAGIC = {
    b"PK\x03\x04": "a ZIP archive or an Excel .xlsx workbook",
    b"\xd0\xcf\x11\xe0": "an old Excel .xls workbook (or another Office file)",
    b"%PDF": "a PDF document",
    b"PAR1": "a Parquet file",
    b"\x1f\x8b": "a gzip-compressed file",
}


class FileRefused(Exception):
    """The whole file is refused; the message names the file and, where it can, the column and what was expected."""

    def __init__(self, path: Path | str, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{path}: {reason}")


def listed(items, limit: int = 6, quote: bool = True) -> str:
    """Items (quoted) and comma-separated, cut to the first `limit` and "… (N more)": a refusal stays readable."""
    items = list(items)
    shown = ", ".join(map(repr if quote else str, items[:limit]))
    return shown + (f" … ({len(items) - limit} more)" if len(items) > limit else "")


@dataclass
class TextTable:
    headings: list[str]
    data: pl.DataFrame  # columns c0…cN, all strings, in file order
    lines: pl.Series  # the line (CSV), sheet row (XLSX) or row number (Parquet) each record starts on
    encoding: str
    truncated_last_line: bool = False
    sheet: str | None = None  # XLSX: the sheet read (an ONS workbook names its year there)
    faults: pl.Series | None = None  # per row: why the whole line is wrong (e.g. too many fields), else null
    blank_lines: int = 0  # lines with no values at all, skipped

    def chunks(self) -> Iterator[TextTable]:
        yield self


class NotStreamable(Exception):
    """A chunk of a streamed CSV needs the careful whole-file reader (e.g. a stray quote): read the file whole."""


@dataclass
class TextStream:
    """A large CSV read a chunk of records at a time: each chunk a `TextTable` with the file's line numbers.

    Only the last chunk can have a truncated last line. Iterating may raise `NotStreamable`, and then the
    file is read whole with `read_text_table`, which names its faults exactly as for a small file.
    """

    headings: list[str]
    encoding: str
    _chunks: Iterator[TextTable]
    sheet: str | None = None

    def chunks(self) -> Iterator[TextTable]:
        return self._chunks


def check_readable(path: Path) -> None:
    """Refuse what is not a readable, non-empty regular file before anything else is done with it.

    Never opens anything but a regular file: opening a FIFO (named pipe) would wait for a writer for ever.
    """
    try:
        info = path.stat()
    except FileNotFoundError:
        if path.is_symlink():
            raise FileRefused(path, f"is a link to {os.readlink(path)!r}, which does not exist; expected the extract file itself") from None
        raise FileRefused(path, "does not exist (it was moved or deleted while being read)") from None
    except OSError as exc:
        raise FileRefused(path, f"cannot be read ({exc.strerror}); expected a file the pipeline can read") from None
    if stat.S_ISDIR(info.st_mode):
        raise FileRefused(path, "is a folder, not a file; expected the extract files themselves in the source folder")
    if not stat.S_ISREG(info.st_mode):
        kind = "a named pipe (FIFO)" if stat.S_ISFIFO(info.st_mode) else "a device or socket"
        raise FileRefused(path, f"is {kind}, not a regular file; expected an extract file saved to disk")
    try:
        with path.open("rb") as handle:
            handle.read(1)
    except OSError as exc:
        raise FileRefused(path, f"cannot be read ({exc.strerror}); expected a file the pipeline's user can read") from None
    if info.st_size == 0:
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


def _check_head(path: Path, head: bytes) -> None:
    """Refuse a binary file from its first bytes."""
    for magic, kind in _MAGIC.items():
        if head.startswith(magic):
            raise FileRefused(path, f"is {kind}, not CSV text; expected a comma-separated text file (save it as CSV, or give it its own suffix)")
    if b"\x00" in head:
        line = head[: head.index(b"\x00")].count(b"\n") + 1
        raise FileRefused(path, f"line {line}: contains NUL bytes, so it is a binary file; expected a CSV text file")
    controls = sum(head.count(bytes([c])) for c in _CONTROL)
    if controls > max(8, len(head) // 1000):
        raise FileRefused(path, f"contains {controls} control characters in its first {len(head):,} bytes, so it is a binary file; expected a CSV text file")


def _decode(path: Path, raw: bytes) -> tuple[str, str]:
    _check_head(path, raw[:_SNIFF])
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
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        first = raw[: utf8_error.start].count(b"\n") + 1
        raise FileRefused(
            path,
            f"line {line}: byte 0x{raw[exc.start]:02X} is neither UTF-8 nor Windows-1252 text (the first byte that is "
            f"not UTF-8 is on line {first}); expected a CSV text file saved as UTF-8",
        ) from None


def _read_csv(path: Path) -> TextTable:
    raw = path.read_bytes()
    text, encoding = _decode(path, raw)
    return _csv_table(path, raw if encoding == "utf-8" else None, text, encoding)


def _csv_table(path: Path, body: bytes | None, text: str, encoding: str, *, whole: bool = True) -> TextTable:
    """The records of `text` (whose UTF-8 bytes are `body`, when the caller has them): the whole file, or the
    first chunk of it (not `whole`)."""
    mac = "\r" in text and "\n" not in text
    if mac:  # classic Mac line endings: CR alone
        if not whole:
            raise NotStreamable(path)
        text, body = text.replace("\r", "\n"), None
    first_record = next(csv.reader(io.StringIO(text, newline="")), None)
    if not first_record or not any(cell.strip() for cell in first_record):
        raise FileRefused(path, "line 1: has no header row; expected the column headings on line 1")
    _check_delimiter(path, first_record)
    headings = [cell.strip() for cell in first_record]
    header_lines = 1 + sum(cell.count("\n") for cell in first_record)
    width = len(headings)
    ends_open = not text.endswith(("\n", "\r"))
    # Polars reads UTF-8 bytes: a plain UTF-8 file is read as it is, anything else re-encoded (one copy fewer
    # of a multi-gigabyte force file)
    if body is None:
        body = text.encode("utf-8")
    # an odd number of double quotes means a stray or unclosed quote: only the careful reader copes with that
    fast = None if text.count('"') % 2 else _read_csv_fast(body, width, header_lines, header_lines + 1)
    del body
    if fast is not None:
        (data, lines, fields, spans), open_at_end = fast, False
    elif not whole:
        raise NotStreamable(path)
    else:
        data, lines, fields, spans, open_at_end = _read_csv_slowly(path, text, width)
    return _records(path, headings, encoding, data, lines, fields, spans, open_at_end, ends_open)


def _csv_chunk(path: Path, body: bytes, headings: list[str], first_line: int, encoding: str, newlines: int) -> TextTable:
    """A later chunk of a streamed CSV (whole records with balanced quotes after a header line of its own,
    `_record_pieces`), from line `first_line`, holding `newlines` line breaks besides the header's."""
    if not body.isascii():
        _utf8(path, body)
    width = len(headings)
    fast = _read_csv_fast(body, width, 1, first_line, newlines + 1)
    if fast is None:
        raise NotStreamable(path)
    return _records(path, headings, encoding, *fast, open_at_end=False, ends_open=not body.endswith((b"\n", b"\r")))


def _records(path: Path, headings: list[str], encoding: str, data: pl.DataFrame, lines: pl.Series, fields: pl.Series,
             spans: pl.Series, open_at_end: bool, ends_open: bool) -> TextTable:
    """The table of records read: blank lines set aside, and each line's fault (wrong number of fields, truncated)."""
    width = len(headings)

    blank = _blank_rows(data)
    truncated = False
    if open_at_end:
        if spans[-1] > 1:
            raise FileRefused(
                path,
                f"line {lines[-1]}: a quoted value opens here and is never closed; expected a closing double quote (\") "
                f"before the end of the file (the file may be truncated)",
            )
        truncated = True
    elif data.height and ends_open and not blank[-1]:
        truncated = bool(fields[-1] < width)
    faults = pl.Series("fault", [None] * len(fields), dtype=pl.String) if (fields == width).all() else (
        pl.DataFrame({"n": fields})
        .select(
            pl.when(pl.col("n") == width).then(None)
            .otherwise(
                pl.format(
                    "has {} fields but the header (line 1) has {}; expected one value per heading "
                    "(a value holding a comma must be in double quotes)",
                    pl.col("n"), pl.lit(width),
                )
            ).alias("fault")
        )["fault"]
    )
    if truncated:
        faults = faults.scatter(data.height - 1, None)
    keep = ~blank
    blank_lines = int(blank.sum())
    if blank_lines:
        if truncated and blank[-1]:
            truncated = False
        data, lines, faults = data.filter(keep), lines.filter(keep), faults.filter(keep)
    return TextTable(headings, data, lines, encoding, truncated_last_line=truncated, faults=faults, blank_lines=blank_lines)


def _blank_rows(data: pl.DataFrame) -> pl.Series:
    """Rows with no values at all (blank or spaces): looked for column by column among the rows still blank."""
    rows = pl.int_range(0, data.height, dtype=pl.UInt32, eager=True)
    for name in data.columns:
        if not rows.len():
            break
        rows = rows.filter(data[name].gather(rows).str.strip_chars().fill_null("") == "")
    return pl.Series("b", [False] * data.height, dtype=pl.Boolean).scatter(rows, True)


def read_csv_stream(path: Path, chunk_bytes: int | None = None) -> TextStream | TextTable:
    """A CSV larger than `chunk_bytes` (CHUNK_BYTES) as a stream of chunks of whole records, so that a force-year
    file is never held in memory at once; a smaller one read whole."""
    chunk_bytes = chunk_bytes or CHUNK_BYTES
    check_readable(path)
    if path.stat().st_size <= chunk_bytes:
        return _read_csv(path)
    with path.open("rb") as handle:
        head = handle.read(_SNIFF)
    _check_head(path, head)
    # Polars takes the width from the header: every later chunk gets a header of its own
    width = len(next(csv.reader(io.StringIO(head.decode("utf-8", "replace"), newline="")), []))
    pieces = _record_pieces(path, chunk_bytes, ",".join(f"c{i}" for i in range(width)).encode() + b"\n")
    try:
        first, line_count = next(pieces)
        encoding = "utf-8-sig" if first.startswith(UTF8_BOM) else "utf-8"
        first = first.removeprefix(UTF8_BOM)
        table = _csv_table(path, first, _utf8(path, first), encoding, whole=False)
        if len(table.headings) != width:
            raise NotStreamable(path)
    except NotStreamable:
        return _read_csv(path)
    del first

    def chunks() -> Iterator[TextTable]:
        line = 1 + line_count
        yield table
        for piece, newlines in pieces:
            part = _csv_chunk(path, piece, table.headings, line, encoding, newlines)
            line += newlines
            del piece
            yield part

    return TextStream(table.headings, encoding, chunks())


def _utf8(path: Path, piece: bytes) -> str:
    try:
        return piece.decode("utf-8")
    except UnicodeDecodeError:
        raise NotStreamable(path) from None  # Windows-1252, or neither: the whole-file reader says which


def _record_pieces(path: Path, size: int, prefix: bytes) -> Iterator[tuple[bytes, int]]:
    """The file in pieces of about `size` bytes, each ending at a line break outside any quoted value (an even
    number of double quotes before it), every piece but the first led by `prefix`; with the line breaks of
    each, less the prefix's. A file whose quotes do not balance (a value never closed) is for the whole-file
    reader."""
    with path.open("rb") as handle:
        carry, lead = b"", b""
        while block := handle.read(size):
            cut = block.rfind(b"\n")
            if b'"' in block or b'"' in carry:
                odd = carry.count(b'"') % 2
                while cut >= 0 and (odd + block.count(b'"', 0, cut)) % 2:
                    cut = block.rfind(b"\n", 0, cut)
            if cut < 0:
                carry += block
                continue
            view = memoryview(block)
            piece = b"".join((lead, carry, view[: cut + 1]))  # one copy
            newlines = carry.count(b"\n") + block.count(b"\n", 0, cut + 1)
            carry, lead = bytes(view[cut + 1:]), prefix
            del view, block
            yield piece, newlines
        if carry.count(b'"') % 2:
            raise NotStreamable(path)
        if carry:
            yield lead + carry, carry.count(b"\n")


def _check_delimiter(path: Path, header: list[str]) -> None:
    """A header read as one field that holds semicolons, bars or tabs: the file is not comma-separated.

    Checked before the headings are mapped, so that such a file is named for what it is, not taken for one
    strange heading (which may look like a person's details: "…;LSOA name;…").
    """
    if len(header) != 1:
        return
    counts = {d: header[0].count(d) for d in _OTHER_DELIMITERS}
    found = max(counts, key=counts.get)
    if counts[found]:
        name, n = _OTHER_DELIMITERS[found], counts[found]
        shown = "" if found == "\t" else f" ({found})"
        raise FileRefused(
            path,
            f"line 1: wrong delimiter: the header is one field holding {n} {name}{'s' if n > 1 else ''}, so the values "
            f"are separated by {name}s{shown}; expected commas (export or save the file as comma-separated CSV)",
        )


def _read_csv_fast(body: bytes, width: int, header_lines: int, first_line: int,
                   newlines: int | None = None) -> tuple[pl.DataFrame, pl.Series, pl.Series, pl.Series] | None:
    """Polars reads the values; each record's fields are counted from its separators.

    A record's fields = the commas on its physical lines, less the commas inside its values, plus one. When
    no record is longer than the header (Polars reads it strictly), every record takes one line and the
    file's commas add up to exactly `width` fields a record, that is all; otherwise a second, quote-blind
    read of the raw lines counts each record's commas. Returns None when the two reads do not line up (e.g.
    stray quotes), and the careful reader is used instead.
    """
    names = [f"c{i}" for i in range(width)]
    options = dict(has_header=header_lines > 0, new_columns=names, infer_schema=False, raise_if_empty=False)
    try:
        data = pl.read_csv(body, **options)
    except pl.exceptions.PolarsError:  # a record longer than the header, or worse
        data = None
    try:
        if data is None:
            data = pl.read_csv(body, **options, truncate_ragged_lines=True)
    except pl.exceptions.PolarsError:
        return None
    if data.width != width:
        return None
    if data.height == 0:
        empty = pl.Series("line", [], dtype=pl.Int64)
        return data, empty, empty, empty
    holds = data.select(pl.col(names).str.contains(",", literal=True).any()).row(0)
    counted = [pl.col(n).str.count_matches(",", literal=True).fill_null(0) for n, held in zip(names, holds) if held]
    inner = data.select(pl.sum_horizontal(counted).cast(pl.Int64)).to_series() if counted else None
    lines_in_body = (body.count(b"\n") if newlines is None else newlines) + (not body.endswith(b"\n"))
    if lines_in_body == header_lines + data.height:  # one line a record
        starts = pl.int_range(first_line, first_line + data.height, dtype=pl.Int64, eager=True).alias("line")
        spans = pl.repeat(1, data.height, dtype=pl.Int64, eager=True).alias("span")
        header_end = 0
        for _ in range(header_lines):
            header_end = body.index(b"\n", header_end) + 1
        commas = body.count(b",", header_end) - (int(inner.sum()) if inner is not None else 0)
        if commas == data.height * (width - 1):  # and, none being longer, none shorter than the header
            return data, starts, pl.repeat(width, data.height, dtype=pl.Int64, eager=True).alias("fields"), spans
    if b"\x1f" in body:
        return None
    try:
        raw_lines = pl.read_csv(
            body, has_header=False, separator="\x1f", quote_char=None, new_columns=["t"],
            infer_schema=False, raise_if_empty=False, truncate_ragged_lines=True,
        )
    except pl.exceptions.PolarsError:
        return None
    if raw_lines.width != 1:
        return None
    one_line_each = raw_lines.height == header_lines + data.height
    if one_line_each:
        spans = pl.repeat(1, data.height, dtype=pl.Int64, eager=True).alias("span")
    else:  # lines each record takes: one, plus the line breaks held in its quoted values
        spans = data.select((1 + pl.sum_horizontal(pl.col(n).str.count_matches("\n", literal=True).fill_null(0) for n in names)).cast(pl.Int64).alias("span"))["span"]
        if header_lines + int(spans.sum()) != raw_lines.height:
            return None
    starts = (first_line + spans.cum_sum() - spans).alias("line")
    line_commas = raw_lines.select(pl.col("t").str.count_matches(",", literal=True).fill_null(0).cast(pl.Int64).alias("c"))["c"]
    if one_line_each:
        record_commas = line_commas.slice(header_lines)
    else:
        before = pl.concat([pl.Series([0], dtype=pl.Int64), line_commas.cum_sum()])  # commas on lines 1…k, at index k
        ends = starts - first_line + header_lines + spans
        record_commas = before.gather(ends) - before.gather(ends - spans)
    if inner is not None:
        record_commas = record_commas - inner
    fields = (record_commas + 1).alias("fields")
    if (fields < 1).any():
        return None
    return data, starts, fields, spans


def _read_csv_slowly(path: Path, text: str, width: int) -> tuple[pl.DataFrame, pl.Series, pl.Series, pl.Series, bool]:
    """Python's csv module, record by record: for files Polars cannot read (stray or unclosed quotes and the like).

    Also says whether the file ends inside a quoted value that was never closed.
    """
    limit = csv.field_size_limit()
    csv.field_size_limit(1 << 30)  # a 1 MB value is a row fault for the parser to name, not a reader crash
    try:
        reader = csv.reader(io.StringIO(text, newline=""))
        next(reader)
        rows, starts, fields, spans = [], [], [], []
        previous = reader.line_num
        for record in reader:
            starts.append(previous + 1)
            spans.append(reader.line_num - previous)
            previous = reader.line_num
            fields.append(len(record) if record else 1)
            rows.append((record + [None] * width)[:width])
        open_at_end = bool(spans) and _ends_inside_quotes(text, spans[-1])
    except csv.Error as exc:
        raise FileRefused(path, f"line {reader.line_num}: is not well-formed CSV ({exc}); expected {width} comma-separated values") from None
    finally:
        csv.field_size_limit(limit)
    columns = {f"c{i}": [row[i] if row[i] != "" else None for row in rows] for i in range(width)}
    data = pl.DataFrame(columns, schema={f"c{i}": pl.String for i in range(width)})
    return (
        data,
        pl.Series("line", starts, dtype=pl.Int64),
        pl.Series("fields", fields, dtype=pl.Int64),
        pl.Series("span", spans, dtype=pl.Int64),
        open_at_end,
    )


def _ends_inside_quotes(text: str, last_lines: int) -> bool:
    """Whether the last record (its last `last_lines` lines) stops inside a quoted value, read strictly."""
    end = len(text) - 1 if text.endswith("\n") else len(text)
    for _ in range(last_lines):
        end = text.rfind("\n", 0, end)
    try:
        list(csv.reader(io.StringIO(text[end + 1 :], newline=""), strict=True))
    except csv.Error as exc:
        return "unexpected end of data" in str(exc)
    return False


def _read_xlsx(path: Path, sheet: str | None, header_row: int) -> TextTable:
    from openpyxl import load_workbook  # only XLSX extracts need it

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a file that is not a workbook
        raise FileRefused(path, f"is not a readable XLSX workbook ({type(exc).__name__}); expected an Excel .xlsx file") from None
    try:
        if sheet is None:
            ws = book.worksheets[0]
        elif sheet in book.sheetnames:
            ws = book[sheet]
        else:
            raise FileRefused(
                path,
                f"has no sheet {sheet!r}; its sheets are {listed(book.sheetnames)}. Expected the sheet "
                f"{sheet!r}: set this source's `sheet` in partnership.yaml to the sheet that holds the data",
            )
        rows = list(ws.iter_rows(min_row=header_row, values_only=True))
    finally:
        book.close()
    if not rows or not any(v is not None and str(v).strip() for v in rows[0]):
        raise FileRefused(path, f"sheet {ws.title!r} row {header_row}: has no headings; expected the column headings on row {header_row} (set this source's `header_row` in partnership.yaml)")
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
