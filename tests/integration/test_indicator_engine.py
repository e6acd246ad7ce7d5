"""The indicator engine on a hand-built workspace: five partners' extracts and two mid-year populations
written here, ten indicators, their intervals and two change tests computed independently in this file
(scipy and the published formulas), and the engine's marts must agree."""

import csv
import gzip
import math
from collections import Counter
from datetime import date

import numpy as np
import polars as pl
import pytest
from scipy import stats as sps

import dagster as dg

from pipeline.cli import run_pipeline
from pipeline.geography import LOOKUP_FILE, POPULATION_FILE
from pipeline.paths import REFERENCE_DIR
from pipeline.workspace import STARTER_CONFIG
from tests.helpers import make_workspace

CONFIG = STARTER_CONFIG.format(name="engine").replace('start: "2020-04"', 'start: "2023-04"')
MONTHS = [date(2023 + (m + 3) // 12, (m + 3) % 12 + 1, 1) for m in range(24)]  # April 2023 ... March 2025
YEARS = {"2023/24": MONTHS[:12], "2024/25": MONTHS[12:]}
MARTS = [dg.AssetKey(["marts", "indicator_values"]), dg.AssetKey(["marts", "indicator_comparisons"]), dg.AssetKey(["marts", "strategy_review"])]


def _fy(month: date) -> str:
    start = month.year if month.month >= 4 else month.year - 1
    return f"{start}/{(start + 1) % 100:02d}"


def _write(path, header, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


@pytest.fixture(scope="module")
def world(tmp_path_factory, pseudonym_key_env):
    """Write the extracts, run the pipeline up to the indicator marts, and keep what was written."""
    rng = np.random.default_rng(7)
    ws = make_workspace(tmp_path_factory.mktemp("engine"), CONFIG)
    with gzip.open(REFERENCE_DIR / POPULATION_FILE, "rt", newline="", encoding="utf-8") as handle:
        census = {r["lsoa11cd"]: (int(r["usual_residents"]), int(r["households"])) for r in csv.DictReader(handle) if r["lad_cd"] == "E08000033"}
    with gzip.open(REFERENCE_DIR / LOOKUP_FILE, "rt", newline="", encoding="utf-8") as handle:
        ward_of = {r["lsoa11cd"]: r["ward_cd"] for r in csv.DictReader(handle) if r["lsoa11cd"] in census}
    lsoas = sorted(census)
    # mid-year populations: residents grown by a year-specific factor, households and females 16+ as shares
    population = {}
    for year, growth in ((2023, 1.05), (2024, 1.07)):
        for code in lsoas:
            persons = round(census[code][0] * growth)
            population[(year, code)] = (persons, round(census[code][1] * growth), round(persons * 0.41))
    _write(ws.raw / "population" / "mid.csv", ["lsoa_code", "year", "persons", "households", "adult_females"],
           [[code, year, *values] for (year, code), values in population.items()])

    crimes = []  # (month, lsoa, offence_code, knife)
    for month in MONTHS:
        for _ in range(int(rng.integers(40, 70))):
            code = str(rng.choice(["28E", "5D", "46", "58A"]))
            crimes.append((month, lsoas[int(rng.integers(len(lsoas)))], code, bool(code == "5D" and rng.random() < 0.3)))
    _write(ws.raw / "police_crimes" / "crimes.csv",
           ["crime_ref", "recorded_date", "committed_date", "committed_time", "offence_code", "lsoa_code", "domestic_abuse",
            "hate_strand", "knife", "firearm", "alcohol", "night_time_economy", "victim_id", "offender_id", "victim_age_band", "victim_sex", "outcome"],
           [[f"C{i}", f"{m:%Y-%m}-15", f"{m:%Y-%m}-14", "22:10", code, lsoa, "N", "", "Y" if knife else "N", "N", "N", "N", f"V{i}", "", "25-34", "F", "Under investigation"]
            for i, (m, lsoa, code, knife) in enumerate(crimes)])

    fires = []  # (month, lsoa, type, deliberate)
    for month in MONTHS:
        for _ in range(int(rng.integers(2, 9))):
            fires.append((month, lsoas[int(rng.integers(len(lsoas)))], str(rng.choice(["primary fire", "secondary fire", "false alarm"])), bool(rng.random() < 0.6)))
    _write(ws.raw / "fire_incidents" / "fires.csv",
           ["incident_id", "call_datetime", "incident_type", "deliberate", "property_type", "lsoa_code", "casualties", "fatalities", "smoke_alarm", "attack_on_crew"],
           [[f"F{i}", f"{m:%Y-%m}-10 20:00", kind, "Y" if deliberate else "N", "Loose refuse", lsoa, 0, 0, "", "N"]
            for i, (m, lsoa, kind, deliberate) in enumerate(fires)])

    cases = []  # (month, day, victim, agency)
    for index, month in enumerate(MONTHS):
        for k in range(int(rng.integers(2, 6))):
            cases.append((month, 5 + k, f"V{index}-{k}", str(rng.choice(["police", "police", "idva", "health"]))))
    cases += [(date(2023, 5, 1), 20, "R1", "police"), (date(2024, 3, 1), 20, "R1", "health"),   # 10 months apart: a repeat
              (date(2023, 6, 1), 20, "R2", "police"), (date(2024, 8, 1), 20, "R2", "police"),   # 14 months: not a repeat
              (date(2024, 9, 1), 20, "R3", "idva"), (date(2025, 2, 1), 20, "R3", "police")]     # 5 months: a repeat
    _write(ws.raw / "marac" / "marac.csv",
           ["case_id", "victim_id", "perpetrator_id", "meeting_date", "repeat", "referring_agency", "risk_level", "victim_sex",
            "victim_age_band", "ethnicity", "disability", "lgbt"],
           [[f"M{i}", victim, "", f"{m:%Y-%m}-{day:02d}", "N", agency, "high", "F", "25-34", "White British", "N", "N"]
            for i, (m, day, victim, agency) in enumerate(cases)])

    wards = sorted(set(ward_of.values()))
    responses = [(month, wards[int(rng.integers(len(wards)))], int(rng.integers(1, 6))) for month in (date(2023, 10, 1), date(2024, 10, 1)) for _ in range(300)]
    _write(ws.raw / "survey" / "survey.csv",
           ["respondent_id", "response_date", "ward_code", "age_band", "sex", "safe_day", "safe_after_dark", "priority_asb", "priority_violence",
            "priority_drugs", "priority_burglary", "priority_vehicle_crime", "priority_domestic_abuse", "priority_road_safety"],
           [[f"S{i}", f"{m:%Y-%m}-12", ward, "35-44", "F", 4, dark, 3, 3, 3, 3, 3, 3, 3] for i, (m, ward, dark) in enumerate(responses)])

    street = [(month, lsoas[int(rng.integers(len(lsoas)))], str(rng.choice(["Anti-social behaviour", "Burglary"])))
              for month in MONTHS for _ in range(int(rng.integers(5, 15)))]
    _write(ws.raw / "police_street" / "street.csv",
           ["Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude", "Location", "LSOA code", "LSOA name",
            "Crime type", "Last outcome category", "Context"],
           [["" if kind.startswith("Anti") else f"{i:064x}", f"{m:%Y-%m}", "West Yorkshire Police", "West Yorkshire Police",
             "-1.86", "53.72", "On or near High Street", lsoa, "Calderdale", kind, "", ""] for i, (m, lsoa, kind) in enumerate(street)])

    assert run_pipeline(ws, dg.AssetSelection.assets(*MARTS).upstream())  # prints the run, shown if it fails
    values = pl.read_parquet(ws.marts / "indicator_values.parquet")
    comparisons = pl.read_parquet(ws.marts / "indicator_comparisons.parquet")
    return {"values": values, "comparisons": comparisons, "population": population, "crimes": crimes, "fires": fires, "street": street,
            "cases": cases, "responses": responses, "ward_of": ward_of, "lsoas": lsoas}


# --- independent statistics: the published formulas, with scipy's distributions ------------------------------

def rate_interval(count: int, denominator: float, multiplier: float) -> tuple[float, float, float]:
    """PHE Fingertips: exact Poisson limits (chi-square) below 10 events, Byar's approximation from 10."""
    z = sps.norm.ppf(0.975)
    if count < 10:
        lower = sps.chi2.ppf(0.025, 2 * count) / 2 if count else 0.0
        upper = sps.chi2.ppf(0.975, 2 * count + 2) / 2
    else:
        lower = count * (1 - 1 / (9 * count) - z / (3 * math.sqrt(count))) ** 3
        upper = (count + 1) * (1 - 1 / (9 * (count + 1)) + z / (3 * math.sqrt(count + 1))) ** 3
    scale = multiplier / denominator
    return count * scale, lower * scale, upper * scale


def wilson(x: int, n: int) -> tuple[float, float, float]:
    z = sps.norm.ppf(0.975)
    p = x / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return 100 * p, 100 * (centre - half), 100 * (centre + half)


def _close(got, expected, tolerance=1e-9):
    assert got == pytest.approx(expected, rel=tolerance, abs=1e-12), (got, expected)


def _row(values, indicator, period, area_type="partnership", area_code="calderdale"):
    rows = values.filter(pl.col("indicator_id") == indicator, pl.col("period") == period, pl.col("area_type") == area_type,
                         pl.col("area_code") == area_code)
    assert rows.height == 1, f"{indicator} {period} {area_code}: {rows.height} rows"
    return rows.row(0, named=True)


def _residents(world, year, lsoas=None, column=0):
    return sum(v[column] for (y, code), v in world["population"].items() if y == year and (lsoas is None or code in lsoas))


@pytest.mark.parametrize("financial_year", list(YEARS))
def test_rates_from_crime_and_fire_data(world, financial_year):
    year = int(financial_year[:4])  # the mid-year inside the financial year
    crimes = [c for c in world["crimes"] if _fy(c[0]) == financial_year]
    fires = [f for f in world["fires"] if _fy(f[0]) == financial_year]
    expected = {
        "total_crime": (len(crimes), _residents(world, year), 1000),
        "knife_crime": (sum(c[3] for c in crimes), _residents(world, year), 10000),
        "domestic_burglary": (sum(c[2] == "28E" for c in crimes), _residents(world, year, column=1), 1000),
        "deliberate_fires": (sum(f[3] and f[2] != "false alarm" for f in fires), _residents(world, year), 10000),
        "police_asb_incidents": (sum(_fy(m) == financial_year and k.startswith("Anti") for m, _, k in world["street"]), _residents(world, year), 1000),
    }
    for indicator, (count, denominator, multiplier) in expected.items():
        row = _row(world["values"], indicator, financial_year)
        assert (row["numerator"], row["denominator"], row["denominator_year"]) == (count, denominator, year), indicator
        for got, want in zip((row["value"], row["lower"], row["upper"]), rate_interval(count, denominator, multiplier)):
            _close(got, want)


def test_a_ward_rate_uses_its_own_lsoas_and_residents(world):
    ward = world["ward_of"][world["lsoas"][0]]
    lsoas = {code for code, w in world["ward_of"].items() if w == ward}
    count = sum(1 for c in world["crimes"] if _fy(c[0]) == "2024/25" and c[1] in lsoas)
    row = _row(world["values"], "total_crime", "2024/25", "ward", ward)
    assert (row["numerator"], row["denominator"]) == (count, _residents(world, 2024, lsoas))
    _close(row["value"], rate_interval(count, row["denominator"], 1000)[0])


@pytest.mark.parametrize("financial_year", list(YEARS))
def test_counts_and_proportions_from_fire_marac_and_survey(world, financial_year):
    fires = [f for f in world["fires"] if _fy(f[0]) == financial_year]
    primary = sum(f[3] and f[2] == "primary fire" for f in fires)
    row = _row(world["values"], "deliberate_primary_fires", financial_year)
    assert row["numerator"] == primary and row["denominator"] is None
    for got, want in zip((row["value"], row["lower"], row["upper"]), rate_interval(primary, 1, 1)):
        _close(got, want)

    cases = sorted(world["cases"], key=lambda c: (c[0], c[1]))
    last_seen, repeats, counted, non_police = {}, 0, 0, 0
    for month, day, victim, agency in cases:
        when = date(month.year, month.month, day)
        previous = last_seen.get(victim)
        in_year = _fy(month) == financial_year
        if in_year:
            counted += 1
            non_police += agency != "police"
            if previous and (when.year - previous.year) * 12 + when.month - previous.month <= 12 and when <= date(previous.year + 1, previous.month, previous.day):
                repeats += 1
        last_seen[victim] = when
    assert _row(world["values"], "marac_cases", financial_year)["numerator"] == counted
    for indicator, x in (("marac_repeat_share", repeats), ("marac_non_police_share", non_police)):
        row = _row(world["values"], indicator, financial_year)
        assert (row["numerator"], row["denominator"]) == (x, counted), indicator
        for got, want in zip((row["value"], row["lower"], row["upper"]), wilson(x, counted)):
            _close(got, want)

    answers = [r for r in world["responses"] if _fy(r[0]) == financial_year]
    safe = sum(r[2] >= 4 for r in answers)
    row = _row(world["values"], "feel_safe_after_dark", financial_year)
    assert (row["numerator"], row["denominator"]) == (safe, len(answers))
    for got, want in zip((row["value"], row["lower"], row["upper"]), wilson(safe, len(answers))):
        _close(got, want)


def test_two_change_tests_match_an_independent_computation(world):
    comparisons = world["comparisons"].filter(pl.col("comparison") == "rolling 12 months vs previous 12", pl.col("area_type") == "partnership")

    # total crime: the conditional binomial test of two Poisson rates (central two-sided p-value)
    c1, c2 = (sum(1 for c in world["crimes"] if _fy(c[0]) == fy) for fy in YEARS)
    d1, d2 = _residents(world, 2023), _residents(world, 2024)
    share = d2 / (d1 + d2)
    p_value = min(1.0, 2 * min(sps.binom.cdf(c2, c1 + c2, share), sps.binom.sf(c2 - 1, c1 + c2, share)))
    row = comparisons.filter(pl.col("indicator_id") == "total_crime").row(0, named=True)
    assert (row["period"], row["comparator"]) == ("12 months to 2025-03", "12 months to 2024-03")
    _close(row["change"], (c2 / d2) / (c1 / d1))
    _close(row["p_value"], p_value, 1e-7)
    assert row["verdict"] == (("increase" if c2 / d2 > c1 / d1 else "decrease") if p_value < 0.05 else "no significant change")

    # feeling safe after dark: the score test of two proportions (pooled variance, N/(N-1) correction)
    (x1, n1), (x2, n2) = ((sum(r[2] >= 4 for r in world["responses"] if _fy(r[0]) == fy), sum(1 for r in world["responses"] if _fy(r[0]) == fy)) for fy in YEARS)
    pooled = (x1 + x2) / (n1 + n2)
    z = (x2 / n2 - x1 / n1) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2) * (n1 + n2) / (n1 + n2 - 1))
    row = comparisons.filter(pl.col("indicator_id") == "feel_safe_after_dark").row(0, named=True)
    _close(row["change"], 100 * (x2 / n2 - x1 / n1))
    _close(row["p_value"], 2 * sps.norm.sf(abs(z)), 1e-7)


def test_no_verdict_without_a_significant_test(world):
    unsupported = world["comparisons"].filter(pl.col("verdict").is_in(["increase", "decrease"]),
                                              pl.col("p_value").is_null() | (pl.col("p_value") >= 0.05))
    assert unsupported.height == 0, unsupported.head()


def test_sources_never_delivered_give_no_figures(world):
    """Council ASB, health and probation were not supplied: their indicators have no rows rather than zeros."""
    assert world["values"].filter(pl.col("indicator_id").is_in(["council_asb_cases", "ae_assault_attendances", "iom_offences_per_individual"])).height == 0
