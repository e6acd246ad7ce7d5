"""The Serious Violence Duty profile: the where, when, who, drivers and data gaps of a strategic needs
assessment for violence, assembled from the marts (nothing is recomputed that a mart already holds).

"Serious violence" is the catalogue theme of that name (`indicators/serious_violence.yaml`); its events in a
source are those its counting indicators count (pipeline/analysis/time_profiles.py). For each partnership and
the latest financial year, `marts.violence_profile` holds one row per finding, with a `section`:

- `where`: each serious-violence indicator's TOP_AREAS wards and LSOAs by rate, and every persistent hotspot
  (marts.hotspots with the units of marts.area_rates);
- `when`: per source, the busiest hour of the week, the share in the small hours, and the months significantly
  above or below their average (marts.time_profiles);
- `who`: victims by sex and age band where a source records them, with Wilson intervals;
- `drivers`: the most/least deprived fifth rate ratio (marts.deprivation's method), the share at night-time economy
  hours (marts.time_profiles), the shares a source flags as alcohol-related, drug-related or night-time economy,
  and repeat locations (the places named at least REPEAT_LOCATION_MIN times, the REPEAT_LOCATIONS_LISTED most often);
- `data_gaps`: each serious-violence source's quarters received, missing or overdue (marts.mart_submissions),
  sources not shared at all, and flags no source carries.
"""

from __future__ import annotations

import dagster as dg
import polars as pl

from pipeline.analysis import stats
from pipeline.analysis.catalogue import load_catalogue
from pipeline.analysis.deprivation import RATIO_METHOD, deprivation_frame
from pipeline.analysis.engine import write_mart
from pipeline.analysis.time_profiles import ThemeEvents, disclosure_classes, theme_events
from pipeline.resources import WorkspaceResource
from pipeline.sources import SOURCES

THEME = "serious violence"
TOP_AREAS = 5  # the highest-rate wards and LSOAs listed per indicator
REPEAT_LOCATION_MIN = 3  # a place named this many times in the year is a repeat location
REPEAT_LOCATIONS_LISTED = 10  # the most often named, per source
FLAGS = {"alcohol": "alcohol-related", "drugs": "drug-related", "night_time_economy": "linked to the night-time economy"}
VICTIM_COLUMNS = {"victim_sex": "sex", "victim_age_band": "age band"}
COLUMNS = ["partnership_id", "period", "section", "finding", "measure", "indicator_id", "source", "area_type", "area_code",
           "area_name", "rank", "numerator", "denominator", "value", "lower", "upper", "unit", "comparator",
           "significance", "method", "disclosure_class"]


def _title(source: str) -> str:
    return SOURCES[source].title if source in SOURCES else source


def _number(x: float | None, decimals: int = 1) -> str:
    return "n/a" if x is None else f"{x:,.{decimals}f}"


def _interval(row: dict, decimals: int = 1, unit: str = "") -> str:
    if row["lower"] is None or row["upper"] is None:
        return f"{_number(row['value'], decimals)}{unit}"
    return f"{_number(row['value'], decimals)}{unit} ({_number(row['lower'], decimals)}–{_number(row['upper'], decimals)})"


def _frame(rows: list[dict]) -> pl.DataFrame:
    schema = {c: pl.String for c in COLUMNS} | {c: pl.Float64 for c in ("numerator", "denominator", "value", "lower", "upper", "comparator")} | {"rank": pl.Int32}
    return pl.DataFrame([{c: row.get(c) for c in COLUMNS} for row in rows], schema=schema)


def _rows(con, sql: str) -> list[dict]:
    return pl.from_arrow(con.sql(sql).to_arrow_table()).to_dicts()


def _columns(con, fact: str) -> set[str]:
    schema, table = fact.split(".")
    return {c for (c,) in con.execute("SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ?",
                                      [schema, table]).fetchall()}


# -------------------------------------------------------------------------------------------------- sections


def where(con, period: str) -> list[dict]:
    rows = _rows(con, f"""
        SELECT h.*, r.unit,
               row_number() OVER (PARTITION BY h.indicator_id, h.partnership_id, h.area_type ORDER BY h.value DESC, h.area_code) AS rank
        FROM marts.hotspots AS h
        JOIN marts.area_rates AS r USING (indicator_id, partnership_id, area_type, area_code, period)
        WHERE h.theme = '{THEME}' AND h.period = '{period}' AND h.value IS NOT NULL
        QUALIFY rank <= {TOP_AREAS} OR h.persistent
    """)
    for row in rows:
        status = ("persistent hotspot" if row["persistent"] else "hotspot" if row["hot"]
                  else "above the partnership rate" if row["above_partnership"] else None)
        area = f"{row['area_name']} ({row['area_code']})" if row["area_name"] else row["area_code"]
        row.update(section="where", measure="area_rate", comparator=row["partnership_value"], significance=status,
                   finding=f"{row['title']}: {row['area_type']} {area}, rank {row['rank']}, {_interval(row)} {row['unit']}"
                           + (f"; {status}" if status else "")
                           + (f" (hot in {row['years_hot_of_last_4']} of the last 4 years)" if row["years_hot_of_last_4"] else ""))
    return rows


def when(con, period: str) -> list[dict]:
    base = f"FROM marts.time_profiles WHERE theme = '{THEME}' AND period = '{period}'"
    rows = []
    for row in _rows(con, f"SELECT *, sum(numerator::DOUBLE) OVER (PARTITION BY source, partnership_id) AS timed {base} AND measure = 'hour_weekday' "
                          "QUALIFY row_number() OVER (PARTITION BY source, partnership_id ORDER BY numerator DESC, weekday, hour) = 1"):
        rows.append(row | {"measure": "peak_hour", "value": row["numerator"], "denominator": row["timed"], "unit": "events",
                           "comparator": row["timed"] / 168,
                           "finding": f"{_title(row['source'])}: busiest hour {row['day_of_week']} {row['hour']:02d}:00–{row['hour']:02d}:59, "
                                      f"{row['numerator']:.0f} of {row['timed']:.0f} timed events ({row['timed'] / 168:.1f} in an average hour of the week)"})
    for row in _rows(con, f"SELECT * {base} AND measure = 'small_hours'"):
        rows.append(row | {"comparator": row["expected"],
                           "finding": f"{_title(row['source'])}: {_interval(row, unit='%')} {row['definition']}, "
                                      f"against {row['expected']:.1f}% of the hours ({row['significance']})"})
    for row in _rows(con, f"SELECT * {base} AND measure = 'month_vs_average' AND significance IN ('above', 'below')"):
        rows.append(row | {"comparator": row["expected"],
                           "finding": f"{_title(row['source'])}: {row['month']:%B %Y} {row['significance']} average, {row['numerator']:.0f} events "
                                      f"against {row['expected']:.1f} on average in {row['baseline_years']} earlier years "
                                      f"(ratio {_interval(row, decimals=2)})"})
    return [r | {"section": "when", "method": r.get("definition")} for r in rows]


def _shares(con, selection: ThemeEvents, period: str, expression: str, classes: dict, of: str) -> list[dict]:
    """Per source and partnership, the theme's events in `period` by `expression` (NULL rows left out), as shares."""
    frame = pl.from_arrow(con.sql(f"""
        SELECT source, partnership_id, category, count(*)::DOUBLE AS numerator, sum(count(*)) OVER (PARTITION BY source, partnership_id)::DOUBLE AS denominator
        FROM ({selection.sql(f"month, {expression} AS category")}) AS e
        JOIN conformed.dim_period AS p ON p.period_type = 'financial_year' AND p.month = e.month AND p.period = '{period}'
        WHERE category IS NOT NULL
        GROUP BY source, partnership_id, category
        ORDER BY source, partnership_id, category
    """).to_arrow_table())
    if frame.is_empty():
        return []
    frame = stats.proportion_ci_frame(frame, "numerator", "denominator")
    return [row | {"unit": "%", "disclosure_class": classes.get(row["source"], "restricted"), "of": of} for row in frame.to_dicts()]


def who(con, period: str, selections: list[ThemeEvents], classes: dict) -> list[dict]:
    rows = []
    for selection in selections:
        for column, label in VICTIM_COLUMNS.items():
            if column in _columns(con, selection.fact):
                for row in _shares(con, selection, period, column, classes, of="victims"):
                    rows.append(row | {"section": "who", "measure": f"victims_by_{label.replace(' ', '_')}",
                                       "finding": f"{_title(row['source'])}: victims of {label} {row['category']}: "
                                                  f"{_interval(row, unit='%')} of {row['of']} ({row['numerator']:.0f} of {row['denominator']:.0f})"})
    return rows


def drivers(con, period: str, selections: list[ThemeEvents], classes: dict) -> list[dict]:
    rows = []
    for selection in selections:
        if "lsoa_code" in _columns(con, selection.fact):
            rows += deprivation_ratio(con, period, selection, classes)
    for row in _rows(con, f"SELECT * FROM marts.time_profiles WHERE theme = '{THEME}' AND period = '{period}' AND measure = 'night_time_economy'"):
        rows.append(row | {"comparator": row["expected"], "method": row["definition"],
                           "finding": f"{_title(row['source'])}: {_interval(row, unit='%')} on {row['definition']}, "
                                      f"against {row['expected']:.1f}% of the week's hours ({row['significance']})"})
    for selection in selections:
        columns = _columns(con, selection.fact)
        for flag, label in FLAGS.items():
            if flag in columns:
                for row in _shares(con, selection, period, f"{flag}::VARCHAR", classes, of="events"):
                    if row["category"] == "true":
                        rows.append(row | {"measure": f"{flag}_flag", "finding": f"{_title(row['source'])}: {_interval(row, unit='%')} "
                                                                                  f"flagged {label} ({row['numerator']:.0f} of {row['denominator']:.0f})"})
        if "location_description" in columns:
            for row in _rows(con, f"""
                SELECT source, partnership_id, location_description AS area_name, count(*)::DOUBLE AS numerator,
                       row_number() OVER (PARTITION BY source, partnership_id ORDER BY count(*) DESC, location_description) AS rank
                FROM ({selection.sql("month, location_description")}) AS e
                JOIN conformed.dim_period AS p ON p.period_type = 'financial_year' AND p.month = e.month AND p.period = '{period}'
                WHERE location_description IS NOT NULL
                GROUP BY source, partnership_id, location_description HAVING count(*) >= {REPEAT_LOCATION_MIN}
                QUALIFY rank <= {REPEAT_LOCATIONS_LISTED}
            """):
                rows.append(row | {"measure": "repeat_location", "area_type": "place", "value": row["numerator"], "unit": "events",
                                   "disclosure_class": "restricted",  # a partner's free text: a venue or street
                                   "finding": f"{_title(row['source'])}: repeat location {row['area_name']}, {row['numerator']:.0f} events"})
    return [r | {"section": "drivers"} for r in rows]


def deprivation_ratio(con, period: str, selection: ThemeEvents, classes: dict) -> list[dict]:
    """Per source, the theme's rate in the most deprived fifth of the partnership's LSOAs over the least deprived
    fifth: the method of marts.deprivation (deprivation_frame) over the theme's events. The catalogue's violence
    indicators stop at wards (small numbers), so marts.deprivation has no violence rows to read."""
    lsoa_rows = pl.from_arrow(con.sql(f"""
        WITH counted AS (
            SELECT e.source, e.partnership_id, e.lsoa_code, count(*)::DOUBLE AS numerator
            FROM ({selection.sql("month, lsoa_code")}) AS e
            JOIN conformed.dim_period AS p ON p.period_type = 'financial_year' AND p.month = e.month AND p.period = '{period}'
            WHERE e.lsoa_code IS NOT NULL
            GROUP BY ALL
        )
        SELECT s.source AS indicator_id, '{THEME}' AS theme, s.source AS title, r.partnership_id, r.period,
               (SELECT min(period_start) FROM conformed.dim_period WHERE period_type = 'financial_year' AND period = '{period}') AS period_start,
               r.area_code, coalesce(c.numerator, 0) AS numerator, r.value::DOUBLE AS denominator, 1000 AS multiplier,
               'restricted' AS disclosure_class
        FROM (SELECT DISTINCT source, partnership_id FROM counted) AS s
        JOIN conformed.period_population AS r ON r.partnership_id = s.partnership_id AND r.period_type = 'financial_year'
             AND r.period = '{period}' AND r.area_type = 'lsoa' AND r.denominator = 'residents'
        LEFT JOIN counted AS c ON c.source = s.source AND c.partnership_id = r.partnership_id AND c.lsoa_code = r.area_code
    """).to_arrow_table())
    if lsoa_rows.is_empty():
        return []
    imd = pl.from_arrow(con.sql("SELECT lsoa_code, imd_index, imd_rank, imd_decile FROM reference.imd").to_arrow_table())
    ratios = deprivation_frame(lsoa_rows, imd).unique(["indicator_id", "partnership_id"], keep="first")
    rows = []
    for row in ratios.to_dicts():
        value, lower, upper = row["rate_ratio"], row["rate_ratio_lower"], row["rate_ratio_upper"]
        if value is None:
            continue
        significance = "above" if lower is not None and lower > 1 else "below" if upper is not None and upper < 1 else "similar"
        rows.append({"source": row["indicator_id"], "partnership_id": row["partnership_id"], "measure": "deprivation_rate_ratio",
                     "value": value, "lower": lower, "upper": upper, "unit": "ratio", "comparator": 1.0, "significance": significance,
                     "disclosure_class": classes.get(row["indicator_id"], "restricted"),
                     "finding": f"{_title(row['indicator_id'])}: {_interval({'value': value, 'lower': lower, 'upper': upper}, decimals=2)} times "
                                "the rate in the most deprived fifth of LSOAs as in the least deprived fifth", "method": RATIO_METHOD})
    return rows


def data_gaps(con, selections: list[ThemeEvents]) -> list[dict]:
    """Workspace-wide (every partnership shares its sources): quarters received per serious-violence source."""
    sources = sorted({s for i in load_catalogue().values() if i.theme == THEME for s in i.sources})
    rows = []
    for row in _rows(con, f"""
        SELECT s.source, s.title, s.agency, s.expected,
               count(m.quarter_label) AS quarters,
               count(m.quarter_label) FILTER (WHERE m.status = 'received') AS received,
               string_agg(m.quarter_label || ' ' || m.status, ', ' ORDER BY m.quarter_start)
                   FILTER (WHERE m.status IN ('overdue', 'partial')) AS missing
        FROM reference.sources AS s
        LEFT JOIN marts.mart_submissions AS m USING (source)
        WHERE s.source IN ({", ".join(f"'{s}'" for s in sources)})
        GROUP BY ALL ORDER BY s.source
    """):
        if not row["expected"]:
            finding, significance = f"{row['title']} ({row['agency']}): not shared — not enabled in partnership.yaml and no files received", "not shared"
        elif row["missing"]:
            finding, significance = f"{row['title']} ({row['agency']}): {row['received']} of {row['quarters']} quarters received; missing: {row['missing']}", "missing"
        else:
            finding, significance = f"{row['title']} ({row['agency']}): {row['received']} of {row['quarters']} quarters received", "complete"
        rows.append({"source": row["source"], "measure": "quarters_received", "numerator": row["received"], "denominator": row["quarters"],
                     "value": row["received"], "unit": "quarters", "significance": significance, "finding": finding})
    flagged = {flag for selection in selections for flag in FLAGS if flag in _columns(con, selection.fact)}
    for flag in FLAGS.keys() - flagged:
        rows.append({"measure": f"{flag}_flag", "significance": "not recorded",
                     "finding": f"No serious-violence source records whether an event was {FLAGS[flag]}"})
    return [r | {"section": "data_gaps", "disclosure_class": "public"} for r in rows]  # about deliveries, not people


def violence_profile_frame(con) -> pl.DataFrame:
    period = con.execute("SELECT max(period) FROM conformed.dim_period WHERE period_type = 'financial_year'").fetchall()[0][0]
    selections = [s for s in theme_events(load_catalogue(), facts_of_theme()) if s.theme == THEME]
    classes = {r["source"]: r["disclosure_class"] for r in disclosure_classes(selections).to_dicts()}
    partnerships = [p for (p,) in con.execute("SELECT DISTINCT partnership_id FROM conformed.dim_partnership ORDER BY 1").fetchall()]
    found = where(con, period) + when(con, period) + who(con, period, selections, classes) + drivers(con, period, selections, classes)
    shared = data_gaps(con, selections)
    rows = [r | {"period": period} for r in found] + [r | {"period": period, "partnership_id": p} for p in partnerships for r in shared]
    return _frame(rows)


def facts_of_theme() -> set[str]:
    """Every fact the theme's indicators read (victims and flags need no times)."""
    return {i.from_ for i in load_catalogue().values() if i.theme == THEME and i.from_}


@dg.asset(
    key=["marts", "violence_profile"],
    deps=[dg.AssetKey(["marts", m]) for m in ("hotspots", "area_rates", "time_profiles", "mart_submissions")]
    + [dg.AssetKey(k.split("/")) for k in ("reference/sources", "reference/imd", "conformed/dim_partnership", "conformed/dim_period",
                                           "conformed/period_population")]
    + [dg.AssetKey(f.split(".")) for f in sorted(facts_of_theme())],
    group_name="marts",
    description="The Serious Violence Duty profile: where (top areas, persistent hotspots), when (peak hours, small hours, unusual months), "
                "who (victims), drivers (deprivation, night-time economy, alcohol and drug flags, repeat locations) and data gaps",
    kinds={"duckdb", "python"},
)
def violence_profile(workspace: WorkspaceResource) -> dg.MaterializeResult:
    ws = workspace.get()
    with ws.connect() as con:
        frame = violence_profile_frame(con)
        count = write_mart(con, ws, "violence_profile", frame)
    return dg.MaterializeResult(metadata={"dagster/row_count": count,
                                          **{f"{s} findings": n for s, n in frame.group_by("section").len().iter_rows()}})


ASSETS = [violence_profile]
