"""Nothing lost by a re-issue, sources tracked only where a partnership has them, periods as analysts have them.

Every file is written here in the police.uk layout (or a partner's), on Calderdale's real LSOA codes, so the
tests need nothing beside the checkout. Messages are checked word for word as docs/bad-inputs.md quotes them.
"""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import polars as pl
import pytest
import yaml
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.geography import POPULATION_FILE
from pipeline.ingest.assets import land
from pipeline.paths import REFERENCE_DIR
from pipeline.sources import SOURCES
from pipeline.sources.police_street import CURRENT_CRIME_TYPES
from pipeline.workspace import STARTER_CONFIG
from tests.helpers import make_workspace, table_counts

KEY = "3c" * 32
HEADER = ("Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,Crime type,"
          "Last outcome category,Context")
ASB_HEADER = "case_id,reported_date,category,lsoa_code,repeat_caller,action"
LSOAS = (pl.read_csv(REFERENCE_DIR / POPULATION_FILE, columns=["lsoa11cd", "lad_cd"])
         .filter(pl.col("lad_cd") == "E08000033")["lsoa11cd"].sort().to_list())  # Calderdale's


def street_file(month: str, rows: int, lsoas: int, crime_types: tuple[str, ...] = CURRENT_CRIME_TYPES) -> bytes:
    """A police.uk street-level file: `rows` crimes spread over the first `lsoas` Calderdale LSOAs."""
    lines = [HEADER]
    for i in range(rows):
        crime_id = hashlib.sha256(f"{month}-{i}".encode()).hexdigest()
        lsoa = LSOAS[i % lsoas]
        lines.append(f"{crime_id},{month},West Yorkshire Police,West Yorkshire Police,-1.86,53.72,On or near High Street,"
                     f"{lsoa},Calderdale {i % lsoas:03d}A,{crime_types[i % len(crime_types)]},Under investigation,")
    return ("\r\n".join(lines) + "\r\n").encode()


def config(sources: dict, period: tuple[str, str] = ("2020-04", "2025-03")) -> str:
    """The starter partnership.yaml (Calderdale) with this reporting period and these `sources:` settings."""
    data = yaml.safe_load(STARTER_CONFIG.format(name="test"))
    return yaml.safe_dump({**data, "period": dict(zip(("start", "end"), period)), "sources": sources}, sort_keys=False)


def _output(result) -> str:
    return " ".join(result.output.split())  # the terminal wraps long lines


def _rows(ws, sql: str, params=None) -> list[tuple]:
    with ws.connect(read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


@pytest.fixture(autouse=True)
def _key(monkeypatch):
    monkeypatch.setenv("CSP_PSEUDONYM_KEY", KEY)


# ---------------------------------------------------------------------------------------------- re-issues


def test_a_much_smaller_reissue_is_held_the_old_rows_stay_and_csp_accept_applies_it(tmp_path: Path):
    ws = make_workspace(tmp_path / "ws")
    folder = ws.raw / "police_street"
    folder.mkdir(parents=True)
    july = folder / "2024-07.csv"
    july.write_bytes(street_file("2024-07", 300, 30))
    (folder / "2024-06.csv").write_bytes(street_file("2024-06", 280, 30))
    assert {o.status for o in land(ws, SOURCES["police_street"]).files} == {"loaded"}
    first = hashlib.sha256(july.read_bytes()).hexdigest()

    lines = july.read_bytes().split(b"\r\n")  # the partner's re-issue, under the same name: 50 of the rows, 12 LSOAs
    kept = [line for line in lines[1:-1] if line.split(b",")[7].decode() in LSOAS[:12]][:50]
    july.write_bytes(b"\r\n".join([lines[0], *kept, b""]))
    before = table_counts(ws)
    [outcome] = [o for o in land(ws, SOURCES["police_street"]).files if o.status != "already loaded"]
    message = ("held, not applied: it would replace 300 rows of 2024-07 with 50 (-83%), and cover 12 LSOAs instead of 30; "
               "run `csp accept raw/police_street/2024-07.csv` to apply it")
    assert (outcome.status, outcome.detail) == ("held", message)
    after = table_counts(ws)
    assert {t: n for t, n in after.items() if n != before.get(t)} == {"raw._held": 1}  # nothing else changed
    assert _rows(ws, "SELECT _file_id, count(*) FROM raw.police_street WHERE _period = DATE '2024-07-01' GROUP BY ALL") == [(first, 300)]
    assert _rows(ws, "SELECT file_name, period, replaces, rows_now, rows_held, lsoas_now, lsoas_held, categories_now, "
                     "categories_held FROM raw._held") == [
        ("raw/police_street/2024-07.csv", date(2024, 7, 1), "raw/police_street/2024-07.csv", 300, 50, 30, 12, 13, 13)]
    again = land(ws, SOURCES["police_street"]).files  # held again on every run, recorded once, until accepted
    assert [o.status for o in again if o.file_name.endswith("07.csv")] == ["held"] and table_counts(ws) == after

    checked = CliRunner().invoke(app, ["check", "--workspace", str(ws.root)])
    assert f"HELD raw/police_street/2024-07.csv: {message}" in _output(checked), checked.output

    accepted = CliRunner().invoke(app, ["accept", "raw/police_street/2024-07.csv", "--workspace", str(ws.root)])
    assert accepted.exit_code == 0, accepted.output
    assert ("applied raw/police_street/2024-07.csv: 50 rows landed, replacing the rows of 1 earlier file(s) for the periods "
            "it covers; run `csp run` to rebuild the documents") in _output(accepted)
    new = hashlib.sha256(july.read_bytes()).hexdigest()
    assert _rows(ws, "SELECT _file_id, count(*) FROM raw.police_street WHERE _period = DATE '2024-07-01' GROUP BY ALL") == [(new, 50)]
    assert _rows(ws, "SELECT count(*) FROM raw.police_street WHERE _period = DATE '2024-06-01'") == [(280,)]
    assert _rows(ws, "SELECT old_file_id, new_file_id, rows_replaced FROM raw._supersessions") == [(first, new, 300)]
    assert _rows(ws, "SELECT count(*) FROM raw._held") == [(0,)]
    assert {o.status for o in land(ws, SOURCES["police_street"]).files} == {"already loaded"}


def test_a_reissue_within_the_tolerance_or_with_accept_reissues_is_applied(tmp_path: Path):
    ws = make_workspace(tmp_path / "ws", config({"police_street": {"reissue_tolerance": 0.9}}))
    folder = ws.raw / "police_street"
    folder.mkdir(parents=True)
    (folder / "a.csv").write_bytes(street_file("2024-07", 300, 30))
    land(ws, SOURCES["police_street"])
    (folder / "b.csv").write_bytes(street_file("2024-07", 100, 30))  # -67% with the same rows: within 90%
    assert [o.status for o in land(ws, SOURCES["police_street"]).files if o.file_name.endswith("b.csv")] == ["loaded"]
    (folder / "c.csv").write_bytes(street_file("2024-07", 100, 30, crime_types=CURRENT_CRIME_TYPES[:3]))
    [held] = [o for o in land(ws, SOURCES["police_street"]).files if o.file_name.endswith("c.csv")]
    assert held.detail.startswith("held, not applied: it would replace 100 rows of 2024-07 with 100 (+0%), and cover "
                                  "3 crime types instead of 13; ")

    ws.config_path.write_text(config({"police_street": {"accept_reissues": True}}), encoding="utf-8")
    assert [o.status for o in land(ws, SOURCES["police_street"]).files if o.file_name.endswith("c.csv")] == ["loaded"]
    assert _rows(ws, "SELECT count(DISTINCT crime_type), count(*) FROM raw.police_street") == [(3, 100)]


def test_two_files_for_the_same_month_of_a_source_without_an_issuer_are_held_and_can_be_kept_both(tmp_path: Path):
    ws = make_workspace(tmp_path / "ws")
    folder = ws.raw / "council_asb"
    folder.mkdir(parents=True)

    def asb(prefix: str, rows: int) -> bytes:
        lines = [ASB_HEADER, *[f"{prefix}-{i},2024-07-{1 + i % 28:02d},noise,{LSOAS[i % 20]},N,none" for i in range(rows)]]
        return ("\n".join(lines) + "\n").encode()

    (folder / "asb-july-north.csv").write_bytes(asb("N", 60))
    assert [o.status for o in land(ws, SOURCES["council_asb"]).files] == ["loaded"]
    (folder / "asb-july-south.csv").write_bytes(asb("S", 60))  # same month, same size, not one row in common
    [outcome] = [o for o in land(ws, SOURCES["council_asb"]).files if o.file_name.endswith("south.csv")]
    name = "raw/council_asb/asb-july-south.csv"
    assert (outcome.status, outcome.detail) == ("held", (
        "held, not applied: two files cover 2024-07: it shares no row with the 60 rows already landed from "
        f"raw/council_asb/asb-july-north.csv; run `csp accept {name}` to replace those rows with this file's, "
        f"or `csp accept {name} --add` to keep both"))
    assert _rows(ws, "SELECT count(*) FROM raw.council_asb") == [(60,)]

    kept = CliRunner().invoke(app, ["accept", name, "--add", "--workspace", str(ws.root)])
    assert kept.exit_code == 0, kept.output
    assert _rows(ws, "SELECT count(*), count(DISTINCT _file_id) FROM raw.council_asb") == [(120, 2)]
    assert _rows(ws, "SELECT count(*) FROM raw._supersessions") == [(0,)]


def test_accepting_a_file_outside_any_source_folder_is_a_usage_error(tmp_path: Path):
    ws = make_workspace(tmp_path / "ws")
    (ws.root / "stray.csv").write_text("x\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["accept", "stray.csv", "--workspace", str(ws.root)])
    assert result.exit_code == 2
    assert "stray.csv: not in a source folder; expected a file in raw/<source>/" in _output(result)


# ---------------------------------------------------------------------------------- expected sources, periods

PERIOD = ("2020-04", "2025-03")


@pytest.fixture(scope="module")
def checked(tmp_path_factory):
    """One partnership, checked once: police.uk enabled, a council's ASB extract dropped without enabling it,
    Prevent disabled although its folder has a file, MoJ reoffending with its publication lag; police.uk
    files for two months of the period, one long before it, and a declared outage."""
    settings = {"police_street": {"enabled": True, "known_gaps": {"2021-03": "force system outage"}},
                "council_asb": {"lag_months": 6}, "prevent": {"enabled": False}}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CSP_PSEUDONYM_KEY", KEY)
        ws = make_workspace(tmp_path_factory.mktemp("periods") / "ws", config(settings, PERIOD))
        street = ws.raw / "police_street"
        street.mkdir(parents=True)
        (street / "2018-07.csv").write_bytes(street_file("2018-07", 317, 30))
        (street / "2024-06.csv").write_bytes(street_file("2024-06", 280, 30))
        (street / "2024-07.csv").write_bytes(street_file("2024-07", 300, 30))
        (ws.raw / "council_asb").mkdir()
        (ws.raw / "council_asb" / "q2.csv").write_text(
            ASB_HEADER + "\n" + "".join(f"A-{i},2024-08-{1 + i:02d},noise,{LSOAS[i]},N,none\n" for i in range(20)),
            encoding="utf-8")
        (ws.raw / "prevent").mkdir()
        (ws.raw / "prevent" / "returns.csv").write_text(
            "quarter_start,concern_type,referrals,channel_discussed,channel_adopted\n2024-04,islamist,2,1,0\n", encoding="utf-8")
        (ws.raw / "fire_incidents").mkdir()  # an empty folder: not expected
        result = CliRunner().invoke(app, ["check", "--workspace", str(ws.root)])
        status = CliRunner().invoke(app, ["status", "--workspace", str(ws.root)])
    return ws, result, status


def test_only_sources_enabled_or_with_files_are_expected(checked):
    ws, result, status = checked
    assert _rows(ws, "SELECT source, expected_because FROM reference.sources WHERE expected ORDER BY source") == [
        ("council_asb", "files in raw/council_asb/"), ("police_street", "enabled in partnership.yaml")]
    assert _rows(ws, "SELECT DISTINCT source FROM marts.mart_submissions ORDER BY source") == [("council_asb",), ("police_street",)]
    for output in (_output(result), _output(status)):
        assert "not expected (neither enabled in partnership.yaml nor with files in raw/): " in output
        assert "fire_incidents" in output.split("not expected", 1)[1] and "prevent" in output.split("not expected", 1)[1]
        assert "OVERDUE fire_incidents" not in output


def test_a_quarter_is_due_its_sources_lag_after_it_ends(checked):
    ws, _, _ = checked
    due = dict(_rows(ws, "SELECT source, due_by FROM marts.mart_submissions WHERE quarter_start = DATE '2024-07-01'"))
    assert due == {"police_street": date(2024, 11, 30), "council_asb": date(2025, 3, 31)}  # 2 months (police.uk); 6 (partnership.yaml)


def test_published_late_data_is_not_yet_due_where_a_partners_extract_would_be_overdue(tmp_path: Path):
    """MoJ proven reoffending comes about 22 months after a cohort quarter ends; a partner's extract within 3."""
    today = date.today()
    end = date(today.year - 1, (today.month - 1) // 3 * 3 + 1, 1)  # the first month of the quarter a year ago
    first = date(end.year - 1, end.month, 1)
    ws = make_workspace(tmp_path / "ws", config({"police_street": {"enabled": True}}, (f"{first:%Y-%m}", f"{end.year}-{end.month + 2:02d}")))
    (ws.raw / "probation_reoffending").mkdir(parents=True)
    (ws.raw / "probation_reoffending" / "cohorts.csv").write_text(
        f"cohort_quarter,area_code,cohort_type,cohort_size,reoffenders,reoffences\n{first:%Y-%m},E08000033,adult,412,109,381\n",
        encoding="utf-8")
    (ws.raw / "council_asb").mkdir()
    (ws.raw / "council_asb" / "old.csv").write_text(
        f"{ASB_HEADER}\nA-1,{first:%Y-%m}-03,noise,{LSOAS[0]},N,none\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["check", "--workspace", str(ws.root)])
    latest = dict(_rows(ws, "SELECT source, status FROM marts.mart_submissions WHERE quarter_start = ?", [end]))
    assert latest == {"probation_reoffending": "not yet due", "council_asb": "overdue", "police_street": "overdue"}, result.output


def test_months_outside_the_period_are_landed_and_reported_with_their_rows(checked):
    ws, result, _ = checked
    assert "OUTSIDE police_street: 2018-07: 317 rows, outside the period 2020-04 to 2025-03 (landed, kept as history)" in _output(result)
    assert _rows(ws, "SELECT count(*) FROM raw.police_street WHERE _period = DATE '2018-07-01'") == [(317,)]


def test_months_missing_are_named_and_a_known_gap_is_shown_not_missing(checked):
    ws, result, _ = checked
    output = _output(result)
    assert ("MISSING police_street: 57 months missing in the period 2020-04 to 2025-03: 2020-04 to 2021-02, "
            "2021-04 to 2024-05, 2024-08 to 2025-03") in output
    assert "KNOWN GAP police_street: 2021-03 (force system outage)" in output
    assert "MISSING council_asb: 59 months missing in the period 2020-04 to 2025-03: 2020-04 to 2024-07, 2024-09 to 2025-03" in output
    report = (ws.restricted / "data_quality.html").read_text(encoding="utf-8")
    assert "2021-03 (force system outage)" in report and "2018-07: 317 rows, outside the period 2020-04 to 2025-03" in report
    # the volume suite, which blocks on a month without records, agrees: the same 57 months, the known gap left alone
    flagged = _rows(ws, "SELECT observed FROM quality.results WHERE suite = 'raw.police_street_volume' AND column_name = 'month_without_records'")
    assert flagged[0][0].startswith("57 of 60 rows unexpected"), flagged
