"""The Serious Violence Duty profile's own counting on hand-built tables in a real DuckDB: victims are the
theme's (knife crime counts, a burglary does not) and shares match a hand count; data gaps name the partner
whose quarters are missing, a source not shared at all, and a flag no source records."""

from datetime import date

import duckdb
import pytest

from pipeline.analysis.catalogue import load_catalogue
from pipeline.analysis.time_profiles import theme_events
from pipeline.analysis.violence_profile import THEME, data_gaps, who
from pipeline.workspace import SHARED_MACROS


@pytest.fixture
def con():
    con = duckdb.connect()
    con.execute(SHARED_MACROS)
    con.execute("CREATE SCHEMA conformed; CREATE SCHEMA marts; CREATE SCHEMA reference")
    con.execute("""CREATE TABLE conformed.fct_crimes (source VARCHAR, partnership_id VARCHAR, month DATE, offence_group VARCHAR,
                   offence_subgroup VARCHAR, domestic_abuse BOOLEAN, knife BOOLEAN, firearm BOOLEAN, alcohol BOOLEAN,
                   night_time_economy BOOLEAN, victim_sex VARCHAR, victim_age_band VARCHAR)""")
    con.execute("""CREATE TABLE conformed.fct_health_events (source VARCHAR, partnership_id VARCHAR, month DATE, category VARCHAR,
                   location_description VARCHAR)""")
    con.execute("""CREATE TABLE conformed.dim_period AS
                   SELECT 'financial_year' AS period_type, financial_year(m::DATE) AS period, m::DATE AS month
                   FROM range(DATE '2023-04-01', DATE '2025-04-01', INTERVAL 1 MONTH) AS t(m)""")
    return con


def selections(con):
    return [s for s in theme_events(load_catalogue(), {"conformed.fct_crimes", "conformed.fct_health_events"}) if s.theme == THEME]


def test_victims_are_the_themes_and_shares_match_a_hand_count(con):
    knife = ("Robbery", "Robbery of personal property", False, True)
    burglary = ("Burglary", "Domestic burglary", False, False)
    crimes = [(knife, "M", "18-24")] * 3 + [(knife, "F", "25-34"), (knife, None, None)] + [(burglary, "F", "65+")] * 4
    con.executemany("INSERT INTO conformed.fct_crimes VALUES ('police_crimes', 'P1', ?, ?, ?, ?, ?, FALSE, FALSE, FALSE, ?, ?)",
                    [(date(2024, 6, 1), *kind, sex, age) for kind, sex, age in crimes])
    con.execute("INSERT INTO conformed.fct_crimes VALUES ('police_crimes', 'P1', DATE '2023-06-01', 'Robbery', 'x', FALSE, TRUE, FALSE, FALSE, FALSE, 'F', '0-17')")
    rows = {(r["measure"], r["category"]): r for r in who(con, "2024/25", selections(con), {})}
    male = rows[("victims_by_sex", "M")]
    assert (male["numerator"], male["denominator"]) == (3, 4)  # a victim without a recorded sex is left out
    assert male["value"] == pytest.approx(75.0) and male["lower"] < 75 < male["upper"]
    assert ("victims_by_sex", "F") in rows and rows[("victims_by_sex", "F")]["numerator"] == 1  # no burglary, no 2023/24
    assert {c for m, c in rows if m == "victims_by_age_band"} == {"18-24", "25-34"}
    assert all(r["disclosure_class"] == "restricted" for r in rows.values())  # no class given: restricted


def test_data_gaps_name_missing_quarters_unshared_sources_and_unrecorded_flags(con):
    con.execute("""CREATE TABLE reference.sources AS SELECT * FROM (VALUES
        ('police_crimes', 'Police crimes', 'police', TRUE), ('health_istv', 'ISTV', 'health', TRUE),
        ('health_ambulance', 'Ambulance', 'health', FALSE)) AS t(source, title, agency, expected)""")
    con.execute("""CREATE TABLE marts.mart_submissions AS SELECT * FROM (VALUES
        ('police_crimes', '2024/25 Q3', DATE '2024-10-01', 'received'), ('police_crimes', '2024/25 Q4', DATE '2025-01-01', 'received'),
        ('health_istv', '2024/25 Q3', DATE '2024-10-01', 'overdue'), ('health_istv', '2024/25 Q4', DATE '2025-01-01', 'partial'),
        ('health_istv', '2024/25 Q2', DATE '2024-07-01', 'received')) AS t(source, quarter_label, quarter_start, status)""")
    rows = {r.get("source") or r["measure"]: r for r in data_gaps(con, selections(con))}
    assert rows["health_istv"]["significance"] == "missing"
    assert "1 of 3 quarters received; missing: 2024/25 Q3 overdue, 2024/25 Q4 partial" in rows["health_istv"]["finding"]
    assert rows["health_ambulance"]["significance"] == "not shared"
    assert rows["police_crimes"]["significance"] == "complete" and rows["police_crimes"]["numerator"] == 2
    # the crimes fact records alcohol and night-time economy flags, no source a drug flag
    assert rows["drugs_flag"]["significance"] == "not recorded" and "alcohol_flag" not in rows
    assert {r["disclosure_class"] for r in rows.values()} == {"public"}
