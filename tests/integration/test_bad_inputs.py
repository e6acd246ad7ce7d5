"""The bad-input corpus: every way a dropped file can be wrong, each with its documented outcome.

docs/bad-inputs.md lists the same cases, with the message an analyst sees. Every case checks two things:
(a) the outcome: loaded / refused / already loaded, with a message naming the file, the line and column and
    what was expected, or rejects carrying line, column, value and reason;
(b) the warehouse: compared table by table (row counts and every row's content) with its state before, it
    differs only by what was accepted. A refused file changes no data table, manifest or rejects: only
    `raw._refusals` records it.

Files are built in temporary workspaces from the first 50 lines of a real police.uk file (bytes as
published, CRLF) or from small partner extracts written here.
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import signal
import stat
from collections import Counter
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from pipeline.ingest.assets import land
from pipeline.ingest.landing import FileOutcome
from pipeline.paths import REFERENCE_DIR
from pipeline.sources import SOURCES
from pipeline.workspace import STARTER_CONFIG, Workspace
from tests.helpers import POLICE_UK_FILES, make_workspace, table_counts

TODAY = date(2024, 1, 15)  # landing's "today": a month after it is in the future
KEY = "3c" * 32  # a 64-hex-character pseudonymisation key
BASELINE_FILE, POLICE_FILE = POLICE_UK_FILES[:2]  # July 2016 and July 2017, Calderdale (tests/fixtures)

CRIMES_HEADER = (
    "crime_ref,recorded_date,committed_date,committed_time,offence_code,lsoa_code,domestic_abuse,hate_strand,"
    "knife,firearm,alcohol,night_time_economy,victim_id,offender_id,victim_age_band,victim_sex,outcome"
)
PREVENT_HEADER = "quarter_start,concern_type,referrals,channel_discussed,channel_adopted"
ISTV_HEADER = (
    "site_code,period_start,period_end,arrival_datetime,assault_datetime,assault_method,method_other,"
    "location_type,location_description,outward_postcode"
)
SURVEY_HEADINGS = [
    "respondent_id", "response_date", "ward_code", "age_band", "sex", "safe_day", "safe_after_dark", "priority_asb",
    "priority_violence", "priority_drugs", "priority_burglary", "priority_vehicle_crime", "priority_domestic_abuse",
    "priority_road_safety", "concern",
]

SOURCES_YAML = """\
sources:
  police_street:
    max_reject_share: 0.05
{police_extra}  police_crimes:
    max_reject_share: 0.2
{crimes_extra}  prevent:
    max_reject_share: 0.5
  health_istv:
    max_reject_share: 0.2
{istv_extra}  survey:
    sheet: Responses
"""


def config_text(police_extra: str = "", crimes_extra: str = "", istv_extra: str = "") -> str:
    head = STARTER_CONFIG.format(name="bad-inputs").split("\nsources:\n")[0]
    return head + "\n" + SOURCES_YAML.format(police_extra=police_extra, crimes_extra=crimes_extra, istv_extra=istv_extra)


def aliases(mapping: dict[str, str]) -> str:
    return "    aliases:\n" + "".join(f'      "{k}": {v}\n' for k, v in mapping.items())


# ---------------------------------------------------------------------------------------------------------
# Small files


def crlf(lines: list[bytes]) -> bytes:
    return b"".join(line + b"\r\n" for line in lines)


def crimes_rows(n: int = 20, *, start: int = 0, month: str = "2023-11") -> list[str]:
    return [
        f"WY-2023-{start + i:06d},{month}-{1 + i % 28:02d},{month}-{1 + i % 28:02d},23:40,8N,E01010955,N,,N,N,Y,Y,"
        f"V-{88000 + start + i},O-{10000 + start + i},18-24,M,Under investigation"
        for i in range(n)
    ]


def crimes_file(rows: list[str], header: str = CRIMES_HEADER) -> bytes:
    return ("\r\n".join([header, *rows]) + "\r\n").encode()


def prevent_file(rows: list[str]) -> bytes:
    return ("\n".join([PREVENT_HEADER, *rows]) + "\n").encode()


def istv_rows(n: int = 10, postcode: str = "HX1", description: str = "Commercial Street", month: str = "2023-11") -> list[str]:
    return [
        f"RWY01,{month}-01,{month}-28,{month}-{1 + i:02d} 01:22,{month}-{1 + i:02d} 00:50,body part,,street,"
        f"{description},{postcode}"
        for i in range(n)
    ]


def survey_book(path: Path, sheet: str, rows: int = 10, month: int = 9) -> Path:
    from openpyxl import Workbook

    book = Workbook()
    ws = book.active
    ws.title = sheet
    ws.append(SURVEY_HEADINGS)
    for i in range(rows):
        ws.append([f"R-{i:04d}", date(2023, month, 1 + i), "E05001385", "35-44", "F", 5, 2, 4, 4, 5, 3, 2, 4, 3, "Drug dealing"])
    book.save(path)
    return path


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ---------------------------------------------------------------------------------------------------------
# A workspace, and what changed in it


class Lab:
    def __init__(self, root: Path):
        self.ws = make_workspace(root, config_text()) if not (root / "partnership.yaml").exists() else Workspace.at(root)

    def configure(self, **extra: str) -> None:
        self.ws.config_path.write_text(config_text(**extra), encoding="utf-8")

    def folder(self, source: str) -> Path:
        folder = self.ws.raw / source
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def drop(self, source: str, name: str, data: bytes) -> Path:
        path = self.folder(source) / name
        path.write_bytes(data)
        return path

    def land(self, source: str) -> list[FileOutcome]:
        return land(self.ws, SOURCES[source], today=TODAY).files

    def land_one(self, source: str, name: str) -> FileOutcome:
        outcomes = [o for o in self.land(source) if o.file_name.endswith(name)]
        assert len(outcomes) == 1, outcomes
        return outcomes[0]

    def rows(self, sql: str, params: list | None = None) -> list[tuple]:
        with self.ws.connect(read_only=True) as con:
            return con.execute(sql, params or []).fetchall()

    def snapshot(self) -> "State":
        contents: dict[str, Counter] = {}
        with self.ws.connect(read_only=True) as con:
            tables = con.execute("SELECT schema_name, table_name FROM duckdb_tables() ORDER BY ALL").fetchall()
            for schema, table in tables:
                rows = con.execute(f'SELECT * FROM "{schema}"."{table}"').fetchall()
                contents[f"{schema}.{table}"] = Counter(repr(r) for r in rows)
        return State(table_counts(self.ws), contents)

    def strings_containing(self, *needles: str) -> list[str]:
        """Every table.column (VARCHAR or VARCHAR[]) holding any of `needles` anywhere, in any row (ignoring case)."""
        found = set()
        wanted = [n.lower() for n in needles]
        for place, text in self.all_strings():
            if any(n in text for n in wanted):
                found.add(place)
        return sorted(found)

    def all_strings(self) -> list[tuple[str, str]]:
        """(table.column, value lower-cased) for every VARCHAR and VARCHAR[] value in the warehouse."""
        out = []
        with self.ws.connect(read_only=True) as con:
            columns = con.execute(
                "SELECT schema_name, table_name, column_name FROM duckdb_columns() "
                "WHERE data_type IN ('VARCHAR', 'VARCHAR[]') ORDER BY ALL"
            ).fetchall()
            assert columns
            for schema, table, column in columns:
                rows = con.execute(f'SELECT DISTINCT lower(CAST("{column}" AS VARCHAR)) FROM "{schema}"."{table}"').fetchall()
                out.extend((f"{schema}.{table}.{column}", r[0]) for r in rows if r[0] is not None)
        return out


class State:
    def __init__(self, counts: dict[str, int], contents: dict[str, Counter]):
        self.counts, self.contents = counts, contents

    def changes(self, after: "State") -> dict[str, tuple[Counter, Counter]]:
        """table -> (rows added, rows removed)."""
        out = {}
        for table in set(self.contents) | set(after.contents):
            old, new = self.contents.get(table, Counter()), after.contents.get(table, Counter())
            if old != new:
                out[table] = (new - old, old - new)
        return out


@pytest.fixture(autouse=True)
def _key(monkeypatch):
    monkeypatch.setenv("CSP_PSEUDONYM_KEY", KEY)


@pytest.fixture(scope="module")
def police_lines() -> list[bytes]:
    """Header and 49 data lines of a real police.uk file, without their CRLF line ends."""
    raw = POLICE_FILE.read_bytes()
    lines = raw.split(b"\r\n")[:50]
    assert len(lines) == 50 and b'"' not in b"".join(lines)  # no quoting: fields can be edited by splitting
    return lines


@pytest.fixture(scope="module")
def baseline_bytes() -> bytes:
    raw = BASELINE_FILE.read_bytes()
    return crlf(raw.split(b"\r\n")[:31])  # another month: 30 rows already in the warehouse before each case


@pytest.fixture(scope="module")
def template(tmp_path_factory, baseline_bytes: bytes) -> Path:
    """A workspace where something is already loaded for every source the cases use (copied for each case)."""
    root = tmp_path_factory.mktemp("template") / "ws"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CSP_PSEUDONYM_KEY", KEY)
        _baseline(Lab(root), baseline_bytes)
    return root


@pytest.fixture
def lab(tmp_path: Path, template: Path) -> Lab:
    shutil.copytree(template, tmp_path / "ws", symlinks=True)
    return Lab(tmp_path / "ws")


def _baseline(lab: Lab, baseline_bytes: bytes) -> Lab:
    lab.drop("police_street", "baseline.csv", baseline_bytes)
    lab.drop("police_crimes", "baseline.csv", crimes_file(crimes_rows(5, start=900, month="2023-10")))
    lab.drop("prevent", "baseline.csv", prevent_file(["2023-04,islamist,2,1,0", "2023-04,other,1,0,0"]))
    lab.drop("health_istv", "baseline.csv", ("\n".join([ISTV_HEADER, *istv_rows(3, month="2023-10")]) + "\n").encode())
    survey_book(lab.folder("survey") / "baseline.xlsx", "Responses", rows=3, month=8)
    for source in ("police_street", "police_crimes", "prevent", "health_istv", "survey"):
        assert [o.status for o in lab.land(source)] == ["loaded"], source
    return lab


def edit(lines: list[bytes], index: int, field: int, value: bytes) -> list[bytes]:
    """A copy of `lines` with one field of line `index` (0 = header) replaced."""
    out = list(lines)
    fields = out[index].split(b",")
    fields[field] = value
    out[index] = b",".join(fields)
    return out


# ---------------------------------------------------------------------------------------------------------
# What every case asserts about the warehouse


def assert_refused(lab: Lab, before: State, outcome: FileOutcome, name: str, *expected: str) -> str:
    """Refused, the message saying what was expected; nothing but raw._refusals changed, and it names the file."""
    assert outcome.status == "refused", (outcome.status, outcome.detail)
    assert outcome.file_name.endswith(name)
    for fragment in expected:
        assert fragment in outcome.detail, (fragment, outcome.detail)
    after = lab.snapshot()
    changes = before.changes(after)
    assert set(changes) == {"raw._refusals"}, set(changes)
    assert {k: v for k, v in after.counts.items() if k != "raw._refusals"} == {
        k: v for k, v in before.counts.items() if k != "raw._refusals"
    }
    assert after.counts["raw._refusals"] == before.counts["raw._refusals"] + 1
    recorded = lab.rows("SELECT file_name, reason FROM raw._refusals WHERE file_name = ?", [outcome.file_name])
    assert recorded == [(outcome.file_name, outcome.detail)]
    return outcome.detail


def assert_loaded(
    lab: Lab, before: State, outcome: FileOutcome, data: bytes, source: str = "police_street", *, accepted: int,
    rejects: list[tuple] | None = None, read: int | None = None,
) -> State:
    """Loaded: the data table gained exactly the accepted rows (all of the new file), the manifest one entry,
    the rejects exactly `rejects` (line, column, value-or-None, reason fragment); nothing else changed."""
    rejects = rejects or []
    assert outcome.status == "loaded", (outcome.status, outcome.detail)
    assert outcome.rows_accepted == accepted
    if read is not None:
        assert outcome.rows_read == read
    file_id = sha(data)
    after = lab.snapshot()
    changes = before.changes(after)
    table = SOURCES[source].table
    expected_tables = {table, "raw._manifest"} | ({"raw._rejects"} if rejects else set())
    assert set(changes) == expected_tables, set(changes)
    for added, removed in changes.values():
        assert not removed  # nothing already loaded is lost or overwritten
    assert after.counts[table] == before.counts[table] + accepted
    assert after.counts["raw._manifest"] == before.counts["raw._manifest"] + 1
    assert after.counts["raw._rejects"] == before.counts["raw._rejects"] + len(rejects)
    assert after.counts["raw._refusals"] == before.counts["raw._refusals"]
    assert lab.rows(f"SELECT count(*) FROM {table} WHERE _file_id = ?", [file_id]) == [(accepted,)]
    assert lab.rows(
        "SELECT rows_read - rows_accepted, rows_rejected FROM raw._manifest WHERE file_id = ?", [file_id]
    ) == [(outcome.rows_rejected, outcome.rows_rejected)]
    landed = lab.rows(
        'SELECT line, "column", value, reason FROM raw._rejects WHERE file_id = ? ORDER BY line, "column"', [file_id]
    )
    assert len(landed) == len(rejects), landed
    for (line, column, value, reason), (want_line, want_column, want_value, want_reason) in zip(
        landed, sorted(rejects, key=lambda r: (r[0], r[1]))
    ):
        assert (line, column) == (want_line, want_column), landed
        if want_value is not ...:
            assert value == want_value, landed
        assert want_reason in reason, (want_reason, reason)
    return after


# ---------------------------------------------------------------------------------------------------------
# Headings


def test_wrong_header_is_refused_naming_the_missing_columns(lab: Lab, police_lines):
    data = crlf([b"case_id,date,category,lsoa_code,ward", b"C-1,2017-07-03,noise,E01010911,Ovenden"])
    lab.drop("police_street", "council-asb-in-wrong-folder.csv", data)
    before = lab.snapshot()
    outcome = lab.land_one("police_street", "council-asb-in-wrong-folder.csv")
    assert_refused(
        lab, before, outcome, "council-asb-in-wrong-folder.csv",
        "line 1: missing required column(s) 'Crime ID', 'Month', 'Reported by'",
        "the headings found were 'case_id', 'date', 'category', 'lsoa_code', 'ward'",
    )


def test_renamed_column_is_refused_then_accepted_once_mapped(lab: Lab, police_lines):
    data = crlf(edit(police_lines, 0, 7, b"LSOA Code"))
    lab.drop("police_street", "renamed.csv", data)
    start = lab.snapshot()
    outcome = lab.land_one("police_street", "renamed.csv")
    assert_refused(
        lab, start, outcome, "renamed.csv",
        "missing required column(s) 'LSOA code' (found 'LSOA Code': headings must be exactly as published)",
        "sources.police_street.aliases",
    )
    lab.configure(police_extra=aliases({"LSOA Code": "lsoa_code"}))
    outcome = lab.land_one("police_street", "renamed.csv")
    # measured from before the refusal: the refusal is answered (removed) and the rows are loaded
    assert_loaded(lab, start, outcome, data, accepted=49)
    assert lab.rows("SELECT count(*) FROM raw.police_street WHERE _file_id = ? AND lsoa_code IS NULL", [sha(data)]) == [(0,)]


def test_misspelt_published_heading_is_not_mistaken_for_a_person_detail(lab: Lab, police_lines):
    data = crlf(edit(police_lines, 0, 8, b"LSOA Name"))  # a "name" heading, but the LSOA's, misspelt
    lab.drop("police_street", "lsoa-name.csv", data)
    before = lab.snapshot()
    detail = assert_refused(lab, before, lab.land_one("police_street", "lsoa-name.csv"), "lsoa-name.csv",
                            "'LSOA name' (found 'LSOA Name': headings must be exactly as published)")
    assert "person" not in detail


def test_missing_required_column_is_refused(lab: Lab, police_lines):
    data = crlf([b",".join(line.split(b",")[:9] + line.split(b",")[10:]) for line in police_lines])  # no Crime type
    lab.drop("police_street", "no-crime-type.csv", data)
    before = lab.snapshot()
    assert_refused(lab, before, lab.land_one("police_street", "no-crime-type.csv"), "no-crime-type.csv",
                   "line 1: missing required column(s) 'Crime type'")


@pytest.mark.parametrize(
    "heading, value",
    [("Victim Name", "Jane Smith"), ("Date of Birth", "1990-02-03"), ("Home Address", "1 High Street"), ("Postcode", "HX1 2AB")],
)
def test_person_detail_column_is_refused(lab: Lab, heading: str, value: str):
    rows = [row + f",{value}" for row in crimes_rows(20)]
    data = crimes_file(rows, CRIMES_HEADER + f",{heading}")
    lab.drop("police_crimes", "with-person-details.csv", data)
    before = lab.snapshot()
    detail = assert_refused(
        lab, before, lab.land_one("police_crimes", "with-person-details.csv"), "with-person-details.csv",
        f"line 1, column 18 {heading!r}: looks like a person's details", "must never enter the warehouse",
        "sources.police_crimes.aliases", "'ignore'",
    )
    assert value not in detail
    assert lab.strings_containing(value) == []


@pytest.mark.parametrize("delimiter, described", [
    (b";", "11 semicolons, so the values are separated by semicolons (;)"),
    (b"\t", "11 tabs, so the values are separated by tabs"),
    (b"|", "11 vertical bars, so the values are separated by vertical bars (|)"),
], ids=["semicolon", "tab", "bar"])
def test_wrong_delimiter_is_refused_as_such_not_as_personal_data(lab: Lab, police_lines, delimiter, described):
    # the one heading "Crime ID;Month;…;LSOA name;…" holds "name": it must not be taken for a person's details
    lab.drop("police_street", "semicolons.csv", crlf([line.replace(b",", delimiter) for line in police_lines]))
    before = lab.snapshot()
    detail = assert_refused(lab, before, lab.land_one("police_street", "semicolons.csv"), "semicolons.csv")
    assert detail == (
        f"line 1: wrong delimiter: the header is one field holding {described}; expected commas "
        "(export or save the file as comma-separated CSV)"
    )


def test_person_detail_column_in_a_public_standard_is_refused(lab: Lab, police_lines):
    lines = [police_lines[0] + b",Victim Name"] + [line + b",Jane Smith" for line in police_lines[1:]]
    lab.drop("police_street", "named.csv", crlf(lines))
    before = lab.snapshot()
    assert_refused(lab, before, lab.land_one("police_street", "named.csv"), "named.csv",
                   "column 13 'Victim Name': looks like a person's details")
    assert lab.strings_containing("Jane Smith") == []


def test_person_detail_column_mapped_to_ignore_is_dropped_at_the_door(lab: Lab):
    rows = [row + ",Jane Smith" for row in crimes_rows(20)]
    data = crimes_file(rows, CRIMES_HEADER + ",Victim Name")
    lab.configure(crimes_extra=aliases({"Victim Name": "ignore"}))
    lab.drop("police_crimes", "named-ignored.csv", data)
    before = lab.snapshot()
    outcome = lab.land_one("police_crimes", "named-ignored.csv")
    assert_loaded(lab, before, outcome, data, "police_crimes", accepted=20)
    assert lab.strings_containing("Jane Smith", "Smith") == []


def test_person_detail_mapped_to_a_clear_column_is_refused(lab: Lab):
    rows = [row + ",1990-02-03" for row in crimes_rows(20)]
    data = crimes_file([r.replace("2023-11-", "2023-12-", 1) for r in rows], CRIMES_HEADER.replace("committed_date", "Offence Date") + ",Date of Birth")
    lab.configure(crimes_extra=aliases({"Offence Date": "ignore", "Date of Birth": "committed_date"}))
    lab.drop("police_crimes", "dob-as-date.csv", data)
    before = lab.snapshot()
    assert_refused(lab, before, lab.land_one("police_crimes", "dob-as-date.csv"), "dob-as-date.csv",
                   "'Date of Birth': looks like a person's details", "maps it to 'committed_date', which would keep it in clear",
                   "'ignore' or to a column that is pseudonymised or cut at the door")


# ---------------------------------------------------------------------------------------------------------
# Whole-file faults


def test_empty_file_is_refused(lab: Lab):
    lab.drop("police_street", "empty.csv", b"")
    before = lab.snapshot()
    assert_refused(lab, before, lab.land_one("police_street", "empty.csv"), "empty.csv",
                   "is empty (0 bytes); expected a header row and data rows")


def test_header_only_is_refused(lab: Lab, police_lines):
    lab.drop("police_street", "header-only.csv", crlf(police_lines[:1]))
    before = lab.snapshot()
    assert_refused(lab, before, lab.land_one("police_street", "header-only.csv"), "header-only.csv",
                   "has a header but no data rows; expected data rows after the headings on line 1")


def test_binary_garbage_is_refused(lab: Lab):
    garbage = random.Random(7).randbytes(4096)
    lab.drop("police_street", "garbage.csv", garbage)
    before = lab.snapshot()
    assert_refused(lab, before, lab.land_one("police_street", "garbage.csv"), "garbage.csv",
                   "is a binary file; expected a CSV text file")


def test_binary_garbage_without_nul_bytes_is_refused(lab: Lab):
    garbage = bytes(b for b in random.Random(8).randbytes(8192) if b)  # no NUL: caught as control characters
    lab.drop("police_street", "garbage2.csv", garbage)
    before = lab.snapshot()
    assert_refused(lab, before, lab.land_one("police_street", "garbage2.csv"), "garbage2.csv",
                   "control characters", "so it is a binary file; expected a CSV text file")


def test_workbook_saved_under_a_csv_name_is_refused(lab: Lab, tmp_path: Path):
    book = survey_book(tmp_path / "book.xlsx", "Sheet1")
    lab.drop("police_street", "book.csv", book.read_bytes())
    before = lab.snapshot()
    assert_refused(lab, before, lab.land_one("police_street", "book.csv"), "book.csv",
                   "is a ZIP archive or an Excel .xlsx workbook, not CSV text")


def test_text_neither_utf8_nor_windows_1252_is_refused_naming_the_line(lab: Lab, police_lines):
    lines = edit(police_lines, 3, 6, b"On or near \x81\x8d Street")  # bytes undefined in Windows-1252
    lab.drop("police_street", "bad-bytes.csv", crlf(lines))
    before = lab.snapshot()
    assert_refused(lab, before, lab.land_one("police_street", "bad-bytes.csv"), "bad-bytes.csv",
                   "line 4: byte 0x81 is neither UTF-8 nor Windows-1252 text")


def test_folder_where_a_file_was_expected_is_refused(lab: Lab):
    (lab.folder("police_street") / "2017-07").mkdir()
    before = lab.snapshot()
    assert_refused(lab, before, lab.land_one("police_street", "2017-07"), "2017-07",
                   "is a folder, not a file; expected the extract files themselves")


def test_wrong_suffix_is_refused(lab: Lab, police_lines):
    lab.drop("police_street", "extract.txt", crlf(police_lines))
    before = lab.snapshot()
    assert_refused(lab, before, lab.land_one("police_street", "extract.txt"), "extract.txt",
                   "has suffix '.txt'; police_street reads .csv files")


@contextmanager
def deadline(seconds: int):
    """Fail, rather than hang for ever, if landing blocks (as opening a FIFO for reading does)."""

    def _expired(signum, frame):
        raise TimeoutError(f"landing blocked for {seconds} s")

    previous = signal.signal(signal.SIGALRM, _expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def test_unreadable_file_is_refused(lab: Lab, police_lines):
    path = lab.drop("police_street", "locked.csv", crlf(police_lines))
    path.chmod(0)
    try:
        if os.access(path, os.R_OK):
            # running as root: permissions do not stop reading, so make the entry unreadable another way, a link
            # that leads round in a circle (a dangling link and a FIFO are tested beside this one)
            path.chmod(0o644)
            path.unlink()
            partner = lab.ws.root / "loop.csv"  # outside the drop folder
            path.symlink_to(partner)
            partner.symlink_to(path)
            expected = "cannot be read (Too many levels of symbolic links); expected a file the pipeline can read"
        else:
            expected = "cannot be read (Permission denied); expected a file the pipeline's user can read"
        before = lab.snapshot()
        assert_refused(lab, before, lab.land_one("police_street", "locked.csv"), "locked.csv", expected)
    finally:
        if path.is_file() and not path.is_symlink():
            path.chmod(0o644)


def test_dangling_link_is_refused(lab: Lab):
    link = lab.folder("police_street") / "shortcut.csv"
    link.symlink_to(lab.ws.root / "nowhere" / "extract.csv")
    before = lab.snapshot()
    assert_refused(lab, before, lab.land_one("police_street", "shortcut.csv"), "shortcut.csv",
                   "is a link to", "which does not exist; expected the extract file itself")


def test_named_pipe_is_refused_without_blocking(lab: Lab):
    os.mkfifo(lab.folder("police_street") / "pipe.csv")
    before = lab.snapshot()
    with deadline(20):
        outcome = lab.land_one("police_street", "pipe.csv")
    assert_refused(lab, before, outcome, "pipe.csv", "is a named pipe (FIFO), not a regular file")


def test_reject_share_above_the_limit_refuses_the_whole_file(lab: Lab, police_lines):
    lines = list(police_lines)
    for index in range(1, 11):
        lines = edit(lines, index, 9, b"Burglery")
    lab.drop("police_street", "mostly-wrong.csv", crlf(lines))
    before = lab.snapshot()
    assert_refused(
        lab, before, lab.land_one("police_street", "mostly-wrong.csv"), "mostly-wrong.csv",
        "10 of 49 rows (20%) were rejected, more than the limit of 5% (sources.police_street.max_reject_share)",
        "for example line 2 column 'Crime type' value 'Burglery': not one of the 16 values allowed for crime_type",
    )


def test_long_refusals_are_cut_keeping_where_and_what(lab: Lab, police_lines):
    wide = [b",".join(b"F%d" % i for i in range(120)), b",".join(b"%d" % i for i in range(120))]
    lab.drop("police_street", "wide.csv", crlf(wide))
    before = lab.snapshot()
    detail = assert_refused(lab, before, lab.land_one("police_street", "wide.csv"), "wide.csv")
    assert detail == (
        "line 1: missing required column(s) 'Crime ID', 'Month', 'Reported by', 'Falls within', 'Longitude', "
        "'Latitude' … (6 more); the headings found were 'F0', 'F1', 'F2', 'F3', 'F4', 'F5' … (114 more). "
        "If a partner names a column differently, map it in partnership.yaml under sources.police_street.aliases"
    )
    lines = list(police_lines)
    for index in range(1, 11):  # ten long, unknown crime types: too many rejects, each quoted cut short
        lines = edit(lines, index, 9, b"Burglary of a dwelling " * 20)
    lab.drop("police_street", "long-values.csv", crlf(lines))
    before = lab.snapshot()
    detail = assert_refused(lab, before, lab.land_one("police_street", "long-values.csv"), "long-values.csv")
    assert "for example line 2 column 'Crime type' value 'Burglary of a dwelling Burglary of a dwe…': not one of" in detail
    assert len(detail) < 700 and "Burglary of a dwelling " * 3 not in detail


def test_unclosed_quote_is_refused_naming_its_line(lab: Lab, police_lines):
    lines = edit(police_lines, 7, 6, b'"On or near Green Lane')  # opens a quoted value that never closes
    lab.drop("police_street", "open-quote.csv", crlf(lines))
    before = lab.snapshot()
    assert_refused(lab, before, lab.land_one("police_street", "open-quote.csv"), "open-quote.csv",
                   "line 8: a quoted value opens here and is never closed; expected a closing double quote")


def test_xlsx_with_the_wrong_sheet_is_refused_naming_the_sheets(lab: Lab, tmp_path: Path):
    book = survey_book(lab.folder("survey") / "survey-2023.xlsx", "Sheet1")
    before = lab.snapshot()
    assert_refused(lab, before, lab.land_one("survey", "survey-2023.xlsx"), "survey-2023.xlsx",
                   "has no sheet 'Responses'; its sheets are 'Sheet1'", "set this source's `sheet` in partnership.yaml")
    book.unlink()
    right = survey_book(lab.folder("survey") / "survey-2023-fixed.xlsx", "Responses")
    before = lab.snapshot()
    outcome = lab.land_one("survey", "survey-2023-fixed.xlsx")
    assert_loaded(lab, before, outcome, right.read_bytes(), "survey", accepted=10)


# ---------------------------------------------------------------------------------------------------------
# Encodings and line structure: loaded as if clean


def test_utf8_bom_is_read(lab: Lab, police_lines):
    data = b"\xef\xbb\xbf" + crlf(police_lines)
    lab.drop("police_street", "bom.csv", data)
    before = lab.snapshot()
    assert_loaded(lab, before, lab.land_one("police_street", "bom.csv"), data, accepted=49)
    assert lab.rows("SELECT encoding FROM raw._manifest WHERE file_id = ?", [sha(data)]) == [("utf-8-sig",)]
    ids = lab.rows("SELECT count(crime_id) FROM raw.police_street WHERE _file_id = ?", [sha(data)])[0][0]
    assert ids == sum(1 for line in police_lines[1:] if not line.startswith(b","))  # Crime ID read despite the BOM


def test_windows_1252_with_pound_and_e_acute_is_read(lab: Lab, police_lines):
    location = "On or near Café £1 Shop"
    data = crlf(edit(police_lines, 2, 6, location.encode("cp1252")))
    lab.drop("police_street", "cp1252.csv", data)
    before = lab.snapshot()
    assert_loaded(lab, before, lab.land_one("police_street", "cp1252.csv"), data, accepted=49)
    assert lab.rows("SELECT encoding FROM raw._manifest WHERE file_id = ?", [sha(data)]) == [("windows-1252",)]
    assert lab.rows("SELECT location, _line FROM raw.police_street WHERE location LIKE '%Caf%'") == [(location, 3)]


def test_crlf_line_ends_leave_no_carriage_returns(lab: Lab, police_lines):
    data = crlf(police_lines)
    assert data.count(b"\r\n") == 50
    lab.drop("police_street", "crlf.csv", data)
    before = lab.snapshot()
    assert_loaded(lab, before, lab.land_one("police_street", "crlf.csv"), data, accepted=49)
    assert lab.strings_containing("\r") == []
    assert lab.rows("SELECT count(*) FROM raw.police_street WHERE _file_id = ? AND context IS NOT NULL", [sha(data)]) == [(0,)]
    assert sorted(r[0] for r in lab.rows("SELECT _line FROM raw.police_street WHERE _file_id = ?", [sha(data)])) == list(range(2, 51))


def test_quoted_newline_keeps_reject_lines_right(lab: Lab, police_lines):
    lines = edit(police_lines, 3, 6, b'"On or near\r\nGreen Lane"')  # record 3 spans physical lines 4 and 5
    lines = edit(lines, 10, 9, b"Burglery")  # record 10: physical line 12
    data = crlf(lines)
    assert data.split(b"\r\n").index(next(p for p in data.split(b"\r\n") if b"Burglery" in p)) + 1 == 12
    lab.drop("police_street", "quoted-newline.csv", data)
    before = lab.snapshot()
    assert_loaded(lab, before, lab.land_one("police_street", "quoted-newline.csv"), data, accepted=48,
                  rejects=[(12, "Crime type", "Burglery", "not one of the 16 values allowed for crime_type")])
    got = sorted(r[0] for r in lab.rows("SELECT _line FROM raw.police_street WHERE _file_id = ?", [sha(data)]))
    assert got == [2, 3, 4] + [n for n in range(6, 52) if n != 12]
    assert lab.rows("SELECT location FROM raw.police_street WHERE _file_id = ? AND _line = 4", [sha(data)]) == [("On or near\r\nGreen Lane",)]


def test_blank_lines_are_skipped_and_lines_still_counted(lab: Lab, police_lines):
    lines = list(police_lines)
    lines.insert(5, b"")  # physical line 6 is blank
    lines = edit(lines, 20, 1, b"2017-13")  # physical line 21
    data = crlf(lines) + b"\r\n"
    lab.drop("police_street", "blank-lines.csv", data)
    before = lab.snapshot()
    outcome = lab.land_one("police_street", "blank-lines.csv")
    assert_loaded(lab, before, outcome, data, accepted=48, read=49,
                  rejects=[(21, "Month", "2017-13", "not a month written YYYY-MM")])
    assert "2 blank line(s) skipped" in outcome.detail


def test_truncated_last_line_is_rejected(lab: Lab, police_lines):
    data = crlf(police_lines[:-1]) + police_lines[-1][:40]  # cut part-way through line 50, no line end
    lab.drop("police_street", "truncated.csv", data)
    before = lab.snapshot()
    assert_loaded(lab, before, lab.land_one("police_street", "truncated.csv"), data, accepted=48, read=49,
                  rejects=[(50, "(whole line)", None, "the file ends part-way through this line (truncated)")])


def test_line_with_too_many_fields_is_rejected(lab: Lab, police_lines):
    lines = list(police_lines)
    lines[9] = lines[9].replace(b"On or near ", b"On or near Mill, ", 1)  # an unquoted comma in Location
    data = crlf(lines)
    lab.drop("police_street", "extra-comma.csv", data)
    before = lab.snapshot()
    assert_loaded(lab, before, lab.land_one("police_street", "extra-comma.csv"), data, accepted=48,
                  rejects=[(10, "(whole line)", None, "has 13 fields but the header (line 1) has 12")])


def test_exact_duplicate_rows_are_kept_both_lines(lab: Lab, police_lines):
    crime = next(line for line in police_lines[1:] if not line.startswith(b","))
    data = crlf(police_lines + [crime])
    crime_id = crime.split(b",")[0].decode()
    lab.drop("police_street", "duplicates.csv", data)
    before = lab.snapshot()
    outcome = lab.land_one("police_street", "duplicates.csv")
    assert_loaded(lab, before, outcome, data, accepted=50)
    lines = lab.rows("SELECT _line FROM raw.police_street WHERE crime_id = ? ORDER BY _line", [crime_id])
    assert lines == [(police_lines.index(crime) + 1,), (51,)]
    # counted and reported: every data line equal to an earlier one (police.uk ASB rows repeat too)
    data_lines = police_lines[1:] + [crime]
    repeats = [(n, data_lines.index(line) + 2) for n, line in enumerate(data_lines, start=2) if data_lines.index(line) + 2 != n]
    assert (51, police_lines.index(crime) + 1) in repeats
    assert outcome.rows_repeated == len(repeats)
    assert lab.rows("SELECT rows_repeated FROM raw._manifest WHERE file_name LIKE '%duplicates.csv'") == [(len(repeats),)]
    assert (
        f"{len(repeats)} row(s) repeat an earlier row of this file exactly (e.g. line {repeats[0][0]} repeats line "
        f"{repeats[0][1]}); kept, as two equal rows may be two events (see docs/bad-inputs.md)"
    ) in outcome.detail


def test_one_megabyte_field_is_rejected_and_shown_cut_short(lab: Lab, police_lines):
    data = crlf(edit(police_lines, 5, 6, b"x" * 1_000_000))
    lab.drop("police_street", "huge-field.csv", data)
    before = lab.snapshot()
    assert_loaded(lab, before, lab.land_one("police_street", "huge-field.csv"), data, accepted=48,
                  rejects=[(6, "Location", "x" * 200, "longer than 4,000 characters; expected at most 4,000")])


# ---------------------------------------------------------------------------------------------------------
# Values


def test_future_month_is_rejected(lab: Lab, police_lines):
    data = crlf(edit(police_lines, 4, 1, b"2024-02"))  # after TODAY's month
    lab.drop("police_street", "future.csv", data)
    before = lab.snapshot()
    assert_loaded(lab, before, lab.land_one("police_street", "future.csv"), data, accepted=48,
                  rejects=[(5, "Month", "2024-02", "in the future (after 2024-01-01); expected 2024-01 or earlier")])


def test_malformed_months_are_rejected(lab: Lab, police_lines):
    lines = edit(edit(police_lines, 4, 1, b"2017-13"), 9, 1, b"July 2017")
    data = crlf(lines)
    lab.drop("police_street", "bad-months.csv", data)
    before = lab.snapshot()
    assert_loaded(lab, before, lab.land_one("police_street", "bad-months.csv"), data, accepted=47, rejects=[
        (5, "Month", "2017-13", "not a month written YYYY-MM"),
        (10, "Month", "July 2017", "not a month written YYYY-MM"),
    ])


def test_unknown_lsoa_is_rejected(lab: Lab, police_lines):
    data = crlf(edit(police_lines, 6, 7, b"E01999999"))
    lab.drop("police_street", "unknown-lsoa.csv", data)
    before = lab.snapshot()
    assert_loaded(lab, before, lab.land_one("police_street", "unknown-lsoa.csv"), data, accepted=48, rejects=[
        (7, "LSOA code", "E01999999", "unknown LSOA code: not in the ONS lists of LSOA 2011 and 2021 codes; expected an LSOA code of England or Wales"),
    ])


def test_lsoa_2021_code_in_a_2011_geography_lands_as_written(lab: Lab, police_lines):
    """Placement converts it later (tests/integration/test_any_area.py); landing keeps what the file says."""
    lookup = pl.read_csv(REFERENCE_DIR / "lsoa11_to_lsoa21.csv.gz", columns=["lsoa11cd", "lsoa21cd"])
    only_2021 = sorted(set(lookup["lsoa21cd"]) - set(lookup["lsoa11cd"]))[0]
    data = crlf(edit(police_lines, 8, 7, only_2021.encode()))
    lab.drop("police_street", "lsoa-2021.csv", data)
    before = lab.snapshot()
    assert_loaded(lab, before, lab.land_one("police_street", "lsoa-2021.csv"), data, accepted=49)
    assert lab.rows("SELECT lsoa_code FROM raw.police_street WHERE _file_id = ? AND _line = 9", [sha(data)]) == [(only_2021,)]


def test_negative_and_non_numeric_counts_are_rejected(lab: Lab):
    rows = [f"2023-{m:02d},islamist,{m},1,0" for m in range(5, 13)]
    rows[2] = "2023-07,other,-1,0,0"  # line 4
    rows[5] = "2023-10,other,two,0,0"  # line 7
    data = prevent_file(rows)
    lab.drop("prevent", "prevent-2023.csv", data)
    before = lab.snapshot()
    assert_loaded(lab, before, lab.land_one("prevent", "prevent-2023.csv"), data, "prevent", accepted=6, rejects=[
        (4, "referrals", "-1", "below the minimum of 0; expected a whole number of at least 0"),
        (7, "referrals", "two", "not a number; expected a whole number"),
    ])


def test_full_postcode_is_cut_to_its_outward_code(lab: Lab):
    rows = istv_rows(10, postcode="HX1 2AB", description="Commercial Street HX1 2AB")
    rows[3] = rows[3].replace("HX1 2AB", "hx3 0ab")
    data = ("\n".join([ISTV_HEADER, *rows]) + "\n").encode()
    lab.drop("health_istv", "istv-nov.csv", data)
    before = lab.snapshot()
    outcome = lab.land_one("health_istv", "istv-nov.csv")
    assert_loaded(lab, before, outcome, data, "health_istv", accepted=10)
    got = lab.rows("SELECT outward_postcode, location_description FROM raw.health_istv WHERE _file_id = ? ORDER BY _line", [sha(data)])
    assert [p for p, _ in got] == ["HX1"] * 3 + ["HX3"] + ["HX1"] * 6
    assert got[0][1] == "Commercial Street HX1"  # a full postcode in free text is cut too
    assert "10 value(s) of location_description held a full postcode, cut to its outward code" in outcome.detail
    assert lab.strings_containing("HX1 2AB", "HX12AB", "HX3 0AB", "HX30AB") == []  # (hex pseudonyms may hold "2ab")


def test_postcode_heading_refused_then_mapped_to_the_outward_code(lab: Lab):
    header = ISTV_HEADER.replace("outward_postcode", "Postcode")
    data = ("\n".join([header, *istv_rows(10, postcode="HX1 2AB")]) + "\n").encode()
    lab.drop("health_istv", "istv-postcode.csv", data)
    start = lab.snapshot()
    assert_refused(lab, start, lab.land_one("health_istv", "istv-postcode.csv"), "istv-postcode.csv",
                   "column 10 'Postcode': looks like a person's details", "(outward_postcode)")
    lab.configure(istv_extra=aliases({"Postcode": "outward_postcode"}))
    assert_loaded(lab, start, lab.land_one("health_istv", "istv-postcode.csv"), data, "health_istv", accepted=10)
    assert lab.rows("SELECT DISTINCT outward_postcode FROM raw.health_istv WHERE _file_id = ?", [sha(data)]) == [("HX1",)]
    assert lab.strings_containing("HX1 2AB", "HX12AB") == []


def test_person_ids_never_land_in_clear(lab: Lab):
    rows = crimes_rows(20)
    rows[4] = rows[4].replace(",8N,", ",99Z,")  # line 6: an offence code not in the reference list
    long_ref = "WY-" + "9" * 5000
    rows[7] = long_ref + rows[7][rows[7].index(","):]  # line 9: a crime reference too long to be one
    data = crimes_file(rows)
    lab.drop("police_crimes", "crimes-nov.csv", data)
    before = lab.snapshot()
    outcome = lab.land_one("police_crimes", "crimes-nov.csv")
    assert_loaded(lab, before, outcome, data, "police_crimes", accepted=18, rejects=[
        (6, "offence_code", "99Z", "not in the reference list offence_codes"),
        (9, "crime_ref", ..., "longer than 4,000 characters"),
    ])
    shown = lab.rows("SELECT value FROM raw._rejects WHERE \"column\" = 'crime_ref' AND file_id = ?", [sha(data)])[0][0]
    assert shown.startswith("pseudonym ") and "999" not in shown  # even a rejected identifier is not shown in clear
    landed = lab.rows("SELECT crime_ref, victim_id, offender_id FROM raw.police_crimes WHERE _file_id = ?", [sha(data)])
    assert all(len(v) == 32 for row in landed for v in row)
    clear = [v for row in crimes_rows(20) for v in (row.split(",")[0], row.split(",")[12], row.split(",")[13])]
    assert lab.strings_containing(*clear, "9" * 50) == []


# ---------------------------------------------------------------------------------------------------------
# Loading again


def test_same_file_under_a_new_name_is_already_loaded(lab: Lab, police_lines):
    data = crlf(police_lines)
    lab.drop("police_street", "july.csv", data)
    assert lab.land_one("police_street", "july.csv").status == "loaded"
    lab.drop("police_street", "july (copy).csv", data)
    before = lab.snapshot()
    outcomes = {o.file_name.rsplit("/", 1)[-1]: o for o in lab.land("police_street")}
    assert outcomes["july (copy).csv"].status == "already loaded"
    assert "the same content was loaded before" in outcomes["july (copy).csv"].detail
    assert outcomes["july.csv"].status == "already loaded"
    after = lab.snapshot()
    assert before.changes(after) == {} and after.counts == before.counts


def test_corrected_reissue_replaces_the_month_and_says_what_it_superseded(lab: Lab, police_lines):
    first = crlf(police_lines)
    lab.drop("police_street", "july.csv", first)
    assert lab.land_one("police_street", "july.csv").status == "loaded"
    corrected_lines = edit(police_lines[:45], 20, 10, b"Offender given a caution")  # 44 rows, one outcome changed
    corrected = crlf(corrected_lines)
    lab.drop("police_street", "july-corrected.csv", corrected)
    before = lab.snapshot()
    outcome = lab.land_one("police_street", "july-corrected.csv")
    assert outcome.status == "loaded" and outcome.rows_accepted == 44
    assert outcome.superseded == [sha(first)]
    after = lab.snapshot()
    changes = before.changes(after)
    assert set(changes) == {"raw.police_street", "raw._manifest", "raw._supersessions"}
    assert after.counts["raw.police_street"] == before.counts["raw.police_street"] - 49 + 44
    july = lab.rows("SELECT DISTINCT _file_id FROM raw.police_street WHERE _period = DATE '2017-07-01'")
    assert july == [(sha(corrected),)]
    baseline = lab.rows("SELECT count(*) FROM raw.police_street WHERE _period = DATE '2016-07-01'")
    assert baseline == [(30,)]  # another month is untouched
    assert lab.rows("SELECT source, issuer, period, old_file_id, new_file_id, rows_replaced FROM raw._supersessions") == [
        ("police_street", "West Yorkshire Police", date(2017, 7, 1), sha(first), sha(corrected), 49)
    ]
    assert lab.rows(
        "SELECT file_name, superseded_by, rows_superseded FROM raw._manifest WHERE file_id IN (?, ?) ORDER BY loaded_at",
        [sha(first), sha(corrected)],
    ) == [("raw/police_street/july.csv", sha(corrected), 49), ("raw/police_street/july-corrected.csv", None, 0)]
    assert lab.rows("SELECT outcome FROM raw.police_street WHERE _file_id = ? AND _line = 21", [sha(corrected)]) == [
        ("Offender given a caution",)
    ]
    # the original dropped again changes nothing: it was loaded (and superseded) before
    before = lab.snapshot()
    assert {o.status for o in lab.land("police_street")} == {"already loaded"}
    assert before.changes(lab.snapshot()) == {}


def test_fixed_file_under_the_refused_ones_name_answers_the_refusal(lab: Lab, police_lines):
    path = lab.drop("police_street", "july.csv", crlf(edit(police_lines, 0, 9, b"Crime Type")))
    start = lab.snapshot()
    assert_refused(lab, start, lab.land_one("police_street", "july.csv"), "july.csv", "'Crime type' (found 'Crime Type'")
    fixed = crlf(police_lines)
    path.write_bytes(fixed)
    assert_loaded(lab, start, lab.land_one("police_street", "july.csv"), fixed, accepted=49)  # refusal gone


def test_failure_part_way_through_a_reissue_leaves_the_earlier_rows(lab: Lab, police_lines, monkeypatch):
    import pipeline.ingest.landing as landing

    first = crlf(police_lines)
    lab.drop("police_street", "july.csv", first)
    assert lab.land_one("police_street", "july.csv").status == "loaded"
    real_parse = landing.parse_table

    def parse_then_break(*args, **kwargs):  # a warning the manifest cannot store: the last write fails
        parsed = real_parse(*args, **kwargs)
        parsed.warnings.append(object())
        return parsed

    monkeypatch.setattr(landing, "parse_table", parse_then_break)
    lab.drop("police_street", "july-corrected.csv", crlf(police_lines[:45]))  # within the re-issue tolerance
    before = lab.snapshot()
    with pytest.raises(Exception) as failure:
        lab.land("police_street")
    assert failure.type.__module__.startswith(("duckdb", "_duckdb")), failure.value  # raised inside the transaction
    after = lab.snapshot()
    assert before.changes(after) == {} and after.counts == before.counts  # the rows it would have replaced are all there
    assert lab.rows("SELECT count(*) FROM raw.police_street WHERE _file_id = ?", [sha(first)]) == [(49,)]


def test_cr_only_line_ends_are_read(lab: Lab, police_lines):
    data = b"".join(line + b"\r" for line in police_lines)  # classic Mac line ends
    lab.drop("police_street", "cr-only.csv", data)
    before = lab.snapshot()
    assert_loaded(lab, before, lab.land_one("police_street", "cr-only.csv"), data, accepted=49)
    assert sorted(r[0] for r in lab.rows("SELECT _line FROM raw.police_street WHERE _file_id = ?", [sha(data)])) == list(range(2, 51))


def test_unknown_column_is_not_read_and_named_in_a_warning(lab: Lab, police_lines):
    lines = [police_lines[0] + b",Notes"] + [line + b",seen twice" for line in police_lines[1:]]
    data = crlf(lines)
    lab.drop("police_street", "with-notes.csv", data)
    before = lab.snapshot()
    outcome = lab.land_one("police_street", "with-notes.csv")
    assert_loaded(lab, before, outcome, data, accepted=49)
    assert "column 13 'Notes' is not a column of police_street and was not read" in outcome.detail
    assert lab.strings_containing("seen twice") == []


def test_damaged_workbook_is_refused(lab: Lab, tmp_path: Path):
    book = survey_book(tmp_path / "book.xlsx", "Responses").read_bytes()
    lab.drop("survey", "survey-damaged.xlsx", book[: len(book) // 2])
    before = lab.snapshot()
    assert_refused(lab, before, lab.land_one("survey", "survey-damaged.xlsx"), "survey-damaged.xlsx",
                   "is not a readable XLSX workbook (BadZipFile); expected an Excel .xlsx file")
