"""People: who is harmed again and again, who offends again, and how young they are (`marts.people_measures`).

One tidy table, one row per partnership, financial year, `measure` and breakdown (`breakdown` names what the
rows are split by, `category` the value; `all` for the whole), from the conformed facts:

- repeat victimisation: MARAC repeats on the SafeLives definition (a case referred again within 12 months of the
  victim's previous referral; `repeat_safelives` of conformed.fct_domestic_abuse), repeat victims of police
  recorded crime (the same pseudonymised victim twice or more in the year, overall and within each offence
  group), repeat ASB callers (council cases
  flagged) and repeat ASB locations (police.uk map points with REPEAT_LOCATION_MIN or more incidents in the year);
- victim profiles by age band and sex (police crimes, MARAC);
- the IOM cohort: members, and offences per member in the 12 months before and after joining, by cohort
  (fixed, flex, free, youth) and by main offence type, after tested against before;
- MoJ proven reoffending: rate and frequency by cohort type, tested against the previous year's cohort;
- young people: victims under 18 (the police extract's 0-17 band; it cannot isolate 10-17), overall and by
  offence group, road casualties aged 10-17, and young
  offenders (the MoJ juvenile cohort, aged 10-17).

Financial years are the facts' own `financial_year` (sql/macros.sql), limited to the periods reported
(conformed.dim_period). Proportions carry Wilson intervals, ratios Poisson ones (pipeline/analysis/stats.py).
Rows built from person-level partner records are `restricted`; published aggregates (MoJ, police.uk, STATS19)
are `public`.
"""

from __future__ import annotations

import dagster as dg
import polars as pl

from pipeline.analysis import stats
from pipeline.analysis.engine import write_mart
from pipeline.resources import WorkspaceResource

REPEAT_LOCATION_MIN = 5  # ASB incidents at one map point in a year that make it a repeat location
ALPHA = 0.05

# Every measure is one SELECT returning the columns of MEASURE_COLUMNS; `kind` says how its value is computed:
# proportion (numerator / denominator, per cent, Wilson), ratio (numerator per denominator, Poisson) or count.
MEASURE_COLUMNS = ("partnership_id", "period", "measure", "breakdown", "category", "numerator", "denominator",
                   "kind", "unit", "source", "disclosure_class")

_YEARS = "(SELECT DISTINCT period, period_start FROM conformed.dim_period WHERE period_type = 'financial_year')"

MEASURES: dict[str, str] = {
    "marac_repeat_rate": """
        SELECT partnership_id, financial_year AS period, 'marac_repeat_rate' AS measure, 'all' AS breakdown, 'all' AS category,
               count(*) FILTER (WHERE repeat_safelives) AS numerator, count(*) AS denominator,
               'proportion' AS kind, '% of MARAC cases' AS unit, 'marac' AS source, 'restricted' AS disclosure_class
        FROM conformed.fct_domestic_abuse WHERE source = 'marac' AND partnership_id IS NOT NULL GROUP BY ALL""",
    "crime_repeat_victim_rate": """
        WITH victims AS (
            SELECT partnership_id, financial_year, breakdown, category, victim_id, count(*) AS crimes
            FROM conformed.fct_crimes,
                 LATERAL (VALUES ('all', 'all'), ('offence_group', coalesce(offence_group, 'unknown'))) AS b(breakdown, category)
            WHERE victim_id IS NOT NULL GROUP BY ALL
        )
        SELECT partnership_id, financial_year, 'crime_repeat_victim_rate', breakdown, category,
               count(*) FILTER (WHERE crimes >= 2), count(*), 'proportion', '% of identified victims', 'police_crimes', 'restricted'
        FROM victims GROUP BY ALL""",
    "asb_repeat_caller_rate": """
        SELECT partnership_id, financial_year, 'asb_repeat_caller_rate', 'all', 'all',
               count(*) FILTER (WHERE repeat_caller), count(repeat_caller), 'proportion', '% of council ASB cases', 'council_asb', 'restricted'
        FROM conformed.fct_council_asb GROUP BY ALL""",
    "asb_repeat_location_share": f"""
        WITH points AS (
            SELECT r.partnership_id, financial_year(r.month) AS financial_year, s.longitude, s.latitude, count(*) AS incidents
            FROM conformed.fct_street_records AS r
            JOIN staging.stg_police_street AS s USING (record_id)
            WHERE r.record_kind = 'asb' AND r.partnership_id IS NOT NULL AND NOT r.is_duplicate AND s.longitude IS NOT NULL
            GROUP BY ALL
        )
        SELECT partnership_id, financial_year, 'asb_repeat_location_share', 'all', 'all',
               sum(incidents) FILTER (WHERE incidents >= {REPEAT_LOCATION_MIN}), sum(incidents), 'proportion',
               '% of ASB incidents at a place with {REPEAT_LOCATION_MIN}+ in the year', 'police_street', 'public'
        FROM points GROUP BY ALL
        UNION ALL
        SELECT partnership_id, financial_year, 'asb_repeat_locations', 'all', 'all',
               count(*) FILTER (WHERE incidents >= {REPEAT_LOCATION_MIN}), NULL, 'count', 'map points', 'police_street', 'public'
        FROM points GROUP BY ALL""",
    "crime_victims_by_age_sex": """
        WITH counts AS (
            SELECT partnership_id, financial_year, breakdown, category, count(*) AS victims
            FROM conformed.fct_crimes,
                 LATERAL (VALUES ('age_band', coalesce(victim_age_band, 'unknown')), ('sex', coalesce(victim_sex, 'unknown'))) AS b(breakdown, category)
            WHERE victim_id IS NOT NULL GROUP BY ALL
        )
        SELECT partnership_id, financial_year, 'crime_victims', breakdown, category, victims,
               sum(victims) OVER (PARTITION BY partnership_id, financial_year, breakdown),
               'proportion', '% of identified victims', 'police_crimes', 'restricted'
        FROM counts""",
    "marac_victims_by_sex": """
        WITH counts AS (
            SELECT partnership_id, financial_year, coalesce(victim_sex, 'unknown') AS category, count(*) AS cases
            FROM conformed.fct_domestic_abuse WHERE source = 'marac' AND partnership_id IS NOT NULL GROUP BY ALL
        )
        SELECT partnership_id, financial_year, 'marac_victims', 'sex', category, cases,
               sum(cases) OVER (PARTITION BY partnership_id, financial_year),
               'proportion', '% of MARAC cases', 'marac', 'restricted'
        FROM counts""",
    "iom_members": """
        SELECT partnership_id, financial_year, 'iom_members', breakdown, category, sum(people), NULL,
               'count', 'people joining', 'probation_iom', 'restricted'
        FROM conformed.fct_offender_management,
             LATERAL (VALUES ('all', 'all'), ('cohort', cohort), ('offence_type', coalesce(offence_type, 'not recorded'))) AS b(breakdown, category)
        WHERE source = 'probation_iom' AND partnership_id IS NOT NULL GROUP BY ALL""",
    "iom_offences": """
        SELECT partnership_id, financial_year, m.measure, breakdown, category,
               sum(CASE WHEN m.measure = 'iom_offences_before_per_member' THEN offences_before ELSE offences END),
               sum(people_followed_up), 'ratio', 'offences per member (12 months)', 'probation_iom', 'restricted'
        FROM conformed.fct_offender_management,
             LATERAL (VALUES ('all', 'all'), ('cohort', cohort), ('offence_type', coalesce(offence_type, 'not recorded'))) AS b(breakdown, category),
             (VALUES ('iom_offences_before_per_member'), ('iom_offences_after_per_member')) AS m(measure)
        WHERE source = 'probation_iom' AND partnership_id IS NOT NULL AND people_followed_up = 1 GROUP BY ALL""",
    "proven_reoffending": """
        SELECT partnership_id, financial_year, m.measure, 'cohort_type', category,
               sum(CASE WHEN m.measure = 'proven_reoffending_rate' THEN reoffenders ELSE offences END), sum(people),
               m.kind, m.unit, 'probation_reoffending', 'public'
        FROM conformed.fct_offender_management,
             LATERAL (VALUES ('all'), (cohort)) AS b(category),
             (VALUES ('proven_reoffending_rate', 'proportion', '% of offenders'),
                     ('proven_reoffending_frequency', 'ratio', 'reoffences per offender')) AS m(measure, kind, unit)
        WHERE source = 'probation_reoffending' GROUP BY ALL""",
    "young_people": """
        SELECT partnership_id, financial_year, 'young_crime_victims', breakdown, category,
               count(*) FILTER (WHERE victim_age_band = '0-17'), count(*) FILTER (WHERE victim_age_band <> 'unknown'),
               'proportion', '% of victims of known age aged 0-17', 'police_crimes', 'restricted'
        FROM conformed.fct_crimes,
             LATERAL (VALUES ('all', 'all'), ('offence_group', coalesce(offence_group, 'unknown'))) AS b(breakdown, category)
        WHERE victim_id IS NOT NULL GROUP BY ALL
        UNION ALL
        SELECT f.partnership_id, f.financial_year, 'young_road_casualties', 'age', '10-17',
               count(*) FILTER (WHERE k.age BETWEEN 10 AND 17), count(k.age), 'proportion', '% of casualties of known age',
               'road_collisions', 'public'
        FROM conformed.fct_road_safety AS f JOIN staging.stg_road_casualties AS k USING (record_id)
        WHERE f.record_kind = 'road casualty' GROUP BY ALL
        UNION ALL
        SELECT partnership_id, financial_year, 'young_proven_offenders', 'cohort_type', 'juvenile', sum(people), NULL,
               'count', 'offenders aged 10-17 in the MoJ cohort', 'probation_reoffending', 'public'
        FROM conformed.fct_offender_management WHERE source = 'probation_reoffending' AND cohort = 'juvenile' GROUP BY ALL""",
}

# Which rows are tested against which: (measure, the measure it is compared with, how the period is matched)
COMPARISONS = (
    ("iom_offences_after_per_member", "iom_offences_before_per_member", "same year",
     "the same members' offences in the 12 months before joining"),
    ("proven_reoffending_rate", "proven_reoffending_rate", "previous year", "the previous financial year's cohort"),
    ("proven_reoffending_frequency", "proven_reoffending_frequency", "previous year", "the previous financial year's cohort"),
)

PEOPLE_SCHEMA = {
    "partnership_id": pl.String, "period": pl.String, "period_start": pl.Date, "measure": pl.String, "breakdown": pl.String,
    "category": pl.String, "numerator": pl.Float64, "denominator": pl.Float64, "kind": pl.String, "value": pl.Float64,
    "lower": pl.Float64, "upper": pl.Float64, "unit": pl.String, "compared_with": pl.String, "comparator_value": pl.Float64,
    "change": pl.Float64, "change_lower": pl.Float64, "change_upper": pl.Float64, "p_value": pl.Float64, "verdict": pl.String,
    "test": pl.String, "source": pl.String, "disclosure_class": pl.String,
}


def measures_sql() -> str:
    """All measures in one table, limited to the financial years reported."""
    union = "\nUNION ALL\n".join(f"SELECT * FROM ({sql}\n)" for sql in MEASURES.values())
    names = ", ".join(MEASURE_COLUMNS)
    return (f"SELECT m.*, y.period_start FROM (SELECT * FROM ({union}) AS t({names})) AS m\n"
            f"JOIN {_YEARS} AS y USING (period)\nWHERE m.partnership_id IS NOT NULL")


def with_values(rows: pl.DataFrame) -> pl.DataFrame:
    """value, lower, upper by kind: Wilson for proportions (per cent), Poisson for ratios, none for counts."""
    parts = []
    for (kind,), part in rows.group_by("kind", maintain_order=True):
        if kind == "proportion":
            part = stats.proportion_ci_frame(part, "numerator", "denominator", multiplier=100)
        elif kind == "ratio":
            part = stats.rate_ci_frame(part, "numerator", "denominator", multiplier=1)
        else:
            part = part.with_columns(pl.col("numerator").alias("value"), pl.lit(None, pl.Float64).alias("lower"),
                                     pl.lit(None, pl.Float64).alias("upper"))
        parts.append(part)
    return pl.concat(parts, how="vertical_relaxed")


def with_comparisons(frame: pl.DataFrame) -> pl.DataFrame:
    """Tests of COMPARISONS: IOM offences after joining against before (the same members), proven reoffending
    against the previous year's cohort (stats.proportion_change / rate_change); other rows get nulls."""
    keys = ["partnership_id", "breakdown", "category"]
    tested = []
    for measure, against, match, label in COMPARISONS:
        later = frame.filter(pl.col("measure") == measure)
        earlier = frame.filter(pl.col("measure") == against).select(
            *keys, "period_start", pl.col("numerator").alias("n1"), pl.col("denominator").alias("d1"), pl.col("value").alias("comparator_value"))
        if match == "previous year":
            earlier = earlier.with_columns(pl.col("period_start").dt.offset_by("1y"))
        pairs = later.join(earlier, on=[*keys, "period_start"], how="inner")
        if not pairs.height:
            continue
        n1, d1, n2, d2 = (pairs[c].to_numpy() for c in ("n1", "d1", "numerator", "denominator"))
        if pairs["kind"][0] == "proportion":  # the difference in percentage points
            result, test = stats.proportion_change_arrays(n1, d1, n2, d2, alpha=ALPHA, multiplier=100), stats.PROPORTION_TEST
        else:  # the ratio later / earlier
            result, test = stats.rate_change_arrays(n1, d1, n2, d2, alpha=ALPHA), stats.RATE_TEST
        pairs = pairs.with_columns(
            pl.lit(label).alias("compared_with"),
            *(pl.Series(name, result[key], nan_to_null=True)
              for name, key in (("change", "estimate"), ("change_lower", "lower"), ("change_upper", "upper"), ("p_value", "p_value"))),
            pl.Series("verdict", result["verdict"].astype(str)), pl.lit(test).alias("test"),
        ).drop("n1", "d1")
        tested.append(pairs)
    untested = frame.join(pl.concat(tested).select(*keys, "period_start", "measure"), on=[*keys, "period_start", "measure"], how="anti") if tested else frame
    return pl.concat([untested, *tested], how="diagonal_relaxed")


def people_frame(rows: pl.DataFrame) -> pl.DataFrame:
    """The mart from the measures' rows (MEASURE_COLUMNS and period_start)."""
    if not rows.height:
        return pl.DataFrame(schema=PEOPLE_SCHEMA)
    rows = rows.with_columns(pl.col("numerator", "denominator").cast(pl.Float64))
    frame = with_comparisons(with_values(rows))
    return frame.select([pl.col(c).cast(t) if c in frame.columns else pl.lit(None, t).alias(c) for c, t in PEOPLE_SCHEMA.items()]).sort(
        "partnership_id", "measure", "breakdown", "category", "period_start")


def read_measures(con) -> pl.DataFrame:
    return pl.from_arrow(con.sql(measures_sql()).to_arrow_table())


@dg.asset(
    key=["marts", "people_measures"],
    deps=[dg.AssetKey(["conformed", t]) for t in ("fct_domestic_abuse", "fct_crimes", "fct_council_asb", "fct_street_records",
                                                  "fct_offender_management", "fct_road_safety", "dim_period")]
    + [dg.AssetKey(["staging", "stg_police_street"]), dg.AssetKey(["staging", "stg_road_casualties"])],
    group_name="marts",
    description="Repeat victimisation (MARAC on the SafeLives definition, crime, ASB callers and locations), victim profiles, IOM offences before and after joining, proven reoffending against the previous cohort, and young people, per financial year",
    kinds={"duckdb", "python"},
)
def people_measures(workspace: WorkspaceResource) -> dg.MaterializeResult:
    ws = workspace.get()
    with ws.connect() as con:
        count = write_mart(con, ws, "people_measures", people_frame(read_measures(con)))
    return dg.MaterializeResult(metadata={"dagster/row_count": count})


ASSETS = [people_measures]
