"""Scrutiny committee questions in partnership.yaml: the demo carries the seven Croydon questions, each answered
by catalogue indicators, and mistakes are refused naming the key, with the closest valid name."""

import pytest

from pipeline.analysis.catalogue import load_catalogue
from pipeline.cli import DEMO_CONFIG
from pipeline.config import ConfigError, parse_config
from pipeline.workspace import STARTER_CONFIG

BASE = STARTER_CONFIG.format(name="t") + """scrutiny:
  questions:
    - id: {id}
      question: Is the partnership fit for purpose?
      indicators: [total_crime, {indicator}]
      sources: [{source}]
      marts: [{mart}]
"""


def _config(id="fit-for-purpose", indicator="knife_crime", source="police_crimes", mart="mart_submissions"):
    return BASE.format(id=id, indicator=indicator, source=source, mart=mart)


def test_the_demo_carries_the_seven_croydon_questions_each_with_indicators():
    scrutiny = parse_config(DEMO_CONFIG).scrutiny
    assert len(scrutiny.questions) == 7
    assert "Prevent" in scrutiny.questions[3].question and "speeding" in scrutiny.questions[6].question
    catalogue = load_catalogue()
    for question in scrutiny.questions:
        assert question.indicators and all(i in catalogue for i in question.indicators)
        # each question can be answered in the public edition too: at least one indicator is not restricted
        assert any(catalogue[i].disclosure != "restricted" for i in question.indicators), question.id


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"indicator": "prevent_referals"},
         "scrutiny.questions[0].indicators[1]: found 'prevent_referals'; is not in the indicator catalogue "
         "(indicators/*.yaml; see docs/indicators.md) (did you mean 'prevent_referrals'?)"),
        ({"source": "probaton_iom"}, "scrutiny.questions[0].sources[0]: found 'probaton_iom'; is not a known source (did you mean 'probation_iom'?)"),
        ({"mart": "mart_submission"}, "scrutiny.questions[0].marts[0]: found 'mart_submission'"),
        ({"id": "Question 1"}, "scrutiny.questions[0].id: found 'Question 1'; must be 1-40 lower-case letters"),
        ({"mart": "strategy_review"}, "scrutiny question 'fit-for-purpose' shows strategy_review, but there is no strategy: section"),
    ],
)
def test_mistakes_name_the_key(kwargs, message):
    with pytest.raises(ConfigError) as raised:
        parse_config(_config(**kwargs))
    assert message in str(raised.value)


def test_a_question_id_used_twice_is_refused():
    text = _config().replace("scrutiny:\n  questions:\n", "scrutiny:\n  questions:\n    - {id: fit-for-purpose, question: 'Again?', indicators: [total_crime]}\n")
    with pytest.raises(ConfigError, match="question id 'fit-for-purpose' is used twice"):
        parse_config(text)
