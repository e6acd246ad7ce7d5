"""ONS population estimates by LSOA: the denominators of every rate (persons; females 16+ for MARAC).

`prepare` recognises three published layouts from their headings and reshapes each into the canonical
columns; anything else is read as the canonical layout (`lsoa_code, year, persons[, females, adult_females,
households, aged_10_17, aged_0_24]`, with the aliases and constants of partnership.yaml), so a partner can send a plain CSV, and a
file that is none of these is refused by the generic code naming the missing columns.

1. The ONS workbook (`sapelsoasyoa20222024.xlsx`, one sheet a year such as `Mid-2024 LSOA 2021`): an LSOA code
   heading (`LSOA 2021 Code`), `Total`, and single years of age (or bands) by sex `F0`…`F90`, `M0`…`M90`.
   persons = `Total`; females = the sum of the F columns; adult_females = the sum of those from F16 up (null
   when a band straddles 16). The year comes from the sheet name (`Mid-2024` → 2024), else from a `year`
   column, else from `constants: {year: "2024"}`; without any the file is refused for want of a year.
   Set `sources.population.sheet` to the year's sheet (a wrong name is refused listing the sheets that exist;
   an unset one reads the first sheet, and if that is the workbook's cover the refusal names its `Mid-YYYY`
   sheets). A file is landed once, whatever sheet is configured: to add another year from the same workbook
   the workbook must be saved again (different bytes) or that year's sheet saved as its own file.
   Header row: ONS puts three title rows above the headings. Set `header_row: 4`; if it is not set (or the
   row read holds no recognised headings), the first 30 rows of the sheet are scanned for the heading row and
   the sheet is read again from there. That second read doubles the time taken by a full national sheet
   (tens of seconds with openpyxl), so configure `header_row` for a workbook that size.
2. Tidy CSVs of the kind local analysts publish (Trafford Data Lab): `period, area_code, area_name, geography,
   sex, all_ages, aged_0_to_15, aged_16_to_64, aged_65_and_over, 0 … 90+`, one row per area per sex. Only
   `geography` LSOA rows are read (a file without any is refused naming the geographies it has); rows of one
   LSOA and period become one row: persons = all_ages of Persons, females = all_ages of Females,
   adult_females = aged_16_to_64 + aged_65_and_over of Females (or the single years 16 up when the bands are
   absent); year = the year of `period` (or `constants: {year: …}` if the file has no period column).
   A reject's line is the LSOA's Persons line (or its first line if it has no Persons row, which is then
   rejected for the missing persons); two Persons (or Females) rows for one LSOA and period reject it,
   naming how many; a whole-line fault the reader found on any of its rows (e.g. too many fields) rejects it,
   naming that row's line.
3. Census 2011 usual residents and households (`census_2011_population_hh.csv`): `LSOA Code` and the
   `Persons` heading repeated (all usual residents, then in households, then communal). persons = the first
   `Persons`, households = `Households`, year = 2011 (this layout is the 2011 table; thousands written
   "1,563" are read by the generic parser).

A sum (females, adult_females) is passed on as text; if a part of it is blank or not a whole number the part
is named instead (e.g. `F23: 'x'`), so the generic parser rejects the row showing which cell is wrong.

`period` is derived: 30 June of `year`, the mid-year reference date. It is the period column, so a corrected
re-issue of a year replaces that year's rows (and `raw._supersessions` records it), whatever its layout.
There is no issuer: a file for one area replaces every row of that year, including other areas' rows.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import polars as pl

from pipeline.ingest.readers import FileRefused, TextTable, listed, read_text_table
from pipeline.sources.base import ROW_AT, Column, Key, Rule, Source

SCAN_ROWS = 30  # how far down a workbook sheet the heading row is looked for
CENSUS_YEAR = "2011"
_LSOA_HEADING = re.compile(r"^lsoa_?(\d{2}|\d{4})?_?(code|cd)$")  # lsoa_code, lsoa_2021_code, lsoa11cd, lsoa21cd
_MID_YEAR = re.compile(r"mid[\s_-]*((?:19|20)\d{2})", re.IGNORECASE)
_FEMALE_AGE = re.compile(r"^f(\d+)(?:_(?:to_)?(\d+)|_?plus)?$")  # normalised F0, F90+, F0 to 4, F16-19
_SINGLE_AGE = re.compile(r"^(\d+)(?:_?plus)?$")  # normalised 0 … 89, 90+
_TIDY = {"area_code", "geography", "sex", "all_ages"}
_SEXES = {
    "persons": "p", "person": "p", "all": "p", "all_persons": "p", "total": "p",
    "females": "f", "female": "f", "f": "f",
    "males": "m", "male": "m", "m": "m",
}


def _key(heading: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", heading.strip().lower()).strip("_")  # as pipeline.ingest.parse.normalise_heading


def _layout(keys: list[str]) -> str | None:
    present = set(keys)
    if _TIDY <= present:
        return "tidy"
    has_lsoa = any(_LSOA_HEADING.match(k) for k in keys)
    if has_lsoa and keys.count("persons") >= 2:
        return "census"
    if has_lsoa and "total" in present and "persons" not in present:
        return "ons"
    return None


def _looks_like_headings(keys: list[str]) -> bool:
    return _layout(keys) is not None or any(_LSOA_HEADING.match(k) for k in keys)


def prepare(table: TextTable, path: Path) -> TextTable:
    keys = [_key(h) for h in table.headings]
    if table.encoding == "xlsx" and not _looks_like_headings(keys):
        row = _find_heading_row(path, table.sheet)
        if row is not None:
            table = read_text_table(path, sheet=table.sheet, header_row=row)
            keys = [_key(h) for h in table.headings]
    layout = _layout(keys)
    if layout == "ons":
        return _from_ons(table, keys)
    if layout == "tidy":
        return _from_tidy(table, keys, path)
    if layout == "census":
        return _from_census(table, keys)
    return table  # the canonical layout, or a file the generic code will refuse naming what is missing


def _find_heading_row(path: Path, sheet: str | None) -> int | None:
    """The first of the sheet's top rows that holds recognised headings; or refuse a cover sheet of an ONS workbook."""
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True, data_only=True)
    try:
        ws = book[sheet] if sheet in book.sheetnames else book.worksheets[0]
        for number, row in enumerate(ws.iter_rows(min_row=1, max_row=SCAN_ROWS, values_only=True), start=1):
            if _looks_like_headings([_key(str(v)) for v in row if v is not None]):
                return number
        title, yearly = ws.title, [n for n in book.sheetnames if _MID_YEAR.search(n) and n != ws.title]
    finally:
        book.close()
    if yearly:
        raise FileRefused(
            path,
            f"sheet {title!r} has no LSOA population headings in its first {SCAN_ROWS} rows; the workbook's "
            f"population sheets are {listed(yearly)}: set sources.population.sheet in partnership.yaml "
            "to the year's sheet",
        )
    return None


def _rebuilt(table: TextTable, columns: dict[str, pl.Expr], data: pl.DataFrame | None = None, lines: pl.Series | None = None,
             truncated: bool | None = None, faults: pl.Series | None = None) -> TextTable:
    """The table with canonical headings, its data c0…cN computed from `data` (by default the table's own rows,
    whose lines and whole-line faults then still apply); whatever else the reader said is kept."""
    frame = (table.data if data is None else data).select(
        [expr.cast(pl.String).alias(f"c{i}") for i, expr in enumerate(columns.values())]
    )
    changes = {"headings": list(columns), "data": frame}
    if lines is not None:
        changes |= {"lines": lines, "truncated_last_line": bool(truncated)}
        if getattr(table, "faults", None) is not None:
            changes["faults"] = faults
    return replace(table, **changes)


def _whole(column: str) -> pl.Expr:
    """A whole number written as text (thousands separators allowed), or null."""
    return pl.col(column).str.strip_chars().str.replace_all(",", "", literal=True).cast(pl.Int64, strict=False)


def _with_sums(frame: pl.DataFrame, sums: dict[str, list[tuple[str, str]]]) -> pl.DataFrame:
    """Add `_sum_<name>`: the sum of text columns, as text; or, where a part is blank or not a whole number,
    that part named with its value (e.g. `F23: 'x'`). Each part is parsed once; the names are only written
    out when some row has a fault, so a clean national sheet costs one pass over its cells."""
    parts = sorted({column for listed in sums.values() for column, _ in listed})
    frame = frame.with_columns(_whole(column).alias(f"_n_{column}") for column in parts)
    frame = frame.with_columns(
        pl.sum_horizontal(pl.col(f"_n_{column}") for column, _ in listed).cast(pl.String).alias(f"_sum_{name}")
        for name, listed in sums.items()
    )
    for name, listed in sums.items():
        bad = pl.any_horizontal(pl.col(f"_n_{column}").is_null() for column, _ in listed)
        if not frame.select(bad.any()).item():
            continue
        faults = []
        for column, label in listed:
            raw = pl.col(column).str.strip_chars()
            shown = pl.when(raw.is_null() | (raw == "")).then(pl.lit("blank")).otherwise(pl.lit("'") + raw + pl.lit("'"))
            faults.append(pl.when(pl.col(f"_n_{column}").is_null()).then(pl.lit(f"{label}: ") + shown))
        frame = frame.with_columns(pl.coalesce([*faults, pl.col(f"_sum_{name}")]).alias(f"_sum_{name}"))
    return frame.drop(f"_n_{column}" for column in parts)


def _first(keys: list[str], wanted) -> int:
    return next(i for i, k in enumerate(keys) if (wanted(k) if callable(wanted) else k == wanted))


def _sheet_year(sheet: str | None) -> str | None:
    found = _MID_YEAR.search(sheet or "")
    return found.group(1) if found else None


def _from_ons(table: TextTable, keys: list[str]) -> TextTable:
    columns = {
        "lsoa_code": pl.col(f"c{_first(keys, _LSOA_HEADING.match)}"),
        "persons": pl.col(f"c{keys.index('total')}"),
    }
    year = _sheet_year(table.sheet)
    if year:
        columns["year"] = pl.lit(year)
    elif "year" in keys:  # a CSV saved from the sheet, with a year column added
        columns["year"] = pl.col(f"c{keys.index('year')}")
    # otherwise sources.population.constants.year gives it, or the file is refused for want of a year
    bands = [(i, int(m.group(1)), int(m.group(2) or m.group(1))) for i, k in enumerate(keys) if (m := _FEMALE_AGE.match(k))]
    sums = {}
    if bands:
        sums["females"] = [(f"c{i}", table.headings[i]) for i, _, _ in bands]
        adults = [(f"c{i}", table.headings[i]) for i, low, _ in bands if low >= 16]
        if adults and not any(low < 16 <= high for _, low, high in bands):
            sums["adult_females"] = adults
    columns |= {name: pl.col(f"_sum_{name}") for name in sums}
    return _rebuilt(table, columns, data=_with_sums(table.data, sums) if sums else None)


def _from_census(table: TextTable, keys: list[str]) -> TextTable:
    columns = {
        "lsoa_code": pl.col(f"c{_first(keys, _LSOA_HEADING.match)}"),
        "year": pl.lit(CENSUS_YEAR),
        "persons": pl.col(f"c{keys.index('persons')}"),  # the first Persons: all usual residents
    }
    if "households" in keys:
        columns["households"] = pl.col(f"c{keys.index('households')}")
    return _rebuilt(table, columns)


def _from_tidy(table: TextTable, keys: list[str], path: Path) -> TextTable:
    col = {k: f"c{i}" for i, k in reversed(list(enumerate(keys)))}  # the first column of a repeated heading
    geography = pl.col(col["geography"]).str.strip_chars().str.to_uppercase()
    faults = getattr(table, "faults", None)  # per row, a whole-line fault the reader found (e.g. too many fields)
    rows = table.data.with_columns(
        table.lines.alias("_line"),
        (faults if faults is not None and faults.len() == table.data.height else pl.lit(None, pl.String)).alias("_fault"),
    ).filter(geography.str.starts_with("LSOA"))
    if rows.height == 0:
        found = table.data[col["geography"]].drop_nulls().unique(maintain_order=True).head(5).to_list()
        raise FileRefused(
            path, f"has no rows with geography 'LSOA' (found {', '.join(map(repr, found)) or 'none'}); population is read by LSOA"
        )
    if "aged_16_to_64" in col and "aged_65_and_over" in col:
        adult_parts = [(col["aged_16_to_64"], "aged_16_to_64"), (col["aged_65_and_over"], "aged_65_and_over")]
    else:
        adult_parts = [(col[k], table.headings[int(col[k][1:])]) for k in col if (m := _SINGLE_AGE.match(k)) and int(m.group(1)) >= 16]
    sex = pl.col(col["sex"]).str.strip_chars().str.to_lowercase().str.replace_all(r"[^a-z]+", "_").replace_strict(_SEXES, default=None)
    period = pl.col(col["period"]) if "period" in col else pl.lit(None, pl.String)
    rows = _with_sums(rows, {"adult": adult_parts}) if adult_parts else rows.with_columns(pl.lit(None, pl.String).alias("_sum_adult"))
    rows = rows.with_columns(
        sex.alias("_sex"),
        pl.col(col["area_code"]).str.strip_chars().str.to_uppercase().alias("_area"),
        period.str.strip_chars().alias("_period"),
    )
    persons, females = pl.col("_sex") == "p", pl.col("_sex") == "f"
    grouped = rows.group_by("_area", "_period", maintain_order=True).agg(
        pl.col(col["area_code"]).first().alias("_code"),
        pl.col(col["all_ages"]).filter(persons).first().alias("_persons"),
        pl.col(col["all_ages"]).filter(females).first().alias("_females"),
        pl.col("_sum_adult").filter(females).first().alias("_adult"),
        persons.sum().alias("_n_persons"),
        females.sum().alias("_n_females"),
        pl.coalesce(pl.col("_line").filter(persons).first(), pl.col("_line").first()).alias("_line"),
        pl.col("_line").max().alias("_last"),
        pl.format("line {}: {}", pl.col("_line"), pl.col("_fault")).drop_nulls().first().alias("_fault"),
    ).sort("_last")  # the LSOA holding the file's last line comes last, where a truncated last line is flagged

    def once(value: str, count: str, sex_name: str) -> pl.Expr:
        return pl.when(pl.col(count) > 1).then(
            pl.format("{} {} rows for this LSOA and period", pl.col(count), pl.lit(sex_name))
        ).otherwise(pl.col(value))

    columns = {"lsoa_code": pl.col("_code")}
    if "period" in col:  # without one, sources.population.constants.year gives the year
        year = pl.col("_period").str.extract(r"((?:19|20)\d{2})", 1)
        columns["year"] = pl.coalesce(year, pl.col("_period"))  # an unreadable period is rejected showing it
    columns |= {
        "persons": once("_persons", "_n_persons", "Persons"),
        "females": once("_females", "_n_females", "Females"),
        "adult_females": once("_adult", "_n_females", "Females"),
    }
    truncated = table.truncated_last_line and grouped["_last"].max() == table.lines.max()
    return _rebuilt(table, columns, data=grouped, lines=grouped["_line"], truncated=truncated, faults=grouped["_fault"])


def _mid_year() -> pl.Expr:
    year = pl.col("year")
    return pl.when(year.is_between(1, 9999)).then(pl.date(year, 6, 30))


SOURCE = Source(
    name="population",
    agency="reference",
    title="ONS population estimates by LSOA",
    cadence="ad hoc",  # ONS publishes it; not a partner submission
    period_column="period",
    file_suffixes=(".csv", ".xlsx"),
    period_grain="year",
    prepare=prepare,
    columns=(
        Column("lsoa_code", "lsoa", nullable=False, headings=("LSOA Code", "LSOA 2011 Code", "LSOA 2021 Code", "lsoa11cd", "lsoa21cd")),
        Column("year", "integer", nullable=False, minimum=2001, maximum=2100, description="the mid-year (or census) the estimate is for"),
        Column("persons", "integer", nullable=False, minimum=0, headings=("usual_residents",), description="all residents"),
        Column("females", "integer", required=False, minimum=0),
        Column("adult_females", "integer", required=False, minimum=0, description="females aged 16 and over: the MARAC denominator"),
        Column("households", "integer", required=False, minimum=0, headings=("Households",), description="blank where the layout has none"),
        Column("aged_10_17", "integer", required=False, minimum=0, description="residents aged 10 to 17 (youth justice denominators)"),
        Column("aged_0_24", "integer", required=False, minimum=0, description="residents aged 0 to 24 (young people's denominators)"),
        Column("period", "date", derive=_mid_year, description="30 June of `year`, the mid-year reference date"),
    ),
    example="lsoa_code,year,persons,households\nE01010911,2011,1713,711",
    notes=(
        "Also read as published, recognised from the headings: the ONS workbook (`sapelsoasyoa…xlsx`; set "
        "`sheet` to the year's sheet, e.g. `Mid-2024 LSOA 2021`, and `header_row: 4`; the year comes from the sheet "
        "name, females and adult_females are summed from `F0`…`F90`), tidy CSVs with one row per LSOA per sex "
        "(`period, area_code, geography, sex, all_ages, aged_16_to_64, aged_65_and_over, …`; LSOA rows only), and "
        "the Census 2011 usual residents and households table (`LSOA Code`, repeated `Persons`, `Households`; "
        "year 2011). A re-issue of a year replaces that year, for every area."
    ),
    keys=(Key(("lsoa_code", "year"), "one row per LSOA and year"),),
    rules=(
        Rule("females_over_persons", "t.females > t.persons",
             f"{ROW_AT} || ': ' || t.lsoa_code || ' females ' || t.females || ' of ' || t.persons",
             "females are no more than all residents"),
        Rule("adult_females_over_females", "t.adult_females > t.females",
             f"{ROW_AT} || ': ' || t.lsoa_code || ' adult females ' || t.adult_females || ' of ' || t.females",
             "adult females are no more than females"),
    ),
    inside_share=None,  # ONS tables are national: an LSOA outside the partnership is expected there
)
