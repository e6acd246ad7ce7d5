"""Schedules from each partnership's `calendar:` in partnership.yaml: each document is built when it is due.

    reports/scrutiny_pack         `pack_days_before` each committee or board meeting: the latest complete quarter
    reports/strategic_assessment  each year on `assessment_date`: the financial year before
    reports/strategy_review       at the midpoint of the workspace's `strategy:`: the last complete financial year

and, every morning, submission tracking (marts/mart_submissions) with each source's freshness check, so a quarter
that fell due overnight shows as overdue in the UI the same day.

A document's period is the last complete one of its kind (its front matter's `csp: period:`) before the month it
is due in, labelled by pipeline/publish/periods.py; its run renders that period for that partnership alone
(`run_config_for`). One daily schedule reads the workspace's calendar at every tick, never at import (the graph
does not depend on the workspace); a document without a .qmd in reports/ is never requested.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import dagster as dg

from pipeline.config import Config, Partnership
from pipeline.publish.assets import Report, discover
from pipeline.publish.periods import last_complete
from pipeline.quality.freshness import SUBMISSIONS, freshness_checks
from pipeline.resources import run_config_for, ui_workspace

TIMEZONE = "Europe/London"
DAILY = "0 6 * * *"  # 06:00 every day: a tick looks for what is due that day


@dataclass(frozen=True)
class Publication:
    """A document due on a day, for one partnership and period."""

    day: dt.date
    partnership: str
    report: str  # the asset reports/<report>
    period: str  # e.g. 2024-25-Q3
    period_end: str  # YYYY-MM, the month before `day`: the period is the last complete one by then
    why: str  # e.g. "committee meeting 2024-01-16"


def strategy_midpoint(config: Config) -> dt.date | None:
    """The first day of the strategy's middle month: 1 October 2023 for 2022/23 to 2024/25."""
    if config.strategy is None:
        return None
    first, last = int(config.strategy.start[:4]), int(config.strategy.end[:4])
    month = first * 12 + 3 + (last - first + 1) * 6  # April of the first year, plus half the strategy's months
    return dt.date(month // 12, month % 12 + 1, 1)


def _due(config: Config, partnership: Partnership, start: dt.date, end: dt.date) -> list[tuple[str, dt.date, str]]:
    """(document, day, why) for every day in [start, end] the partnership's calendar makes a document due."""
    calendar = partnership.calendar
    if calendar is None:
        return []
    due = [("scrutiny_pack", day - dt.timedelta(days=calendar.pack_days_before), f"{body} meeting {day}")
           for day, body in calendar.meetings]
    if calendar.assessment_date:
        month, day = map(int, calendar.assessment_date.split("-"))
        due += [("strategic_assessment", dt.date(year, month, day), f"yearly on {calendar.assessment_date}")
                for year in range(start.year, end.year + 1)]
    midpoint = strategy_midpoint(config)
    if midpoint:
        due.append(("strategy_review", midpoint, f"midpoint of the strategy {config.strategy.start} to {config.strategy.end}"))
    return [(report, day, why) for report, day, why in due if start <= day <= end]


def publications(config: Config, start: dt.date, end: dt.date, reports: list[Report] | None = None) -> list[Publication]:
    """Every document due from `start` to `end` (inclusive) for every partnership, in date order, among `reports`
    (default: the .qmd files in reports/)."""
    kinds = {r.name: r.period_kind for r in (discover() if reports is None else reports)}
    found = []
    for partnership in config.partnerships:
        for report, day, why in _due(config, partnership, start, end):
            if report in kinds:
                period_end = (day.replace(day=1) - dt.timedelta(days=1)).strftime("%Y-%m")
                found.append(Publication(day, partnership.id, report, last_complete(kinds[report], period_end), period_end, why))
    return sorted(found, key=lambda p: (p.day, p.partnership, p.report))


def run_request(publication: Publication) -> dg.RunRequest:
    return dg.RunRequest(
        run_key=f"{publication.partnership}/{publication.report}/{publication.period}/{publication.day}",
        run_config=run_config_for(publication.partnership, publication.period_end),
        asset_selection=[dg.AssetKey(["reports", publication.report])],
        tags={"csp/partnership": publication.partnership, "csp/period": publication.period, "csp/due": publication.why},
    )


@dg.schedule(cron_schedule=DAILY, execution_timezone=TIMEZONE, target=dg.AssetSelection.groups("reports"),
             default_status=dg.DefaultScheduleStatus.RUNNING,
             description="Each document on the days the partnerships' calendars (partnership.yaml) make it due")
def publications_schedule(context: dg.ScheduleEvaluationContext):
    """A run per document and partnership due today, else a skip saying so."""
    today = context.scheduled_execution_time.date()
    due = publications(ui_workspace().config(), today, today)
    return [run_request(p) for p in due] or dg.SkipReason(f"no document is due on {today}")


# Submission tracking and the freshness checks it feeds (pipeline/quality/freshness.py).
FRESHNESS_TARGET = dg.AssetSelection.assets(SUBMISSIONS).without_checks() | dg.AssetSelection.checks(freshness_checks)


@dg.schedule(cron_schedule=DAILY, execution_timezone=TIMEZONE, target=FRESHNESS_TARGET,
             default_status=dg.DefaultScheduleStatus.RUNNING,
             description="Every morning: submission tracking rebuilt and each source's freshness judged as of that day")
def freshness_schedule(context: dg.ScheduleEvaluationContext):
    """A quarter falls due on a date, not at a run: without this, the UI would show a source as up to date until
    the next run that happened to rebuild marts.mart_submissions."""
    today = context.scheduled_execution_time.date()
    return dg.RunRequest(run_key=f"freshness/{today}", asset_selection=[SUBMISSIONS],
                         asset_check_keys=list(freshness_checks.check_keys), tags={"csp/freshness": str(today)})


SCHEDULES = [publications_schedule, freshness_schedule]
