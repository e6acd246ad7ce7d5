"""The prioritisation matrix: a transparent MoRiLE-style score per theme, and the evidence behind every score.

For each theme (THEMES) and partnership, seven factors are scored from 1 (least concern) to 5 (most):

- harm: the theme's police recorded crimes weighted by reference.harm_weights (the weights marts.harm uses),
  per 1,000 residents; rank-based across themes.
- volume: the theme's police recorded crimes in the year, or for a theme that is not crime (ASB, road safety,
  reoffending) the events of its headline indicator (marts.indicator_values); rank-based.
- trend: significant verdicts only (marts.indicator_comparisons: trend since baseline and the latest 12 months
  against the 12 before) of the theme's indicators that have a better direction, read with it: 3 + 2 x
  (worsening - improving) / (worsening + improving); 3 when nothing changed significantly.
- concentration: the share of the headline indicator's events in the top 10% of LSOAs (marts.concentration);
  rank-based.
- community concern: residents' mean priority rating (1 to 5) of the theme in the survey (conformed.fct_survey),
  used as it is.
- vulnerability: the mean of the theme's repeat and young-people measures (marts.people_measures, per cent);
  rank-based.
- capacity: configured in partnership.yaml `priorities.capacity` (default 3).

Rank-based: 1 + 4 x (rank - 1) / (themes scored - 1), ranks ascending with ties averaged, 3 when one theme is
scored. A theme without data for a factor has no score for it (never 0) and its evidence row says why; the
weighted score is the weighted mean of the factors it has (weights: `priorities.weights`), so a missing factor
neither helps nor harms. Themes are ranked by weighted score; the top `priorities.recommend` are recommended.
Each factor's year is the latest complete financial year with data for it (the reporting period's last, where
the source has reached it).
"""

from __future__ import annotations

from dataclasses import dataclass

import dagster as dg
import polars as pl

from pipeline.analysis.engine import write_mart
from pipeline.config import PRIORITY_FACTORS, Priorities
from pipeline.resources import WorkspaceResource

TREND_COMPARISONS = ("trend since baseline", "rolling 12 months vs previous 12")
NEUTRAL = 3.0


@dataclass(frozen=True)
class Theme:
    """Where a theme's evidence is found. crimes: a condition on conformed.fct_crimes (harm); headline: the
    catalogue indicator counted for volume and concentration; indicators: those whose significant changes
    make the trend; survey: columns of conformed.fct_survey (priority ratings); people: (measure, breakdown,
    category) rows of marts.people_measures (vulnerability)."""

    title: str
    crimes: str | None = None
    headline: str | None = None
    indicators: tuple[str, ...] = ()
    survey: tuple[str, ...] = ()
    people: tuple[tuple[str, str, str], ...] = ()


THEMES: dict[str, Theme] = {
    "domestic_abuse": Theme(
        "Domestic abuse", crimes="domestic_abuse", headline="domestic_abuse_crimes",
        indicators=("domestic_abuse_crimes", "marac_cases", "idva_referrals"), survey=("priority_domestic_abuse",),
        people=(("marac_repeat_rate", "all", "all"),)),
    "serious_violence": Theme(
        "Serious violence",
        crimes="NOT domestic_abuse AND (knife OR firearm OR offence_group IN ('Violence against the person', 'Possession of weapons offences'))",
        headline="non_domestic_violence_with_injury",
        indicators=("non_domestic_violence_with_injury", "knife_crime", "homicide", "ae_assault_attendances", "ambulance_assault_callouts"),
        survey=("priority_violence",),
        people=(("young_crime_victims", "offence_group", "Violence against the person"),
                ("crime_repeat_victim_rate", "offence_group", "Violence against the person"))),
    "asb": Theme(
        "Anti-social behaviour", headline="police_asb_incidents", indicators=("police_asb_incidents", "council_asb_cases"),
        survey=("priority_asb",), people=(("asb_repeat_caller_rate", "all", "all"),)),
    "acquisitive_crime": Theme(
        "Acquisitive crime", crimes="offence_group IN ('Theft offences', 'Robbery')", headline="domestic_burglary",
        indicators=("domestic_burglary", "non_domestic_burglary", "shoplifting", "robbery", "theft_of_motor_vehicle", "theft_from_motor_vehicle"),
        survey=("priority_burglary", "priority_vehicle_crime"),
        people=(("crime_repeat_victim_rate", "offence_group", "Theft offences"),)),
    "hate": Theme(
        "Hate crime", crimes="hate_strand IS NOT NULL", headline="hate_crimes", indicators=("hate_crimes", "hate_incidents")),
    "exploitation": Theme("Exploitation (modern slavery)", crimes="offence_code = '106'"),
    "reoffending": Theme(
        "Reoffending", headline="proven_reoffending_rate",
        indicators=("proven_reoffending_rate", "reoffences_per_reoffender", "iom_offences_per_individual"),
        people=(("proven_reoffending_rate", "cohort_type", "juvenile"),)),
    "substance_misuse": Theme(
        "Substance misuse", crimes="offence_group = 'Drug offences'", headline="drug_offences",
        indicators=("drug_offences", "alcohol_related_crime", "ambulance_overdose_callouts", "treatment_successful_completions"),
        survey=("priority_drugs",)),
    "road_safety": Theme(
        "Road safety", headline="road_ksi_casualties", indicators=("road_ksi_casualties", "pedestrian_cyclist_ksi"),
        survey=("priority_road_safety",), people=(("young_road_casualties", "age", "10-17"),)),
}

EVIDENCE_SCHEMA = {
    "partnership_id": pl.String, "theme": pl.String, "factor": pl.String, "source": pl.String, "indicator_id": pl.String,
    "period": pl.String, "comparison": pl.String, "value": pl.Float64, "unit": pl.String, "verdict": pl.String,
    "note": pl.String, "disclosure_class": pl.String,
}
RANKED = ("harm", "volume", "concentration", "vulnerability")  # scored by rank across themes


# ---------------------------------------------------------------------------------------------- evidence


def _rows(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select([pl.col(c).cast(t) if c in frame.columns else pl.lit(None, t).alias(c) for c, t in EVIDENCE_SCHEMA.items()])


def _latest(frame: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """Each key's row of the latest period (financial years sort as text)."""
    return frame.sort("period").group_by(keys, maintain_order=True).last()


def crime_evidence(con, year: str) -> pl.DataFrame:
    """Harm per 1,000 residents and volume (crimes) of each theme's crimes, the latest year to `year` with crimes."""
    parts = []
    for theme_id, theme in THEMES.items():
        if theme.crimes is None:
            continue
        parts.append(f"""
            SELECT c.partnership_id, '{theme_id}' AS theme, c.financial_year AS period, count(*) AS offences,
                   coalesce(sum(w.weight), 0) AS harm, any_value(w.weights_source) AS weights_source
            FROM conformed.fct_crimes AS c LEFT JOIN reference.harm_weights AS w USING (offence_code)
            WHERE ({theme.crimes}) AND c.financial_year <= '{year}' GROUP BY ALL""")
    if not parts:
        return _rows(pl.DataFrame())
    frame = pl.from_arrow(con.sql(f"""
        WITH h AS ({" UNION ALL ".join(parts)})
        SELECT h.*, 1000.0 * h.harm / p.value AS value
        FROM h JOIN conformed.period_population AS p
          ON p.period_type = 'financial_year' AND p.period = h.period AND p.area_type = 'partnership'
         AND p.area_code = h.partnership_id AND p.partnership_id = h.partnership_id AND p.denominator = 'residents'
    """).to_arrow_table())
    frame = _latest(frame, ["partnership_id", "theme"]).with_columns(
        pl.lit("conformed.fct_crimes x reference.harm_weights").alias("source"), pl.lit("restricted").alias("disclosure_class"))
    harm = frame.with_columns(pl.lit("harm").alias("factor"), pl.lit("harm per 1,000 residents").alias("unit"),
                              pl.format("{} crimes; weights: {}", pl.col("offences"), pl.col("weights_source")).alias("note"))
    volume = frame.with_columns(pl.lit("volume").alias("factor"), pl.col("offences").cast(pl.Float64).alias("value"),
                                pl.lit("crimes in the year").alias("unit"), pl.lit("the theme's police recorded crimes").alias("note"))
    return _rows(pl.concat([harm, volume], how="diagonal_relaxed"))


def volume_evidence(values: pl.DataFrame, year: str) -> pl.DataFrame:
    """Events of the headline indicator in the year, for themes that are not counted in crimes."""
    headline = pl.DataFrame([{"theme": t, "indicator_id": th.headline} for t, th in THEMES.items() if th.headline and not th.crimes],
                            schema={"theme": pl.String, "indicator_id": pl.String})
    rows = values.filter(pl.col("area_type") == "partnership", pl.col("period_type") == "financial_year", pl.col("complete"),
                         pl.col("period") <= year).drop("theme").join(headline, on="indicator_id")
    rows = _latest(rows, ["partnership_id", "theme"])
    return _rows(rows.with_columns(
        pl.lit("volume").alias("factor"), pl.lit("marts.indicator_values").alias("source"), pl.col("numerator").alias("value"),
        pl.lit("events in the year").alias("unit"), pl.format("{}: {} {}", "title", pl.col("value").round(2), "unit").alias("note")))


def trend_evidence(comparisons: pl.DataFrame) -> pl.DataFrame:
    """Every verdict of the themes' indicators (partnership level) with a better direction, read with it:
    a significant change is worsening or improving; only those move the score."""
    listed = pl.DataFrame([{"theme": t, "indicator_id": i} for t, th in THEMES.items() for i in th.indicators])
    rows = comparisons.filter(pl.col("area_type") == "partnership", pl.col("comparison").is_in(TREND_COMPARISONS),
                              pl.col("polarity").is_in(["higher", "lower"]), pl.col("verdict").is_not_null())
    rows = rows.join(listed, on="indicator_id")
    worse = (pl.col("verdict") == "increase") == (pl.col("polarity") == "lower")
    return _rows(rows.with_columns(
        pl.lit("trend").alias("factor"), pl.lit("marts.indicator_comparisons").alias("source"), "comparison",
        pl.col("change").alias("value"), pl.col("change_measure").alias("unit"),
        pl.when(~pl.col("verdict").is_in(["increase", "decrease"])).then(pl.lit("not significant"))
        .when(worse).then(pl.lit("worsening")).otherwise(pl.lit("improving")).alias("note")))


def concentration_evidence(concentration: pl.DataFrame, year: str) -> pl.DataFrame:
    headline = pl.DataFrame([{"theme": t, "indicator_id": th.headline} for t, th in THEMES.items() if th.headline])
    rows = concentration.filter(pl.col("complete"), pl.col("period") <= year).drop("theme").join(headline, on="indicator_id")
    rows = _latest(rows, ["partnership_id", "theme"])
    return _rows(rows.with_columns(
        pl.lit("concentration").alias("factor"), pl.lit("marts.concentration").alias("source"),
        (pl.col("top10_share") * 100).alias("value"), pl.lit("% of events in the top 10% of LSOAs").alias("unit"),
        pl.format("Gini {}", pl.col("gini").round(3)).alias("note")))


def community_evidence(con, year: str) -> pl.DataFrame:
    """Mean priority rating of each theme's survey columns, the latest survey year to `year`."""
    parts = [f"SELECT partnership_id, '{t}' AS theme, '{c}' AS indicator_id, financial_year AS period, avg({c}) AS value, count({c}) AS n "
             f"FROM conformed.fct_survey WHERE financial_year <= '{year}' GROUP BY ALL HAVING count({c}) > 0"
             for t, th in THEMES.items() for c in th.survey]
    frame = pl.from_arrow(con.sql(" UNION ALL ".join(parts)).to_arrow_table())
    frame = _latest(frame, ["partnership_id", "theme", "indicator_id"])
    return _rows(frame.with_columns(
        pl.lit("community_concern").alias("factor"), pl.lit("conformed.fct_survey").alias("source"),
        pl.lit("mean rating, 1 (low) to 5 (high)").alias("unit"), pl.format("{} respondents", "n").alias("note"),
        pl.lit("public").alias("disclosure_class")))


def vulnerability_evidence(people: pl.DataFrame, year: str) -> pl.DataFrame:
    listed = pl.DataFrame([{"theme": t, "measure": m, "breakdown": b, "category": c} for t, th in THEMES.items() for m, b, c in th.people])
    rows = people.filter(pl.col("period") <= year, pl.col("value").is_not_null()).join(listed, on=["measure", "breakdown", "category"])
    rows = _latest(rows, ["partnership_id", "theme", "measure", "breakdown", "category"])
    return _rows(rows.with_columns(
        pl.lit("vulnerability").alias("factor"), pl.lit("marts.people_measures").alias("source"),
        pl.col("measure").alias("indicator_id"), pl.format("{} {}", "breakdown", "category").alias("note")))


# ---------------------------------------------------------------------------------------------- scores


def rank_scores(values: pl.Series) -> pl.Series:
    """1 + 4 x (rank - 1) / (n - 1), ascending with ties averaged; 3 for a single value."""
    n = values.len()
    if n == 1:
        return pl.Series([NEUTRAL])
    return 1 + 4 * (values.rank("average") - 1) / (n - 1)


def factor_values(evidence: pl.DataFrame) -> pl.DataFrame:
    """One value per partnership, theme and factor from the evidence: the mean of a factor's rows (the trend:
    its score directly, from the worsening and improving verdicts)."""
    plain = evidence.filter(pl.col("factor") != "trend", pl.col("value").is_not_null()).group_by(
        "partnership_id", "theme", "factor").agg(pl.col("value").mean())
    worse, better = ((pl.col("note") == n).cast(pl.Int64).sum() for n in ("worsening", "improving"))
    trend = evidence.filter(pl.col("factor") == "trend").group_by("partnership_id", "theme").agg(
        pl.when(worse + better > 0).then(NEUTRAL + 2 * (worse - better) / (worse + better)).otherwise(NEUTRAL).alias("value"))
    return pl.concat([plain, trend.with_columns(pl.lit("trend").alias("factor")).select(plain.columns)])


def score_matrix(values: pl.DataFrame, partnerships: list[str], settings: Priorities) -> pl.DataFrame:
    """The matrix from factor values (partnership_id, theme, factor, value): per theme each factor's value
    and score, the weighted score, rank and recommendation. `partnerships`: every partnership to score."""
    weights = settings.weights.model_dump()
    capacity = pl.DataFrame([{"partnership_id": p, "theme": t, "factor": "capacity", "value": float(settings.capacity.get(t, NEUTRAL))}
                             for p in partnerships for t in THEMES])
    values = pl.concat([values.filter(pl.col("factor") != "capacity").select(capacity.columns), capacity])
    scored = []
    for (_, factor), part in values.group_by("partnership_id", "factor", maintain_order=True):
        score = rank_scores(part["value"]) if factor in RANKED else part["value"]
        scored.append(part.with_columns(pl.Series("score", score, dtype=pl.Float64)))
    scores = pl.concat(scored).with_columns(pl.col("factor").replace_strict(weights, return_dtype=pl.Float64).alias("weight"))
    rows = []
    for partnership in partnerships:
        for theme_id, theme in THEMES.items():
            own = scores.filter(pl.col("partnership_id") == partnership, pl.col("theme") == theme_id)
            found = {r["factor"]: r for r in own.iter_rows(named=True)}
            counted = [r for r in found.values() if r["weight"] > 0]
            row = {"partnership_id": partnership, "theme": theme_id, "theme_title": theme.title,
                   "weighted_score": sum(r["score"] * r["weight"] for r in counted) / sum(r["weight"] for r in counted) if counted else None,
                   "factors_scored": len(counted), "no_data": ", ".join(f for f in PRIORITY_FACTORS if f not in found)}
            for factor in PRIORITY_FACTORS:
                row[f"value_{factor}"] = found[factor]["value"] if factor in found else None
                row[f"score_{factor}"] = found[factor]["score"] if factor in found else None
                row[f"weight_{factor}"] = weights[factor]
            rows.append(row)
    matrix = pl.DataFrame(rows).sort("partnership_id", pl.col("weighted_score").fill_null(float("-inf")), "theme",
                                     descending=[False, True, False])
    matrix = matrix.with_columns(pl.int_range(1, pl.len() + 1).over("partnership_id").cast(pl.Int64).alias("rank"))
    return matrix.with_columns((pl.col("rank") <= settings.recommend).alias("recommended")).select(
        "partnership_id", "rank", "theme", "theme_title", "weighted_score", "recommended", "factors_scored", "no_data",
        *(f"{kind}_{f}" for f in PRIORITY_FACTORS for kind in ("value", "score", "weight")))


def missing_evidence(matrix: pl.DataFrame) -> pl.DataFrame:
    """An evidence row per factor a theme has no data for, saying so."""
    rows = matrix.select("partnership_id", "theme", pl.col("no_data").str.split(", ").alias("factor")).explode("factor").filter(
        pl.col("factor").is_not_null() & (pl.col("factor") != ""))
    return _rows(rows.with_columns(pl.lit("no data: no score for this factor (not zero)").alias("note"),
                                   pl.lit("public").alias("disclosure_class")))


def build(con, settings: Priorities) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(priority_matrix, priority_evidence) from the warehouse."""
    def table(name: str) -> pl.DataFrame:
        """A table's rows (`name` may end in a WHERE clause) in Polars."""
        return pl.from_arrow(con.sql(f"SELECT * FROM {name}").to_arrow_table())

    # the partnerships' financial years alone: nationally the whole mart is ten million rows of wards, LSOAs and months
    values = table("marts.indicator_values WHERE area_type = 'partnership' AND period_type = 'financial_year'")
    year = con.sql("SELECT max(period) FROM marts.indicator_values WHERE period_type = 'financial_year' AND complete").fetchall()[0][0]
    year = year or "9999/99"  # no complete year yet: every year's evidence
    partnerships = sorted(con.sql("SELECT DISTINCT partnership_id FROM conformed.dim_partnership").fetchnumpy()["partnership_id"].tolist())
    evidence = pl.concat([
        crime_evidence(con, year), volume_evidence(values, year), trend_evidence(table("marts.indicator_comparisons WHERE area_type = 'partnership'")),
        concentration_evidence(table("marts.concentration"), year), community_evidence(con, year),
        vulnerability_evidence(table("marts.people_measures"), year),
    ])
    matrix = score_matrix(factor_values(evidence), partnerships, settings)
    capacity = matrix.select("partnership_id", "theme", pl.lit("capacity").alias("factor"), pl.lit("partnership.yaml priorities.capacity").alias("source"),
                             pl.col("value_capacity").alias("value"), pl.lit("1 (well covered) to 5 (little capacity)").alias("unit"),
                             pl.lit("public").alias("disclosure_class"))
    evidence = pl.concat([evidence, _rows(capacity), missing_evidence(matrix)]).sort("partnership_id", "theme", "factor", "indicator_id", "period")
    # A theme's scores are ranks from 1 to 5 across themes and their weighted mean: no count or rate can be worked
    # back from them, so the matrix is public (the ranking is what a public assessment recommends); its evidence
    # rows keep their own class, and a restricted figure behind a score stays in the restricted edition.
    matrix = matrix.with_columns(pl.lit("public").alias("disclosure_class"))
    return matrix.with_columns(pl.lit(year).alias("period")), evidence


PRIORITY_READS = ([dg.AssetKey(["marts", m]) for m in ("indicator_values", "indicator_comparisons", "concentration", "people_measures")]
                  + [dg.AssetKey(["conformed", t]) for t in ("fct_crimes", "fct_survey", "period_population", "dim_partnership")]
                  + [dg.AssetKey(["reference", "harm_weights"])])


@dg.multi_asset(
    specs=[
        dg.AssetSpec(["marts", "priority_matrix"], group_name="marts", kinds={"python"},
                     deps=PRIORITY_READS,
                     description="MoRiLE-style score per theme from harm, volume, significant trend, concentration, community concern, vulnerability and capacity, with weights from partnership.yaml; ranked, top themes recommended"),
        dg.AssetSpec(["marts", "priority_evidence"], group_name="marts", kinds={"python"}, deps=PRIORITY_READS,
                     description="Every figure behind the priority matrix, by theme and factor: source mart, indicator, period, value, verdict; a row saying so where a factor has no data"),
    ],
)
def priority_matrix(workspace: WorkspaceResource):
    ws = workspace.get()
    with ws.connect() as con:
        matrix, evidence = build(con, ws.config().priorities)
        n_matrix = write_mart(con, ws, "priority_matrix", matrix)
        n_evidence = write_mart(con, ws, "priority_evidence", evidence)
    top = matrix.filter(pl.col("recommended")).sort("partnership_id", "rank")["theme"].to_list()
    yield dg.MaterializeResult(asset_key=["marts", "priority_matrix"], metadata={"dagster/row_count": n_matrix, "recommended": ", ".join(top)})
    yield dg.MaterializeResult(asset_key=["marts", "priority_evidence"], metadata={"dagster/row_count": n_evidence})


ASSETS = [priority_matrix]
