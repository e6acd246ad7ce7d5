"""The indicator catalogue: declared once, covering every partner source, documented from itself, and a wrong
entry refused naming its file, indicator and key."""

from pathlib import Path

import duckdb
import pytest

from pipeline.analysis.catalogue import CatalogueError, load_catalogue, markdown
from pipeline.paths import PROJECT_ROOT, SQL_DIR
from pipeline.sources import SOURCES

CATALOGUE = load_catalogue()


def test_at_least_forty_indicators_covering_every_partner_source():
    assert len(CATALOGUE) >= 40
    used = {source for indicator in CATALOGUE.values() for source in indicator.sources}
    # police_prc feeds the peer comparison (pipeline/analysis/peers.py); population is every rate's denominator
    partner_sources = {name for name, s in SOURCES.items() if s.agency != "reference"} - {"police_prc"}
    assert partner_sources - used == set()


def test_every_theme_the_strategy_needs_has_indicators():
    themes = {indicator.theme for indicator in CATALOGUE.values()}
    assert {"crime", "anti-social behaviour", "domestic abuse", "serious violence", "hate and extremism", "reoffending",
            "substance misuse", "fire", "environmental crime", "community views", "road safety", "partnership activity"} <= themes


def test_docs_indicators_md_is_generated_from_the_catalogue():
    page = (PROJECT_ROOT / "docs" / "indicators.md").read_text(encoding="utf-8")
    assert page == markdown(CATALOGUE), "docs/indicators.md is stale: python -m pipeline.analysis.catalogue > docs/indicators.md"


def test_every_numerator_query_binds_against_the_conformed_models():
    """Each numerator compiles against empty tables shaped like the facts it reads (a misspelt column fails here)."""
    con = duckdb.connect()
    con.execute((SQL_DIR / "macros.sql").read_text(encoding="utf-8"))
    con.execute("CREATE SCHEMA conformed")
    columns = {
        "fct_crimes": "offence_group VARCHAR, offence_subgroup VARCHAR, domestic_abuse BOOLEAN, hate_strand VARCHAR, knife BOOLEAN, "
                      "firearm BOOLEAN, alcohol BOOLEAN, night_time_economy BOOLEAN, outcome VARCHAR, offender_id VARCHAR, record_id VARCHAR",
        "fct_street_records": "record_kind VARCHAR, is_duplicate BOOLEAN",
        "fct_council_asb": "category VARCHAR, repeat_caller BOOLEAN, action VARCHAR",
        "fct_environment": "category VARCHAR, action VARCHAR",
        "fct_fire": "incident_type VARCHAR, deliberate BOOLEAN, property_type VARCHAR, smoke_alarm VARCHAR, attack_on_crew BOOLEAN",
        "fct_hate": "route VARCHAR",
        "fct_health_events": "source VARCHAR, category VARCHAR",
        "fct_domestic_abuse": "source VARCHAR, repeat_safelives BOOLEAN, referred_by VARCHAR, risk_level VARCHAR",
        "fct_offender_management": "source VARCHAR, people INTEGER, people_followed_up INTEGER, offences INTEGER, offences_before INTEGER, "
                                   "reoffenders INTEGER, offence_type VARCHAR, treatment_retention_weeks INTEGER, followed_up_to DATE",
        "fct_treatment": "substance VARCHAR, new_presentations INTEGER, retained_12_weeks INTEGER, successful_completions INTEGER",
        "fct_prevent": "referrals INTEGER, channel_adopted INTEGER",
        "fct_survey": "safe_day INTEGER, safe_after_dark INTEGER, priority_asb INTEGER, priority_drugs INTEGER",
        "fct_road_safety": "source VARCHAR, ksi BOOLEAN, speed_factor BOOLEAN, road_user VARCHAR",
        "fct_partnership_activity": "measure VARCHAR, numerator DOUBLE, denominator INTEGER",
    }
    for table, extra in columns.items():
        con.execute(f"CREATE TABLE conformed.{table} (partnership_id VARCHAR, ward_code VARCHAR, lsoa_code VARCHAR, month DATE, {extra})")
    for indicator in CATALOGUE.values():
        described = [c[0] for c in con.execute(f"DESCRIBE {indicator.numerator_sql}").fetchall()]
        assert described == ["partnership_id", "ward_code", "lsoa_code", "month", "numerator", "denominator"], indicator.id


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("- id: x_rate\n  title: X\n  theme: t\n  definition: d\n  sources: [police_crimes]\n  kind: rate\n  unit: u\n  polarity: lower\n  from: conformed.fct_crimes\n",
         "bad.yaml: indicator 'x_rate': entry: a rate needs `denominator`"),
        ("- id: x_share\n  title: X\n  theme: t\n  definition: d\n  sources: [marac]\n  kind: proportion\n  multiplier: 100\n  unit: '%'\n  polarity: higher\n  from: conformed.fct_domestic_abuse\n",
         "bad.yaml: indicator 'x_share': entry: a proportion needs `per`"),
        ("- id: x_count\n  title: X\n  theme: t\n  definition: d\n  sources: [nowhere]\n  kind: count\n  unit: u\n  polarity: lower\n  from: conformed.fct_fire\n",
         "bad.yaml: indicator 'x_count': sources: unknown source 'nowhere'"),
        ("- id: x_count\n  title: X\n  theme: t\n  definition: d\n  sources: [fire_incidents]\n  kind: count\n  unit: u\n  polarity: lower\n  from: conformed.fct_fire\n  sql: SELECT 1\n",
         "give either `from`"),
    ],
)
def test_a_wrong_entry_is_refused_naming_file_indicator_and_key(tmp_path: Path, entry: str, message: str):
    (tmp_path / "bad.yaml").write_text(entry, encoding="utf-8")
    with pytest.raises(CatalogueError) as raised:
        load_catalogue(tmp_path)
    assert message in str(raised.value)


def test_an_id_declared_twice_is_refused(tmp_path: Path):
    entry = "- id: twice\n  title: X\n  theme: t\n  definition: d\n  sources: [fire_incidents]\n  kind: count\n  unit: u\n  polarity: lower\n  from: conformed.fct_fire\n"
    (tmp_path / "a.yaml").write_text(entry, encoding="utf-8")
    (tmp_path / "b.yaml").write_text(entry, encoding="utf-8")
    with pytest.raises(CatalogueError, match="b.yaml: indicator id 'twice' is already declared in a.yaml"):
        load_catalogue(tmp_path)
