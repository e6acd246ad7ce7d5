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


# --- the indicator engine over the demo ------------------------------------------------------------------------


def test_every_strategy_measure_has_value_baseline_target_and_rag(demo_workspace):
    from pipeline.cli import DEMO_CONFIG
    from pipeline.config import parse_config

    ws, _ = demo_workspace
    review = pl.read_parquet(ws.marts / "strategy_review.parquet")
    measures = parse_config(DEMO_CONFIG).strategy.measures
    assert review.height == len(measures) >= 25
    assert review["indicator_id"].to_list() == [m.indicator for _, m in measures]
    for column in ("latest_value", "baseline_value", "target_value", "rag", "rag_reason", "trend"):
        assert review[column].null_count() == 0, (column, review.filter(pl.col(column).is_null())["indicator_id"].to_list())
    assert set(review["rag"]) <= {"red", "amber", "green"}


def test_no_comparison_claims_a_change_its_test_does_not_support(demo_workspace):
    ws, _ = demo_workspace
    comparisons = pl.read_parquet(ws.marts / "indicator_comparisons.parquet")
    assert {"rolling 12 months vs previous 12", "financial year vs baseline", "trend since baseline", "target", "peers"} <= set(comparisons["comparison"])
    claimed = comparisons.filter(pl.col("verdict").is_in(["increase", "decrease"]))
    assert claimed.height > 0  # the demo has real changes, so the rule below is not vacuous
    assert claimed.filter(pl.col("p_value").is_null() | (pl.col("p_value") >= 0.05)).height == 0
    significant = comparisons.filter(pl.col("p_value") < 0.05)
    assert significant.filter(pl.col("verdict") == "no significant change").height == 0


def test_every_rate_has_its_denominator_and_year(demo_workspace):
    ws, _ = demo_workspace
    rates = pl.read_parquet(ws.marts / "indicator_values.parquet").filter(pl.col("kind") == "rate")
    assert rates.height > 0
    assert rates.filter(pl.col("denominator").is_null() | pl.col("denominator_year").is_null() | (pl.col("denominator") <= 0)).height == 0


def test_demo_rates_divide_by_each_years_mid_year_population(demo_workspace):
    """Totals of the demo's own population files, read here with the csv module: each financial year's rate
    uses its mid-year (2020 for 2020/21 ...), never Census 2011."""
    ws, _ = demo_workspace
    residents: Counter = Counter()
    for path in (ws.raw / "population").glob("*.csv"):
        with path.open(newline="", encoding="utf-8-sig") as handle:
            for row in csv.DictReader(handle):
                residents[int(row["year"])] += int(row["persons"])
    values = pl.read_parquet(ws.marts / "indicator_values.parquet").filter(
        pl.col("indicator_id") == "total_crime", pl.col("area_type") == "partnership", pl.col("period_type") == "financial_year")
    assert values.height == 5
    for row in values.iter_rows(named=True):
        year = int(row["period"][:4])
        assert (row["denominator_year"], row["denominator"]) == (year, residents[year]), row["period"]
    assert residents[2011] not in set(values["denominator"])
