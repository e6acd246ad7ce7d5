"""The demo writes every registered source, every file lands through the real ingest with no rejects, and the
agencies' extracts agree with each other as the world says they must: the force's crime extract with police.uk,
MARAC victims with the victims of domestic abuse crimes, the IOM cohort with the crimes' offenders.

Everything is generated and landed once (a module fixture); the checks query the landed, pseudonymised tables.
"""

import csv
import gzip
import hashlib
from collections import Counter
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from pipeline.demo import DEMO_SEED, WRITERS, generate_demo_extracts
from pipeline.demo.delivery import demo_quarters
from pipeline.demo.offences import offence_categories
from pipeline.demo.world import build_world
from pipeline.ingest.assets import land
from pipeline.ingest.pseudonymise import KEY_ENV
from pipeline.geography import LOOKUP_FILE, POPULATION_FILE
from pipeline.paths import REFERENCE_DIR
from pipeline.sources import SOURCES
from tests.helpers import make_workspace

KEY = "6a" * 32
QUARTERLY = ("police_crimes", "council_asb", "council_environment", "fire_incidents", "health_treatment", "health_ambulance",
             "marac", "idva_referrals", "hate_incidents", "prevent", "partnership_activity")
FINANCIAL_YEARS = (2020, 2021, 2022, 2023, 2024)
ADULT_FEMALES = 84_000


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """A workspace with every demo extract generated into raw/ and landed: (workspace, files, summaries)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(KEY_ENV, KEY)
        ws = make_workspace(tmp_path_factory.mktemp("demo"))
        files = generate_demo_extracts(ws.raw)
        summaries = {name: land(ws, source) for name, source in SOURCES.items()}
    return ws, files, summaries


def frame(demo, sql: str) -> pl.DataFrame:
    ws = demo[0]
    with ws.connect(read_only=True) as con:
        return pl.from_arrow(con.sql(sql).to_arrow_table())


def financial_year(column: str) -> pl.Expr:
    day = pl.col(column)
    return (day.dt.year() - (day.dt.month() < 4).cast(pl.Int32)).alias("fy")


@pytest.fixture(scope="module")
def calderdale() -> set[str]:
    with gzip.open(REFERENCE_DIR / POPULATION_FILE, "rt", newline="", encoding="utf-8") as f:
        return {r["lsoa11cd"] for r in csv.DictReader(f) if r["lad_cd"] == "E08000033"}


def test_every_registered_source_has_a_writer_and_files_in_its_folder(demo):
    ws, files, _ = demo
    assert set(WRITERS) == set(SOURCES)
    for name, source in SOURCES.items():
        assert files[name], name
        for path in files[name]:
            assert path.parent == ws.raw / name and path.is_file(), path
            assert path.suffix in source.file_suffixes, path
        assert sorted(p.name for p in (ws.raw / name).iterdir()) == sorted(p.name for p in files[name]), name


def test_every_file_lands_with_no_rejects(demo):
    _, files, summaries = demo
    for name, summary in summaries.items():
        assert len(summary.files) == len(files[name]), name
        for outcome in summary.files:
            assert outcome.status == "loaded", (name, outcome.file_name, outcome.detail)
            assert outcome.rows_rejected == 0, (name, outcome.file_name)
            assert outcome.rows_accepted > 0, (name, outcome.file_name)


def test_delivered_as_agencies_deliver(demo):
    ws, files, _ = demo
    quarters = [f"{q}.csv" for q in demo_quarters()]
    assert len(quarters) == 20 and quarters[0] == "2020-21-Q1.csv" and quarters[-1] == "2024-25-Q4.csv"
    for name in QUARTERLY:
        assert [p.name for p in files[name]] == quarters, name
    assert [p.name for p in files["health_istv"]][:2] == ["RWY01-2020-04.csv", "RWY01-2020-05.csv"]
    assert len(files["health_istv"]) == 60
    assert [p.name for p in files["survey"]] == [f"community-safety-survey-{y}.xlsx" for y in FINANCIAL_YEARS]
    assert [p.name for p in files["police_prc"]] == [f"prc-{table}-{y}-{(y + 1) % 100:02d}.csv" for table in ("pfa", "csp") for y in FINANCIAL_YEARS]
    assert [p.name for p in files["population"]] == ["calderdale-lsoa-census-2011.csv", *(f"calderdale-lsoa-mid-{y}.csv" for y in FINANCIAL_YEARS)]
    # a variety of the kinds the readers take: a BOM with CRLF (Excel's "CSV UTF-8"), CRLF alone, plain LF, XLSX
    crimes = files["police_crimes"][0].read_bytes()
    assert crimes.startswith(b"\xef\xbb\xbfCrime Reference,") and crimes.count(b"\n") == crimes.count(b"\r\n")
    fire = files["fire_incidents"][0].read_bytes()
    assert not fire.startswith(b"\xef\xbb\xbf") and fire.count(b"\n") == fire.count(b"\r\n")
    assert b"\r" not in files["marac"][0].read_bytes()
    assert files["survey"][0].read_bytes().startswith(b"PK")


def test_force_extract_counts_agree_with_police_uk(demo, calderdale):
    categories = offence_categories()
    crimes = frame(demo, "SELECT committed_date, offence_code, lsoa_code FROM raw.police_crimes")
    street = frame(demo, "SELECT month, crime_type, lsoa_code FROM raw.police_street WHERE crime_type <> 'Anti-social behaviour'")
    assert crimes.filter(pl.col("lsoa_code").is_not_null())["lsoa_code"].is_in(sorted(calderdale)).all()
    ours = Counter(
        (d.strftime("%Y-%m"), categories[code])
        for d, code, lsoa in crimes.iter_rows() if lsoa in calderdale
    )
    theirs = Counter((m.strftime("%Y-%m"), t) for m, t, lsoa in street.iter_rows() if lsoa in calderdale)
    assert ours == theirs
    assert len({month for month, _ in ours}) == 60
    # No Location crimes are in the force extract with no LSOA, as on police.uk; cross-border ones are not
    no_location = crimes["lsoa_code"].null_count()
    assert no_location == street.filter(pl.col("lsoa_code").is_null()).height > 0


def test_police_uk_crime_id_is_not_a_plain_hash_of_the_crime_reference(demo):
    world = build_world()
    refs = world.crimes["crime_ref"].head(50).to_list()
    ids = set(frame(demo, "SELECT crime_id FROM raw.police_street WHERE crime_id IS NOT NULL")["crime_id"].to_list())
    assert len(ids) == world.crimes.height
    assert not any(hashlib.sha256(r.encode()).hexdigest() in ids for r in refs)


def test_marac_victims_are_the_victims_of_domestic_abuse_crimes(demo):
    crimes = frame(demo, "SELECT victim_id, offender_id FROM raw.police_crimes WHERE domestic_abuse")
    cases = frame(demo, "SELECT * FROM raw.marac")
    assert cases["victim_id"].is_in(crimes["victim_id"].drop_nulls().implode()).all()
    assert cases["perpetrator_id"].drop_nulls().is_in(crimes["offender_id"].drop_nulls().implode()).all()
    assert cases["victim_id"].n_unique() < cases.height  # victims recur
    adult_females = frame(demo, "SELECT sum(adult_females) AS n FROM raw.population WHERE year = 2011")["n"][0]
    assert abs(adult_females - ADULT_FEMALES) < 1_000
    yearly = cases.group_by(financial_year("meeting_date")).agg(
        pl.len().alias("cases"), pl.col("repeat").mean().alias("repeats"), (pl.col("referring_agency") != "police").mean().alias("partners")
    ).sort("fy")
    assert yearly["fy"].to_list() == list(FINANCIAL_YEARS)
    per_10k = yearly["cases"] / adult_females * 10_000
    assert per_10k.is_between(30, 55).all(), per_10k.to_list()
    assert yearly.filter(pl.col("fy") > 2020)["repeats"].is_between(0.2, 0.4).all(), yearly  # 2020/21 has no earlier referrals
    assert 0.3 <= (cases["referring_agency"] != "police").mean() <= 0.42
    assert (cases.filter(~pl.col("repeat"))["risk_level"] == "high").all()
    assert cases["victim_sex"].eq("F").mean() > 0.7


def test_iom_cohort_are_prolific_offenders(demo):
    offenders = frame(demo, "SELECT offender_id, count(*) AS n FROM raw.police_crimes WHERE offender_id IS NOT NULL GROUP BY 1")
    cohort = frame(demo, "SELECT * FROM raw.probation_iom")
    assert cohort.height > 100
    assert cohort["person_id"].is_in(offenders["offender_id"].implode()).all()
    full_history = cohort.filter(pl.col("cohort_month") >= pl.date(2021, 4, 1))  # the world starts April 2020
    assert (full_history["offences_before"] >= 5).all()
    counted = full_history.join(offenders, left_on="person_id", right_on="offender_id", how="left")
    assert (counted["n"] >= counted["offences_before"]).all()
    assert cohort["cohort_month"].min() < date(2020, 7, 1)  # an IOM cohort from the first quarter
    assert cohort.filter(pl.col("cohort_month") >= pl.date(2024, 5, 1))["offences_after"].null_count() > 0
    assert cohort["cohort"].value_counts().sort("count")["cohort"][-1] == "fixed"


def test_prevent_referrals_are_few_and_channel_cases_fewer(demo):
    prevent = frame(demo, "SELECT * FROM raw.prevent")
    yearly = prevent.group_by(financial_year("quarter_start")).agg(pl.col("referrals", "channel_discussed", "channel_adopted").sum())
    assert sorted(yearly["fy"].to_list()) == list(FINANCIAL_YEARS)
    assert yearly["referrals"].is_between(5, 20).all(), yearly
    assert (prevent["channel_adopted"] <= prevent["channel_discussed"]).all()
    assert (prevent["channel_discussed"] <= prevent["referrals"]).all()
    assert prevent["channel_adopted"].sum() < prevent["referrals"].sum() / 3
    assert (prevent["referrals"] <= 5).all()  # small cells: disclosure control has work to do


def test_a_and_e_assaults_echo_violence_hotspots_and_night_peaks(demo):
    attendances = frame(demo, "SELECT * FROM raw.health_istv")
    violence = frame(demo, "SELECT count(*) AS n FROM raw.police_crimes WHERE offence_code IN "
                           "('2','37.1','4.3','4.4','4.6','4.7','4.8','4.9','5D','5E','8N','8P','8S')")["n"][0]
    assert 0.10 <= attendances.height / violence <= 0.16
    postcodes = attendances["outward_postcode"].drop_nulls().value_counts().sort("count", descending=True)
    assert postcodes["outward_postcode"][0] == "HX1"
    assert set(postcodes["outward_postcode"]) <= {"HX1", "HX2", "HX3", "HX4", "HX5", "HX6", "HX7", "HD6", "OL14"}
    at = attendances["assault_datetime"]
    weekend_night = (at.dt.weekday().is_in([5, 6, 7]) & ((at.dt.hour() >= 21) | (at.dt.hour() < 5))).mean()
    assert weekend_night > 2 * (3 / 7) * (8 / 24)
    assert (attendances["arrival_datetime"] >= attendances["assault_datetime"]).all()
    assert set(attendances["site_code"]) == {"RWY01"}


def test_ambulance_assaults_and_alcohol_concentrate_in_the_town_centre(demo):
    calls = frame(demo, "SELECT category, outward_postcode FROM raw.health_ambulance")
    assert set(calls["category"]) == {"assault", "alcohol", "overdose", "self-harm", "stabbing", "shooting"}
    assaults = calls.filter(pl.col("category") == "assault")["outward_postcode"].value_counts().sort("count", descending=True)
    assert assaults["outward_postcode"][0] == "HX1"


def test_fires_peak_on_bonfire_night_and_in_spring_and_summer(demo):
    fires = frame(demo, "SELECT call_datetime FROM raw.fire_incidents WHERE deliberate AND incident_type = 'secondary fire'")
    at = fires["call_datetime"]
    per_day = fires.height / (5 * 365)
    bonfire_nights = (at.dt.month() == 11) & (at.dt.day() == 5)
    assert bonfire_nights.sum() / 5 > 8 * per_day
    spring_summer = at.dt.month().is_in([4, 5, 6, 7, 8]).sum() / 5
    winter = at.dt.month().is_in([12, 1, 2]).sum() / 3
    assert spring_summer > 1.4 * winter


def test_council_asb_cases_echo_fewer_than_police_asb(demo, calderdale):
    council = frame(demo, "SELECT reported_date, lsoa_code FROM raw.council_asb")
    police = frame(demo, "SELECT month, lsoa_code FROM raw.police_street WHERE crime_type = 'Anti-social behaviour'")
    police = police.filter(pl.col("lsoa_code").is_in(sorted(calderdale)))
    by_year = council.group_by(financial_year("reported_date")).len().join(
        police.group_by(financial_year("month")).len("police"), on="fy"
    )
    assert (by_year["len"] < 0.4 * by_year["police"]).all() and (by_year["len"] > 0.1 * by_year["police"]).all()
    top_police = set(police["lsoa_code"].value_counts().sort("count", descending=True)["lsoa_code"].head(10))
    top_council = set(council["lsoa_code"].value_counts().sort("count", descending=True)["lsoa_code"].head(10))
    assert len(top_police & top_council) >= 5


def test_reoffending_and_survey_look_like_their_sources(demo):
    reoffending = frame(demo, "SELECT * FROM raw.probation_reoffending")
    adult = reoffending.filter(pl.col("cohort_type") == "adult")
    rate = adult["reoffenders"].sum() / adult["cohort_size"].sum()
    assert 0.2 <= rate <= 0.3
    assert (reoffending["reoffenders"] <= reoffending["cohort_size"]).all()
    survey = frame(demo, "SELECT * FROM raw.survey")
    yearly = survey.group_by(pl.col("response_date").dt.year()).len()
    assert yearly["len"].is_between(900, 1100).all()
    central = {"E05001386", "E05001380"}  # Town, Park
    wards = dict(
        pl.read_csv(REFERENCE_DIR / LOOKUP_FILE).filter(pl.col("lad_cd") == "E08000033").select("ward_nm", "ward_cd").unique().iter_rows()
    )
    assert {wards["Town"], wards["Park"]} == central
    in_centre = survey.filter(pl.col("ward_code").is_in(sorted(central)))["safe_after_dark"].mean()
    elsewhere = survey.filter(~pl.col("ward_code").is_in(sorted(central)))["safe_after_dark"].mean()
    assert in_centre < elsewhere - 0.5
    assert survey["safe_day"].mean() > survey["safe_after_dark"].mean()


def test_same_seed_gives_the_same_bytes(demo, tmp_path: Path):
    _, files, _ = demo
    world = build_world(DEMO_SEED)
    for name in ("police_crimes", "marac", "survey", "road_casualties"):
        again = WRITERS[name](world, tmp_path / name)
        assert [p.name for p in again] == [p.name for p in files[name]], name
        assert all(a.read_bytes() == b.read_bytes() for a, b in zip(again, files[name])), name


def test_road_safety_volumes_are_calderdale_like_and_the_files_agree(demo):
    """Calderdale has roughly 500-700 road casualties a year, about 100 of them killed or seriously injured."""
    casualties = frame(demo, "SELECT k.collision_year AS year, k.casualty_severity, c.collision_index IS NOT NULL AS found, "
                             "c.speed_factor FROM raw.road_casualties k LEFT JOIN raw.road_collisions c USING (collision_index)")
    full_years = casualties.filter(pl.col("year").is_between(2021, 2024)).group_by("year").agg(
        pl.len().alias("all"), pl.col("casualty_severity").is_in(["1", "2"]).sum().alias("ksi"))
    assert full_years.height == 4
    assert full_years["all"].is_between(500, 700).all() and full_years["ksi"].is_between(70, 140).all(), full_years
    assert casualties["found"].all()
    recorded = frame(demo, "SELECT count(*) AS n FROM raw.road_collisions c JOIN (SELECT collision_index, count(*) AS k "
                           "FROM raw.road_casualties GROUP BY ALL) USING (collision_index) WHERE c.number_of_casualties <> k")
    assert recorded["n"][0] == 0
    collisions = frame(demo, "SELECT speed_factor FROM raw.road_collisions")["speed_factor"]
    assert 0.1 < collisions.null_count() / collisions.len() < 0.3  # not attended: no contributory factors
    assert 0.08 < collisions.drop_nulls().mean() < 0.2


def test_activity_return_carries_every_measure_every_quarter(demo):
    activity = frame(demo, "SELECT measure, quarter_start, unit, value, denominator FROM raw.partnership_activity")
    assert activity.group_by("measure").len()["len"].to_list() == [20] * activity["measure"].n_unique()
    shares = activity.filter(pl.col("unit") == "%")
    assert shares.height == 20 and shares["denominator"].is_not_null().all() and shares["value"].is_between(40, 100).all()
