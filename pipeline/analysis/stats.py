"""The statistics behind every published figure, in one place: confidence intervals for rates and proportions,
tests of change between two periods, and the red/amber/green rule against a target.

Methods are those of the PHE/UKHSA Fingertips technical guidance (and its R package PHEindicatormethods), so
a partnership's figures can be set beside Fingertips' without explanation; `docs/methods.md` describes them.
Every function has an array form for whole marts (`*_arrays`, numpy; `*_frame`, polars) and a scalar form
that returns `None` where a figure is undefined (no denominator, no events to compare).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import polars as pl

# scipy.stats and statsmodels take seconds to import: they load inside the functions that use them, so that
# reading partnership.yaml or loading the Dagster definitions stays quick (docs/architecture.md).

CONFIDENCE_LEVELS = (0.95, 0.998)  # the two levels Fingertips publishes
EXACT_BELOW = 10  # fewer events than this: exact Poisson limits; from this many: Byar's approximation
VERDICTS = ("increase", "decrease", "no significant change")
POLARITIES = ("higher", "lower")  # which direction is better
STATUSES = ("green", "amber", "red")
TARGET_KINDS = ("value", "share", "change")


class Interval(NamedTuple):
    value: float | None
    lower: float | None
    upper: float | None


class Change(NamedTuple):
    """A test of change from an earlier period (1) to a later one (2)."""

    estimate: float | None  # rates: the rate ratio later/earlier; proportions: later − earlier, in the multiplier's units
    lower: float | None
    upper: float | None
    p_value: float | None
    verdict: str  # one of VERDICTS; increase/decrease only when p_value < alpha
    test: str


class Rag(NamedTuple):
    status: str | None  # one of STATUSES, or None when there is no value to judge
    reason: str


RATE_TEST = "exact conditional binomial test of two Poisson rates (central), Clopper-Pearson interval for the ratio"
PROPORTION_TEST = "score test of two proportions (Miettinen-Nurminen), Newcombe hybrid score interval for the difference"


def confidence_level(confidence: float) -> float:
    """0.95 or 0.998 (95 and 99.8 are read as percentages); anything else is refused, naming the two levels."""
    if isinstance(confidence, bool) or not isinstance(confidence, (int, float)):
        raise ValueError(f"confidence must be a number, 0.95 or 0.998; got {confidence!r}")
    level = confidence / 100 if confidence > 1 else float(confidence)
    for allowed in CONFIDENCE_LEVELS:
        if math.isclose(level, allowed, rel_tol=0, abs_tol=1e-12):
            return allowed
    raise ValueError(f"confidence must be 0.95 or 0.998 (or 95 / 99.8, the levels Fingertips publishes); got {confidence!r}")


def _z(confidence: float) -> float:
    from scipy import stats as sps

    return float(sps.norm.isf((1 - confidence) / 2))


def _floats(values, name: str) -> np.ndarray:
    """An array of floats with None as NaN; negative values are refused (counts and populations cannot be)."""
    array = np.atleast_1d(np.asarray(values, dtype=object))
    array = np.where(np.equal(array, None), np.nan, array).astype(float)
    negative = np.flatnonzero(array < 0)
    if negative.size:
        raise ValueError(f"{name} must not be negative; row {int(negative[0])} has {array.flat[negative[0]]}")
    return array


def _defined(count: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """A rate or proportion exists only with a count and a positive denominator: dividing by no one is undefined."""
    return np.isfinite(count) & np.isfinite(denominator) & (denominator > 0)


# ---------------------------------------------------------------------------------------------- intervals


def rate_ci_arrays(count, denominator, multiplier: float = 1000, confidence: float = 0.95):
    """Rates per `multiplier` with Fingertips' limits: exact Poisson (gamma quantiles, i.e. qchisq(p, 2x)/2)
    below 10 events, Byar's approximation from 10. NaN where the denominator is missing or 0."""
    from scipy import stats as sps

    confidence = confidence_level(confidence)
    count, denominator = _floats(count, "count"), _floats(denominator, "denominator")
    count, denominator = np.broadcast_arrays(count, denominator)
    ok = _defined(count, denominator)
    x = np.where(ok, count, 1.0)  # placeholder where undefined, so no warnings; masked below
    alpha = 1 - confidence
    z = _z(confidence)
    with np.errstate(invalid="ignore", divide="ignore"):
        lower = x * (1 - 1 / (9 * x) - z / (3 * np.sqrt(x))) ** 3  # Byar
        upper = (x + 1) * (1 - 1 / (9 * (x + 1)) + z / (3 * np.sqrt(x + 1))) ** 3
    exact = x < EXACT_BELOW  # exact Poisson limits: gamma quantiles (the slow part, so only where needed)
    few = x[exact]
    lower[exact] = np.where(few > 0, sps.gamma.ppf(alpha / 2, np.where(few > 0, few, 1.0)), 0.0)
    upper[exact] = sps.gamma.isf(alpha / 2, few + 1)
    scale = np.where(ok, multiplier / np.where(ok, denominator, 1.0), np.nan)
    return x * scale, lower * scale, upper * scale


def proportion_ci_arrays(numerator, denominator, multiplier: float = 100, confidence: float = 0.95):
    """Proportions times `multiplier` (100: per cent) with Wilson score limits. NaN where the denominator is
    missing or 0; a numerator above its denominator is refused."""
    from statsmodels.stats.proportion import proportion_confint

    confidence = confidence_level(confidence)
    numerator, denominator = _floats(numerator, "numerator"), _floats(denominator, "denominator")
    numerator, denominator = np.broadcast_arrays(numerator, denominator)
    ok = _defined(numerator, denominator)
    over = np.flatnonzero(ok & (numerator > denominator))
    if over.size:
        i = int(over[0])
        raise ValueError(f"a proportion's numerator cannot exceed its denominator; row {i} has {numerator.flat[i]} of {denominator.flat[i]}")
    x, n = np.where(ok, numerator, 0.0), np.where(ok, denominator, 1.0)
    lower, upper = proportion_confint(x, n, alpha=1 - confidence, method="wilson")
    lower = np.where(x == 0, 0.0, lower)  # exactly 0 and 1 at the ends, as the formula gives in exact arithmetic
    upper = np.where(x == n, 1.0, upper)
    scale = np.where(ok, float(multiplier), np.nan)
    return x / n * scale, np.asarray(lower) * scale, np.asarray(upper) * scale


def _scalar(arrays) -> Interval:
    return Interval(*(None if math.isnan(v) else float(v) for v in (float(np.ravel(a)[0]) for a in arrays)))


def rate_ci(count, denominator, multiplier: float = 1000, confidence: float = 0.95) -> Interval:
    """(value, lower, upper) of count/denominator × multiplier; all None when there is no denominator (None or
    0: a rate over no one is undefined, not zero) or no count."""
    return _scalar(rate_ci_arrays([count], [denominator], multiplier, confidence))


def proportion_ci(numerator, denominator, multiplier: float = 100, confidence: float = 0.95) -> Interval:
    """(value, lower, upper) of numerator/denominator × multiplier with Wilson limits; all None when there is no
    denominator (None or 0: a share of nothing is undefined) or no numerator."""
    return _scalar(proportion_ci_arrays([numerator], [denominator], multiplier, confidence))


def _with_columns(frame: pl.DataFrame, arrays, names) -> pl.DataFrame:
    return frame.with_columns(pl.Series(name, np.asarray(a, dtype=float), nan_to_null=True) for name, a in zip(names, arrays))


def rate_ci_frame(frame: pl.DataFrame, count: str, denominator: str, multiplier: float = 1000,
                  confidence: float = 0.95, names=("value", "lower", "upper")) -> pl.DataFrame:
    """`frame` with rate, lower and upper columns added (nulls where undefined)."""
    return _with_columns(frame, rate_ci_arrays(frame[count].to_numpy(), frame[denominator].to_numpy(), multiplier, confidence), names)


def proportion_ci_frame(frame: pl.DataFrame, numerator: str, denominator: str, multiplier: float = 100,
                        confidence: float = 0.95, names=("value", "lower", "upper")) -> pl.DataFrame:
    """`frame` with proportion, lower and upper columns added (nulls where undefined)."""
    return _with_columns(frame, proportion_ci_arrays(frame[numerator].to_numpy(), frame[denominator].to_numpy(), multiplier, confidence), names)


# ---------------------------------------------------------------------------------------------- change


def _alpha(alpha: float) -> float:
    if not 0 < alpha < 0.5:
        raise ValueError(f"alpha (the significance level) must be between 0 and 0.5, e.g. 0.05; got {alpha!r}")
    return float(alpha)


def _verdicts(p_value: np.ndarray, direction: np.ndarray, alpha: float) -> np.ndarray:
    """increase/decrease only where the test is significant (p < alpha); everything else is no significant change."""
    significant = np.nan_to_num(p_value, nan=1.0) < alpha
    return np.where(significant & (direction > 0), "increase",
                    np.where(significant & (direction < 0), "decrease", "no significant change"))


def rate_change_arrays(count1, denominator1, count2, denominator2, alpha: float = 0.05) -> dict[str, np.ndarray]:
    """Rate in period 2 against period 1: the exact conditional test. Given n = count1 + count2 events, under
    equal rates count2 ~ Binomial(n, d2 / (d1 + d2)); the two-sided p-value doubles the smaller tail (central),
    which makes it agree exactly with the Clopper-Pearson interval of the ratio rate2/rate1 at 1 − alpha."""
    from scipy import stats as sps
    from statsmodels.stats.proportion import proportion_confint

    alpha = _alpha(alpha)
    c1, d1 = _floats(count1, "count1"), _floats(denominator1, "denominator1")
    c2, d2 = _floats(count2, "count2"), _floats(denominator2, "denominator2")
    c1, d1, c2, d2 = np.broadcast_arrays(c1, d1, c2, d2)
    ok = _defined(c1, d1) & _defined(c2, d2)
    c1, c2 = np.where(ok, np.round(c1), 0.0), np.where(ok, np.round(c2), 0.0)  # the binomial needs whole events
    d1, d2 = np.where(ok, d1, 1.0), np.where(ok, d2, 1.0)
    n = c1 + c2
    share = d2 / (d1 + d2)
    tested = ok & (n > 0)
    p_value = np.minimum(1.0, 2 * np.minimum(sps.binom.cdf(c2, n, share), sps.binom.sf(c2 - 1, n, share)))
    p_value = np.where(tested, p_value, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        pi_lower, pi_upper = proportion_confint(c2, np.where(tested, n, 1.0), alpha=alpha, method="beta")
        odds = d1 / d2
        estimate = (c2 / d2) / (c1 / d1)
        lower = pi_lower / (1 - pi_lower) * odds
        upper = np.where(pi_upper < 1, pi_upper / (1 - pi_upper) * odds, np.inf)
    defined_ratio = tested & (c1 > 0)  # no events in period 1: the ratio is unbounded
    return {
        "estimate": np.where(defined_ratio, estimate, np.nan),
        "lower": np.where(tested, lower, np.nan),
        "upper": np.where(defined_ratio, upper, np.nan),
        "p_value": p_value,
        "verdict": _verdicts(p_value, np.where(ok, c2 / d2 - c1 / d1, 0.0), alpha),
    }


def proportion_change_arrays(numerator1, denominator1, numerator2, denominator2, alpha: float = 0.05,
                             multiplier: float = 100) -> dict[str, np.ndarray]:
    """Proportion in period 2 against period 1: the score test (Miettinen-Nurminen) for the difference, with
    Newcombe's hybrid score interval (built from the two Wilson intervals) in the multiplier's units."""
    from statsmodels.stats.proportion import confint_proportions_2indep, test_proportions_2indep

    alpha = _alpha(alpha)
    x1, n1 = _floats(numerator1, "numerator1"), _floats(denominator1, "denominator1")
    x2, n2 = _floats(numerator2, "numerator2"), _floats(denominator2, "denominator2")
    x1, n1, x2, n2 = np.broadcast_arrays(x1, n1, x2, n2)
    ok = _defined(x1, n1) & _defined(x2, n2)
    for x, n, name in ((x1, n1, "numerator1"), (x2, n2, "numerator2")):
        over = np.flatnonzero(ok & (x > n))
        if over.size:
            raise ValueError(f"{name} cannot exceed its denominator; row {int(over[0])} has {x.flat[over[0]]} of {n.flat[over[0]]}")
    x1, x2 = np.where(ok, x1, 0.0), np.where(ok, x2, 0.0)
    n1, n2 = np.where(ok, n1, 1.0), np.where(ok, n2, 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        test = test_proportions_2indep(x2, n2, x1, n1, method="score", compare="diff")
        lower, upper = confint_proportions_2indep(x2, n2, x1, n1, method="newcomb", compare="diff", alpha=alpha)
    difference = x2 / n2 - x1 / n1
    p_value = np.asarray(test.pvalue, dtype=float)
    same = difference == 0  # nothing to test (e.g. 0 of n in both periods, where the score statistic is 0/0)
    p_value = np.where(ok, np.where(same, 1.0, p_value), np.nan)
    return {
        "estimate": np.where(ok, difference * multiplier, np.nan),
        "lower": np.where(ok, np.asarray(lower) * multiplier, np.nan),
        "upper": np.where(ok, np.asarray(upper) * multiplier, np.nan),
        "p_value": p_value,
        "verdict": _verdicts(p_value, np.where(ok, difference, 0.0), alpha),
    }


def _change(result: dict[str, np.ndarray], test: str) -> Change:
    """The first row of an array result, NaN as None."""
    numbers = [float(result[key][0]) for key in ("estimate", "lower", "upper", "p_value")]
    return Change(*(None if math.isnan(v) else v for v in numbers), str(result["verdict"][0]), test)


def rate_change(count1, denominator1, count2, denominator2, alpha: float = 0.05) -> Change:
    """Has the rate changed from period 1 to period 2? Estimate: the rate ratio rate2/rate1 (None when period 1
    had no events); p_value None when there were no events at all or a denominator is missing."""
    return _change(rate_change_arrays([count1], [denominator1], [count2], [denominator2], alpha), RATE_TEST)


def proportion_change(numerator1, denominator1, numerator2, denominator2, alpha: float = 0.05,
                      multiplier: float = 100) -> Change:
    """Has the proportion changed from period 1 to period 2? Estimate: the difference (percentage points with the
    default multiplier)."""
    return _change(proportion_change_arrays([numerator1], [denominator1], [numerator2], [denominator2], alpha, multiplier), PROPORTION_TEST)


def _change_frame(frame: pl.DataFrame, result: dict[str, np.ndarray], test: str, prefix: str) -> pl.DataFrame:
    columns = [pl.Series(f"{prefix}{key}", result[key].astype(float), nan_to_null=True) for key in ("estimate", "lower", "upper", "p_value")]
    return frame.with_columns(*columns, pl.Series(f"{prefix}verdict", result["verdict"].astype(str)), pl.lit(test).alias(f"{prefix}test"))


def rate_change_frame(frame: pl.DataFrame, count1: str, denominator1: str, count2: str, denominator2: str,
                      alpha: float = 0.05, prefix: str = "change_") -> pl.DataFrame:
    """`frame` with change_estimate (rate ratio), change_lower/upper, change_p_value, change_verdict, change_test."""
    result = rate_change_arrays(*(frame[c].to_numpy() for c in (count1, denominator1, count2, denominator2)), alpha=alpha)
    return _change_frame(frame, result, RATE_TEST, prefix)


def proportion_change_frame(frame: pl.DataFrame, numerator1: str, denominator1: str, numerator2: str, denominator2: str,
                            alpha: float = 0.05, multiplier: float = 100, prefix: str = "change_") -> pl.DataFrame:
    """`frame` with change_estimate (difference), change_lower/upper, change_p_value, change_verdict, change_test."""
    result = proportion_change_arrays(*(frame[c].to_numpy() for c in (numerator1, denominator1, numerator2, denominator2)),
                                      alpha=alpha, multiplier=multiplier)
    return _change_frame(frame, result, PROPORTION_TEST, prefix)


# ---------------------------------------------------------------------------------------------- targets and RAG


def target_value(kind: str, amount: float, baseline: float | None = None) -> float:
    """The figure a target asks for, in the indicator's own units. kind "value": `amount` itself (a count, a rate);
    "share": a percentage (0–100) for an indicator measured in per cent; "change": `amount` per cent against the
    baseline value (e.g. -10 for a tenth lower)."""
    if kind not in TARGET_KINDS:
        raise ValueError(f"target kind must be one of {', '.join(TARGET_KINDS)}; got {kind!r}")
    if kind == "share" and not 0 <= amount <= 100:
        raise ValueError(f"a share target is a percentage between 0 and 100; got {amount!r}")
    if kind != "change":
        return float(amount)
    if baseline is None:
        raise ValueError("a target of a % change needs the baseline value it is measured against; there is none")
    return float(baseline) * (1 + amount / 100)


@dataclass(frozen=True)
class RagRule:
    """How uncertainty and trend move a measure between colours (defaults: the rule in docs/methods.md).

    green_needs_significance: green only when the whole interval meets the target (default: the value does);
    amber_within_interval: a missed target still inside the interval is amber, not red;
    amber_if_improving / red_if_worsening: a significant trend the right / wrong way decides a missed target.
    """

    green_needs_significance: bool = False
    amber_within_interval: bool = True
    amber_if_improving: bool = True
    red_if_worsening: bool = True


def _number(x: float, decimals: int) -> str:
    return f"{x:,.{decimals}f}"


def rag(value: float | None, lower: float | None, upper: float | None, *, target: float, polarity: str,
        trend: str | None = None, rule: RagRule = RagRule(), unit: str = "", decimals: int = 1,
        target_label: str | None = None) -> Rag:
    """Red, amber or green for a measure against its target, with the reason in words.

    value/lower/upper: the latest figure and its interval (lower/upper None when it has none, e.g. a count
    from a partnership return); target: in the same units (see `target_value`); polarity: "higher" or "lower"
    (which way is better); trend: the verdict of the latest change test (VERDICTS) or None; unit: appended to
    numbers ("%", " per 1,000"); target_label: how to name the target in the reason (default "the target X").

    Missed target: a significant trend the wrong way makes it red, the right way amber; otherwise amber while
    the target lies within the interval and red when the whole interval misses it.
    """
    if polarity not in POLARITIES:
        raise ValueError(f"polarity must be one of {', '.join(POLARITIES)} (which way is better); got {polarity!r}")
    if trend is not None and trend not in VERDICTS:
        raise ValueError(f"trend must be one of {', '.join(VERDICTS)} or None; got {trend!r}")
    def fmt(x: float) -> str:
        return f"{_number(x, decimals)}{unit}"

    goal = target_label or f"the target {fmt(target)}"
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return Rag(None, f"no rating: there is no value to compare with {goal}")
    has_interval = lower is not None and upper is not None and not (math.isnan(lower) or math.isnan(upper))
    shown = f"{fmt(value)} ({_number(lower, decimals)}–{_number(upper, decimals)})" if has_interval else fmt(value)
    higher = polarity == "higher"
    side = "below" if higher else "above"  # the wrong side of the target
    meets = value >= target if higher else value <= target
    meets_significantly = has_interval and (lower >= target if higher else upper <= target)
    within = has_interval and lower <= target <= upper
    improving = trend == ("increase" if higher else "decrease")
    worsening = trend == ("decrease" if higher else "increase")
    moving = "rising" if trend == "increase" else "falling"

    if meets and (meets_significantly or not rule.green_needs_significance):
        return Rag("green", f"green: {shown} meets {goal}")
    if meets:
        return Rag("amber", f"amber: {shown} meets {goal}, but not significantly")
    if worsening and rule.red_if_worsening:
        return Rag("red", f"red: {shown} is {side} {goal} and {moving} significantly")
    if improving and rule.amber_if_improving:
        return Rag("amber", f"amber: {shown} is {side} {goal}, but {moving} significantly")
    if within and rule.amber_within_interval:
        return Rag("amber", f"amber: {shown} is {side} {goal}, but not significantly")
    how = "significantly " if has_interval else ""
    return Rag("red", f"red: {shown} is {how}{side} {goal}")
