"""pipeline.analysis.stats against published and independently computed values.

Intervals: the expected values UKHSA's PHEindicatormethods tests itself against (tests/fixtures/phe/), and, for
the counts its data does not cover, the package's formulas written out here in 60-digit decimal arithmetic
(normal quantile by series and bisection, exact Poisson limits by bisection on the Poisson sum).
Tests of change: statsmodels' and scipy's own routines called differently, and Newcombe's (1998) published
intervals. RAG: every branch of the rule.
"""

import csv
import math
from decimal import Decimal, localcontext
from functools import cache
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from scipy import stats as sps
from statsmodels.stats import rates as sm_rates

from pipeline.analysis import stats

PHE = Path(__file__).parents[1] / "fixtures" / "phe"
TOLERANCE = 1e-9
PI = Decimal("3.141592653589793238462643383279502884197169399375105820974944592307816")


def _published(name: str) -> list[dict]:
    with (PHE / name).open(newline="") as f:
        return list(csv.DictReader(f))


def _close(actual: float, expected: float) -> bool:
    return math.isclose(actual, expected, rel_tol=TOLERANCE, abs_tol=0 if expected else 1e-300)


# ---------------------------------------------------------------------------------------------- references


def _bisect(increasing, target: Decimal, lo: Decimal, hi: Decimal) -> Decimal:
    """The root of increasing(x) = target in [lo, hi]."""
    for _ in range(220):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if increasing(mid) < target else (lo, mid)
    return (lo + hi) / 2


def _normal_cdf(z: Decimal) -> Decimal:
    """Φ(z) = 1/2 + φ(z)·Σ z^(2k+1) / (1·3·…·(2k+1)), a series of positive terms."""
    term = total = z
    k = 0
    while term > Decimal(10) ** -70:
        k += 1
        term = term * z * z / (2 * k + 1)
        total += term
    return Decimal("0.5") + (-z * z / 2).exp() / (2 * PI).sqrt() * total


@cache
def _z(confidence: float) -> Decimal:
    return _bisect(_normal_cdf, 1 - (1 - Decimal(str(confidence))) / 2, Decimal(0), Decimal(8))


def _poisson_cdf(k: int, mu: Decimal) -> Decimal:
    term = total = Decimal(1)
    for i in range(1, k + 1):
        term = term * mu / i
        total += term
    return (-mu).exp() * total


def _reference_rate(count: int, denominator: float, multiplier: float, confidence: float) -> tuple[float, float, float]:
    """PHEindicatormethods' phe_rate: qchisq((1-c)/2, 2x)/2 and qchisq((1+c)/2, 2x+2)/2 below 10 events (the
    Poisson means whose tails hold (1-c)/2), byars_lower/byars_upper from 10."""
    with localcontext() as ctx:
        ctx.prec = 60
        x, tail = Decimal(count), (1 - Decimal(str(confidence))) / 2
        if count < 10:
            # P(X <= x-1; mu) = 1 - tail and P(X <= x; mu) = tail; the Poisson CDF falls as mu grows
            lower = Decimal(0) if count == 0 else _bisect(lambda mu: -_poisson_cdf(count - 1, mu), tail - 1, Decimal(0), Decimal(60))
            upper = _bisect(lambda mu: -_poisson_cdf(count, mu), -tail, Decimal(0), Decimal(60))
        else:
            z = _z(confidence)
            lower = x * (1 - 1 / (9 * x) - z / (3 * x.sqrt())) ** 3
            upper = (x + 1) * (1 - 1 / (9 * (x + 1)) + z / (3 * (x + 1).sqrt())) ** 3
        scale = Decimal(str(multiplier)) / Decimal(str(denominator))
        return float(x * scale), float(lower * scale), float(upper * scale)


def _reference_proportion(numerator: float, denominator: float, multiplier: float, confidence: float) -> tuple[float, float, float]:
    """PHEindicatormethods' wilson_lower/wilson_upper: (2x + z² ∓ z·√(z² + 4x(1 − x/n))) / 2 / (n + z²)."""
    with localcontext() as ctx:
        ctx.prec = 60
        x, n, z = Decimal(str(numerator)), Decimal(str(denominator)), _z(confidence)
        root = z * (z * z + 4 * x * (1 - x / n)).sqrt()
        m = Decimal(str(multiplier))
        return float(x / n * m), float((2 * x + z * z - root) / 2 / (n + z * z) * m), float((2 * x + z * z + root) / 2 / (n + z * z) * m)


# ---------------------------------------------------------------------------------------------- intervals


@pytest.mark.parametrize("row", _published("rates.csv"), ids=lambda r: f"{r['sheet']}-{r['count']}/{r['denominator']}x{r['multiplier']}@{r['confidence']}")
def test_rate_ci_matches_phe_published_values(row):
    result = stats.rate_ci(int(row["count"]), float(row["denominator"]), float(row["multiplier"]), float(row["confidence"]))
    expected = tuple(float(row[k]) for k in ("value", "lower", "upper"))
    assert all(_close(a, e) for a, e in zip(result, expected)), (result, expected)


@pytest.mark.parametrize("row", _published("proportions.csv"), ids=lambda r: f"{r['sheet']}-{r['numerator']}/{r['denominator']}x{r['multiplier']}@{r['confidence']}")
def test_proportion_ci_matches_phe_published_values(row):
    result = stats.proportion_ci(float(row["numerator"]), float(row["denominator"]), float(row["multiplier"]), float(row["confidence"]))
    expected = tuple(float(row[k]) for k in ("value", "lower", "upper"))
    assert all(_close(a, e) for a, e in zip(result, expected)), (result, expected)


def test_written_out_formulas_reproduce_the_published_values():
    """The decimal references below are only as good as this: they give PHE's own numbers."""
    for row in _published("rates.csv"):
        ref = _reference_rate(int(row["count"]), float(row["denominator"]), float(row["multiplier"]), float(row["confidence"]))
        assert all(_close(a, float(row[k])) for a, k in zip(ref, ("value", "lower", "upper"))), row
    for row in _published("proportions.csv"):
        ref = _reference_proportion(float(row["numerator"]), float(row["denominator"]), float(row["multiplier"]), float(row["confidence"]))
        assert all(_close(a, float(row[k])) for a, k in zip(ref, ("value", "lower", "upper"))), row


SPREAD = (0, 1, 5, 9, 10, 100, 123456)


@pytest.mark.parametrize("confidence", stats.CONFIDENCE_LEVELS)
@pytest.mark.parametrize("count", SPREAD)
def test_rate_ci_matches_the_formulas_across_the_spread(count, confidence):
    result = stats.rate_ci(count, 206_000, 1000, confidence)
    expected = _reference_rate(count, 206_000, 1000, confidence)
    assert all(_close(a, e) for a, e in zip(result, expected)), (result, expected)


@pytest.mark.parametrize("confidence", stats.CONFIDENCE_LEVELS)
@pytest.mark.parametrize("numerator", SPREAD)
def test_proportion_ci_matches_the_formulas_across_the_spread(numerator, confidence):
    result = stats.proportion_ci(numerator, 206_000, 100, confidence)
    expected = _reference_proportion(numerator, 206_000, 100, confidence)
    assert all(_close(a, e) for a, e in zip(result, expected)), (result, expected)


def test_zero_events_have_a_zero_lower_limit_and_whole_shares_an_upper_of_one():
    assert stats.rate_ci(0, 5000).lower == 0.0
    assert stats.proportion_ci(0, 40).lower == 0.0
    assert stats.proportion_ci(40, 40).upper == 100.0


@pytest.mark.parametrize("denominator", [0, None, float("nan")])
def test_no_denominator_gives_no_figures(denominator):
    assert stats.rate_ci(12, denominator) == (None, None, None)
    assert stats.proportion_ci(3, denominator) == (None, None, None)
    assert stats.rate_ci(None, 1000) == (None, None, None)


def test_confidence_levels_are_0_95_or_0_998():
    assert stats.rate_ci(20, 1000, confidence=95) == stats.rate_ci(20, 1000, confidence=0.95)
    assert stats.proportion_ci(20, 100, confidence=99.8) == stats.proportion_ci(20, 100, confidence=0.998)
    for nonsense in (0.9, 0.99, 1.5, 0, "95%", None, True):
        with pytest.raises(ValueError, match=r"0\.95 or 0\.998"):
            stats.rate_ci(20, 1000, confidence=nonsense)


def test_impossible_inputs_are_refused_naming_the_row():
    with pytest.raises(ValueError, match="count must not be negative; row 1 has -3"):
        stats.rate_ci_arrays([4, -3], [100, 100])
    with pytest.raises(ValueError, match="numerator cannot exceed its denominator; row 0 has 12.0 of 10.0"):
        stats.proportion_ci(12, 10)


def test_frame_forms_agree_with_the_scalar_forms_and_leave_nulls_where_undefined():
    rng = np.random.default_rng(8)
    n = 100_000
    population = rng.integers(0, 20_000, n)
    frame = pl.DataFrame({"events": rng.binomial(population, 0.02), "people": population})
    rates = stats.rate_ci_frame(frame, "events", "people", multiplier=1000, confidence=0.998)
    shares = stats.proportion_ci_frame(frame, "events", "people", names=("pct", "pct_lower", "pct_upper"))
    for i in rng.choice(n, 50, replace=False).tolist() + np.flatnonzero(population == 0)[:3].tolist():
        row = rates.row(i, named=True)
        assert (row["value"], row["lower"], row["upper"]) == stats.rate_ci(row["events"], row["people"], 1000, 0.998)
        share = shares.row(i, named=True)
        assert (share["pct"], share["pct_lower"], share["pct_upper"]) == stats.proportion_ci(share["events"], share["people"])
    assert rates.filter(pl.col("people") == 0)["value"].null_count() == (population == 0).sum() > 0


# ---------------------------------------------------------------------------------------------- change


def _rate_grid(seed: int, size: int):
    rng = np.random.default_rng(seed)
    d1 = rng.integers(500, 300_000, size).astype(float)
    d2 = d1 * rng.uniform(0.8, 1.25, size)
    rate = rng.uniform(0.0001, 0.01, size)
    c1 = rng.poisson(rate * d1)
    c2 = rng.poisson(rate * d2 * rng.choice([0.6, 1.0, 1.0, 1.5], size))
    return c1, d1, c2, d2


def test_rate_change_p_value_is_twice_the_smaller_exact_conditional_tail():
    c1, d1, c2, d2 = _rate_grid(1, 300)
    result = stats.rate_change_arrays(c1, d1, c2, d2)
    for i in range(300):
        if c1[i] + c2[i] == 0:
            assert math.isnan(result["p_value"][i])
            continue
        tails = [sm_rates.test_poisson_2indep(c2[i], d2[i], c1[i], d1[i], method="exact-cond", alternative=side).pvalue
                 for side in ("larger", "smaller")]
        assert math.isclose(result["p_value"][i], min(1.0, 2 * min(tails)), rel_tol=1e-9), i


def test_rate_ratio_interval_is_the_clopper_pearson_interval_of_the_later_share():
    for c1, d1, c2, d2 in [(100, 1000, 130, 1000), (3, 2500, 11, 2600), (41, 28010, 15, 19017), (250, 206000, 198, 207500)]:
        change = stats.rate_change(c1, d1, c2, d2)
        share = sps.binomtest(c2, c1 + c2).proportion_ci(0.95, method="exact")
        to_ratio = lambda p: p / (1 - p) * d1 / d2  # noqa: E731
        assert math.isclose(change.estimate, (c2 / d2) / (c1 / d1), rel_tol=1e-12)
        assert math.isclose(change.lower, to_ratio(share.low), rel_tol=1e-9)
        assert math.isclose(change.upper, to_ratio(share.high), rel_tol=1e-9)


def test_rate_change_interval_excludes_one_exactly_when_significant():
    c1, d1, c2, d2 = _rate_grid(2, 5000)
    result = stats.rate_change_arrays(c1, d1, c2, d2)
    tested = ~np.isnan(result["p_value"]) & ~np.isnan(result["upper"])
    significant = result["p_value"][tested] < 0.05
    excludes = (result["lower"][tested] > 1) | (result["upper"][tested] < 1)
    assert (significant == excludes).all()
    assert 100 < significant.sum() < tested.sum() - 100  # the grid holds both kinds


NEWCOMBE_1998 = [  # Newcombe RG, Stat Med 1998;17:873-890, Table II, method 10 (hybrid score)
    ((56, 70, 48, 80), (0.0524, 0.3339)),
    ((9, 10, 3, 10), (0.1705, 0.8090)),
    ((6, 7, 2, 7), (0.0582, 0.8062)),
    ((5, 56, 0, 29), (-0.0381, 0.1926)),
    ((0, 10, 0, 20), (-0.1611, 0.2775)),
    ((10, 10, 0, 20), (0.6791, 1.0000)),
]


@pytest.mark.parametrize("counts,published", NEWCOMBE_1998)
def test_proportion_difference_interval_matches_newcombe_1998(counts, published):
    x1, n1, x2, n2 = counts  # Newcombe's first proportion is our later period
    change = stats.proportion_change(x2, n2, x1, n1, multiplier=1)
    assert (round(change.lower, 4), round(change.upper, 4)) == published


def test_proportion_change_p_value_is_the_miettinen_nurminen_score_test():
    """At a difference of 0 the score statistic is the Pearson chi-square times (N − 1)/N."""
    rng = np.random.default_rng(3)
    for _ in range(200):
        n1, n2 = rng.integers(5, 3000, 2)
        x1, x2 = rng.binomial(n1, 0.3), rng.binomial(n2, rng.choice([0.22, 0.3, 0.38]))
        if x1 + x2 in (0, n1 + n2):
            continue
        table = np.array([[x1, n1 - x1], [x2, n2 - x2]])
        pearson = sps.chi2_contingency(table, correction=False).statistic
        expected = sps.chi2.sf(pearson * (n1 + n2 - 1) / (n1 + n2), 1)
        change = stats.proportion_change(x1, n1, x2, n2)
        assert math.isclose(change.p_value, expected, rel_tol=1e-7), (x1, n1, x2, n2)
        assert math.isclose(change.estimate, (x2 / n2 - x1 / n1) * 100, rel_tol=1e-12, abs_tol=1e-12)


def test_no_non_significant_comparison_carries_increase_or_decrease():
    c1, d1, c2, d2 = _rate_grid(4, 20_000)
    rates = stats.rate_change_frame(pl.DataFrame({"x1": c1, "n1": d1, "x2": c2, "n2": d2}), "x1", "n1", "x2", "n2", alpha=0.01)
    rng = np.random.default_rng(5)
    n1, n2 = rng.integers(0, 400, 20_000), rng.integers(0, 400, 20_000)
    x1, x2 = rng.binomial(n1, 0.4), rng.binomial(n2, rng.choice([0.3, 0.4, 0.5], 20_000))
    shares = stats.proportion_change_frame(pl.DataFrame({"x1": x1, "n1": n1, "x2": x2, "n2": n2}), "x1", "n1", "x2", "n2")
    for result, alpha in ((rates, 0.01), (shares, 0.05)):
        assert set(result["change_verdict"]) == set(stats.VERDICTS)
        called = result.filter(pl.col("change_verdict") != "no significant change")
        assert called.filter(pl.col("change_p_value").is_null() | (pl.col("change_p_value") >= alpha)).is_empty()
        rose = (called["x2"] / called["n2"] > called["x1"] / called["n1"]).to_list()
        assert (called["change_verdict"] == "increase").to_list() == rose
    assert shares.filter((pl.col("n1") == 0) | (pl.col("n2") == 0))["change_p_value"].null_count() > 0


def test_untestable_comparisons_say_no_significant_change_without_a_p_value():
    none = stats.rate_change(0, 1000, 0, 1000)
    assert (none.estimate, none.p_value, none.verdict) == (None, None, "no significant change")
    assert stats.rate_change(5, 0, 9, 100).verdict == "no significant change"
    assert stats.proportion_change(0, 50, 0, 60).p_value == 1.0
    with pytest.raises(ValueError, match="alpha"):
        stats.rate_change(5, 100, 9, 100, alpha=5)


# ---------------------------------------------------------------------------------------------- targets and RAG


def test_target_values():
    assert stats.target_value("value", 209) == 209
    assert stats.target_value("share", 25.3) == 25.3
    assert math.isclose(stats.target_value("change", -10, baseline=40.0), 36.0)
    with pytest.raises(ValueError, match="baseline"):
        stats.target_value("change", -10)
    with pytest.raises(ValueError, match="between 0 and 100"):
        stats.target_value("share", 130)
    with pytest.raises(ValueError, match="value, share, change"):
        stats.target_value("percent", 3)


@pytest.mark.parametrize("args,trend,status,reason", [
    ((24.1, 21.0, 27.5), None, "green", "green: 24.1% (21.0–27.5) meets the target 25.3%"),
    ((26.0, 23.1, 29.2), None, "amber", "amber: 26.0% (23.1–29.2) is above the target 25.3%, but not significantly"),
    ((31.2, 28.1, 34.5), None, "red", "red: 31.2% (28.1–34.5) is significantly above the target 25.3%"),
    ((31.2, 28.1, 34.5), "decrease", "amber", "amber: 31.2% (28.1–34.5) is above the target 25.3%, but falling significantly"),
    ((26.0, 23.1, 29.2), "increase", "red", "red: 26.0% (23.1–29.2) is above the target 25.3% and rising significantly"),
    ((24.1, 21.0, 27.5), "increase", "green", "green: 24.1% (21.0–27.5) meets the target 25.3%"),
    ((26.0, None, None), None, "red", "red: 26.0% is above the target 25.3%"),
    ((None, None, None), None, None, "no rating: there is no value to compare with the target 25.3%"),
])
def test_rag_lower_is_better(args, trend, status, reason):
    assert stats.rag(*args, target=25.3, polarity="lower", trend=trend, unit="%") == (status, reason)


def test_rag_higher_is_better_and_configurable():
    assert stats.rag(190, 164, 218, target=209, polarity="higher", decimals=0).status == "amber"
    assert stats.rag(150, 127, 176, target=209, polarity="higher", decimals=0) == (
        "red", "red: 150 (127–176) is significantly below the target 209")
    strict = stats.RagRule(green_needs_significance=True, amber_within_interval=False, amber_if_improving=False)
    assert stats.rag(215, 187, 246, target=209, polarity="higher", decimals=0, rule=strict).status == "amber"
    assert stats.rag(190, 164, 218, target=209, polarity="higher", rule=strict).status == "red"
    assert stats.rag(150, 127, 176, target=209, polarity="higher", trend="increase", rule=strict).status == "red"
    assert stats.rag(1.5, 1.2, 1.9, target=2.0, polarity="lower", unit=" per 1,000", target_label="the 2021/22 level less 10% (2.0 per 1,000)") == (
        "green", "green: 1.5 per 1,000 (1.2–1.9) meets the 2021/22 level less 10% (2.0 per 1,000)")
    with pytest.raises(ValueError, match="polarity"):
        stats.rag(1, 0, 2, target=1, polarity="up")


def test_a_rise_from_nothing_is_an_increase_without_an_upper_ratio():
    change = stats.rate_change(0, 100_000, 12, 100_000)
    assert change.verdict == "increase" and change.p_value == pytest.approx(2 * 0.5 ** 12)
    assert change.estimate is None and change.upper is None and change.lower > 1


def test_array_forms_take_scalars_and_lists_alike():
    scalar = stats.rate_ci_arrays(5, 100)
    listed = stats.rate_ci_arrays([5], [100])
    assert all(a.shape == (1,) and a.tolist() == b.tolist() for a, b in zip(scalar, listed))
