"""partnership.yaml errors name the key, the value found and what was expected."""

from pathlib import Path

import pytest

from pipeline.config import ConfigError, load_config, parse_config
from pipeline.workspace import STARTER_CONFIG, Workspace

GOOD = STARTER_CONFIG.format(name="test")
SECOND_CALDERDALE = """\
  - id: calderdale
    name: again
    local_authorities: [E08000033]
    geography: {vintage: 2011, lookup: {file: x.csv}, population: {file: y.csv, year: 2011}}
"""


def test_starter_config_is_valid(tmp_path: Path):
    ws = Workspace.at(tmp_path)
    ws.scaffold()
    config = load_config(ws.root)
    assert [p.id for p in config.partnerships] == ["calderdale"]
    assert config.lsoa_vintage == 2011
    assert config.period.first_day.isoformat() == "2020-04-01"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.replace("version: 1", "version: 2"), "version: found 2; Input should be 1"),
        (lambda t: t.replace("period:", "periods:"), "period: missing; this key is required"),
        (lambda t: t.replace("  synthetic: false", "  synthetic: false\n  colour: blue"), "workspace.colour: unknown key (found 'blue')"),
        (lambda t: t.replace("[E08000033]", "[E0800033]"), "partnerships[0].local_authorities: found ['E0800033']; 'E0800033' is not a local authority GSS code"),
        (lambda t: t.replace('start: "2020-04"', 'start: "2020-13"'), "period.start: found '2020-13'; must be a month written YYYY-MM"),
        (lambda t: t.replace('start: "2020-04"', 'start: "2026-04"'), "period: found {'start': '2026-04', 'end': '2025-03'}; start 2026-04 is after end 2025-03"),
        (lambda t: t.replace("vintage: 2011", "vintage: 2015"), "partnerships[0].geography.vintage: found 2015; Input should be 2011 or 2021"),
        (lambda t: t.replace("id: calderdale", "id: Calderdale CSP"), "partnerships[0].id: found 'Calderdale CSP'; must be 2-40 lower-case letters"),
        (lambda t: t.replace("police_street:", "police_streets:"), "unknown source 'police_streets'; known sources:"),
        (lambda t: t.replace("max_reject_share: 0.05", "max_reject_share: 5"), "sources.police_street.max_reject_share: found 5; Input should be less than or equal to 1"),
        (lambda t: t.replace("max_reject_share: 0.05", 'known_gaps: {"2021-3": outage}'),
         "sources.police_street.known_gaps: found {'2021-3': 'outage'}; '2021-3' is not a month written YYYY-MM, such as 2021-03"),
        (lambda t: t.replace("max_reject_share: 0.05", 'known_gaps: {"2021-03": ""}'),
         'sources.police_street.known_gaps: found {\'2021-03\': \'\'}; known gap 2021-03 needs a reason, such as "force system outage"'),
        (lambda t: t.replace("max_reject_share: 0.05", "lag_months: 0"),
         "sources.police_street.lag_months: found 0; Input should be greater than or equal to 1"),
        (lambda t: t.replace("partnerships:\n", "partnerships:\n" + SECOND_CALDERDALE), "partnership id 'calderdale' is used twice"),
        (lambda t: t.replace("name: test", "name: [unclosed"), "not valid YAML at line"),
        (lambda t: "just a string", "expected a mapping of keys"),
    ],
)
def test_bad_config_messages(edit, message):
    with pytest.raises(ConfigError) as caught:
        parse_config(edit(GOOD), origin="partnership.yaml")
    assert message in str(caught.value)
    assert str(caught.value).startswith("partnership.yaml")


def test_missing_file_says_how_to_create_one(tmp_path: Path):
    with pytest.raises(ConfigError, match=r"partnership.yaml: not found; run `csp init"):
        load_config(tmp_path)


def test_missing_geography_file_is_named(tmp_path: Path):
    ws = Workspace.at(tmp_path)
    ws.scaffold(GOOD.replace("builtin:lsoa11_census2011_population.csv.gz", "population/mine.csv"))
    with pytest.raises(ConfigError, match=r"partnerships\[0\].geography.population.file: file 'population/mine.csv' not found"):
        load_config(ws.root)
