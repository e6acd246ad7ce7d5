"""Freshness as Dagster asset checks: a partner source a quarter short is a failed WARN check on raw/<source>
naming the quarter, judged on the run's "as of" day, and `csp status` names the same quarter.

The workspace is written here: Calderdale, April to December 2024 (quarters 2024/25 Q1 to Q3); a council's ASB
extract for Q1 and Q2 only, and Prevent returns for all three quarters. Q3 ends 2024-12-31 and, three months
later, is due by 2025-03-31.
"""

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import polars as pl
import pytest
import yaml
from typer.testing import CliRunner

from pipeline.cli import app, plan_run
from pipeline.definitions import ALL_ASSETS, ALL_CHECKS
from pipeline.geography import POPULATION_FILE
from pipeline.models.sql_assets import AS_OF_ENV
from pipeline.paths import REFERENCE_DIR
from pipeline.quality.freshness import CHECK_NAME, SUBMISSIONS, freshness_checks
from pipeline.resources import WorkspaceResource
from pipeline.schedules import TIMEZONE, freshness_schedule
from pipeline.workspace import STARTER_CONFIG, Workspace
from tests.helpers import latest_check_evaluation, make_workspace

LSOA = pl.read_csv(REFERENCE_DIR / POPULATION_FILE, columns=["lsoa11cd", "lad_cd"]).filter(
    pl.col("lad_cd") == "E08000033")["lsoa11cd"].min()  # one of Calderdale's
BEFORE_DUE, AFTER_DUE = "2025-03-15", "2025-04-15"


@pytest.fixture(autouse=True)
def _key(monkeypatch):
    monkeypatch.setenv("CSP_PSEUDONYM_KEY", "5a" * 32)


def _workspace(root: Path) -> Workspace:
    config = yaml.safe_load(STARTER_CONFIG.format(name="freshness"))
    config |= {"period": {"start": "2024-04", "end": "2024-12"}, "sources": {"police_street": {"enabled": False}}}
    ws = make_workspace(root, yaml.safe_dump(config, sort_keys=False))
    (ws.raw / "council_asb").mkdir(parents=True)
    asb = ["case_id,reported_date,category,lsoa_code,repeat_caller,action"]
    asb += [f"A-{month}-{day},2024-{month:02d}-{day:02d},noise,{LSOA},N,none" for month in range(4, 10) for day in (3, 17)]
    (ws.raw / "council_asb" / "asb-2024-25-q1-q2.csv").write_text("\n".join(asb) + "\n", encoding="utf-8")
    (ws.raw / "prevent").mkdir()
    prevent = ["quarter_start,concern_type,referrals,channel_discussed,channel_adopted"]
    prevent += [f"{quarter},islamist,3,1,0" for quarter in ("2024-04", "2024-07", "2024-10")]
    (ws.raw / "prevent" / "returns.csv").write_text("\n".join(prevent) + "\n", encoding="utf-8")
    return ws


def _judge(ws: Workspace, day: str, monkeypatch) -> dict[str, dg.AssetCheckEvaluation]:
    """Land the two sources, build the submissions mart and run every freshness check, as of `day`."""
    monkeypatch.setenv(AS_OF_ENV, day)
    keys = [["raw", "council_asb"], ["raw", "prevent"], ["conformed", "dim_month"], ["conformed", "source_periods"],
            ["marts", "mart_submissions"]]
    selection = ((dg.AssetSelection.groups("reference") | dg.AssetSelection.assets(*map(dg.AssetKey, keys))).without_checks()
                 | dg.AssetSelection.checks(freshness_checks))
    selection, tags, _ = plan_run(ws, selection)  # the quarters of the files not landed yet
    result = dg.materialize([*ALL_ASSETS, *ALL_CHECKS], selection=selection, tags=tags,
                            resources={"workspace": WorkspaceResource(root=str(ws.root))}, raise_on_error=False)
    assert result.success, [e.message for e in result.all_events if e.is_failure]  # a late source blocks nothing
    return {e.asset_key.path[-1]: e for e in result.get_asset_check_evaluations() if e.check_name == CHECK_NAME}


def test_a_source_a_quarter_short_fails_its_warn_check_once_the_quarter_is_due(tmp_path: Path, monkeypatch):
    ws = _workspace(tmp_path / "ws")

    after = _judge(ws, AFTER_DUE, monkeypatch)
    asb = after["council_asb"]
    assert not asb.passed and asb.severity == dg.AssetCheckSeverity.WARN
    meta = {k: v.value for k, v in asb.metadata.items()}
    assert meta["overdue_quarters"] == ["2024/25 Q3"]
    assert meta["latest_quarter_received"] == "2024/25 Q2" and meta["landed_to"] == "2024-09"
    assert meta["cadence"] == "quarterly" and meta["lag_months"] == 3
    assert meta["judged"].startswith(f"as of {AFTER_DUE}")
    assert "council_asb: 1 quarter(s) not received, 2024/25 Q3" in asb.description
    prevent = after["prevent"]
    assert prevent.passed and prevent.metadata["latest_quarter_received"].value == "2024/25 Q3"
    assert prevent.metadata["overdue_quarters"].value == []
    assert after["police_street"].passed and "not expected" in after["police_street"].description  # disabled here
    assert set(after) == {key.asset_key.path[-1] for key in freshness_checks.check_keys}  # one per raw source

    before = _judge(ws, BEFORE_DUE, monkeypatch)  # the same files, judged before Q3 is due
    asb = before["council_asb"]
    assert asb.passed and asb.metadata["overdue_quarters"].value == []
    assert asb.metadata["next_due"].value == "2024/25 Q3 by 2025-03-31"
    assert not [name for name, e in before.items() if not e.passed]


def test_csp_status_names_the_quarters_the_checks_in_the_ui_fail_on(tmp_path: Path):
    ws = _workspace(tmp_path / "ws")
    checked = CliRunner().invoke(app, ["check", "--workspace", str(ws.root), "--as-of", AFTER_DUE])
    assert "OVERDUE council_asb" in checked.output, checked.output
    assert checked.exit_code == 0, checked.output  # overdue is reported, not an error (unless --strict)

    failed = {}  # what the UI shows on each raw asset
    for key in freshness_checks.check_keys:
        evaluation = latest_check_evaluation(ws, key.asset_key.to_user_string(), CHECK_NAME)
        if not evaluation.passed:
            failed[key.asset_key.path[-1]] = evaluation.metadata["overdue_quarters"].value
    assert failed == {"council_asb": ["2024/25 Q3"]}

    status = CliRunner().invoke(app, ["status", "--workspace", str(ws.root)])
    assert status.exit_code == 0, status.output
    said = [line for line in status.output.splitlines() if line.startswith("OVERDUE")]
    assert said == [f"OVERDUE {name}: 1 quarter(s) not received, {quarters[0]}" for name, quarters in failed.items()]


def test_the_morning_schedule_judges_freshness_on_its_own_day(tmp_path: Path, monkeypatch):
    """The daily tick's run rebuilds submission tracking and runs every freshness check, as of that day: the
    quarter due on 2025-03-31 is overdue in the run of 15 April with no other run in between."""
    ws = _workspace(tmp_path / "ws")
    _judge(ws, BEFORE_DUE, monkeypatch)  # everything built, judged in March: up to date
    tick = dt.datetime(2025, 4, 15, 6, tzinfo=ZoneInfo(TIMEZONE))
    request = freshness_schedule.evaluate_tick(dg.build_schedule_context(scheduled_execution_time=tick)).run_requests[0]
    assert request.asset_selection == [SUBMISSIONS] and len(request.asset_check_keys) == len(freshness_checks.check_keys)
    monkeypatch.setenv(AS_OF_ENV, AFTER_DUE)  # the run's day (the daemon runs it on the tick's day)
    selection = (dg.AssetSelection.assets(*request.asset_selection).without_checks()
                 | dg.AssetSelection.checks(*request.asset_check_keys))
    result = dg.materialize([*ALL_ASSETS, *ALL_CHECKS], selection=selection,
                            resources={"workspace": WorkspaceResource(root=str(ws.root))}, raise_on_error=False)
    assert result.success
    assert {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()} == {"marts/mart_submissions"}
    judged = {e.asset_key.path[-1]: e for e in result.get_asset_check_evaluations()}
    assert [name for name, e in judged.items() if not e.passed] == ["council_asb"]
    assert judged["council_asb"].metadata["overdue_quarters"].value == ["2024/25 Q3"]
