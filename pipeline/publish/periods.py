"""The periods a published document covers: financial years (April to March, `2024-25`) and their quarters
(`2024-25-Q3` is October to December 2024). A document declares its kind in its front matter
(`csp: period: financial-year` or `quarter`); its period is the last complete one in the workspace period.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import polars as pl

KINDS = ("financial-year", "quarter")


def fy_start(month: dt.date) -> int:
    """The calendar year a month's financial year starts in (2024 for April 2024 to March 2025); the SQL
    models' twin is sql/macros.sql fy_start, and fy_start_expr below is this one for Polars frames."""
    return month.year if month.month >= 4 else month.year - 1


def fy_start_expr(month: pl.Expr) -> pl.Expr:
    """fy_start for a Polars date column."""
    import polars as pl

    return pl.when(month.dt.month() >= 4).then(month.dt.year()).otherwise(month.dt.year() - 1)


def financial_year(month: dt.date) -> str:
    """`2024-25` for any month from April 2024 to March 2025."""
    start = fy_start(month)
    return f"{start}-{(start + 1) % 100:02d}"


def quarter(month: dt.date) -> str:
    """`2024-25-Q1` for April to June 2024, ... `2024-25-Q4` for January to March 2025."""
    return f"{financial_year(month)}-Q{(month.month - 4) % 12 // 3 + 1}"


def last_complete(kind: str, end_month: str) -> str:
    """The last financial year or quarter that ends on or before `end_month` (YYYY-MM, the workspace period's
    end)."""
    if kind not in KINDS:
        raise ValueError(f"period kind {kind!r}: expected one of {', '.join(KINDS)}")
    year, month = int(end_month[:4]), int(end_month[5:7])
    span = 12 if kind == "financial-year" else 3
    # Months counted from April of year 0: a financial year or quarter ends where (index + 1) divides by its span.
    index = year * 12 + month - 4
    last = index - (index + 1) % span
    last_year, last_month = divmod(last + 3, 12)
    day = dt.date(last_year, last_month + 1, 1)
    return financial_year(day) if kind == "financial-year" else quarter(day)
