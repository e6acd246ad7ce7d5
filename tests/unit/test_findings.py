"""Key-finding sentences follow the verdicts: hand-built mart rows whose verdicts come from the real tests."""

import re

import pytest

from pipeline.analysis import stats
from pipeline.publish import findings

RESIDENTS = 200_000


def _comparison(before: int, after: int, *, polarity="lower", **extra) -> dict:
    """An indicator_comparisons row (rolling 12 months) for a rate per 1,000 residents, tested by stats.rate_change."""
    change = stats.rate_change(before, RESIDENTS, after, RESIDENTS)
    return {
        "comparison": "rolling 12 months vs previous 12", "indicator_id": "total_crime", "title": "Total police recorded crime",
        "area_name": "Calderdale", "period": "12 months to March 2025", "comparator": "12 months to March 2024",
        "value": after / RESIDENTS * 1000, "comparator_value": before / RESIDENTS * 1000,
        "change_measure": "rate ratio (later / earlier)", "change": change.estimate, "change_lower": change.lower,
        "change_upper": change.upper, "p_value": change.p_value, "test": change.test, "verdict": change.verdict,
        "unit": "per 1,000 residents", "polarity": polarity, **extra,
    }


LATEST = {"lower": 84.1, "upper": 86.5, "denominator_year": 2024}
CHANGE_WORDS = re.compile(r"\b(rose|fell|rising|falling|increase[ds]?|decrease[ds]?|up|down|higher|lower)\b", re.I)


def test_a_non_significant_change_says_so_and_never_rose_or_fell():
    row = _comparison(17_000, 17_100)
    assert row["verdict"] == "no significant change"  # the premise: the real test does not find it
    text = findings.change_sentence(row, LATEST)
    assert "no significant change" in text
    assert not CHANGE_WORDS.search(text.replace("no significant change", "")), text
    assert stats.RATE_TEST in text and "95% interval" in text and "population year 2024" in text
    assert f"p = {row['p_value']:.3f}" in text


@pytest.mark.parametrize("after, verb, verdict, judgement", [(19_000, "rose", "increase", "a deterioration"),
                                                              (15_000, "fell", "decrease", "an improvement")])
def test_a_significant_change_names_its_direction_test_and_interval(after, verb, verdict, judgement):
    row = _comparison(17_000, after)
    assert row["verdict"] == verdict
    text = findings.change_sentence(row, LATEST)
    assert f" {verb} to " in text and f"a significant {verdict}, {judgement}" in text
    assert f"95% interval {row['change_lower']:,.2f} to {row['change_upper']:,.2f}" in text
    assert "p < 0.001" in text and stats.RATE_TEST in text
    assert findings.verdict_label(row) == f"significant {verdict} ({judgement})"


def test_a_higher_is_better_measure_calls_an_increase_an_improvement():
    row = _comparison(17_000, 19_000, polarity="higher")
    assert "an improvement" in findings.change_sentence(row)


def test_a_withheld_row_gives_no_verdict():
    row = _comparison(17_000, 19_000) | {"disclosure_status": "[x]", "value": None, "change": None}
    text = findings.change_sentence(row)
    assert "[x]" in text and "rose" not in text and "increase" not in text
    assert findings.verdict_label(row) == "[x]"


def test_no_test_possible_is_said_plainly():
    row = _comparison(17_000, 17_000) | {"verdict": None, "p_value": None, "change": None}
    text = findings.change_sentence(row)
    assert "no test of change was possible" in text and "rose" not in text
    assert findings.verdict_label(row) == "not tested"


def _trend(verdict: str, ratio: float, p: float) -> dict:
    return {"comparison": "trend since baseline", "title": "Total police recorded crime", "period": "2019/20 to 2024/25",
            "comparator": "6 financial years", "change_measure": "rate ratio per year", "change": ratio,
            "change_lower": ratio - 0.02, "change_upper": ratio + 0.02, "p_value": p, "test": "Poisson regression",
            "verdict": verdict, "polarity": "lower", "unit": "per 1,000 residents"}


def test_trend_sentences_follow_the_verdict():
    flat = findings.trend_sentence(_trend("no significant change", 0.99, 0.4))
    assert "showed no significant trend" in flat and "fell" not in flat and "p = 0.400" in flat
    falling = findings.trend_sentence(_trend("decrease", 0.95, 0.001))
    assert "fell significantly by 5.0% a year on average, an improvement (rate ratio per year 0.95" in falling


def test_peer_sentence_says_above_only_when_the_verdict_does():
    row = {"comparison": "peers", "title": "Violence against the person", "area_name": "Calderdale", "period": "2023/24",
           "comparator": "7 peers: mean 30.1 (27.0 to 33.2); rank 3 of 8", "value": 31.4, "verdict": "similar to peers",
           "unit": "per 1,000 residents", "test": "rates with Fingertips intervals"}
    text = findings.peer_sentence(row)
    assert "similar to its peers" in text and "the intervals overlap" in text and "above" not in text
    assert "above its peers" in findings.peer_sentence(row | {"verdict": "above peers"})


def _measure(**extra) -> dict:
    """A strategy_review row; its RAG reason from the real rule."""
    rag = stats.rag(95.0, 93.0, 97.0, target=80.0, polarity="lower", trend="increase", unit=" per 1,000 residents")
    return {"measure": "Total crime", "unit": "per 1,000 residents", "direction": "lower", "latest_period": "12 months to March 2025",
            "latest_value": 95.0, "latest_lower": 93.0, "latest_upper": 97.0, "denominator_year": 2024,
            "baseline_period": "2019/20", "baseline_value": 88.9, "target_kind": "change", "target_amount": -10.0,
            "target_value": 80.01, "rag": rag.status, "rag_reason": rag.reason, "verdict": "increase",
            "change_measure": "rate ratio (later / earlier)", "change": 1.07, "change_lower": 1.05, "change_upper": 1.09,
            "p_value": 0.0001, "test": stats.RATE_TEST, **extra}


def test_target_sentence_states_target_rag_reason_and_change():
    text = findings.target_sentence(_measure())
    assert "a target of 80.0 per 1,000 residents (10.0% lower than the 2019/20 baseline of 88.9 per 1,000 residents)" in text
    assert "RED" in text and "rising significantly" in text and "population year 2024" in text
    assert "a significant increase, a deterioration" in text


def test_a_brief_target_sentence_keeps_the_verdict_and_p_and_leaves_the_test_to_the_note():
    text = findings.target_sentence(_measure(), brief=True)
    assert "RED" in text and "a significant increase, a deterioration (p < 0.001)." in text
    assert stats.RATE_TEST not in text and "rate ratio" not in text


def test_target_sentence_without_a_target_is_not_rated():
    text = findings.target_sentence(_measure(target_kind=None, target_value=None, rag=None, rag_reason="no target set",
                                             verdict="no significant change", p_value=0.4))
    assert "not rated (no target set)" in text and "no significant change" in text and "increase" not in text


@pytest.mark.parametrize("unit, value, shown", [("per 1,000 residents", 85.25, "85.2 per 1,000 residents"),
                                                 ("% of cases", 41.96, "42.0% of cases"), ("crimes", 1204.0, "1,204 crimes"),
                                                 ("offences per individual", 1.375, "1.38 offences per individual")])
def test_quantities_are_shown_with_places_by_unit(unit, value, shown):
    assert findings.quantity(value, unit) == shown


def test_commentary_is_merged_or_a_placeholder_in_the_restricted_edition_only(tmp_path):
    folder = tmp_path / "commentary" / "scrutiny-pack"
    folder.mkdir(parents=True)
    (folder / "overview.md").write_text("Crime fell in the town centre after the new CCTV.\n", encoding="utf-8")
    for edition in ("public", "restricted"):
        assert "new CCTV" in findings.commentary("overview", folder=folder, edition=edition)
    missing = findings.commentary("question-1", folder=folder, edition="restricted")
    assert "Commentary to come" in missing and "commentary/scrutiny-pack/question-1.md" in missing
    assert findings.commentary("question-1", folder=folder, edition="public") == ""
    (folder / "empty.md").write_text("  \n", encoding="utf-8")
    assert findings.commentary("empty", folder=folder, edition="public") == ""
    with pytest.raises(ValueError, match="lower-case letters, digits, hyphens"):
        findings.commentary("../secrets", folder=folder, edition="public")


@pytest.mark.parametrize("label, words", [("12 months to 2025-03", "the 12 months to March 2025"),
                                          ("12 months to 2024-12", "the 12 months to December 2024"),
                                          ("2024/25", "2024/25"), ("baseline 2021/22", "baseline 2021/22")])
def test_period_labels_are_said_in_words(label, words):
    assert findings.period_words(label) == words


@pytest.mark.parametrize("after, verb, judgement", [(19_000, "rose", "a deterioration"), (15_000, "fell", "an improvement")])
def test_a_headline_is_short_and_only_for_a_significant_change(after, verb, judgement):
    row = _comparison(17_000, after) | {"period": "12 months to 2025-03", "comparator": "12 months to 2024-03"}  # the mart's labels
    text = findings.headline(row)
    assert text == (f"Total police recorded crime {verb} to {after / RESIDENTS * 1000:.1f} per 1,000 residents in the 12 months "
                    f"to March 2025, from 85.0 in the 12 months to March 2024 (significant, p < 0.001): {judgement}.")
    assert findings.headline(_comparison(17_000, 17_100)) is None  # not significant: not a key finding
    assert findings.headline(row | {"disclosure_status": "[c]"}) is None
    share = findings.headline(row | {"unit": "% of crimes with an outcome", "value": 9.2, "comparator_value": 13.0})
    assert f" to 9.2% of crimes with an outcome in the 12 months to March 2025, from 13.0% in " in share
