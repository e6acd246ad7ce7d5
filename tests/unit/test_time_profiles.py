"""Time profiles on hand-built facts in a real DuckDB: the hour × weekday cells equal a count made another way,
the night-time economy window's edges fall where NTE_DEFINITION says, and a planted spike month is flagged
while an ordinary month is not."""

import random
from collections import Counter
from datetime import date, datetime, timedelta

import duckdb
import polars as pl
import pytest

from pipeline.analysis import stats
from pipeline.analysis.catalogue import Indicator
from pipeline.analysis.time_profiles import read_events, theme_events, time_profiles_frame
from pipeline.workspace import SHARED_MACROS

FACT = "conformed.fct_fire"


def indicator(id_: str, where: str | None, disclosure: str = "public", theme: str = "fire") -> Indicator:
    return Indicator(id=id_, title=id_, theme=theme, definition=id_, sources=["fire_incidents"], kind="count", unit="fires",
                     polarity="lower", disclosure=disclosure, where=where, **{"from": FACT})


def profiles(times: list[datetime | tuple[date, None]], catalogue=None) -> pl.DataFrame:
    """The mart built from fire incidents at `times` ((date, None): a date without a time), every one deliberate,
    with every month from April 2020 to March 2025 delivered."""
    con = duckdb.connect()
    con.execute(SHARED_MACROS)
    con.execute("CREATE SCHEMA conformed")
    con.execute("""CREATE TABLE conformed.fct_fire (source VARCHAR, partnership_id VARCHAR, month DATE, deliberate BOOLEAN,
                   occurred_date DATE, occurred_time TIME)""")
    rows = [(t[0], None) if isinstance(t, tuple) else (t.date(), t.time()) for t in times]
    if rows:
        con.executemany("INSERT INTO conformed.fct_fire VALUES ('fire_incidents', 'P1', date_trunc('month', ?::DATE), TRUE, ?, ?)",
                        [(d, d, t) for d, t in rows])
    con.execute("""CREATE TABLE conformed.dim_period AS
                   SELECT 'financial_year' AS period_type, financial_year(m::DATE) AS period,
                          make_date(fy_start(m::DATE), 4, 1) AS period_start, m::DATE AS month
                   FROM range(DATE '2020-04-01', DATE '2025-04-01', INTERVAL 1 MONTH) AS t(m)""")
    con.execute("CREATE TABLE conformed.source_periods AS SELECT 'fire_incidents' AS source, month FROM conformed.dim_period")
    selections = theme_events(catalogue or {"fires": indicator("fires", "deliberate")}, {FACT})
    events, delivered = read_events(con, selections)
    return time_profiles_frame(events, delivered, selections)


def test_hour_weekday_cells_equal_a_count_made_independently():
    rng = random.Random(7)
    start = datetime(2022, 4, 1)
    times = [start + timedelta(minutes=rng.randrange(2 * 365 * 24 * 60)) for _ in range(2000)]
    frame = profiles(times).filter(pl.col("measure") == "hour_weekday")

    def financial_year(t: datetime) -> str:
        first = t.year if t.month >= 4 else t.year - 1
        return f"{first}/{str(first + 1)[-2:]}"

    expected = Counter((financial_year(t), t.isoweekday(), t.hour) for t in times)
    assert frame.height == 2 * 168  # every cell of both years, zeros included
    found = {(r["period"], r["weekday"], r["hour"]): r["numerator"] for r in frame.iter_rows(named=True)}
    assert found == {key: float(expected.get(key, 0)) for key in found}
    assert sum(found.values()) == len(times)
    assert set(frame["day_of_week"].unique()) == {"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"}


def test_night_time_economy_window_edges():
    # 2024-05-03 is a Friday
    inside = [datetime(2024, 5, 3, 22, 0), datetime(2024, 5, 4, 3, 59), datetime(2024, 5, 4, 23, 30), datetime(2024, 5, 5, 0, 15)]
    outside = [datetime(2024, 5, 3, 21, 59), datetime(2024, 5, 4, 4, 0), datetime(2024, 5, 7, 23, 0),  # Tuesday 23:00
               datetime(2024, 5, 6, 1, 0),  # Sunday night (Monday 01:00)
               datetime(2024, 5, 2, 23, 0)]  # Thursday night
    untimed = [(date(2024, 5, 4), None)]
    frame = profiles(inside + outside + untimed)
    nte = frame.filter(pl.col("measure") == "night_time_economy").row(0, named=True)
    assert (nte["numerator"], nte["denominator"]) == (len(inside), len(inside) + len(outside))
    value, lower, upper = stats.proportion_ci(len(inside), len(inside) + len(outside))
    assert (nte["value"], nte["lower"], nte["upper"]) == pytest.approx((value, lower, upper))
    assert nte["expected"] == pytest.approx(100 * 12 / 168)
    known = frame.filter(pl.col("measure") == "time_known").row(0, named=True)
    assert (known["numerator"], known["denominator"]) == (len(inside) + len(outside), len(inside) + len(outside) + 1)
    small = frame.filter(pl.col("measure") == "small_hours").row(0, named=True)
    assert small["numerator"] == 4  # Saturday 03:59 and 04:00, Sunday 00:15, Monday 01:00
    assert frame["disclosure_class"].unique().to_list() == ["public"]


def test_a_planted_spike_month_is_flagged_and_an_ordinary_month_is_not():
    times = []
    for year in range(2020, 2025):  # 2020/21 to 2024/25: 20 fires in every month, at varied hours
        for month in range(1, 13):
            first = date(year + (month < 4), month, 1)
            times += [datetime(first.year, first.month, 1 + i % 28, i % 24) for i in range(20)]
    times += [datetime(2024, 7, 10, 20) for _ in range(40)]  # July 2024: 60 fires against an average of 20
    months = profiles(times).filter(pl.col("measure") == "month_vs_average")
    july = months.filter(pl.col("month") == date(2024, 7, 1)).row(0, named=True)
    assert july["baseline_years"] == 4 and july["expected"] == 20 and july["value"] == pytest.approx(3.0)
    assert july["significance"] == "above" and july["p_value"] < 0.001
    august = months.filter(pl.col("month") == date(2024, 8, 1)).row(0, named=True)
    assert august["significance"] == "similar" and august["value"] == pytest.approx(1.0)
    first_year = months.filter(pl.col("period") == "2020/21")
    assert first_year["significance"].is_null().all() and (first_year["baseline_years"] == 0).all()
    # March 2025: five earlier Marches at most (2020 to 2024: April 2020 starts the data, so four)
    assert months.filter(pl.col("month") == date(2025, 3, 1))["baseline_years"].item() == 4


def test_a_theme_counts_an_event_once_and_is_restricted_if_any_indicator_is():
    catalogue = {"a": indicator("all_fires", None), "b": indicator("deliberate_fires", "deliberate", disclosure="restricted")}
    frame = profiles([datetime(2024, 5, 3, 22, 0), datetime(2024, 5, 4, 12, 0)], catalogue)
    known = frame.filter(pl.col("measure") == "time_known").row(0, named=True)
    assert known["denominator"] == 2  # both indicators count both fires: still two events
    assert frame["disclosure_class"].unique().to_list() == ["restricted"]


def test_an_area_without_timed_events_has_an_empty_mart_of_the_same_types():
    """A partnership whose partners send nothing timed still gets the mart, typed as when it has rows: its checks
    compare hours and shares as numbers, and a text column cannot be compared with a number in SQL."""
    full, empty = profiles([datetime(2023, 6, 3, 23, 30)]), profiles([])
    assert empty.is_empty() and not full.is_empty()
    assert empty.schema == full.schema
    assert full.schema["hour"].is_integer() and full.schema["value"] == pl.Float64
