"""A CSV larger than one chunk is read a chunk of records at a time: it lands exactly as when read whole.

The bad-input tests pin what landing does with each fault on files smaller than a chunk; here the same
faults are spread over many small chunks (quoted line breaks across a chunk's end, blank lines, ragged and
truncated lines, repeats, a BOM), and a stray quote in a late chunk sends the file to the whole-file reader.
"""

from datetime import date
from pathlib import Path

import duckdb
import pytest

from pipeline.config import SourceSettings
from pipeline.ingest import readers
from pipeline.ingest.landing import land_source, parse_context
from pipeline.ingest.plan import file_months
from pipeline.sources.police_street import SOURCE
from tests.helpers import POLICE_UK_FILES

FIXTURE = next(p for p in POLICE_UK_FILES if "first-400" in p.name)


def _faulty_file(path: Path, stray_quote: bool = False) -> Path:
    header, *lines = FIXTURE.read_bytes().splitlines()
    lines = lines * 3  # 1,200 records: every one of the first 400 repeated twice
    lines[5] = lines[5].replace(b"On or near ", b'"On or near\nthe ', 1).replace(b",E0", b'",E0', 1)  # a quoted line break
    lines[300] = b""  # a blank line
    lines[301] = lines[301] + b",extra"  # too many fields
    lines[302] = lines[302].replace(b"2023-01", b"2023-13", 1)  # a bad month
    lines[303] = lines[303] + b","  # too many fields again (an empty 13th)
    lines[700] = lines[700].replace(b"On or near ", b'"On or near\n\nthe ', 1).replace(b",E0", b'",E0', 1)
    if stray_quote:
        lines[1000] = lines[1000].replace(b"On or near ", b'On or near 5" ', 1)
    path.write_bytes(b"\xef\xbb\xbf" + header + b"\r\n" + b"\r\n".join(lines) + b"\r\n" + lines[0][:50])  # cut short at the end
    return path


def _land(tmp_path: Path, csv: Path, chunk_bytes: int | None, monkeypatch) -> dict:
    if chunk_bytes:
        monkeypatch.setattr(readers, "CHUNK_BYTES", chunk_bytes)
    database = tmp_path / f"w{chunk_bytes}.duckdb"
    with duckdb.connect(str(database)) as con:
        settings = SourceSettings(max_reject_share=0.5)
        (outcome,) = land_source(con, SOURCE, [csv], settings, parse_context(date(2026, 12, 1), None)).files
        rows = con.execute("SELECT * EXCLUDE (_file_id) FROM raw.police_street ORDER BY _line").fetchall()
        rejects = con.execute('SELECT line, "column", value, reason FROM raw._rejects').fetchall()
        manifest = con.execute("SELECT encoding, rows_read, rows_accepted, rows_rejected, rows_repeated, warnings FROM raw._manifest").fetchall()
    monkeypatch.setattr(readers, "CHUNK_BYTES", readers.CHUNK_BYTES)
    return {"outcome": outcome, "rows": rows, "rejects": rejects, "manifest": manifest}


def _chunks(csv: Path, chunk_bytes: int) -> int:
    stream = readers.read_csv_stream(csv, chunk_bytes)
    return sum(1 for _ in stream.chunks())


@pytest.mark.parametrize("chunk_bytes", [4096, 50_000])
def test_a_file_streamed_in_chunks_lands_as_when_read_whole(tmp_path, monkeypatch, chunk_bytes):
    csv = _faulty_file(tmp_path / "force.csv")
    assert _chunks(csv, chunk_bytes) > 5
    whole = _land(tmp_path, csv, None, monkeypatch)
    streamed = _land(tmp_path, csv, chunk_bytes, monkeypatch)
    assert whole["outcome"].status == "loaded", whole["outcome"].detail
    assert streamed == whole
    # and what it found is what the faults are: lines counted with the blank one and the quoted line breaks
    assert [r[:2] for r in whole["rejects"]] == [(304, "(whole line)"), (305, "Month"), (306, "(whole line)"), (1205, "(whole line)")]
    encoding, read, accepted, rejected, repeated, warnings = whole["manifest"][0]
    assert (encoding, read, accepted, rejected) == ("utf-8-sig", 1200, 1196, 4)
    assert repeated > 700 and "1 blank line(s) skipped" in warnings  # the fixture's 400 lines three times over
    assert {r[-3] for r in whole["rows"] if r[6].startswith("On or near\n")} == {7, 703}  # _line of the two multi-line records


def test_a_stray_quote_in_a_late_chunk_reads_the_file_whole(tmp_path, monkeypatch):
    csv = _faulty_file(tmp_path / "force.csv", stray_quote=True)
    with pytest.raises(readers.NotStreamable):
        _chunks(csv, 4096)
    whole = _land(tmp_path, csv, None, monkeypatch)
    assert _land(tmp_path, csv, 4096, monkeypatch) == whole
    assert whole["outcome"].status == "loaded", whole["outcome"].detail


@pytest.mark.parametrize("stray_quote", [False, True])
def test_a_runs_plan_reads_a_large_files_months_in_chunks(tmp_path, monkeypatch, stray_quote):
    """Before a run, a new file is read for its months alone: a large one in chunks, as landing reads it (or whole
    when a chunk cannot be cut), so a force-year file is never held in memory for its period column."""
    csv = _faulty_file(tmp_path / f"force-{stray_quote}.csv", stray_quote=stray_quote)
    text = csv.read_bytes()
    cut = text.index(b"\r\n", len(text) // 2)  # the second half of the records a month later
    csv.write_bytes(text[:cut] + text[cut:].replace(b"2023-01,", b"2023-02,"))
    monkeypatch.setattr(readers, "CHUNK_BYTES", 4096)
    months = file_months(csv, SOURCE, SourceSettings(max_reject_share=0.5))
    landed = _land(tmp_path, csv, 4096, monkeypatch)
    assert months == {date(2023, 1, 1), date(2023, 2, 1)}
    assert months == {row[1].replace(day=1) for row in landed["rows"]}
