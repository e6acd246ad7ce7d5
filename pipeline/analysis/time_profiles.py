"""When harm happens: hour of the week, the night-time economy, the small hours and the season.

A theme's events in a source are those its counting indicators count (every catalogue entry of the theme that
counts rows of a conformed fact: their `where`s joined with OR), so "serious violence" means here what it
means in `indicators/serious_violence.yaml`. Facts that say when each event happened carry `occurred_date`
and `occurred_time` (NULL when unknown): the force's crimes (committed), fire incidents and ambulance call-outs
(the call), A&E assault attendances (the assault). `marts.time_profiles` holds, per source, theme,
partnership and financial year (of the month the fact counts the event in, from `conformed.dim_period`), one
row per `measure`:

- `hour_weekday`: events in each hour (0-23) of each ISO weekday (1 Monday ... 7 Sunday), all 168 cells;
- `time_known`: the share of events with a known time, the base of the two shares below;
- `night_time_economy`: the share on Friday and Saturday nights (NTE_DEFINITION) with its Wilson interval,
  against the share of the week's hours those nights cover (`expected`);
- `small_hours`: the share between 00:00 and 06:59, against 7/24 of the hours;
- `month_vs_average`: each delivered month's events against the average of the same calendar month in up to
  five earlier years (`baseline_years` says how many), with the exact test of two Poisson rates.

Months a source never delivered are no months at all (not zeros), as in the indicator engine.
"""

from __future__ import annotations

from dataclasses import dataclass

import dagster as dg
import polars as pl

from pipeline.analysis import stats
from pipeline.analysis.catalogue import Indicator, load_catalogue
from pipeline.analysis.engine import write_mart
from pipeline.resources import WorkspaceResource

NTE_NIGHTS = (5, 6)  # nights starting on a Friday and a Saturday (ISO weekday)
NTE_FROM_HOUR, NTE_UNTIL_HOUR = 22, 4  # 22:00 up to (not including) 04:00 the next morning
NTE_DEFINITION = "Friday and Saturday nights (Friday 22:00 to Saturday 03:59, Saturday 22:00 to Sunday 03:59)"
NTE_HOURS = len(NTE_NIGHTS) * (24 - NTE_FROM_HOUR + NTE_UNTIL_HOUR)  # 12 of the week's 168 hours
SMALL_HOURS_UNTIL = 7
SMALL_HOURS_DEFINITION = "between 00:00 and 06:59, any day"
BASELINE_YEARS = 5  # a month is compared with the same calendar month of up to this many earlier years
SEASON_TEST = f"{stats.RATE_TEST}: the month's events against the events of the same month in the baseline years"
SIGNIFICANCE = {"increase": "above", "decrease": "below", "no significant change": "similar"}
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
GROUP = ["source", "theme", "partnership_id", "period"]


@dataclass(frozen=True)
class ThemeEvents:
    """The events of one theme in one conformed fact, and the indicators that define them."""

    fact: str
    theme: str
    where: str
    indicators: tuple[Indicator, ...]

    def sql(self, columns: str = "month, occurred_date, occurred_time") -> str:
        """The theme's events: source, theme, partnership_id and `columns` of the fact."""
        return f"SELECT source, '{self.theme}' AS theme, partnership_id, {columns}\nFROM {self.fact}\nWHERE {self.where}"


def counts_events(indicator: Indicator) -> bool:
    """An indicator that counts rows of a fact in the fact's own month: its `where` says which events it means."""
    return (indicator.from_ is not None and indicator.kind in ("rate", "count")
            and indicator.numerator.replace(" ", "").lower() == "count(*)" and indicator.month == "month")


def theme_events(catalogue: dict[str, Indicator], facts: set[str]) -> list[ThemeEvents]:
    """Per fact of `facts` and theme, the OR of its counting indicators' conditions (TRUE when one counts every row)."""
    groups: dict[tuple[str, str], list[Indicator]] = {}
    for indicator in catalogue.values():
        if counts_events(indicator) and indicator.from_ in facts:
            groups.setdefault((indicator.from_, indicator.theme), []).append(indicator)
    selections = []
    for (fact, theme), indicators in sorted(groups.items()):
        where = "TRUE" if any(i.where is None for i in indicators) else " OR ".join(f"({i.where})" for i in indicators)
        selections.append(ThemeEvents(fact, theme, where, tuple(indicators)))
    return selections


def timed_facts(con) -> set[str]:
    """The conformed facts that say when their events happened."""
    return {f"conformed.{t}" for (t,) in con.sql(
        "SELECT table_name FROM information_schema.columns WHERE table_schema = 'conformed' AND column_name = 'occurred_date'"
    ).fetchall()}


def read_events(con, selections: list[ThemeEvents]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(events, delivered): the theme's events counted in SQL per group, month, ISO weekday and hour (NULL when the
    time is unknown), so a national year is thousands of rows, not one per event; and the months each source
    delivered, with their financial year."""
    events = "\nUNION ALL\n".join(s.sql() for s in selections) or (
        "SELECT NULL::VARCHAR AS source, NULL::VARCHAR AS theme, NULL::VARCHAR AS partnership_id, NULL::DATE AS month, "
        "NULL::DATE AS occurred_date, NULL::TIME AS occurred_time WHERE FALSE")
    frame = pl.from_arrow(con.sql(f"""
        WITH events AS ({events})
        SELECT e.source, e.theme, e.partnership_id, p.period, e.month,
               isodow(e.occurred_date)::TINYINT AS weekday, hour(e.occurred_time)::TINYINT AS hour, count(*) AS events
        FROM events AS e
        JOIN conformed.dim_period AS p ON p.period_type = 'financial_year' AND p.month = e.month
        GROUP BY ALL
    """).to_arrow_table())
    delivered = pl.from_arrow(con.sql("""
        SELECT DISTINCT s.source, p.period, p.period_start, p.month
        FROM conformed.source_periods AS s
        JOIN conformed.dim_period AS p ON p.period_type = 'financial_year' AND p.month = s.month
    """).to_arrow_table())
    return frame, delivered


def is_nte(weekday: pl.Expr, hour: pl.Expr) -> pl.Expr:
    """On a Friday or Saturday night: from NTE_FROM_HOUR on the night's first day until NTE_UNTIL_HOUR the next."""
    return ((weekday.is_in(NTE_NIGHTS) & (hour >= NTE_FROM_HOUR))
            | ((((weekday + 5) % 7) + 1).is_in(NTE_NIGHTS) & (hour < NTE_UNTIL_HOUR)))  # the previous day's night


# --------------------------------------------------------------------------------------------- the measures


def hour_weekday(events: pl.DataFrame) -> pl.DataFrame:
    """Events per hour and weekday, every one of the 168 cells (0 where none), for every group with events."""
    cells = pl.DataFrame({"weekday": [d for d in range(1, 8) for _ in range(24)],
                          "hour": [h for _ in range(1, 8) for h in range(24)]}, schema={"weekday": pl.Int8, "hour": pl.Int8})
    groups = events.select(*GROUP).unique()
    counts = events.filter(pl.col("hour").is_not_null()).group_by(*GROUP, "weekday", "hour").agg(pl.col("events").sum().alias("numerator"))
    return (groups.join(cells, how="cross").join(counts, on=[*GROUP, "weekday", "hour"], how="left")
            .with_columns(pl.col("numerator").fill_null(0).cast(pl.Float64))
            .with_columns(pl.col("numerator").alias("value"), pl.lit("hour_weekday").alias("measure"), pl.lit("events").alias("unit"),
                          pl.lit("events in the hour (committed, called or assaulted), by ISO weekday").alias("definition")))


def shares(events: pl.DataFrame) -> pl.DataFrame:
    """The share of events with a known time, and of timed events at night-time economy hours and in the small hours."""
    timed, n = pl.col("hour").is_not_null(), pl.col("events")
    counts = events.group_by(GROUP).agg(
        n.sum().alias("events"), n.filter(timed).sum().alias("timed"),
        n.filter(timed & is_nte(pl.col("weekday"), pl.col("hour"))).sum().alias("nte"),
        n.filter(timed & (pl.col("hour") < SMALL_HOURS_UNTIL)).sum().alias("small_hours"),
    )
    measures = (
        ("time_known", "timed", "events", None, "events with a known time, of all events"),
        ("night_time_economy", "nte", "timed", 100 * NTE_HOURS / 168, NTE_DEFINITION),
        ("small_hours", "small_hours", "timed", 100 * SMALL_HOURS_UNTIL / 24, SMALL_HOURS_DEFINITION),
    )
    parts = []
    for measure, numerator, denominator, expected, definition in measures:
        part = counts.select(*GROUP, pl.col(numerator).cast(pl.Float64).alias("numerator"),
                             pl.col(denominator).cast(pl.Float64).alias("denominator"))
        part = stats.proportion_ci_frame(part, "numerator", "denominator").with_columns(
            pl.lit(measure).alias("measure"), pl.lit("%").alias("unit"), pl.lit(expected, pl.Float64).alias("expected"),
            pl.lit(definition).alias("definition"))
        if expected is not None:  # against the share of the hours the window covers: more than its share of events?
            part = part.with_columns(pl.when(pl.col("lower") > expected).then(pl.lit("above"))
                                     .when(pl.col("upper") < expected).then(pl.lit("below"))
                                     .when(pl.col("value").is_not_null()).then(pl.lit("similar")).alias("significance"))
        parts.append(part)
    return pl.concat(parts, how="diagonal_relaxed")


def month_vs_average(events: pl.DataFrame, delivered: pl.DataFrame) -> pl.DataFrame:
    """Each delivered month's events against the same calendar month's average over up to BASELINE_YEARS earlier
    years the source delivered; no test for a month without an earlier year."""
    groups = events.select("source", "theme", "partnership_id").unique()
    months = groups.join(delivered, on="source")
    counts = events.group_by("source", "theme", "partnership_id", "month").agg(pl.col("events").sum().alias("numerator"))
    monthly = (months.join(counts, on=["source", "theme", "partnership_id", "month"], how="left")
               .with_columns(pl.col("numerator").fill_null(0).cast(pl.Float64)))
    earlier = monthly.select("source", "theme", "partnership_id", pl.col("month").alias("baseline_month"),
                             pl.col("numerator").alias("baseline_events"))
    baseline = (monthly.select("source", "theme", "partnership_id", "month")
                .join(earlier, on=["source", "theme", "partnership_id"])
                .filter((pl.col("baseline_month").dt.month() == pl.col("month").dt.month())
                        & (pl.col("baseline_month") < pl.col("month"))
                        & (pl.col("baseline_month") >= pl.col("month").dt.offset_by(f"-{BASELINE_YEARS}y")))
                .group_by("source", "theme", "partnership_id", "month")
                .agg(pl.col("baseline_events").sum(), pl.len().cast(pl.Float64).alias("baseline_years")))
    frame = monthly.join(baseline, on=["source", "theme", "partnership_id", "month"], how="left").with_columns(
        pl.col("baseline_events").fill_null(0.0), pl.col("baseline_years").fill_null(0.0))
    test = stats.rate_change_arrays(frame["baseline_events"].to_numpy(), frame["baseline_years"].to_numpy(),
                                    frame["numerator"].to_numpy(), [1.0] * frame.height)
    tested = frame["baseline_years"].to_numpy() > 0
    return frame.with_columns(
        pl.Series("value", test["estimate"], nan_to_null=True), pl.Series("lower", test["lower"], nan_to_null=True),
        pl.Series("upper", test["upper"], nan_to_null=True), pl.Series("p_value", test["p_value"], nan_to_null=True),
        pl.Series("significance", [SIGNIFICANCE[v] if t else None for v, t in zip(test["verdict"], tested)], dtype=pl.String),
        (pl.col("baseline_events") / pl.col("baseline_years")).fill_nan(None).alias("expected"),
        pl.col("baseline_years").cast(pl.Int32),
        pl.lit("month_vs_average").alias("measure"), pl.lit("ratio to the average").alias("unit"),
        pl.lit(f"the month's events over the average of the same month in up to {BASELINE_YEARS} earlier years; "
               f"{SEASON_TEST}").alias("definition"),
    ).drop("baseline_events")


def disclosure_classes(selections: list[ThemeEvents]) -> pl.DataFrame:
    """Per source and theme: 'public' when every indicator of the theme from that source is public, else
    'restricted' (a profile of the theme tells something of each indicator in it). A source none of the theme's
    indicators names is restricted (the caller's default)."""
    classes: dict[tuple[str, str], set[str]] = {}
    for selection in selections:
        for indicator in selection.indicators:
            for source in indicator.sources:
                classes.setdefault((source, selection.theme), set()).add(indicator.disclosure)
    return pl.DataFrame([{"source": source, "theme": theme, "disclosure_class": "public" if found == {"public"} else "restricted"}
                         for (source, theme), found in classes.items()],
                        schema={"source": pl.String, "theme": pl.String, "disclosure_class": pl.String})


# The mart's columns and types, also when no theme has events (its checks compare hours and shares as numbers).
SCHEMA = {"source": pl.String, "theme": pl.String, "partnership_id": pl.String, "period": pl.String, "period_start": pl.Date,
          "months_covered": pl.Int32, "complete": pl.Boolean, "measure": pl.String, "weekday": pl.Int8,
          "day_of_week": pl.String, "hour": pl.Int8, "month": pl.Date, "numerator": pl.Float64, "denominator": pl.Float64,
          "value": pl.Float64, "lower": pl.Float64, "upper": pl.Float64, "unit": pl.String, "expected": pl.Float64,
          "baseline_years": pl.Int32, "p_value": pl.Float64, "significance": pl.String, "definition": pl.String,
          "disclosure_class": pl.String}


def time_profiles_frame(events: pl.DataFrame, delivered: pl.DataFrame, selections: list[ThemeEvents]) -> pl.DataFrame:
    """`events`: source, theme, partnership_id, period, month, weekday, hour, events (read_events);
    `delivered`: source, period, period_start, month. The mart's rows, long, as SCHEMA."""
    if events.is_empty():
        return pl.DataFrame(schema=SCHEMA)
    cover = delivered.group_by("source", "period").agg(pl.col("period_start").first(), pl.len().cast(pl.Int32).alias("months_covered"))
    disclosure = disclosure_classes(selections)
    parts = [hour_weekday(events), shares(events), month_vs_average(events, delivered)]
    frame = (pl.concat(parts, how="diagonal_relaxed")
             .drop("period_start", strict=False)  # month_vs_average brings it; every part gets it from `cover`
             .join(cover, on=["source", "period"], how="left")
             .join(disclosure, on=["source", "theme"], how="left")
             .with_columns((pl.col("months_covered") == 12).alias("complete"), pl.col("disclosure_class").fill_null("restricted"),
                           pl.col("weekday").replace_strict(dict(enumerate(WEEKDAYS, 1)), default=None, return_dtype=pl.String).alias("day_of_week")))
    for column in SCHEMA:
        if column not in frame.columns:
            frame = frame.with_columns(pl.lit(None).alias(column))
    return frame.select(list(SCHEMA)).cast(SCHEMA).sort("source", "theme", "partnership_id", "period_start", "measure", "month", "weekday", "hour")


@dg.asset(
    key=["marts", "time_profiles"],
    deps=[*(dg.AssetKey(fact.split(".")) for fact in sorted({i.from_ for i in load_catalogue().values() if counts_events(i)})),
          dg.AssetKey(["conformed", "dim_period"]), dg.AssetKey(["conformed", "source_periods"])],
    group_name="marts",
    description="When each theme's events happen, per source, partnership and financial year: hour × weekday counts, the "
                "night-time economy and small-hours shares with Wilson intervals, and each month against its five-year average",
    kinds={"duckdb", "python"},
)
def time_profiles(workspace: WorkspaceResource) -> dg.MaterializeResult:
    ws = workspace.get()
    with ws.connect() as con:
        selections = theme_events(load_catalogue(), timed_facts(con))
        events, delivered = read_events(con, selections)
        count = write_mart(con, ws, "time_profiles", time_profiles_frame(events, delivered, selections))
    return dg.MaterializeResult(metadata={"dagster/row_count": count, "themes": len(selections)})


ASSETS = [time_profiles]
