"""The calendar in partnership.yaml: each partnership's meetings, assessment date and the strategy's midpoint give
the documents on the right days for the right periods (Dagster's evaluation: tests/integration/test_schedule_ticks.py)."""

import datetime as dt
from pathlib import Path

import pytest

from pipeline.config import ConfigError, parse_config
from pipeline.demo.strategy import DEMO_STRATEGY
from pipeline.geography import LOOKUP_FILE, POPULATION_FILE
from pipeline.publish.assets import Report
from pipeline.resources import WorkspaceResource
from pipeline.schedules import publications, strategy_midpoint
from pipeline.workspace import STARTER_CONFIG
from tests.helpers import make_workspace

CALDERDALE_CALENDAR = """
    calendar:
      pack_days_before: 7
      assessment_date: "07-31"
      committee: [2024-01-16, 2024-04-16]
      board:
        - 2024-03-05"""
KIRKLEES = """\
  - id: kirklees
    name: Kirklees
    local_authorities: [E08000034]
    geography: {vintage: 2011, lookup: {file: "builtin:%s"}, population: {file: "builtin:%s", year: 2011}}
    calendar: {committee: [2023-10-05, 2024-02-06], pack_days_before: 14, assessment_date: "09-30"}
""" % (LOOKUP_FILE, POPULATION_FILE)
TWO = STARTER_CONFIG.format(name="t").replace('accent: "#12436D"', 'accent: "#12436D"' + CALDERDALE_CALENDAR).replace(
    "\nsources:\n", "\n" + KIRKLEES + "sources:\n", 1) + DEMO_STRATEGY
ALL_DOCUMENTS = [Report("scrutiny_pack", Path("scrutiny_pack.qmd"), "pack", (), (), "quarter"),
                 Report("strategic_assessment", Path("strategic_assessment.qmd"), "assessment", (), (), "financial-year"),
                 Report("strategy_review", Path("strategy_review.qmd"), "review", (), (), "financial-year")]


def test_each_partnership_keeps_its_own_calendar():
    config = parse_config(TWO)
    found = [(p.day.isoformat(), p.partnership, p.report, p.period)
             for p in publications(config, dt.date(2023, 10, 1), dt.date(2024, 9, 30), ALL_DOCUMENTS)]
    assert found == [
        ("2023-10-01", "calderdale", "strategy_review", "2022-23"),  # half-way through 2022/23 to 2024/25
        ("2023-10-01", "kirklees", "strategy_review", "2022-23"),
        ("2024-01-09", "calderdale", "scrutiny_pack", "2023-24-Q3"),  # committee 16 Jan, 7 days before
        ("2024-01-23", "kirklees", "scrutiny_pack", "2023-24-Q3"),  # committee 6 Feb, 14 days before
        ("2024-02-27", "calderdale", "scrutiny_pack", "2023-24-Q3"),  # board 5 March: Q4 not over yet
        ("2024-04-09", "calderdale", "scrutiny_pack", "2023-24-Q4"),
        ("2024-07-31", "calderdale", "strategic_assessment", "2023-24"),
        ("2024-09-30", "kirklees", "strategic_assessment", "2023-24"),
    ]  # Kirklees' committee of 5 October 2023 needs its pack on 21 September, before the window


def test_the_strategy_midpoint_is_half_way_through_its_years():
    assert strategy_midpoint(parse_config(TWO)) == dt.date(2023, 10, 1)
    two_years = parse_config(TWO.replace('start: "2022/23"', 'start: "2023/24"').replace('baseline: "2021/22"', 'baseline: "2022/23"'))
    assert strategy_midpoint(two_years) == dt.date(2024, 4, 1)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.replace("2024-01-16", "2024-13-16"), "partnerships[0].calendar.committee: found ['2024-13-16', "),
        (lambda t: t.replace("2024-01-16", "2024-13-16"), "'2024-13-16' is not a day written YYYY-MM-DD, such as 2024-07-16"),
        (lambda t: t.replace("'2024-04-16'", "'2024-01-16'"), "partnerships[0].calendar.committee: found ['2024-01-16', '2024-01-16']; 2024-01-16 is listed twice"),
        (lambda t: t.replace('"07-31"', '"02-29"'), "partnerships[0].calendar.assessment_date: found '02-29'; must be a day of the year written MM-DD"),
        (lambda t: t.replace("pack_days_before: 14", "pack_days_before: -1"), "partnerships[1].calendar.pack_days_before: found -1"),
        (lambda t: t.replace("      board:", "      boards:"), "partnerships[0].calendar.boards: unknown key"),
    ],
)
def test_calendar_mistakes_name_the_key(edit, message):
    with pytest.raises(ConfigError) as raised:
        parse_config(edit(TWO.replace("[2024-01-16, 2024-04-16]", "['2024-01-16', '2024-04-16']")))
    assert message in str(raised.value)


def test_a_scheduled_run_sees_one_partnership_up_to_its_month(tmp_path):
    ws = make_workspace(tmp_path / "ws", TWO)
    scoped = WorkspaceResource(root=str(ws.root), partnership="kirklees", period_end="2023-12").get().config()
    assert [p.id for p in scoped.partnerships] == ["kirklees"] and scoped.period.end == "2023-12"
    with pytest.raises(ConfigError, match=r"period.end: found '2025-03'; a publication scheduled for the period complete by 2025-06"):
        WorkspaceResource(root=str(ws.root), period_end="2025-06").get().config()
    with pytest.raises(ConfigError, match=r"partnerships\[\].id: no partnership 'leeds'"):
        WorkspaceResource(root=str(ws.root), partnership="leeds").get().config()
