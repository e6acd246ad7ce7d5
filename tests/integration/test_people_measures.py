"""People measures on a hand-built MARAC extract landed through the real path: the SafeLives repeat rate per
financial year equals a count made by hand here, with the Wilson interval computed from its formula."""

import csv
import math

import dagster as dg
import polars as pl
import pytest

from pipeline.cli import run_pipeline
from pipeline.workspace import STARTER_CONFIG
from tests.helpers import make_workspace

CONFIG = STARTER_CONFIG.format(name="people").replace('start: "2020-04"', 'start: "2023-04"')

# (case, victim, meeting date); the hand count of SafeLives repeats (referred again within 12 months of the
# victim's previous referral) is beside each
CASES = [
    ("M1", "A", "2023-05-10"),  # A's first: not a repeat
    ("M2", "A", "2024-03-10"),  # 10 months after M1: repeat (2023/24)
    ("M3", "A", "2024-06-10"),  # 3 months after M2: repeat (2024/25)
    ("M4", "B", "2023-06-01"),  # B's first
    ("M5", "B", "2024-08-01"),  # 14 months after M4: not a repeat
    ("M6", "C", "2024-05-01"),  # C's first
    ("M7", "D", "2023-04-15"),  # D's first
    ("M8", "D", "2024-04-15"),  # exactly 12 months later: repeat (2024/25)
    ("M9", "E", "2024-12-01"),  # E's first
]
HAND = {"2023/24": (1, 4), "2024/25": (2, 5)}  # (repeats, cases): 2023/24 M1 M2 M4 M7; 2024/25 M3 M5 M6 M8 M9


def wilson(x: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    p = x / n
    centre, half = p + z * z / (2 * n), z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return 100 * (centre - half) / (1 + z * z / n), 100 * (centre + half) / (1 + z * z / n)


@pytest.fixture(scope="module")
def people(tmp_path_factory, pseudonym_key_env):
    ws = make_workspace(tmp_path_factory.mktemp("people"), CONFIG)
    folder = ws.raw / "marac"
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "marac.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["case_id", "victim_id", "perpetrator_id", "meeting_date", "repeat", "referring_agency", "risk_level",
                         "victim_sex", "victim_age_band", "ethnicity", "disability", "lgbt"])
        writer.writerows([case, victim, "", day, "N", "police", "high", "F", "25-34", "White British", "N", "N"] for case, victim, day in CASES)
    street = ws.raw / "police_street"  # police.uk is checked for every month (a blocking check): one ASB record each
    street.mkdir(parents=True, exist_ok=True)
    with (street / "street.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude", "Location", "LSOA code",
                         "LSOA name", "Crime type", "Last outcome category", "Context"])
        writer.writerows(["", f"{2023 + (m + 3) // 12}-{(m + 3) % 12 + 1:02d}", "West Yorkshire Police", "West Yorkshire Police",
                          "-1.86", "53.72", "On or near High Street", "E01010955", "Calderdale 001A", "Anti-social behaviour", "", ""]
                         for m in range(24))
    mart = dg.AssetKey(["marts", "people_measures"])
    assert run_pipeline(ws, dg.AssetSelection.assets(mart).upstream()).success
    return pl.read_parquet(ws.marts / "people_measures.parquet")


def test_marac_repeat_rate_equals_the_hand_count(people):
    rows = people.filter(pl.col("measure") == "marac_repeat_rate").sort("period")
    assert {p: (int(x), int(n)) for p, x, n in rows.select("period", "numerator", "denominator").iter_rows()} == HAND
    for period, value, lower, upper in rows.select("period", "value", "lower", "upper").iter_rows():
        x, n = HAND[period]
        assert value == pytest.approx(100 * x / n)
        assert (lower, upper) == pytest.approx(wilson(x, n))
    assert set(rows["disclosure_class"]) == {"restricted"}


def test_victim_sex_profile_counts_each_case_once(people):
    rows = people.filter(pl.col("measure") == "marac_victims", pl.col("category") == "F").sort("period")
    assert rows["numerator"].to_list() == [n for _, n in HAND.values()]
    assert rows["value"].to_list() == [100.0, 100.0]
