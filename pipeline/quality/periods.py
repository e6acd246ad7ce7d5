"""Periods as analysts have them: per source, the landed months outside the reporting period, the months
inside it with no data, and the months partnership.yaml declares known gaps. What `csp check` prints and
the data-quality report shows.

Rows outside the period are landed and kept (the volume bands learn from them, and five-year averages need
them); the documents' figures cover the period only (conformed.dim_month). A month is missing when an
expected source has no rows for it, it is not a known gap and its quarter is due (marts.mart_submissions,
which tracks only expected sources, and neither annual nor ad hoc ones, by quarter).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from pipeline.config import Config


@dataclass
class PeriodFindings:
    outside: list[str] = field(default_factory=list)  # "2018-07: 31,635 rows, outside the period 2020-04 to 2025-03"
    missing: list[str] = field(default_factory=list)  # "3 months missing in the period 2020-04 to 2025-03: 2021-03, ..."
    known_gaps: list[str] = field(default_factory=list)  # "2021-03 (force system outage)"


def month_label(month: date) -> str:
    return f"{month:%Y-%m}"


def _next(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def runs(months: list[date]) -> list[tuple[date, date]]:
    """Consecutive months as (first, last) pairs, so that five years of history is one line, not sixty."""
    out: list[tuple[date, date]] = []
    for month in sorted(set(months)):
        if out and _next(out[-1][1]) == month:
            out[-1] = (out[-1][0], month)
        else:
            out.append((month, month))
    return out


def span(first: date, last: date) -> str:
    return month_label(first) if first == last else f"{month_label(first)} to {month_label(last)}"


def _months(first: date, last: date) -> list[date]:
    out = [first]
    while out[-1] < last:
        out.append(_next(out[-1]))
    return out


def outside_messages(rows_by_month: dict[date, int], start: date, end: date) -> list[str]:
    """One line per run of landed months before or after the period, with its rows."""
    period = f"the period {month_label(start)} to {month_label(end)}"
    outside = [m for m in rows_by_month if m < start or m > end]
    return [
        f"{span(a, b)}: {sum(rows_by_month[m] for m in rows_by_month if a <= m <= b):,} rows, outside {period}"
        for a, b in runs(outside)
    ]


def missing_message(missing: list[date], start: date, end: date) -> str | None:
    if not missing:
        return None
    months = f"{len(missing)} month{'s' if len(missing) > 1 else ''}"
    return (f"{months} missing in the period {month_label(start)} to {month_label(end)}: "
            + ", ".join(span(a, b) for a, b in runs(missing)))


def period_findings(con, config: Config, as_of: date) -> dict[str, PeriodFindings]:
    """Read from the warehouse after `csp check` has landed the sources and built the submissions mart."""
    start, end = config.period.first_day, date(int(config.period.end[:4]), int(config.period.end[5:]), 1)
    landed: dict[str, dict[date, int]] = {}
    for source, month, rows in con.execute(
        "SELECT source, month, sum(rows)::BIGINT FROM conformed.source_periods WHERE month IS NOT NULL GROUP BY ALL"
    ).fetchall():
        landed.setdefault(source, {})[month] = rows
    gaps: dict[str, dict[date, str]] = {}
    for source, month, reason in con.execute("SELECT source, month, reason FROM reference.known_gaps").fetchall():
        gaps.setdefault(source, {})[month] = reason
    due: dict[str, dict[date, date]] = {}  # when each expected source's quarters are due (one home: the mart)
    for source, quarter, due_by in con.execute(
        "SELECT source, quarter_start, due_by FROM marts.mart_submissions WHERE cadence NOT IN ('annual', 'ad hoc')"
    ).fetchall():
        due.setdefault(source, {})[quarter] = due_by
    findings: dict[str, PeriodFindings] = {}
    for source, grain in con.execute("SELECT source, period_grain FROM reference.sources ORDER BY source").fetchall():
        months, known = landed.get(source, {}), gaps.get(source, {})
        found = findings[source] = PeriodFindings(outside=outside_messages(months, start, end))
        found.known_gaps = [f"{month_label(m)} ({why})" for m, why in sorted(known.items()) if start <= m <= end]
        covered = set(months)
        if grain == "quarter":  # a quarterly return is dated by its quarter's first month and covers all three
            covered |= {_next(m) for m in months} | {_next(_next(m)) for m in months}
        quarters = due.get(source, {})
        missing = [m for m in _months(start, end) if m not in covered and m not in known
                   and quarters.get(_quarter(m), as_of) < as_of]
        found.missing = [text] if (text := missing_message(missing, start, end)) else []
    return findings


def _quarter(month: date) -> date:
    return date(month.year, (month.month - 1) // 3 * 3 + 1, 1)
