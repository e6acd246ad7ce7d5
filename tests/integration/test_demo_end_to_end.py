"""`csp demo` end to end: the marts count what the raw files hold, and the published HTML shows the same."""

import csv
import gzip
import re
from collections import Counter
from pathlib import Path

import polars as pl

from pipeline.geography import POPULATION_FILE
from tests.helpers import edition_folder
from pipeline.paths import REFERENCE_DIR


def _financial_year(month: str) -> str:
    year, mon = int(month[:4]), int(month[5:7])
    start = year if mon >= 4 else year - 1
    return f"{start}/{(start + 1) % 100:02d}"


def _independent_counts(raw: Path) -> Counter:
    """Straight from the police.uk files with the csv module: Calderdale rows, each Crime ID once."""
    with gzip.open(REFERENCE_DIR / POPULATION_FILE, "rt", newline="", encoding="utf-8") as handle:
        calderdale = {row["lsoa11cd"] for row in csv.DictReader(handle) if row["lad_cd"] == "E08000033"}
    counts, seen = Counter(), set()
    for path in sorted(raw.glob("*.csv")):
        with path.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                if row["LSOA code"] not in calderdale:
                    continue
                if row["Crime ID"]:
                    if row["Crime ID"] in seen:
                        continue
                    seen.add(row["Crime ID"])
                kind = "asb" if row["Crime type"] == "Anti-social behaviour" else "crime"
                counts[(_financial_year(row["Month"]), kind)] += 1
    return counts


def test_demo_prints_what_it_published(demo_workspace):
    ws, output = demo_workspace
    html = edition_folder(ws) / "scrutiny_pack.html"
    assert html.is_file() and (edition_folder(ws) / "scrutiny_pack.pdf").is_file()
    assert str(html) in output.replace("\n", "")


def test_mart_counts_equal_counts_from_the_raw_files(demo_workspace):
    ws, _ = demo_workspace
    expected = _independent_counts(ws.raw / "police_street")
    mart = pl.read_parquet(ws.marts / "mart_crime_monthly_ward.parquet")
    got = mart.group_by("financial_year", "record_kind").agg(pl.col("records").sum())
    assert {(r["financial_year"], r["record_kind"]): r["records"] for r in got.iter_rows(named=True)} == dict(expected)
    assert sum(expected.values()) > 100_000


def test_html_shows_the_chart_and_the_same_numbers(demo_workspace):
    ws, _ = demo_workspace
    text = (edition_folder(ws) / "scrutiny_pack.html").read_text(encoding="utf-8")
    assert "js-plotly-plot" in text or "Plotly.newPlot" in text
    assert "Synthetic data" in text
    expected = _independent_counts(ws.raw / "police_street")
    cells = set(re.findall(r"<td[^>]*>\s*([\d,]+)\s*</td>", text))
    for (year, kind), count in expected.items():
        assert f"{count:,}" in cells, (year, kind, count)
