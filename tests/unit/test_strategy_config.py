"""The strategy in partnership.yaml: the demo's parses with every measure the demo sources feed, and each kind
of mistake is refused naming the key and what was expected."""

import pytest

from pipeline.analysis.catalogue import load_catalogue
from pipeline.cli import DEMO_CONFIG
from pipeline.config import ConfigError, parse_config
from pipeline.workspace import STARTER_CONFIG

BASE = STARTER_CONFIG.format(name="t") + """strategy:
  name: S
  start: "{start}"
  end: "2024/25"
  baseline: "{baseline}"
  priorities:
    - id: p
      name: P
      measures:
        - indicator: {indicator}
          owner: Police
          target: {target}
"""


def _config(start="2022/23", baseline="2021/22", indicator="knife_crime", target="{change: -10}"):
    return BASE.format(start=start, baseline=baseline, indicator=indicator, target=target)


def test_the_demo_strategy_has_six_priorities_and_sutton_targets():
    strategy = parse_config(DEMO_CONFIG).strategy
    assert len(strategy.priorities) == 6
    targets = {m.indicator: (m.target.kind, m.target.amount) for _, m in strategy.measures}
    assert targets["marac_repeat_share"] == ("share", 25.3)
    assert targets["marac_cases"] == ("value", 209)
    assert targets["marac_non_police_share"] == ("share", 52.2)
    catalogue = load_catalogue()
    assert {catalogue[i].theme for i in targets} >= {"domestic abuse", "serious violence", "fire", "hate and extremism", "reoffending"}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"baseline": "2022/23"}, "strategy.baseline: found '2022/23'; must be a year before the strategy starts (2022/23)"),
        ({"start": "2022/24"}, "strategy.start: found '2022/24'; must be a financial year written YYYY/YY"),
        ({"indicator": "knife_crimes"}, "strategy.priorities[0].measures[0].indicator: found 'knife_crimes'; is not in the indicator catalogue"),
        ({"target": "{share: 10}"}, "strategy.priorities[0].measures[0]: found {"),
        ({"target": "{share: 10}"}, "a share target needs an indicator measured in per cent; knife_crime is 'per 10,000 residents'"),
        ({"target": "{value: 3, change: -5}"}, "strategy.priorities[0].measures[0].target: found {'value': 3, 'change': -5}; give exactly one of value, share or change"),
        ({"indicator": "drug_offences", "target": "{value: 10}"}, "drug_offences has no better direction of its own; set direction: higher or lower"),
    ],
)
def test_mistakes_name_the_key(kwargs, message):
    with pytest.raises(ConfigError) as raised:
        parse_config(_config(**kwargs))
    assert message in str(raised.value)


def test_a_measure_without_a_strategy_block_is_fine():
    assert parse_config(STARTER_CONFIG.format(name="t")).strategy is None
