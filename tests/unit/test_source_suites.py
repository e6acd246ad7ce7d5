"""The suites on every staged source, on the marts the reports read, and across sources: they exist, the generated ones
are what the declarations say, and they fail (or warn) on small DuckDB tables built here. Real GX via run_suite."""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import pytest

from pipeline.ingest.landing import ensure_tables
from pipeline import generated
from pipeline.paths import EXPECTATIONS_DIR, PROJECT_ROOT
from pipeline.publish.assets import discover as discover_reports
from pipeline.quality import templates
from pipeline.quality.checks import suite_files
from pipeline.quality.sql_floor import run_floor
from pipeline.quality.suites import load_suite, run_suite
from pipeline.sources import SOURCES

LSOAS = ("E01010001", "E01010002", "E01010003")
AS_OF = "2025-06-30"


def suite(name: str):
    return load_suite(EXPECTATIONS_DIR / f"{name}.json")


def md5(value: str) -> str:
    import hashlib

    return hashlib.md5(value.encode()).hexdigest()  # 32 lower-case hex characters, like a pseudonym


def failed(outcome) -> dict[str, object]:
    return {o.column: o for o in outcome.outcomes if not o.success}


def assert_floor_agrees(con, suite_, outcome) -> None:
    floor = run_floor(con, suite_)
    assert [o.success for o in floor.outcomes] == [o.success for o in outcome.outcomes]


@pytest.fixture
def con():
    """An empty warehouse with the run's variables, a small partnership geography and the offence code list."""
    con = duckdb.connect()
    for name, value in (("period_start", "2024-04-01"), ("period_end", "2025-03-01"), ("as_of", AS_OF)):
        con.execute(f"SET VARIABLE {name} = '{value}'")
    con.execute("CREATE SCHEMA reference")
    con.execute(
        "CREATE TABLE reference.geography AS SELECT 'calderdale' AS partnership_id, lsoa_code, 'E0500' || i AS ward_code, "
        "'E08000033' AS lad_code, 1500 AS residents, 2023 AS population_year "
        f"FROM (SELECT unnest({list(LSOAS)}) AS lsoa_code, unnest([1, 2, 3]) AS i)"
    )
    con.execute("CREATE TABLE reference.postcode_districts AS SELECT 'calderdale' AS partnership_id, 'HX1' AS outward_postcode")
    con.execute("CREATE TABLE reference.offence_codes AS SELECT unnest(['8N', '105A', '28E', '56B']) AS offence_code")
    con.execute("CREATE TABLE reference.known_gaps (source VARCHAR, month DATE, reason VARCHAR)")
    for source in SOURCES.values():
        ensure_tables(con, source)  # every raw table, empty, exactly as landing makes it
    con.execute("INSERT INTO raw._manifest (file_id, source, file_name) SELECT 'f1', name, 'raw/' || name || '/q.csv' "
                f"FROM unnest({list(SOURCES)}) AS t(name)")
    return con


def insert(con, source: str, rows: list[dict]) -> None:
    """Rows into raw.<source> as landing leaves them: file f1, a line each, the period the declaration says."""
    declared = SOURCES[source]
    first = con.execute(f"SELECT coalesce(max(_line), 1) + 1 FROM raw.{source}").fetchone()[0]  # line 1 is the heading
    for line, row in enumerate(rows, start=first):
        row = {"_file_id": "f1", "_line": line, "_issuer": "", **row}
        period = row.get(declared.period_column)
        row.setdefault("_period", period.replace(day=1) if isinstance(period, date) else None)
        names = ", ".join(f'"{k}"' for k in row)
        con.execute(f"INSERT INTO raw.{source} ({names}) VALUES ({', '.join('?' for _ in row)})", list(row.values()))


def months(start: date, count: int) -> list[date]:
    return [date(start.year + (start.month - 1 + i) // 12, (start.month - 1 + i) % 12 + 1, 1) for i in range(count)]


# ------------------------------------------------------------------------------------------- coverage


def test_the_generated_suites_and_sources_page_are_the_committed_files():
    """CI's staleness check: refresh with `csp generate` after changing a source's declaration."""
    assert [str(p.relative_to(PROJECT_ROOT)) for p in generated.stale()] == [], "run `csp generate`"


def test_every_registered_source_has_a_suite_on_its_raw_table():
    checked = {s.asset for s in suite_files()}
    assert {f"raw/{name}" for name in SOURCES} <= checked
    names = {s.name for s in suite_files()}
    assert {f"raw.{name}_volume" for name, s in SOURCES.items() if s.volume_checked} <= names
    assert "raw.probation_reoffending_volume" not in names  # MoJ publishes cohorts long after they close


def test_every_mart_a_report_reads_has_a_suite():
    checked = {s.asset for s in suite_files()}
    read = {mart for report in discover_reports() for mart in report.reads}
    assert read and read <= checked, sorted(read - checked)


def test_cross_source_suites_run_after_every_source_has_landed():
    for name in ("conformed.source_periods_police_totals", "conformed.source_periods_marac_volume", "conformed.source_periods_marac_victims",
                 "conformed.source_periods_road_casualties"):
        assert suite(name).asset == "conformed/source_periods"


def test_generated_sets_and_bounds_come_from_the_declarations():
    survey = suite("raw.survey")
    ratings = {e["kwargs"]["column"]: (e["kwargs"]["min_value"], e["kwargs"]["max_value"])
               for e in survey.expectations if e["type"] == "expect_column_values_to_be_between"}
    assert ratings["safe_after_dark"] == (1, 5) and len(ratings) == 9
    crimes = suite("raw.police_crimes")
    sets = {e["kwargs"]["column"]: set(e["kwargs"]["value_set"]) for e in crimes.expectations if "value_set" in e["kwargs"]}
    assert sets["hate_strand"] == set(SOURCES["police_crimes"].column("hate_strand").allowed)
    regexes = {e["kwargs"]["column"] for e in crimes.expectations if e["kwargs"].get("regex") == templates.PSEUDONYM_REGEX}
    assert regexes == {"crime_ref", "victim_id", "offender_id"}


def test_a_source_the_partnership_does_not_use_neither_fails_nor_warns(con):
    """Empty raw tables (a disabled source, or one never delivered: submission tracking reports that)."""
    for name in [*templates.generated(), "conformed.source_periods_police_totals.json",
                 "conformed.source_periods_marac_volume.json", "conformed.source_periods_marac_victims.json",
                 "conformed.source_periods_road_casualties.json"]:
        outcome = run_suite(con, suite(name.removesuffix(".json")))
        assert outcome.passed and not outcome.warnings, outcome.summary()


# ------------------------------------------------------------------------------------------- raw sources


def crime(i: int, **changes) -> dict:
    day = date(2024, 4, 1) + timedelta(days=15 * (i % 24))
    row = {
        "crime_ref": md5(f"C{i}"), "recorded_date": day, "committed_date": day - timedelta(days=1), "offence_code": "8N",
        "lsoa_code": LSOAS[i % 3], "domestic_abuse": i % 2 == 0, "knife": False, "firearm": False, "alcohol": False,
        "night_time_economy": False, "victim_id": md5(f"V{i}"), "offender_id": md5(f"O{i}"), "victim_sex": "F",
        "victim_age_band": "25-34",
    }
    return row | changes


def test_police_crimes_suite_passes_a_clean_extract_and_names_each_fault(con):
    crimes = suite("raw.police_crimes")
    insert(con, "police_crimes", [crime(i) for i in range(24)])
    outcome = run_suite(con, crimes)
    assert outcome.passed and not outcome.warnings, outcome.summary()

    insert(con, "police_crimes", [
        crime(1),  # the same crime reference again
        crime(30, victim_id="V-88213"),  # a clear victim id, never pseudonymised
        crime(31, offence_code="99Z"),  # not a Home Office code
        crime(32, committed_date=date(2025, 2, 1), recorded_date=date(2025, 1, 20)),  # committed after recorded
        crime(33, recorded_date=date(2025, 7, 2), committed_date=date(2025, 6, 1)),  # recorded after the day of the run
        *[crime(34 + i, lsoa_code=f"E0102000{i}") for i in range(4)],  # 4 of 32 located rows outside the partnership
    ])
    outcome = run_suite(con, crimes)
    bad = failed(outcome)
    assert set(bad) == {"crime_ref", "victim_id", "offence_code_not_in_reference", "committed_after_recorded",
                        "future_recorded_date", "placement"}
    assert bad["crime_ref"].type == "expect_column_values_to_be_unique" and bad["crime_ref"].unexpected_count == 2
    assert bad["victim_id"].examples == ["V-88213"] and bad["victim_id"].severity == "error"
    assert bad["offence_code_not_in_reference"].examples == ["99Z"]
    assert bad["committed_after_recorded"].severity == "warn"
    assert bad["committed_after_recorded"].examples == ["raw/police_crimes/q.csv line 29: committed 2025-02-01, recorded 2025-01-20"]
    assert bad["future_recorded_date"].examples == ["raw/police_crimes/q.csv line 30: 2025-07-02"]
    assert bad["placement"].severity == "warn" and sorted(bad["placement"].examples) == ["E01020000", "E01020001", "E01020002", "E01020003"]
    assert not outcome.passed
    assert_floor_agrees(con, crimes, outcome)


def test_reoffenders_above_the_cohort_fail(con):
    reoffending = suite("raw.probation_reoffending")
    rows = [{"cohort_quarter": q, "area_code": "E08000033", "cohort_type": kind, "cohort_size": 400, "reoffenders": 100, "reoffences": 300}
            for q in months(date(2023, 4, 1), 12)[::3] for kind in ("adult", "juvenile")]
    insert(con, "probation_reoffending", rows)
    outcome = run_suite(con, reoffending)
    assert outcome.passed and not outcome.warnings, outcome.summary()
    con.execute("UPDATE raw.probation_reoffending SET reoffenders = 450, reoffences = 420 WHERE _line = 3")
    outcome = run_suite(con, reoffending)
    bad = failed(outcome)
    assert set(bad) == {"reoffenders_over_cohort", "reoffences_under_reoffenders"}
    assert bad["reoffenders_over_cohort"].examples == ["raw/probation_reoffending/q.csv line 3: 450 reoffenders in a cohort of 400"]
    assert not outcome.passed
    assert_floor_agrees(con, reoffending, outcome)


def test_survey_ratings_and_a_duplicated_respondent(con):
    survey = suite("raw.survey")
    ratings = {f"priority_{t}": 3 for t in ("asb", "violence", "drugs", "burglary", "vehicle_crime", "domestic_abuse", "road_safety")}
    rows = [{"respondent_id": md5(f"R{i}"), "response_date": date(2024, 9, 1 + i), "ward_code": "E05001", "age_band": "16-17",
             "sex": "M", "safe_day": 4, "safe_after_dark": 2, **ratings} for i in range(10)]
    insert(con, "survey", rows)
    assert run_suite(con, survey).passed
    insert(con, "survey", [rows[0] | {"safe_after_dark": 6}])
    bad = failed(run_suite(con, survey))
    assert set(bad) == {"safe_after_dark", "respondent_id, _file_id", "respondent_id"}
    assert bad["safe_after_dark"].examples == [6]
    assert (bad["respondent_id, _file_id"].severity, bad["respondent_id"].severity) == ("error", "warn")


# ------------------------------------------------------------------------------------------- volume


def test_a_month_missing_from_a_quarter_that_arrived_fails_and_a_missing_quarter_warns(con):
    volume = suite("raw.council_asb_volume")
    rows = [{"case_id": md5(f"A{m}-{i}"), "reported_date": m + timedelta(days=i % 28), "category": "noise"}
            for m in months(date(2023, 4, 1), 24) for i in range(40)]
    insert(con, "council_asb", rows)
    outcome = run_suite(con, volume)
    assert outcome.passed and not outcome.warnings, outcome.summary()

    con.execute("DELETE FROM raw.council_asb WHERE _period = DATE '2024-08-01'")  # one month of a delivered quarter
    outcome = run_suite(con, volume)
    assert [(o.column, o.examples) for o in outcome.errors] == [("month_without_records", ["2024-08"])]

    con.execute("DELETE FROM raw.council_asb WHERE _period BETWEEN DATE '2024-07-01' AND DATE '2024-09-01'")  # a whole quarter
    outcome = run_suite(con, volume)
    assert outcome.passed and [o.column for o in outcome.warnings] == ["quarter_without_records"]
    assert outcome.warnings[0].unexpected_count == 3
    assert_floor_agrees(con, volume, outcome)


def test_a_month_declared_a_known_gap_is_neither_missing_nor_out_of_band(con):
    volume = suite("raw.council_asb_volume")
    rows = [{"case_id": md5(f"A{m}-{i}"), "reported_date": m + timedelta(days=i % 28), "category": "noise"}
            for m in months(date(2023, 4, 1), 24) if m != date(2024, 8, 1) for i in range(40)]
    insert(con, "council_asb", rows)
    assert [o.column for o in run_suite(con, volume).errors] == ["month_without_records"]
    con.execute("INSERT INTO reference.known_gaps VALUES ('council_asb', DATE '2024-08-01', 'case system migration')")
    outcome = run_suite(con, volume)
    assert outcome.passed and not outcome.warnings, outcome.summary()
    assert_floor_agrees(con, volume, outcome)


def test_a_month_far_outside_the_band_warns(con):
    volume = suite("raw.council_asb_volume")
    rows = [{"case_id": md5(f"A{m}-{i}"), "reported_date": m, "category": "noise"}
            for m in months(date(2023, 4, 1), 24) for i in range(100 * (3 if m == date(2024, 6, 1) else 1))]
    insert(con, "council_asb", rows)
    outcome = run_suite(con, volume)
    assert outcome.passed and [o.column for o in outcome.warnings] == ["month_outside_band"]
    assert outcome.warnings[0].examples == ["2024-06: 300 records, expected 58 to 136"]


# ------------------------------------------------------------------------------------------- across sources


def marac_case(i: int, victim: str) -> dict:
    return {"case_id": md5(f"M{i}"), "victim_id": victim, "meeting_date": date(2024, 4, 3) + timedelta(days=(i * 7) % 360),
            "repeat": False, "referring_agency": "police", "risk_level": "high"}


def test_marac_cases_out_of_band_warn(con):
    marac_volume = suite("conformed.source_periods_marac_volume")
    insert(con, "population", [{"lsoa_code": lsoa, "year": 2023, "persons": 9000, "adult_females": 4000, "period": date(2023, 6, 30)}
                               for lsoa in LSOAS])  # 12,000 adult females
    insert(con, "marac", [marac_case(i, md5(f"V{i}")) for i in range(60)])  # 50 per 10,000 adult females
    insert(con, "police_crimes", [crime(i, recorded_date=date(2024, 4, 1) + timedelta(days=i % 360), committed_date=date(2024, 4, 1),
                                        domestic_abuse=True, crime_ref=md5(f"C{i}")) for i in range(600)])
    outcome = run_suite(con, marac_volume)  # 60 cases for 600 DA crimes: 10%
    assert outcome.passed and not outcome.warnings, outcome.summary()

    con.execute("UPDATE raw.police_crimes SET domestic_abuse = false WHERE _line > 121")  # 120 DA crimes: 50%
    outcome = run_suite(con, marac_volume)
    assert outcome.passed and [o.column for o in outcome.warnings] == ["marac_share_of_da_crimes"]
    assert outcome.warnings[0].examples == [0.5]
    assert_floor_agrees(con, marac_volume, outcome)


def test_road_casualties_without_their_collision_warn(con):
    linked = suite("conformed.source_periods_road_casualties")
    insert(con, "road_collisions", [{"collision_index": "2024130000001", "collision_date": date(2024, 5, 2), "collision_severity": "2",
                                     "number_of_vehicles": 1, "number_of_casualties": 1, "lsoa_code": LSOAS[0]}])
    casualty = {"collision_year": 2024, "vehicle_reference": 1, "casualty_reference": 1, "casualty_severity": "2",
                "year_start": date(2024, 1, 1)}
    insert(con, "road_casualties", [{"collision_index": "2024130000001", **casualty}])
    outcome = run_suite(con, linked)
    assert outcome.passed and not outcome.warnings, outcome.summary()
    insert(con, "road_casualties", [{"collision_index": "2024130000777", **casualty}])
    outcome = run_suite(con, linked)
    assert outcome.passed and [o.column for o in outcome.warnings] == ["collision_not_landed"]
    assert outcome.warnings[0].examples == ["casualty of collision 2024130000777 (2024)"]
    assert_floor_agrees(con, linked, outcome)


def test_marac_victims_pseudonymised_with_another_key_warn(con):
    victims = suite("conformed.source_periods_marac_victims")
    insert(con, "police_crimes", [crime(i, domestic_abuse=True) for i in range(20)])
    insert(con, "marac", [marac_case(i, md5(f"V{i}")) for i in range(8)] + [marac_case(i, md5(f"other key V{i}")) for i in range(8, 10)])
    outcome = run_suite(con, victims)
    assert outcome.passed and not outcome.warnings, outcome.summary()  # 8 of 10 match: at least half
    con.execute("DELETE FROM raw.marac")
    insert(con, "marac", [marac_case(i, md5(f"other key V{i}")) for i in range(10)])
    outcome = run_suite(con, victims)
    assert outcome.passed and [o.column for o in outcome.warnings] == ["victim_not_in_police_da_crimes"]
    assert all(e.startswith("MARAC 2024-") and "referred by police" in e for e in outcome.warnings[0].examples)


def test_police_uk_and_the_force_extract_disagreeing_by_a_third_warns(con):
    totals = suite("conformed.source_periods_police_totals")
    street = [{"crime_id": md5(f"S{m}-{i}") * 2, "month": m, "crime_type": "Burglary", "lsoa_code": LSOAS[i % 3], "reported_by": "WYP"}
              for m in months(date(2024, 4, 1), 3) for i in range(300)]
    insert(con, "police_street", street)
    extract = [crime(0, crime_ref=md5(f"C{m}-{i}"), recorded_date=m + timedelta(days=2), committed_date=m + timedelta(days=1))
               for m in months(date(2024, 4, 1), 3) for i in range(300 if m != date(2024, 5, 1) else 200)]
    insert(con, "police_crimes", extract)
    outcome = run_suite(con, totals)
    assert outcome.passed and [o.column for o in outcome.warnings] == ["month_outside_tolerance"]
    assert outcome.warnings[0].examples == ["2024-05: police.uk 300, force extract 200 (-33.3%), tolerance 52"]
    assert outcome.rows == 3  # months with both sources; the rest of the period is not compared


# ------------------------------------------------------------------------------------------- marts


def test_a_rate_that_does_not_divide_fails(con):
    rates = suite("marts.mart_crime_rate_fy")
    con.execute("CREATE SCHEMA marts")
    con.execute(
        """CREATE TABLE marts.mart_crime_rate_fy AS
        SELECT 'calderdale' AS partnership_id, '2024/25' AS financial_year, 'crime' AS record_kind, crime_type,
               records::BIGINT AS records, 12::BIGINT AS months, 203826::BIGINT AS residents, 2023 AS population_year,
               1000.0 * records / 203826 AS rate_per_1000  -- unrounded, as the mart writes it
        FROM (VALUES ('Burglary', 1358), ('Drugs', 865)) AS t(crime_type, records)"""
    )
    outcome = run_suite(con, rates)
    assert outcome.passed and not outcome.warnings, outcome.summary()
    con.execute("UPDATE marts.mart_crime_rate_fy SET rate_per_1000 = 6.76, population_year = 2011, months = 13 WHERE crime_type = 'Burglary'")
    bad = failed(run_suite(con, rates))
    assert set(bad) == {"rate_mismatch", "months", "stale_denominator"}
    assert bad["rate_mismatch"].examples == ["calderdale 2024/25 Burglary: rate 6.76, 1000 x 1358 / 203826 = 6.6625"]
    assert bad["stale_denominator"].severity == "warn"


def test_a_quarter_due_before_it_ends_fails(con):
    submissions = suite("marts.mart_submissions")
    con.execute("CREATE SCHEMA marts")
    con.execute("CREATE TABLE reference.sources AS SELECT 'fire_incidents' AS source, 'month' AS period_grain")
    con.execute(
        """CREATE TABLE marts.mart_submissions AS
        SELECT 'fire' AS agency, 'fire_incidents' AS source, 'Fire' AS title, 'quarterly' AS cadence, '2024/25' AS financial_year,
               q AS fy_quarter, '2024/25 Q' || q AS quarter_label, s AS quarter_start, (s + INTERVAL 3 MONTH - INTERVAL 1 DAY)::DATE AS quarter_end,
               (s + INTERVAL 6 MONTH - INTERVAL 1 DAY)::DATE AS due_by, 1::BIGINT AS files, 300::BIGINT AS rows, 3::BIGINT AS months_with_rows,
               1.0 AS completeness, TIMESTAMP '2025-05-01 09:00' AS first_received_at, 'received' AS status, true AS checked
        FROM (VALUES (1, DATE '2024-04-01'), (2, DATE '2024-07-01'), (3, DATE '2024-10-01'), (4, DATE '2025-01-01')) AS t(q, s)"""
    )
    outcome = run_suite(con, submissions)
    assert outcome.passed and not outcome.warnings, outcome.summary()
    con.execute("UPDATE marts.mart_submissions SET due_by = DATE '2024-06-01', completeness = 1.5, status = 'lost' WHERE fy_quarter = 1")
    bad = failed(run_suite(con, submissions))
    assert set(bad) == {"due_not_after_quarter", "completeness", "status"}
