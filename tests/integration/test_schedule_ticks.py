"""The demo's calendar through Dagster's own schedule evaluation: a year of daily ticks, as the daemon runs them."""

import datetime as dt
from zoneinfo import ZoneInfo

import dagster as dg

from pipeline.cli import DEMO_CONFIG
from pipeline.publish.assets import discover
from pipeline.schedules import TIMEZONE, publications_schedule
from pipeline.workspace import WORKSPACE_ENV
from tests.helpers import make_workspace


def _ticks(schedule, start: dt.date, days: int) -> list[tuple[dt.date, dg.RunRequest]]:
    """The run requests of a schedule's daily ticks; every tick without one must say why."""
    requests = []
    for n in range(days):
        day = start + dt.timedelta(days=n)
        when = dt.datetime(day.year, day.month, day.day, 6, tzinfo=ZoneInfo(TIMEZONE))
        data = schedule.evaluate_tick(dg.build_schedule_context(scheduled_execution_time=when))
        assert data.run_requests or data.skip_message, f"{schedule.name} on {day}: neither a run nor a reason"
        requests += [(day, r) for r in data.run_requests or []]
    return requests


def test_the_demo_schedule_over_a_year(tmp_path, monkeypatch):
    """Each document on its days for its period, for the demo partnership; documents not in reports/ are not asked for."""
    ws = make_workspace(tmp_path / "demo", DEMO_CONFIG)
    monkeypatch.setenv(WORKSPACE_ENV, str(ws.root))
    expected = [  # the demo calendar (pipeline/demo/calendar.py) worked out by hand: (day, document, period, month)
        ("2023-06-10", "scrutiny_pack", "2022-23-Q4", "2023-05"),  # committee 20 June, 10 days before
        ("2023-06-30", "strategic_assessment", "2022-23", "2023-05"),  # every 30 June, the year before
        ("2023-07-01", "scrutiny_pack", "2023-24-Q1", "2023-06"),  # board 11 July: Q1 ended the day before
        ("2023-09-09", "scrutiny_pack", "2023-24-Q1", "2023-08"),
        ("2023-10-01", "strategy_review", "2022-23", "2023-09"),  # half-way through the strategy 2022/23 to 2024/25
        ("2023-12-02", "scrutiny_pack", "2023-24-Q2", "2023-11"),
        ("2024-01-13", "scrutiny_pack", "2023-24-Q3", "2023-12"),
        ("2024-03-02", "scrutiny_pack", "2023-24-Q3", "2024-02"),  # committee 12 March: Q4 is not over
    ]
    present = {r.name for r in discover()}
    assert "scrutiny_pack" in present
    assert publications_schedule.default_status == dg.DefaultScheduleStatus.RUNNING  # `csp dev` fires it unasked
    requests = _ticks(publications_schedule, dt.date(2023, 4, 1), 366)
    found = [(day.isoformat(), "/".join(r.asset_selection[0].path[1:]), r.tags["csp/period"],
              r.run_config["resources"]["workspace"]["config"]["period_end"]) for day, r in requests]
    assert found == [e for e in expected if e[1] in present]
    assert all(r.asset_selection[0].path[0] == "reports" and len(r.asset_selection) == 1 for _, r in requests)
    assert {r.tags["csp/partnership"] for _, r in requests} == {"calderdale"}
    assert len({r.run_key for _, r in requests}) == len(requests)
