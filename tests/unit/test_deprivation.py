"""Deprivation on hand-built data: decile rates, the most deprived 10% / 20% shares and the quintile rate ratio
equal hand counts."""

import polars as pl
import pytest

from pipeline.analysis import deprivation

# 20 LSOAs of one partnership, national ranks 100, 200, ... (most deprived first); events fall with deprivation
COUNTS = [60, 50, 40, 40, 30, 30, 20, 20, 20, 20, 15, 15, 10, 10, 10, 10, 5, 5, 5, 5]
RESIDENTS = [1000 + 100 * (i % 3) for i in range(20)]


@pytest.fixture(scope="module")
def frame():
    codes = [f"E0{i:02d}" for i in range(20)]
    rows = pl.DataFrame({
        "indicator_id": "crime_rate", "title": "Crime", "theme": "crime", "partnership_id": "p", "period": "2023/24",
        "period_start": pl.Series(["2023-04-01"] * 20).str.to_date(), "area_code": codes, "numerator": [float(c) for c in COUNTS],
        "denominator": [float(r) for r in RESIDENTS], "multiplier": 1000.0, "disclosure_class": "restricted",
    })
    # ranks shuffled against the row order, so the grouping has to come from the ranks
    imd = pl.DataFrame({"lsoa_code": codes[::-1], "imd_index": "IMD2019 (England)",
                        "imd_rank": [100 * (20 - i) for i in range(20)], "imd_decile": [1 + (19 - i) // 2 for i in range(20)]})
    return deprivation.deprivation_frame(rows, imd)


def test_one_row_per_decile_with_its_rate(frame):
    assert frame["imd_decile"].to_list() == list(range(1, 11))
    first = frame.row(0, named=True)
    assert first["numerator"] == COUNTS[0] + COUNTS[1]
    assert first["value"] == pytest.approx(1000 * (COUNTS[0] + COUNTS[1]) / (RESIDENTS[0] + RESIDENTS[1]))
    assert first["lower"] < first["value"] < first["upper"]


def test_shares_and_rate_ratio_equal_hand_counts(frame):
    row = frame.row(0, named=True)
    total = sum(COUNTS)
    assert row["share_most_deprived_10"] == pytest.approx(100 * sum(COUNTS[:2]) / total)
    assert row["share_most_deprived_20"] == pytest.approx(100 * sum(COUNTS[:4]) / total)
    most = sum(COUNTS[:4]) / sum(RESIDENTS[:4])
    least = sum(COUNTS[16:]) / sum(RESIDENTS[16:])
    assert row["rate_ratio"] == pytest.approx(most / least)
    assert row["rate_ratio_lower"] > 1 and row["rate_ratio_upper"] > row["rate_ratio"]
    assert frame["disclosure_class"].null_count() == 0
