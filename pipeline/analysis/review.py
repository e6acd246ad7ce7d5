"""Comparisons and the strategy review, from marts.indicator_values: is it going up, is it real, are we on target?

`marts.indicator_comparisons` holds, per indicator and area: the latest rolling 12 months against the 12 before;
the latest complete financial year against the baseline year; the trend across the financial years since the
baseline (strategy to date); for strategy measures, the latest figure against its target with a
red/amber/green rating; and the peer comparison of marts.peer_comparison for indicators matching a Home Office
offence group. `marts.strategy_review` holds one row per strategy measure and partnership: baseline,
latest, target, RAG with its reason, and the trend. Tests and the RAG rule are pipeline/analysis/stats.py's;
the trend is a regression of the yearly figures (statsmodels). A verdict says `increase` or `decrease` only when
its test is significant at ALPHA. The "latest" period is the workspace's period end, never the clock.
"""

from __future__ import annotations

import math
from datetime import date

import dagster as dg
import numpy as np
import polars as pl

from pipeline.analysis import stats
from pipeline.analysis.engine import write_mart
from pipeline.config import Config, Strategy
from pipeline.resources import WorkspaceResource

ALPHA = 0.05
AREA_KEYS = ["indicator_id", "partnership_id", "area_type", "area_code"]
TREND_AREAS = ("partnership",)  # a regression per ward costs ~30 ms each; wards are compared by the two-period tests
TREND_TEST = {
    "proportion": "logistic regression on financial years (odds ratio per year), quasi-binomial",
    "other": "Poisson regression on financial years (rate ratio per year), quasi-Poisson, log denominator offset",
}
COMPARISON_COLUMNS = [
    "comparison", "indicator_id", "title", "partnership_id", "area_type", "area_code", "area_name", "period",
    "comparator", "value", "comparator_value", "change_measure", "change", "change_lower", "change_upper", "p_value",
    "test", "verdict", "unit", "polarity", "disclosure", "measure", "target", "rag", "rag_reason", "disclosure_class",
]


def _months_before(month: date, months: int) -> date:
    index = month.year * 12 + month.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)


def _exposure(frame: pl.DataFrame, suffix: str = "") -> pl.Expr:
    """What a count is divided by for a test: its population or `per`, or for a plain count the months it covers."""
    return pl.when(pl.col(f"kind{suffix}") == "count").then(pl.col(f"months_covered{suffix}")).otherwise(pl.col(f"denominator{suffix}"))


def change_tests(pairs: pl.DataFrame) -> pl.DataFrame:
    """`pairs` holds a later figure (columns as in indicator_values) and an earlier one (suffix `_before`); adds
    change (rate ratio, or difference in the proportion's units), its interval, p-value, test and verdict."""
    pairs = pairs.with_columns(_exposure(pairs).alias("_d2"), _exposure(pairs, "_before").alias("_d1"))
    parts = []
    for (kind, multiplier), part in pairs.group_by("kind", "multiplier", maintain_order=True):
        if kind == "proportion":
            part = stats.proportion_change_frame(part, "numerator_before", "_d1", "numerator", "_d2", alpha=ALPHA, multiplier=multiplier, prefix="c_")
            measure = "difference (percentage points)" if multiplier == 100 else "difference"
        else:
            part = stats.rate_change_frame(part, "numerator_before", "_d1", "numerator", "_d2", alpha=ALPHA, prefix="c_")
            measure = "rate ratio (later / earlier)"
        parts.append(part.with_columns(pl.lit(measure).alias("change_measure")))
    if not parts:  # nothing to compare (e.g. a single year): the same columns, no rows
        return pairs.head(0).drop("_d1", "_d2").with_columns(
            *(pl.lit(None, pl.Float64).alias(c) for c in ("change", "change_lower", "change_upper", "p_value")),
            *(pl.lit(None, pl.String).alias(c) for c in ("change_measure", "verdict", "test")),
        )
    return pl.concat(parts, how="diagonal_relaxed").rename(
        {"c_estimate": "change", "c_lower": "change_lower", "c_upper": "change_upper", "c_p_value": "p_value", "c_verdict": "verdict", "c_test": "test"}
    ).drop("_d1", "_d2")


def _shape(frame: pl.DataFrame, comparison: str) -> pl.DataFrame:
    return frame.with_columns(
        pl.lit(comparison).alias("comparison"), pl.col("value_before").alias("comparator_value"),
        pl.lit(None, pl.String).alias("measure"), pl.lit(None, pl.Float64).alias("target"),
        pl.lit(None, pl.String).alias("rag"), pl.lit(None, pl.String).alias("rag_reason"),
    ).select(COMPARISON_COLUMNS)


def rolling_comparisons(values: pl.DataFrame, period_end: date) -> pl.DataFrame:
    """The 12 months to the period end against the 12 months before them."""
    windows = values.filter(pl.col("period_type") == "rolling_12", pl.col("complete"))
    later = windows.filter(pl.col("period_end") == period_end)
    earlier = windows.filter(pl.col("period_end") == _months_before(period_end, 12))
    pairs = later.join(earlier.select(*AREA_KEYS, "period", "numerator", "denominator", "months_covered", "value", "kind"),
                       on=AREA_KEYS, suffix="_before")
    tested = change_tests(pairs).with_columns(pl.col("period_before").alias("comparator"))
    return _shape(tested, "rolling 12 months vs previous 12")


def latest_financial_year(values: pl.DataFrame) -> str | None:
    complete = values.filter(pl.col("period_type") == "financial_year", pl.col("complete"))
    return complete["period"].max() if complete.height else None


def baseline_comparisons(values: pl.DataFrame, baseline: str, latest: str) -> pl.DataFrame:
    """The latest complete financial year against the baseline year."""
    years = values.filter(pl.col("period_type") == "financial_year", pl.col("complete"))
    pairs = years.filter(pl.col("period") == latest).join(
        years.filter(pl.col("period") == baseline).select(*AREA_KEYS, "period", "numerator", "denominator", "months_covered", "value", "kind"),
        on=AREA_KEYS, suffix="_before")
    tested = change_tests(pairs).with_columns(pl.lit(f"baseline {baseline}").alias("comparator"))
    return _shape(tested, "financial year vs baseline")


def _trend(kind: str, numerators: np.ndarray, exposures: np.ndarray) -> tuple[float, float, float, float] | None:
    """Ratio per year, its interval and p-value from a GLM of the yearly figures; None when it cannot be fitted
    (fewer than three years, or no events at all)."""
    import statsmodels.api as sm

    if len(numerators) < 3 or numerators.sum() == 0 or np.any(exposures <= 0):
        return None
    years = sm.add_constant(np.arange(len(numerators), dtype=float))
    if kind == "proportion":
        model = sm.GLM(np.column_stack([numerators, exposures - numerators]), years, family=sm.families.Binomial())
    else:
        model = sm.GLM(numerators, years, family=sm.families.Poisson(), offset=np.log(exposures))
    with np.errstate(all="ignore"):
        try:
            fit = model.fit(scale="X2")
        except (ValueError, np.linalg.LinAlgError):
            return None
    slope, (low, high), p_value = fit.params[1], fit.conf_int(alpha=ALPHA)[1], fit.pvalues[1]
    if not all(math.isfinite(x) for x in (slope, low, high, p_value)):
        return None
    return math.exp(slope), math.exp(low), math.exp(high), float(p_value)


def trend_comparisons(values: pl.DataFrame, baseline: str, latest: str) -> pl.DataFrame:
    """The trend over the complete financial years from the baseline to the latest (strategy to date)."""
    years = values.filter(pl.col("period_type") == "financial_year", pl.col("complete"), pl.col("area_type").is_in(TREND_AREAS),
                          pl.col("period") >= baseline, pl.col("period") <= latest).sort("period")
    years = years.with_columns(_exposure(years).alias("_exposure"))
    rows = []
    for _, group in years.group_by(AREA_KEYS, maintain_order=True):
        last = group.row(-1, named=True)
        fitted = _trend(last["kind"], group["numerator"].to_numpy(), group["_exposure"].to_numpy().astype(float))
        estimate, low, high, p_value = fitted or (None, None, None, None)
        significant = p_value is not None and p_value < ALPHA
        verdict = ("increase" if estimate > 1 else "decrease") if significant else "no significant change"
        rows.append({
            **{k: last[k] for k in ("indicator_id", "title", "partnership_id", "area_type", "area_code", "area_name", "unit", "polarity", "disclosure", "disclosure_class")},
            "comparison": "trend since baseline", "period": f"{baseline} to {latest}", "comparator": f"{group.height} financial years",
            "value": last["value"], "comparator_value": group.row(0, named=True)["value"],
            "change_measure": "odds ratio per year" if last["kind"] == "proportion" else "rate ratio per year",
            "change": estimate, "change_lower": low, "change_upper": high, "p_value": p_value,
            "test": TREND_TEST["proportion" if last["kind"] == "proportion" else "other"], "verdict": verdict,
            "measure": None, "target": None, "rag": None, "rag_reason": None,
        })
    return pl.DataFrame(rows, schema_overrides={"change": pl.Float64, "change_lower": pl.Float64, "change_upper": pl.Float64,
                                                "p_value": pl.Float64, "measure": pl.String, "target": pl.Float64,
                                                "rag": pl.String, "rag_reason": pl.String}).select(COMPARISON_COLUMNS) if rows else None


def _latest_figure(rows: pl.DataFrame, period_end: date) -> dict | None:
    """The figure a measure is judged on: the 12 months to the period end, else the latest complete financial
    year, else the latest complete 12 months (a source published in arrears, such as MoJ reoffending)."""
    complete = rows.filter(pl.col("complete"))
    for candidates in (
        complete.filter(pl.col("period_type") == "rolling_12", pl.col("period_end") == period_end),
        complete.filter(pl.col("period_type") == "financial_year").sort("period_end"),
        complete.filter(pl.col("period_type") == "rolling_12").sort("period_end"),
    ):
        if candidates.height:
            return candidates.row(-1, named=True)
    return None


def strategy_rows(values: pl.DataFrame, strategy: Strategy, period_end: date, trends: pl.DataFrame | None) -> list[dict]:
    """One row per measure and partnership: baseline, latest, target, the test of latest against baseline, RAG."""
    partnership = values.filter(pl.col("area_type") == "partnership")
    rows = []
    for p_order, priority in enumerate(strategy.priorities, start=1):
        for m_order, measure in enumerate(priority.measures, start=1):
            for partnership_id in sorted(values["partnership_id"].unique().to_list()):
                figures = partnership.filter(pl.col("indicator_id") == measure.indicator, pl.col("partnership_id") == partnership_id)
                rows.append(_measure_row(strategy, priority, measure, p_order, m_order, partnership_id, figures, period_end, trends))
    return rows


def _measure_row(strategy, priority, measure, p_order, m_order, partnership_id, figures, period_end, trends) -> dict:
    from pipeline.analysis.catalogue import load_catalogue

    indicator = load_catalogue()[measure.indicator]
    direction = measure.direction or indicator.polarity
    baseline = figures.filter(pl.col("period_type") == "financial_year", pl.col("period") == strategy.baseline, pl.col("complete"))
    baseline = baseline.row(0, named=True) if baseline.height else None
    latest = _latest_figure(figures, period_end)
    row = {
        "strategy": strategy.name, "priority_order": p_order, "priority_id": priority.id, "priority": priority.name,
        "measure_order": m_order, "measure": measure.label or indicator.title, "indicator_id": indicator.id, "owner": measure.owner,
        "direction": direction, "unit": indicator.unit, "partnership_id": partnership_id, "disclosure_class": indicator.disclosure,
        "baseline_period": strategy.baseline, "baseline_value": baseline and baseline["value"],
        "baseline_lower": baseline and baseline["lower"], "baseline_upper": baseline and baseline["upper"],
        "latest_period": latest and latest["period"], "latest_value": latest and latest["value"],
        "latest_lower": latest and latest["lower"], "latest_upper": latest and latest["upper"],
        "latest_numerator": latest and latest["numerator"], "latest_denominator": latest and latest["denominator"],
        "denominator_year": latest and latest["denominator_year"],
        "target_kind": measure.target and measure.target.kind, "target_amount": measure.target and measure.target.amount,
        "target_value": None, "change_measure": None, "change": None, "change_lower": None, "change_upper": None,
        "p_value": None, "test": None, "verdict": None, "trend": None, "trend_p_value": None, "rag": None, "rag_reason": None,
    }
    if latest and baseline:
        pair = pl.DataFrame([{**latest, **{f"{k}_before": baseline[k] for k in ("numerator", "denominator", "months_covered", "value", "kind", "period")}}])
        tested = change_tests(pair).row(0, named=True)
        row |= {k: tested[k] for k in ("change_measure", "change", "change_lower", "change_upper", "p_value", "test", "verdict")}
    if trends is not None:
        trend = trends.filter(pl.col("indicator_id") == indicator.id, pl.col("partnership_id") == partnership_id, pl.col("area_type") == "partnership")
        if trend.height:
            row |= {"trend": trend["verdict"][0], "trend_p_value": trend["p_value"][0]}
    if measure.target is None:
        row["rag_reason"] = "no target set"
    elif measure.target.kind == "change" and baseline is None:
        row["rag_reason"] = f"no rating: no complete baseline year {strategy.baseline} to measure the change from"
    else:
        target = stats.target_value(measure.target.kind, measure.target.amount, baseline and baseline["value"])
        unit = "%" if indicator.unit.startswith("%") else f" {indicator.unit}"
        status, reason = stats.rag(latest and latest["value"], latest and latest["lower"], latest and latest["upper"],
                                   target=target, polarity=direction, trend=row["verdict"], unit=unit,
                                   decimals={"ratio": 2, "count": 0}.get(indicator.kind, 1))
        row |= {"target_value": target, "rag": status, "rag_reason": reason}
    return row


STRATEGY_SCHEMA = {  # every column of marts.strategy_review, so that a workspace without a strategy gets an empty table
    "strategy": pl.String, "priority_order": pl.Int64, "priority_id": pl.String, "priority": pl.String,
    "measure_order": pl.Int64, "measure": pl.String, "indicator_id": pl.String, "owner": pl.String, "direction": pl.String,
    "unit": pl.String, "partnership_id": pl.String, "baseline_period": pl.String,
    "baseline_value": pl.Float64, "baseline_lower": pl.Float64, "baseline_upper": pl.Float64, "latest_period": pl.String,
    "latest_value": pl.Float64, "latest_lower": pl.Float64, "latest_upper": pl.Float64, "latest_numerator": pl.Float64,
    "latest_denominator": pl.Float64, "denominator_year": pl.Int64, "target_kind": pl.String, "target_amount": pl.Float64,
    "target_value": pl.Float64, "change_measure": pl.String, "change": pl.Float64, "change_lower": pl.Float64,
    "change_upper": pl.Float64, "p_value": pl.Float64, "test": pl.String, "verdict": pl.String, "trend": pl.String,
    "trend_p_value": pl.Float64, "rag": pl.String, "rag_reason": pl.String, "disclosure_class": pl.String,
}


def target_comparisons(review: pl.DataFrame, values: pl.DataFrame) -> pl.DataFrame:
    """The strategy's measures as comparison rows: latest figure against its target, with RAG."""
    rated = review.filter(pl.col("target_value").is_not_null())
    meta = values.filter(pl.col("area_type") == "partnership").select(
        "indicator_id", "partnership_id", "title", "area_type", "area_code", "area_name", "polarity", "disclosure").unique(["indicator_id", "partnership_id"])
    return rated.join(meta, on=["indicator_id", "partnership_id"]).select(
        pl.lit("target").alias("comparison"), "indicator_id", "title", "partnership_id", "area_type", "area_code", "area_name",
        pl.col("latest_period").alias("period"), pl.format("target ({})", pl.col("target_kind")).alias("comparator"),
        pl.col("latest_value").alias("value"), pl.col("target_value").alias("comparator_value"),
        "change_measure", "change", "change_lower", "change_upper", "p_value", "test", "verdict", "unit", "polarity", "disclosure",
        "measure", pl.col("target_value").alias("target"), "rag", "rag_reason", "disclosure_class",
    )


def peer_comparisons(peers: pl.DataFrame, values: pl.DataFrame) -> pl.DataFrame:
    """marts.peer_comparison (pipeline/analysis/peers.py) as comparison rows, for the indicators that name a Home
    Office offence group (`peer_offence_group`): the partnership's rate from the Home Office tables beside the
    peer mean; the verdict is the peers' own (above, below or similar to peers: the intervals do (not) overlap)."""
    from pipeline.analysis.catalogue import load_catalogue

    groups = pl.DataFrame([{"offence_group": i.peer_offence_group, "indicator_id": i.id, "title": i.title, "polarity": i.polarity,
                            "disclosure": i.disclosure} for i in load_catalogue().values() if i.peer_offence_group],
                          schema={"offence_group": pl.String, "indicator_id": pl.String, "title": pl.String, "polarity": pl.String, "disclosure": pl.String})
    names = values.filter(pl.col("area_type") == "partnership").select("partnership_id", "area_name").unique("partnership_id")
    return peers.join(groups, on="offence_group").join(names, on="partnership_id", how="left").select(
        pl.lit("peers").alias("comparison"), "indicator_id", "title", "partnership_id", pl.lit("partnership").alias("area_type"),
        pl.col("partnership_id").alias("area_code"), "area_name", pl.col("financial_year").alias("period"),
        pl.format("{} peers: mean {} ({} to {}); rank {} of {}", "n_peers", pl.col("peer_mean").round(1), pl.col("peer_lower").round(1),
                  pl.col("peer_upper").round(1), "rank", pl.col("n_peers") + 1).alias("comparator"),
        "value", pl.col("peer_mean").alias("comparator_value"), pl.lit("ratio to the peer mean").alias("change_measure"),
        (pl.col("value") / pl.col("peer_mean")).alias("change"), pl.lit(None, pl.Float64).alias("change_lower"),
        pl.lit(None, pl.Float64).alias("change_upper"), pl.lit(None, pl.Float64).alias("p_value"), pl.col("method").alias("test"),
        "verdict", "unit", "polarity", "disclosure", pl.lit(None, pl.String).alias("measure"), pl.lit(None, pl.Float64).alias("target"),
        pl.lit(None, pl.String).alias("rag"), pl.lit(None, pl.String).alias("rag_reason"), pl.col("disclosure").alias("disclosure_class"),
    )


def build_review(values: pl.DataFrame, config: Config, peers: pl.DataFrame | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Both marts from the values: (indicator_comparisons, strategy_review)."""
    period_end = date(int(config.period.end[:4]), int(config.period.end[5:]), 1)
    latest = latest_financial_year(values)
    first = values.filter(pl.col("period_type") == "financial_year", pl.col("complete"))["period"].min()
    baseline = config.strategy.baseline if config.strategy else first
    parts = [rolling_comparisons(values, period_end)]
    trends = None
    if latest and baseline and latest > baseline:
        parts.append(baseline_comparisons(values, baseline, latest))
        trends = trend_comparisons(values, baseline, latest)
        if trends is not None:
            parts.append(trends)
    review = pl.DataFrame(strategy_rows(values, config.strategy, period_end, trends) if config.strategy else [], schema=STRATEGY_SCHEMA)
    if review.height:
        parts.append(target_comparisons(review, values))
    if peers is not None and peers.height:
        parts.append(peer_comparisons(peers, values))
    found = [p for p in parts if p is not None and p.height]
    if not found:  # e.g. a single month of data: nothing to compare yet, but the mart keeps its columns
        numeric = {"value", "comparator_value", "change", "change_lower", "change_upper", "p_value", "target"}
        return pl.DataFrame(schema={c: pl.Float64 if c in numeric else pl.String for c in COMPARISON_COLUMNS}), review
    return pl.concat(found, how="vertical_relaxed"), review


@dg.multi_asset(
    specs=[
        dg.AssetSpec(["marts", "indicator_comparisons"], deps=[dg.AssetKey(["marts", "indicator_values"]), dg.AssetKey(["marts", "peer_comparison"])],
                     group_name="marts", kinds={"python"},
                     description="Per indicator and area: rolling 12 months vs the previous 12, latest financial year vs baseline, trend since baseline, strategy targets with RAG, peers"),
        dg.AssetSpec(["marts", "strategy_review"], deps=[dg.AssetKey(["marts", "indicator_values"])], group_name="marts", kinds={"python"},
                     description="Every strategy measure of partnership.yaml: baseline, latest, target, RAG with its reason, change and trend"),
    ],
)
def indicator_review(workspace: WorkspaceResource):
    ws = workspace.get()
    with ws.connect() as con:
        values = pl.from_arrow(con.sql("SELECT * FROM marts.indicator_values").to_arrow_table())
        has_peers = con.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'marts' AND table_name = 'peer_comparison'").fetchall()[0][0]
        peers = pl.from_arrow(con.sql("SELECT * FROM marts.peer_comparison").to_arrow_table()) if has_peers else None
        comparisons, review = build_review(values, ws.config(), peers)
        n_comparisons = write_mart(con, ws, "indicator_comparisons", comparisons)
        n_review = write_mart(con, ws, "strategy_review", review)
    yield dg.MaterializeResult(asset_key=["marts", "indicator_comparisons"], metadata={"dagster/row_count": n_comparisons})
    yield dg.MaterializeResult(asset_key=["marts", "strategy_review"], metadata={"dagster/row_count": n_review})


ASSETS = [indicator_review]
