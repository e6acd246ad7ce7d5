"""Disclosure control on its own: suppression of a mart, the auditor, the atomic release, the rules' messages."""

import hashlib
import itertools
import os
import random
import stat
from pathlib import Path

import polars as pl
import pytest

from pipeline.config import ConfigError, Disclosure, parse_config
from pipeline.publish.audit import audit_folder
from pipeline.publish.disclosure import STATUS, SUPPRESSED, WITHHELD, DisclosureError, public_marts, suppress
from pipeline.publish.release import ReleaseRefused, release, staging_folder
from pipeline.workspace import STARTER_CONFIG

GROUP = ["partnership_id", "financial_year", "record_kind"]


def _crime_types(seed: int, years: int = 3, types: int = 8) -> pl.DataFrame:
    """A yearly mart by crime type with plenty of counts from 0 to 9 (the cells disclosure control is for)."""
    rng = random.Random(seed)
    rows = [
        {"partnership_id": "p", "financial_year": f"{2020 + y}-{21 + y}", "record_kind": "crime", "crime_type": f"type {t}",
         "records": rng.choice([0, 1, 2, 3, 4, 6, 9, 15, 40, 120]), "months": 12, "residents": 200_000, "population_year": 2021}
        for y, t in itertools.product(range(years), range(types))
    ]
    return pl.DataFrame(rows).with_columns((1000 * pl.col("records") / pl.col("residents")).round(3).alias("rate_per_1000"))


@pytest.mark.parametrize("seed", range(8))
def test_no_small_count_is_shown_and_no_hidden_one_is_recoverable(seed):
    raw = _crime_types(seed)
    public = suppress(raw, "mart_crime_rate_fy", Disclosure())
    shown = public.filter(pl.col(STATUS).is_null())
    assert shown.filter(pl.col("records").is_between(1, 4)).height == 0
    # every small count is hidden, and so is its rate
    small = raw.with_row_index().filter(pl.col("records").is_between(1, 4))["index"].to_list()
    assert all(public[STATUS][i] == SUPPRESSED and public["rate_per_1000"][i] is None for i in small)
    # a year's total is published (the monthly mart), so no year may hide exactly one crime type
    hidden = public.group_by(GROUP).agg((pl.col(STATUS) == SUPPRESSED).sum().alias("n"))
    assert hidden.filter(pl.col("n") == 1).height == 0
    # zero is shown
    assert public.filter((pl.col("records") == 0)).height <= raw.filter(pl.col("records") == 0).height


def test_secondary_suppression_hides_the_next_smallest_cell():
    raw = pl.DataFrame({"partnership_id": ["p"] * 4, "financial_year": ["2023-24"] * 4, "record_kind": ["crime"] * 4,
                        "crime_type": list("abcd"), "records": [3, 0, 12, 50], "rate_per_1000": [0.1, 0.0, 0.4, 1.7],
                        "months": [12] * 4, "residents": [30_000] * 4, "population_year": [2021] * 4})
    public = suppress(raw, "mart_crime_rate_fy", Disclosure())
    assert public[STATUS].to_list() == [SUPPRESSED, None, SUPPRESSED, None]  # 12 is the smallest non-zero cell
    assert public["records"].to_list() == [None, 0, None, 50]


def test_every_treatment_controls_one_partnership_alone_as_within_the_whole_mart(tmp_path):
    """A run publishing one partnership of a national warehouse suppresses that partnership's rows alone: every
    group of cells adding up to a total lies within one partnership, and the copies agree."""
    from pipeline.publish.disclosure import TREATMENTS, by_partnership

    assert [name for name, spec in TREATMENTS.items() if not by_partnership(spec)] == []
    mart = pl.concat([_crime_types(seed).with_columns(pl.lit(p).alias("partnership_id")) for seed, p in enumerate("abc")])
    mart.write_parquet(tmp_path / "mart_crime_rate_fy.parquet")
    whole = pl.read_parquet(public_marts(tmp_path, tmp_path / "whole", ["mart_crime_rate_fy"], Disclosure()) / "mart_crime_rate_fy.parquet")
    alone = pl.read_parquet(public_marts(tmp_path, tmp_path / "one", ["mart_crime_rate_fy"], Disclosure(), partnerships=["b"])
                            / "mart_crime_rate_fy.parquet")
    assert alone["partnership_id"].unique().to_list() == ["b"] and alone[STATUS].null_count() < alone.height
    assert alone.equals(whole.filter(pl.col("partnership_id") == "b"))


def test_rounding_and_the_nhs_rule_for_health_sources():
    raw = pl.DataFrame({"source": ["health_ambulance", "health_ambulance", "police_street", "police_street"],
                        "quarter_start": ["2023-04-01", "2023-07-01"] * 2, "rows": [7, 23, 7, 23]})
    public = suppress(raw, "mart_submissions", Disclosure())
    assert public[STATUS].to_list() == [SUPPRESSED, None, None, None]  # health: 1-7 hidden
    assert public["rows"].to_list() == [None, 25, 7, 23]  # health rounded to 5; police as it is
    rounded = suppress(raw, "mart_submissions", Disclosure(rounding=5, sources={}))
    assert rounded["rows"].to_list() == [5, 25, 5, 25]


def test_restricted_indicator_rows_are_withheld_and_months_add_up_to_their_year():
    pytest.importorskip("pipeline.analysis.catalogue")  # the indicator catalogue (indicators/*.yaml)
    months = pl.date_range(pl.date(2023, 4, 1), pl.date(2024, 3, 1), "1mo", eager=True)
    rows = [{"indicator_id": ind, "partnership_id": "p", "area_type": "partnership", "area_code": "p", "period_type": "month",
             "period": str(m)[:7], "period_start": m, "numerator": float(n), "value": float(n), "lower": 0.0, "upper": 9.0,
             "disclosure": disc}
            for ind, disc in (("hate_crime", "public"), ("prevent_referrals", "restricted"))
            for m, n in zip(months, [3, 20, 30, 25, 40, 22, 31, 27, 33, 29, 26, 38])]
    public = suppress(pl.DataFrame(rows), "indicator_values", Disclosure()).sort("indicator_id", "period")
    prevent = public.filter(pl.col("indicator_id") == "prevent_referrals")
    assert set(prevent[STATUS]) == {WITHHELD} and prevent["numerator"].null_count() == 12
    hate = public.filter(pl.col("indicator_id") == "hate_crime")
    assert hate[STATUS].to_list().count(SUPPRESSED) == 2  # April (3) and the smallest other month (20)
    assert hate.filter(pl.col(STATUS) == SUPPRESSED)["value"].null_count() == 2


def test_a_mart_without_a_treatment_never_reaches_the_public_edition(tmp_path):
    pl.DataFrame({"x": [1]}).write_parquet(tmp_path / "mart_new.parquet")
    with pytest.raises(DisclosureError, match=r"marts/mart_new: no disclosure treatment is declared.*TREATMENTS"):
        public_marts(tmp_path, tmp_path / "public", ["marts/mart_new"], Disclosure())
    assert not (tmp_path / "public" / "mart_new.parquet").exists()


def test_disclosure_rules_are_validated_with_the_key():
    text = STARTER_CONFIG.format(name="t") + "disclosure:\n  threshold: 1\n  sources:\n    police_stret: {threshold: 8}\n"
    with pytest.raises(ConfigError) as caught:
        parse_config(text)
    assert "disclosure.threshold: found 1" in str(caught.value)
    assert "disclosure.sources: found" in str(caught.value) and "unknown source 'police_stret'" in str(caught.value)


def test_a_secret_in_partnership_yaml_is_refused():
    text = STARTER_CONFIG.format(name="t").replace("synthetic: false", "synthetic: false\n  api_key: 0123456789abcdef0123")
    with pytest.raises(ConfigError, match=r"workspace.api_key: looks like a key or password; secrets never go in partnership.yaml"):
        parse_config(text)


# --- the auditor ------------------------------------------------------------------------------------------


def _html(body: str) -> str:
    return f"<!doctype html><html><body>{body}</body></html>"


def test_auditor_finds_small_counts_identifiers_and_recoverable_cells(tmp_path):
    import plotly.graph_objects as go
    import plotly.io as pio

    chart = pio.to_html(go.Figure(go.Bar(x=["a", "b"], y=[2, 40], name="Crimes")), full_html=False, include_plotlyjs=False)
    table = ("<table><caption>By type</caption><tr><th>Crime type</th><th>Records</th><th>Rate per 1,000</th></tr>"
             "<tr><td>Burglary</td><td>3</td><td>1.5</td></tr><tr><td>Robbery</td><td>[c]</td><td></td></tr>"
             "<tr><td>Total</td><td>90</td><td>4.1</td></tr></table>")
    (tmp_path / "report.html").write_text(_html(table + chart + "<p>Victim seen at HX1 2AB, DOB 03/02/1990</p>"))
    (tmp_path / "figures.csv").write_text("figure,indicator,sources,area,records\nf1,hate,police_crimes,ward 1,12\n"
                                          "f1,hate,police_crimes,ward 2,WY-2023-000123\n"
                                          f"f1,hate,police_crimes,{'ab12' * 8},40\n")
    found = [str(f) for f in audit_folder(tmp_path)]
    expect = [
        "report.html: table 1 (By type), row 1, column 'Records': count 3 is below the threshold 5",
        "report.html: table 1 (By type), row 2, column 'Records': the only hidden cell beside a total row",
        "count(s) below the threshold 5 in the chart data: [2]",
        "report.html: page text: a full postcode: 'HX1 2AB'",
        "report.html: page text: a date of birth",
        "figures.csv: text: a crime reference number: 'WY-2023-000123'",
        "figures.csv: text: a pseudonym or Crime ID (hex)",
    ]
    for text in expect:
        assert any(text in f for f in found), (text, found)
    assert not any("Rate per" in f for f in found)  # rates below 5 are not counts


def test_auditor_passes_a_clean_folder(tmp_path):
    (tmp_path / "report.html").write_text(_html("<table><tr><th>Ward</th><th>Records</th></tr><tr><td>Park</td><td>[c]</td></tr>"
                                                "<tr><td>Town</td><td>[c]</td></tr><tr><td>Total</td><td>31</td></tr></table>"))
    (tmp_path / "figures.csv").write_text("figure,indicator,sources,records,status\nf1,crime,police_street,0,\nf1,crime,police_street,,[c]\n")
    assert audit_folder(tmp_path) == []


def test_auditor_reads_a_chart_download_under_its_marking_line(tmp_path):
    """A chart's CSV download opens with the edition's marking (figures.py); its header is the line after: a rate of
    2.0 under the marking is not a count, a count of 2 is."""
    import base64

    from pipeline.publish.assets import SYNTHETIC_MARKING

    def link(csv: str, name: str) -> str:
        payload = base64.b64encode(("\ufeff" + SYNTHETIC_MARKING + "\n" + csv).encode()).decode()
        return f'<a href="data:text/csv;charset=utf-8;base64,{payload}" download="{name}.csv">Download</a>'

    (tmp_path / "report.html").write_text(_html(link("Ward,Rate\nPark,2.0\nTown,31.5\n", "rates")
                                                + link("Ward,Records\nPark,2\nTown,31\n", "counts")))
    found = [str(f) for f in audit_folder(tmp_path)]
    assert len(found) == 1 and "download counts.csv" in found[0] and "'Records': count 2 is below" in found[0], found


def test_csp_audit_exit_status_names_each_finding(tmp_path):
    from typer.testing import CliRunner

    from pipeline.cli import app

    # figures.csv as editions write it (tidy): a value in a count unit is a count; a rate is not
    (tmp_path / "figures.csv").write_text("table,indicator,value,unit\nf1,Burglary,2,count\nf1,Burglary,2.1,per 1000 residents\n")
    result = CliRunner().invoke(app, ["audit", str(tmp_path)])
    assert result.exit_code == 1 and "figures.csv: table 'f1', row 1" in result.output and "count 2 is below the threshold 5" in result.output
    assert "1 finding(s)" in result.output
    (tmp_path / "figures.csv").write_text("other,records\nf1,2\n")  # any other CSV: its count columns
    assert "count 2 is below the threshold 5" in CliRunner().invoke(app, ["audit", str(tmp_path)]).output
    (tmp_path / "figures.csv").write_text("other,records,note\nf1,20,Jane Smith's street\n")
    assert CliRunner().invoke(app, ["audit", str(tmp_path)]).exit_code == 0
    named = CliRunner().invoke(app, ["audit", str(tmp_path), "--forbid", "jane smith"])
    assert named.exit_code == 1 and "a forbidden value (e.g. a name from a refused column): 'jane smith'" in named.output


# --- release ----------------------------------------------------------------------------------------------


def _digests(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def owner_only_umask():
    """As csp runs (its callback sets umask 077)."""
    previous = os.umask(0o077)
    yield
    os.umask(previous)


def test_a_refused_release_leaves_the_previous_edition_byte_identical(tmp_path, owner_only_umask):
    final = tmp_path / "published" / "p" / "pack" / "2024"
    first = staging_folder(final)
    (first / "figures.csv").write_text("figure,records\nf1,20\n")
    release(first, final, audit=audit_folder, public_root=tmp_path / "published")
    assert {stat.S_IMODE(p.stat().st_mode) for p in (final, final.parent, tmp_path / "published")} == {0o755}
    assert stat.S_IMODE((final / "figures.csv").stat().st_mode) == 0o644
    before = _digests(final)
    second = staging_folder(final)
    (second / "figures.csv").write_text(f"figure,records,area\nf1,20,{'0f' * 32}\n")
    with pytest.raises(ReleaseRefused, match=r"(?s)refused: 1 finding.*pseudonym or Crime ID"):
        release(second, final, audit=audit_folder)
    assert _digests(final) == before and not second.exists()
    assert sorted(p.name for p in final.parent.iterdir()) == ["2024"]  # no temporary folder left behind


def test_a_restricted_edition_is_owner_only(tmp_path):
    final = tmp_path / "restricted" / "p"
    building = staging_folder(final)
    (building / "report.html").write_text("x")
    release(building, final, restricted=True)
    assert stat.S_IMODE(final.stat().st_mode) == 0o700 and stat.S_IMODE((final / "report.html").stat().st_mode) == 0o600


def test_a_key_file_readable_by_others_is_refused(tmp_path, monkeypatch):
    from pipeline.ingest.pseudonymise import KEY_ENV, KEY_FILE_ENV, PseudonymKeyError, load_key

    key = tmp_path / "k"
    key.write_text("ab" * 32)
    os.chmod(key, 0o644)
    monkeypatch.delenv(KEY_ENV, raising=False)
    monkeypatch.setenv(KEY_FILE_ENV, str(key))
    with pytest.raises(PseudonymKeyError, match=rf"mode 644\); make it yours alone: chmod 600 {key}"):
        load_key()
    os.chmod(key, 0o600)
    assert load_key() == bytes.fromhex("ab" * 32)


def test_a_restricted_strategy_measure_keeps_nothing_that_states_its_figure():
    """Baseline, target, verdicts and the RAG reason all quote or reveal the figure: withheld with it."""
    from pipeline.analysis.review import STRATEGY_SCHEMA

    row = {c: None for c in STRATEGY_SCHEMA} | {
        "strategy": "S", "measure": "IOM", "partnership_id": "p", "latest_numerator": 120.0, "latest_value": 2.9,
        "baseline_value": 3.2, "target_value": 1.4, "verdict": "decrease", "trend": "no significant change",
        "rag": "red", "rag_reason": "red: 2.96 offences per individual is above the target 1.40"}
    frame = pl.DataFrame([row | {"indicator_id": "iom_offences_per_individual"}, row | {"indicator_id": "total_crime"}],
                         schema=STRATEGY_SCHEMA)
    public = suppress(frame, "strategy_review", Disclosure()).to_dicts()
    assert public[0]["disclosure_status"] == WITHHELD
    assert all(public[0][c] is None for c in ("latest_value", "baseline_value", "target_value", "verdict", "trend", "rag", "rag_reason"))
    assert public[1]["rag_reason"] == row["rag_reason"] and public[1]["baseline_value"] == 3.2  # a public measure keeps them
