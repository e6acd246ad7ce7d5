"""The prioritisation matrix on hand-built factor values: weights read from partnership.yaml move the ranking as
they should, a factor without data is left out (not scored 0), and bad `priorities:` settings are refused by key."""

import polars as pl
import pytest

from pipeline.analysis.priorities import THEMES, rank_scores, score_matrix
from pipeline.config import ConfigError, parse_config
from pipeline.workspace import STARTER_CONFIG


def settings(section: str = ""):
    return parse_config(STARTER_CONFIG.format(name="t") + section).priorities


# Three themes: domestic abuse and ASB are high on harm, volume and vulnerability; road safety is what
# residents rate highest (community concern 4.8 of 5) and low on everything else.
VALUES = pl.DataFrame(
    [
        {"partnership_id": "p", "theme": theme, "factor": factor, "value": value}
        for theme, factors in {
            "domestic_abuse": {"harm": 900.0, "volume": 3000.0, "vulnerability": 31.0, "community_concern": 3.6, "trend": 4.0},
            "asb": {"harm": 400.0, "volume": 5000.0, "vulnerability": 11.0, "community_concern": 3.5, "trend": 2.0},
            "road_safety": {"harm": 50.0, "volume": 100.0, "vulnerability": 9.0, "community_concern": 4.8, "trend": 3.0},
        }.items()
        for factor, value in factors.items()
    ]
)


def ranks(matrix: pl.DataFrame) -> dict[str, int]:
    """Places among the three themes with data (the others score on capacity alone)."""
    order = matrix.filter(pl.col("theme").is_in(VALUES["theme"].unique().to_list())).sort("rank")["theme"]
    return {theme: place for place, theme in enumerate(order, start=1)}


def test_raising_the_community_concern_weight_moves_the_residents_top_theme_up():
    before = ranks(score_matrix(VALUES, ["p"], settings()))
    assert before["road_safety"] == 3  # last of the three on the default weights
    after = ranks(score_matrix(VALUES, ["p"], settings("priorities:\n  weights:\n    community_concern: 20\n")))
    assert after["road_safety"] == 1
    assert after["road_safety"] < before["road_safety"]


def test_capacity_and_recommendations_follow_the_configuration():
    matrix = score_matrix(VALUES, ["p"], settings("priorities:\n  capacity:\n    asb: 5\n    domestic_abuse: 1\n  recommend: 1\n"))
    row = {r["theme"]: r for r in matrix.iter_rows(named=True)}
    assert row["asb"]["score_capacity"] == 5 and row["domestic_abuse"]["score_capacity"] == 1
    assert row["road_safety"]["score_capacity"] == 3  # unset: neutral
    assert matrix.filter(pl.col("recommended"))["theme"].to_list() == [matrix.sort("rank")["theme"][0]]


def test_a_theme_without_data_has_no_score_for_it_rather_than_zero():
    matrix = score_matrix(VALUES, ["p"], settings())
    hate = matrix.filter(pl.col("theme") == "hate").row(0, named=True)
    assert hate["score_harm"] is None and hate["value_harm"] is None
    assert "harm" in hate["no_data"] and "community_concern" in hate["no_data"]
    assert hate["weighted_score"] == pytest.approx(3.0)  # capacity alone (3): nothing else counts for or against it
    assert hate["factors_scored"] == 1
    assert matrix.height == len(THEMES)


def test_weighted_score_is_the_weighted_mean_of_the_factor_scores():
    matrix = score_matrix(VALUES, ["p"], settings())
    da = matrix.filter(pl.col("theme") == "domestic_abuse").row(0, named=True)
    # ranked factors across the three themes: DA is top on harm and vulnerability (5), middle on volume (3);
    # community concern 3.6 and trend 4.0 as they are; capacity 3. Weights 2, 1, 1, 1, 2, 1 (defaults).
    expected = (2 * 5 + 1 * 3 + 1 * 4.0 + 1 * 3.6 + 2 * 5 + 1 * 3) / (2 + 1 + 1 + 1 + 2 + 1)
    assert da["weighted_score"] == pytest.approx(expected)


def test_rank_scores_run_from_one_to_five_with_ties_averaged():
    assert rank_scores(pl.Series([10.0, 30.0, 20.0])).to_list() == [1.0, 5.0, 3.0]
    assert rank_scores(pl.Series([1.0, 1.0, 2.0])).to_list() == [2.0, 2.0, 5.0]
    assert rank_scores(pl.Series([7.0])).to_list() == [3.0]


@pytest.mark.parametrize(("section", "expected"), [
    ("priorities:\n  capacity:\n    burglary: 4\n", "priorities.capacity: found {'burglary': 4}; unknown theme 'burglary'; themes are domestic_abuse"),
    ("priorities:\n  capacity:\n    asb: 7\n", "theme 'asb': capacity must be a whole number from 1 to 5; found 7"),
    ("priorities:\n  weights:\n    harm: -1\n", "priorities.weights.harm: found -1"),
    ("priorities:\n  weights:\n    harm: 0\n    volume: 0\n    trend: 0\n    concentration: 0\n    community_concern: 0\n"
     "    vulnerability: 0\n    capacity: 0\n", "priorities.weights: found"),
    ("priorities:\n  recommend: 0\n", "priorities.recommend: found 0"),
    ("priorities:\n  weight:\n    harm: 1\n", "priorities.weight: unknown key"),
])
def test_bad_priorities_settings_are_refused_naming_the_key(section, expected):
    with pytest.raises(ConfigError) as error:
        settings(section)
    assert expected in str(error.value)
