"""Population estimates by LSOA: the ONS workbook, tidy CSVs and the Census 2011 table all land as the same
canonical rows, equal to independent sums of the files; a re-issue of a year replaces that year."""

import csv
import os
import shutil
from dataclasses import fields
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from openpyxl import Workbook, load_workbook

from pipeline.config import resolve_file
from pipeline.ingest.assets import land
from pipeline.ingest.readers import TextTable
from pipeline.sources import SOURCES
from pipeline.workspace import STARTER_CONFIG
from tests.helpers import FIXTURES, make_workspace, table_counts

POPULATION = SOURCES["population"]
CONFIG_2011 = STARTER_CONFIG.format(name="test")
CONFIG_2021 = CONFIG_2011.replace("vintage: 2011", "vintage: 2021")
CENSUS_CUT = FIXTURES / "population" / "census_2011_population_hh.durham-calderdale.csv"
CENSUS = "england_wales/census_2011_population_hh.csv"  # every LSOA: optional, from ../shared
TRAFFORD = FIXTURES / "population" / "mid-year_2024_population_estimates_lsoa.csv"
SHEET = "Mid-2024 LSOA 2021"


def _number(text: str) -> int:
    return int(text.replace(",", ""))


def _drop(ws, *files: Path, names: list[str] | None = None) -> list[Path]:
    """Copy files into raw/population/, each newer than the last, so that they land in this order."""
    folder = ws.raw / "population"
    folder.mkdir(parents=True, exist_ok=True)
    dropped = []
    for i, path in enumerate(files):
        target = folder / (names[i] if names else path.name)
        shutil.copy(path, target)
        stamp = 1_700_000_000 + 10 * len(list(folder.iterdir()))
        os.utime(target, (stamp, stamp))
        dropped.append(target)
    return dropped


def _rows(ws, sql: str, params=()) -> list[tuple]:
    with ws.connect(read_only=True) as con:
        return con.execute(sql, list(params)).fetchall()


# --- Census 2011 (the national table as published: a vendored cut, and optionally every LSOA) -----------------


@pytest.fixture(scope="module", params=["cut", "national"])
def census(request, tmp_path_factory):
    source = CENSUS_CUT if request.param == "cut" else request.getfixturevalue("shared_data") / "geography" / CENSUS
    ws = make_workspace(tmp_path_factory.mktemp("census"), CONFIG_2011)
    (path,) = _drop(ws, source)
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        headings = next(reader)
        expected = {}
        for line, row in enumerate(reader, start=2):
            record = dict(zip(headings, row))  # a repeated heading keeps its last value: read Persons by position
            expected[record["LSOA Code"]] = (line, _number(row[headings.index("Persons")]), _number(record["Households"]), record["Local authority name"])
    return ws, land(ws, POPULATION), expected, request.param


def test_census_every_lsoa_lands(census):
    ws, summary, expected, scope = census
    (outcome,) = summary.files
    assert outcome.status == "loaded", outcome.detail
    n = len(expected)
    assert n == (34_753 if scope == "national" else 72 + 128)  # every LSOA of England and Wales; Durham's first and Calderdale's
    assert (outcome.rows_read, outcome.rows_accepted, outcome.rows_rejected) == (n, n, 0)
    assert outcome.detail == ""  # no unread-column warnings: the layout is recognised, not guessed at
    assert _rows(ws, "SELECT count(*), count(DISTINCT lsoa_code) FROM raw.population") == [(n, n)]
    assert _rows(ws, "SELECT DISTINCT year, period, _period FROM raw.population") == [(2011, date(2011, 6, 30), date(2011, 6, 1))]
    assert _rows(ws, "SELECT count(females), count(adult_females) FROM raw.population") == [(0, 0)]


def test_census_totals_equal_an_independent_sum(census):
    ws, _, expected, scope = census
    persons = sum(p for _, p, _, _ in expected.values())
    households = sum(h for _, _, h, _ in expected.values())
    if scope == "national":
        assert persons == 56_075_912
    assert _rows(ws, "SELECT sum(persons), sum(households) FROM raw.population") == [(persons, households)]
    calderdale = [p for _, p, _, la in expected.values() if la == "Calderdale"]
    assert (len(calderdale), sum(calderdale)) == (128, 203_826)
    landed = _rows(ws, "SELECT count(*), sum(persons) FROM raw.population WHERE lsoa_code IN (SELECT unnest(?))",
                   [[code for code, v in expected.items() if v[3] == "Calderdale"]])
    assert landed == [(128, 203_826)]


def test_census_rows_keep_their_line_and_first_persons(census):
    ws, _, expected, _ = census
    landed = {code: (line, persons, households) for code, line, persons, households in
              _rows(ws, "SELECT lsoa_code, _line, persons, households FROM raw.population")}
    assert landed == {code: (line, p, h) for code, (line, p, h, _) in expected.items()}
    # "1,563" is all usual residents; "1,517" (the second Persons) is those in households
    assert landed["E01020634"] == (2, 1563, 666)


# --- Trafford tidy CSV (one row per LSOA per sex) ------------------------------------------------------------


def _tidy_expected(path: Path) -> dict[str, dict]:
    expected: dict[str, dict] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            if row["geography"] != "LSOA":
                continue
            entry = expected.setdefault(row["area_code"], {})
            if row["sex"] == "Persons":
                entry.update(line=line, persons=int(row["all_ages"]), year=int(row["period"][:4]))
            elif row["sex"] == "Females":
                entry.update(females=int(row["all_ages"]), adult_females=int(row["aged_16_to_64"]) + int(row["aged_65_and_over"]))
    return expected


@pytest.fixture
def trafford(tmp_path: Path):
    ws = make_workspace(tmp_path, CONFIG_2021)
    return ws, TRAFFORD


def test_trafford_tidy_csv_equals_independent_sums(trafford):
    ws, path = trafford
    expected = _tidy_expected(path)
    with path.open(newline="", encoding="utf-8") as handle:
        assert sum(1 for _ in handle) - 1 == 3 * len(expected)  # Persons, Females, Males for every LSOA
    assert len(expected) == 139
    _drop(ws, path)
    (outcome,) = land(ws, POPULATION).files
    assert outcome.status == "loaded", outcome.detail
    assert (outcome.rows_read, outcome.rows_accepted, outcome.rows_rejected) == (139, 139, 0)
    landed = {
        code: {"line": line, "year": year, "persons": p, "females": f, "adult_females": a}
        for code, line, year, p, f, a, households, period in _rows(
            ws, "SELECT lsoa_code, _line, year, persons, females, adult_females, households, period FROM raw.population"
        )
        if households is None and period == date(2024, 6, 30)
    }
    assert landed == expected  # lines point at each LSOA's Persons row
    totals = _rows(ws, "SELECT sum(persons), sum(females), sum(adult_females) FROM raw.population")[0]
    assert totals == tuple(sum(e[k] for e in expected.values()) for k in ("persons", "females", "adult_females"))


def test_trafford_ward_file_is_refused_naming_its_geography(trafford):
    ws, path = trafford
    _drop(ws, path.with_name("mid-year_2024_population_estimates_ward.csv"))
    (outcome,) = land(ws, POPULATION).files
    assert outcome.status == "refused"
    assert "has no rows with geography 'LSOA' (found 'Ward')" in outcome.detail


def test_tidy_faults_are_rejected_at_the_persons_line(trafford, tmp_path: Path):
    ws, path = trafford
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    persons_row = lines[1]  # E01006074 Persons, line 2
    females_only = lines[5]  # E01006075 Females, line 6: drop its Persons row (line 5)
    bad = [lines[0], *lines[1:4], persons_row, females_only, *lines[6:]]
    edited = tmp_path / "edited.csv"
    edited.write_text("".join(bad), encoding="utf-8")
    _drop(ws, edited)
    (outcome,) = land(ws, POPULATION).files
    assert outcome.status == "loaded", outcome.detail
    assert (outcome.rows_read, outcome.rows_accepted, outcome.rows_rejected) == (139, 137, 2)
    rejects = _rows(ws, 'SELECT line, "column", value, reason FROM raw._rejects ORDER BY line')
    assert rejects == [
        (2, "persons", "2 Persons rows for this LSOA and period", "not a number; expected a whole number"),
        (6, "persons", None, "blank, but a value is required"),
    ]


def test_tidy_whole_line_fault_rejects_the_lsoa_naming_the_line(trafford, tmp_path: Path):
    if "faults" not in {f.name for f in fields(TextTable)}:
        pytest.skip("the reader does not report whole-line faults")
    ws, path = trafford
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[2] = lines[2].rstrip("\n") + ",99\n"  # E01006074 Females (line 3): one field too many
    edited = tmp_path / "edited.csv"
    edited.write_text("".join(lines), encoding="utf-8")
    _drop(ws, edited)
    (outcome,) = land(ws, POPULATION).files
    assert (outcome.status, outcome.rows_accepted, outcome.rows_rejected) == ("loaded", 138, 1), outcome.detail
    ((line, column, reason),) = _rows(ws, 'SELECT line, "column", reason FROM raw._rejects')
    assert (line, column) == (2, "(whole line)")
    assert reason.startswith("line 3: has 101 fields but the header (line 1) has 100")


# --- The ONS workbook, built in its published layout -----------------------------------------------------------

WORKBOOK_LSOAS = ["E01006074", "E01006075", "E01006076", "E01006077"]
HEADINGS = ["LAD 2021 Code", "LAD 2021 Name", "LAD 2023 Code", "LAD 2023 Name", "LSOA 2021 Code", "LSOA 2021 Name", "Total",
            *(f"F{a}" for a in range(91)), *(f"M{a}" for a in range(91))]


def build_workbook(path: Path, years=(2024,), bad_cell: str | None = None) -> dict[int, dict[str, tuple]]:
    """An ONS-style workbook: a cover, contents, and per year three title rows above the headings on row 4."""
    book = Workbook()
    book.active.title = "Cover"
    book.active["A1"] = "Lower layer Super Output Area population estimates (supporting information)"
    book.create_sheet("Contents")["A1"] = "Table of contents"
    expected: dict[int, dict[str, tuple]] = {}
    for year in years:
        sheet = book.create_sheet(f"Mid-{year} LSOA 2021")
        sheet.append([f"Mid-{year} population estimates for Lower layer Super Output Areas (LSOAs) in England and Wales by single year of age and sex"])
        sheet.append(["This worksheet contains one table. Some cells refer to notes which can be found on the notes worksheet."])
        sheet.append(["Source: Office for National Statistics"])
        sheet.append(HEADINGS)
        expected[year] = {}
        for k, code in enumerate(WORKBOOK_LSOAS):
            females = [(k + 3) * (a + year) % 23 + 1 for a in range(91)]
            males = [(k + 5) * (a + year) % 19 + 2 for a in range(91)]
            total = sum(females) + sum(males)
            row = ["E08000009", "Trafford", "E08000009", "Trafford", code, f"Trafford 0{k}A", total, *females, *males]
            if bad_cell and k == 1:
                row[HEADINGS.index(bad_cell)] = "x"
            sheet.append(row)
            expected[year][code] = (5 + k, year, total, sum(females), sum(females[16:]))
    book.save(path)
    return expected


def _config(sheet: str | None = SHEET, header_row: int | None = 4, max_reject_share: float | None = None) -> str:
    settings = "".join([
        f'    sheet: "{sheet}"\n' if sheet else "",
        f"    header_row: {header_row}\n" if header_row else "",
        f"    max_reject_share: {max_reject_share}\n" if max_reject_share is not None else "",
    ])
    return CONFIG_2021 + ("  population:\n" + settings if settings else "")


def _landed_workbook(ws) -> dict[str, tuple]:
    return {code: tuple(rest) for code, *rest in _rows(ws, "SELECT lsoa_code, _line, year, persons, females, adult_females FROM raw.population")}


@pytest.mark.parametrize("header_row", [4, None], ids=["configured", "found"])
def test_workbook_loads_the_configured_sheet(tmp_path: Path, header_row):
    ws = make_workspace(tmp_path / "ws", _config(header_row=header_row))
    expected = build_workbook(tmp_path / "sapelsoasyoa20222024.xlsx", years=(2023, 2024))
    _drop(ws, tmp_path / "sapelsoasyoa20222024.xlsx")
    (outcome,) = land(ws, POPULATION).files
    assert outcome.status == "loaded", outcome.detail
    assert (outcome.rows_read, outcome.rows_accepted, outcome.detail) == (4, 4, "")
    assert _landed_workbook(ws) == expected[2024]  # sheet rows 5…8, the year from the sheet name
    assert _rows(ws, "SELECT DISTINCT period, households FROM raw.population") == [(date(2024, 6, 30), None)]


def test_wrong_sheet_is_refused_naming_the_sheets(tmp_path: Path):
    ws = make_workspace(tmp_path / "ws", _config(sheet="Mid-2025 LSOA 2021"))
    build_workbook(tmp_path / "book.xlsx")
    _drop(ws, tmp_path / "book.xlsx")
    (outcome,) = land(ws, POPULATION).files
    assert outcome.status == "refused"
    assert "has no sheet 'Mid-2025 LSOA 2021'; its sheets are 'Cover', 'Contents', 'Mid-2024 LSOA 2021'" in outcome.detail
    assert table_counts(ws)["raw.population"] == 0
    assert _rows(ws, "SELECT count(*) FROM raw._refusals") == [(1,)]


def test_unset_sheet_reads_the_cover_and_is_refused_naming_the_year_sheets(tmp_path: Path):
    ws = make_workspace(tmp_path / "ws", _config(sheet=None, header_row=None))
    build_workbook(tmp_path / "book.xlsx", years=(2023, 2024))
    _drop(ws, tmp_path / "book.xlsx")
    (outcome,) = land(ws, POPULATION).files
    assert outcome.status == "refused"
    assert "sheet 'Cover' has no LSOA population headings" in outcome.detail
    assert "'Mid-2023 LSOA 2021', 'Mid-2024 LSOA 2021': set sources.population.sheet" in outcome.detail


def test_workbook_bad_age_cell_rejects_its_row_naming_the_cell(tmp_path: Path):
    ws = make_workspace(tmp_path / "ws", _config())
    expected = build_workbook(tmp_path / "book.xlsx", bad_cell="F23")
    _drop(ws, tmp_path / "book.xlsx")
    (outcome,) = land(ws, POPULATION).files
    # one row in four is over the default 5% limit; the refusal quotes the first reject
    assert outcome.status == "refused"
    assert "line 6 column 'females' value \"F23: 'x'\": not a number" in outcome.detail
    ws.config_path.write_text(_config(max_reject_share=0.5), encoding="utf-8")
    (outcome,) = land(ws, POPULATION).files
    assert (outcome.status, outcome.rows_accepted, outcome.rows_rejected) == ("loaded", 3, 1)
    assert _rows(ws, 'SELECT line, "column", value FROM raw._rejects') == [(6, "females", "F23: 'x'"), (6, "adult_females", "F23: 'x'")]
    assert set(_landed_workbook(ws)) == set(expected[2024]) - {WORKBOOK_LSOAS[1]}


# --- The canonical layout, and files that are none of these --------------------------------------------------


def test_plain_canonical_csv_loads(tmp_path: Path):
    ws = make_workspace(tmp_path / "ws", CONFIG_2011)
    plain = tmp_path / "partner.csv"
    plain.write_text("lsoa_code,year,persons,females,adult_females,households\nE01010911,2011,1713,870,702,711\n", encoding="utf-8")
    _drop(ws, plain)
    (outcome,) = land(ws, POPULATION).files
    assert outcome.status == "loaded", outcome.detail
    assert _rows(ws, "SELECT lsoa_code, year, persons, females, adult_females, households, period FROM raw.population") == [
        ("E01010911", 2011, 1713, 870, 702, 711, date(2011, 6, 30))
    ]


def test_unrecognised_file_is_refused_naming_the_missing_columns(tmp_path: Path):
    ws = make_workspace(tmp_path / "ws", CONFIG_2011)
    other = tmp_path / "other.csv"
    other.write_text("code,count\nE01010911,1713\n", encoding="utf-8")
    _drop(ws, other)
    (outcome,) = land(ws, POPULATION).files
    assert outcome.status == "refused"
    assert "missing required column(s) 'lsoa_code', 'year', 'persons'" in outcome.detail


# --- Re-issues ------------------------------------------------------------------------------------------------


def test_the_same_file_twice_changes_nothing(trafford):
    ws, path = trafford
    _drop(ws, path)
    assert land(ws, POPULATION).files[0].status == "loaded"
    before = table_counts(ws)
    _drop(ws, path, names=["copy of the same estimates.csv"])
    (outcome,) = land(ws, POPULATION).files[-1:]
    assert outcome.status == "already loaded"
    assert table_counts(ws) == before


def test_a_corrected_reissue_replaces_the_year(trafford, tmp_path: Path):
    ws, path = trafford
    text = path.read_text(encoding="utf-8")
    corrected = tmp_path / "corrected.csv"
    corrected.write_text(text.replace("2024-06-30,E01006074,Trafford 025A,LSOA,Persons,1634,", "2024-06-30,E01006074,Trafford 025A,LSOA,Persons,1640,"), encoding="utf-8")
    earlier = tmp_path / "mid-2023.csv"
    earlier.write_text(text.replace("2024-06-30,", "2023-06-30,"), encoding="utf-8")
    _drop(ws, path, earlier)
    assert [f.status for f in land(ws, POPULATION).files] == ["loaded", "loaded"]
    assert _rows(ws, "SELECT year, count(*) FROM raw.population GROUP BY 1 ORDER BY 1") == [(2023, 139), (2024, 139)]
    _drop(ws, corrected)
    (outcome,) = [f for f in land(ws, POPULATION).files if f.status != "already loaded"]
    first_id = _rows(ws, "SELECT file_id FROM raw._manifest WHERE file_name LIKE '%mid-year_2024%'")[0][0]
    new_id = _rows(ws, "SELECT file_id FROM raw._manifest WHERE file_name LIKE '%corrected.csv'")[0][0]
    assert outcome.status == "loaded" and outcome.superseded == [first_id]
    assert _rows(ws, "SELECT year, count(*), count(DISTINCT _file_id) FROM raw.population GROUP BY 1 ORDER BY 1") == [(2023, 139, 1), (2024, 139, 1)]
    assert _rows(ws, "SELECT persons, _file_id FROM raw.population WHERE year = 2024 AND lsoa_code = 'E01006074'") == [(1640, new_id)]
    assert _rows(ws, "SELECT source, issuer, period, old_file_id, new_file_id, rows_replaced FROM raw._supersessions") == [
        ("population", "", date(2024, 6, 1), first_id, new_id, 139)
    ]


def test_builtin_calderdale_file_loads_with_a_constant_year(tmp_path: Path):
    """The workspace's own denominators file (lsoa11cd, usual_residents) is the canonical layout under other names."""
    ws = make_workspace(tmp_path / "ws", CONFIG_2011 + '  population:\n    constants: {year: "2011"}\n')
    calderdale = tmp_path / "calderdale_lsoa11_census2011_pop.csv"  # the national file's Calderdale rows
    pl.read_csv(resolve_file("builtin:lsoa11_census2011_population.csv.gz", ws.root)).filter(pl.col("lad_cd") == "E08000033").write_csv(calderdale)
    _drop(ws, calderdale)
    (outcome,) = land(ws, POPULATION).files
    assert (outcome.status, outcome.rows_accepted, outcome.rows_rejected) == ("loaded", 128, 0), outcome.detail
    assert _rows(ws, "SELECT count(*), sum(persons), min(year), max(period) FROM raw.population") == [(128, 203_826, 2011, date(2011, 6, 30))]


def test_workbook_sheet_saved_as_csv_takes_its_year_from_constants(tmp_path: Path):
    book = tmp_path / "book.xlsx"
    expected = build_workbook(book)
    sheet = load_workbook(book, read_only=True)[SHEET]
    saved = tmp_path / "mid-2024.csv"
    with saved.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(list(sheet.iter_rows(min_row=4, values_only=True)))
    ws = make_workspace(tmp_path / "ws", CONFIG_2021)
    _drop(ws, saved)
    (outcome,) = land(ws, POPULATION).files
    assert outcome.status == "refused" and "missing required column(s) 'year'" in outcome.detail
    ws.config_path.write_text(CONFIG_2021 + '  population:\n    constants: {year: "2024"}\n', encoding="utf-8")
    (outcome,) = land(ws, POPULATION).files
    assert outcome.status == "loaded", outcome.detail
    assert _landed_workbook(ws) == {code: (line - 3, *rest) for code, (line, *rest) in expected[2024].items()}  # CSV lines 2…5
