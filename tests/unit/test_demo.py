"""The synthetic demo: police.uk files exactly as published, deterministic by seed, and realistic enough for the
analyses to find something (rates, seasonality, a town-centre hotspot, time of day, repeat victims, trends).

Figures from the files are counted with the csv module, independently of the generator's own frames.
"""

import csv
import gzip
import re
import statistics
from collections import Counter
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from pipeline.demo import DEMO_SEED, generate_demo_extracts
from pipeline.demo.offences import POLICE_UK_CRIME_TYPES
from pipeline.demo.police_street import write_police_street
from pipeline.demo.world import DEMO_END, DEMO_START, DemoWorld, build_world
from pipeline.geography import LOOKUP_FILE, POPULATION_FILE
from pipeline.paths import REFERENCE_DIR
from pipeline.sources.police_street import CRIME_TYPES, OUTCOMES

HEADER = b"Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,Crime type,Last outcome category,Context\r\n"
FORCE = "West Yorkshire Police"
ASB = "Anti-social behaviour"
MONTHS = [f"{y}-{m:02d}" for y in range(2020, 2026) for m in range(1, 13) if "2020-04" <= f"{y}-{m:02d}" <= "2025-03"]


def financial_year(month: str) -> int:
    year, m = int(month[:4]), int(month[5:])
    return year if m >= 4 else year - 1


@pytest.fixture(scope="module")
def world() -> DemoWorld:
    return build_world()


@pytest.fixture(scope="module")
def street_files(world: DemoWorld, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return write_police_street(world, tmp_path_factory.mktemp("raw") / "police_street")


@pytest.fixture(scope="module")
def rows(street_files: list[Path]) -> list[dict[str, str]]:
    out = []
    for path in street_files:
        with path.open(newline="", encoding="utf-8") as f:
            out.extend(csv.DictReader(f))
    return out


@pytest.fixture(scope="module")
def population() -> dict[str, int]:
    with gzip.open(REFERENCE_DIR / POPULATION_FILE, "rt", newline="", encoding="utf-8") as f:
        return {r["lsoa11cd"]: int(r["usual_residents"]) for r in csv.DictReader(f) if r["lad_cd"] == "E08000033"}


def test_same_seed_gives_identical_files_and_another_seed_differs(street_files, tmp_path: Path):
    again = generate_demo_extracts(tmp_path / "again")["police_street"]
    assert [p.name for p in again] == [p.name for p in street_files]
    assert all(a.read_bytes() == b.read_bytes() for a, b in zip(again, street_files))
    other = write_police_street(build_world(DEMO_SEED + 1), tmp_path / "other")
    assert all(a.read_bytes() != b.read_bytes() for a, b in zip(other, street_files))


def test_sixty_monthly_files_april_2020_to_march_2025(street_files):
    assert (DEMO_START, DEMO_END) == (date(2020, 4, 1), date(2025, 3, 31))
    assert len(MONTHS) == 60
    assert [p.name for p in street_files] == [f"{m}-west-yorkshire-street.csv" for m in MONTHS]


def test_header_verbatim_crlf_and_no_bom(street_files):
    for path in street_files:
        data = path.read_bytes()
        assert data.startswith(HEADER), path.name
        assert data.endswith(b"\r\n") and data.count(b"\n") == data.count(b"\r\n"), path.name
        data.decode("utf-8")


def test_rows_are_as_police_uk_writes_them(street_files, rows):
    for path in street_files:
        with path.open(newline="", encoding="utf-8") as f:
            assert {r["Month"] for r in csv.DictReader(f)} == {path.name[:7]}
    for r in rows:
        assert r["Reported by"] == r["Falls within"] == FORCE
        assert r["Context"] == ""
        if r["Crime type"] == ASB:
            assert r["Crime ID"] == "" and r["Last outcome category"] == ""
        else:
            assert re.fullmatch(r"[0-9a-f]{64}", r["Crime ID"]), r
            assert r["Last outcome category"] in OUTCOMES, r
        if r["Location"] == "No Location":
            assert r["Longitude"] == r["Latitude"] == r["LSOA code"] == r["LSOA name"] == ""
        else:
            assert r["Location"].startswith("On or near ") and r["LSOA code"] and r["LSOA name"]
            assert re.fullmatch(r"-[12]\.\d{6}", r["Longitude"]) and re.fullmatch(r"53\.\d{6}", r["Latitude"]), r
    crime_ids = [r["Crime ID"] for r in rows if r["Crime ID"]]
    assert len(crime_ids) == len(set(crime_ids))
    assert {r["Crime type"] for r in rows} == set(POLICE_UK_CRIME_TYPES) | {ASB}


def test_calderdale_crime_rate_and_asb_volume_every_financial_year(rows, population):
    crimes, asb = Counter(), Counter()
    for r in rows:
        if r["LSOA code"] in population:
            (asb if r["Crime type"] == ASB else crimes)[financial_year(r["Month"])] += 1
    residents = sum(population.values())
    assert residents == 203_826
    rates = {fy: n / residents * 1000 for fy, n in crimes.items()}
    assert sorted(rates) == [2020, 2021, 2022, 2023, 2024]
    assert all(90 <= rate <= 110 for rate in rates.values()), rates
    assert all(5000 <= n <= 8000 for n in asb.values()), asb


def test_summer_above_winter(rows):
    by_month = Counter((r["Crime type"] == ASB, r["Month"][5:]) for r in rows)
    for is_asb in (False, True):
        summer = sum(by_month[is_asb, m] for m in ("06", "07", "08"))
        winter = sum(by_month[is_asb, m] for m in ("12", "01", "02"))
        assert summer > 1.05 * winter, (is_asb, summer, winter)


def test_covid_dip_and_trends_by_crime_type(rows):
    counts = Counter((r["Crime type"], financial_year(r["Month"])) for r in rows)
    assert counts["Shoplifting", 2024] > 1.25 * counts["Shoplifting", 2022]
    assert counts["Burglary", 2024] < 0.85 * counts["Burglary", 2020]
    months = Counter(r["Month"] for r in rows if r["Crime type"] != ASB)
    assert months["2020-04"] < 0.85 * months["2021-04"]


def test_town_centre_wards_several_times_the_median_lsoa(rows, population):
    with gzip.open(REFERENCE_DIR / LOOKUP_FILE, "rt", newline="", encoding="utf-8") as f:
        central = {r["lsoa11cd"] for r in csv.DictReader(f) if r["lad_cd"] == "E08000033" and r["ward_nm"] in ("Town", "Park")}
    crimes = Counter(r["LSOA code"] for r in rows if r["Crime type"] != ASB and r["LSOA code"] in population)
    median_rate = statistics.median(crimes[code] / people for code, people in population.items())
    central_rate = sum(crimes[c] for c in central) / sum(population[c] for c in central)
    assert central_rate > 2.5 * median_rate


def test_cross_border_and_no_location_rows(rows, population):
    with gzip.open(REFERENCE_DIR / "lsoa11_to_lsoa21.csv.gz", "rt", newline="", encoding="utf-8") as f:
        district = {r["lsoa11cd"]: r["lad22cd"] for r in csv.DictReader(f)}
    located_elsewhere = [r for r in rows if r["LSOA code"] and r["LSOA code"] not in population]
    no_location = [r for r in rows if r["Location"] == "No Location"]
    assert 0.02 < len(located_elsewhere) / len(rows) < 0.04
    assert {district[r["LSOA code"]] for r in located_elsewhere} == {"E08000032", "E08000034"}  # Bradford, Kirklees
    assert 0.002 < len(no_location) / len(rows) < 0.01


def test_crime_types_are_police_uk_spellings_of_each_offence_code(world):
    assert len(POLICE_UK_CRIME_TYPES) == 13 and set(POLICE_UK_CRIME_TYPES) <= CRIME_TYPES
    with (REFERENCE_DIR / "ho_offence_codes_to_policeuk.csv").open(newline="", encoding="utf-8") as f:
        lookup = {r["Offence_Code"]: r["Police.uk_Cat"] for r in csv.DictReader(f)}
    pairs = world.crimes.select("offence_code", "police_uk_category").unique().rows()
    for code, category in pairs:
        assert category in POLICE_UK_CRIME_TYPES
        assert lookup[code].lower() == category.lower()
    shares = world.crimes["police_uk_category"].value_counts(normalize=True).rows()
    assert 0.35 <= dict(shares)["Violence and sexual offences"] <= 0.40


def test_evenings_and_friday_saturday_over_represented(world):
    at = world.crimes["committed_at"]
    evening = ((at.dt.hour() >= 18) | (at.dt.hour() < 2)).mean()
    friday_saturday = at.dt.weekday().is_in([5, 6]).mean()
    assert evening > 1.15 * 8 / 24
    assert friday_saturday > 1.1 * 2 / 7


def test_domestic_abuse_victims_recur_within_twelve_months(world):
    domestic = world.crimes.filter(pl.col("domestic_abuse") & pl.col("victim_id").is_not_null()).sort("committed_at")
    gaps = domestic.group_by("victim_id").agg(pl.col("committed_at").diff().dt.total_days().min().alias("gap"))
    repeat_rate = (gaps["gap"].fill_null(10_000) <= 365).mean()
    assert 0.2 <= repeat_rate <= 0.4
    assert 0.10 <= world.crimes["domestic_abuse"].mean() <= 0.20


def test_world_columns_and_flags(world):
    crimes = world.crimes
    assert crimes["crime_ref"].n_unique() == crimes.height
    assert (crimes["recorded_date"] >= crimes["committed_at"].dt.date()).all()
    assert ((crimes["recorded_date"] - crimes["committed_at"].dt.date()).dt.total_days() <= 10).all()
    assert set(crimes["hate_strand"].drop_nulls().unique()) <= {"race", "religion", "sexual orientation", "disability", "transgender"}
    nte = crimes.filter(pl.col("night_time_economy"))
    assert nte.height and nte["alcohol"].mean() > 0.5
    assert crimes["knife"].any() and crimes["firearm"].any()
    assert crimes["outcome"].is_in(sorted(OUTCOMES)).all()
