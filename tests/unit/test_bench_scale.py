"""The scale benchmark's workspaces: one valid partnership per local authority, police.uk files over real LSOAs."""

import csv
import re
from pathlib import Path

import pytest

from pipeline.bench import HEADER
from pipeline.bench_scale import SYNTHETIC_FORCES, WEST_YORKSHIRE, authorities, generate, residents
from pipeline.config import load_config
from pipeline.geography import LOOKUP_FILE, POPULATION_FILE, _read, unknown_local_authority


@pytest.fixture(scope="module")
def national(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("scale") / "national"
    generate("national", root, volume=0.002, period=("2024-04", "2024-04"), partners=False)
    return root


def test_national_has_one_valid_partnership_per_local_authority(national: Path):
    config = load_config(national)  # validated as every run validates it
    lookup = _read(LOOKUP_FILE, ["lsoa11cd", "lad_cd"])
    expected = set(lookup["lad_cd"])
    assert len(expected) > 300  # England and Wales, not a sample
    codes = [code for p in config.partnerships for code in p.local_authorities]
    assert sorted(codes) == sorted(expected)  # each authority once, each partnership one authority
    assert all(len(p.local_authorities) == 1 for p in config.partnerships)
    assert len({p.id for p in config.partnerships}) == len(config.partnerships)
    assert all(unknown_local_authority(code) is None for code in codes)
    assert config.workspace.synthetic


def test_national_police_files_are_police_uk_files_over_real_lsoas(national: Path):
    files = sorted((national / "raw" / "police_street").iterdir())
    names = [f.name for f in files]
    assert all(re.fullmatch(r"2024-04-[a-z0-9-]+-street\.csv", n) for n in names), names[:5]
    assert "2024-04-west-yorkshire-street.csv" in names
    assert len(names) == SYNTHETIC_FORCES + 1
    lsoas = set(_read(LOOKUP_FILE, ["lsoa11cd"])["lsoa11cd"])
    seen = set()
    for path in files:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
        assert tuple(rows[0]) == HEADER
        seen |= {r[7] for r in rows[1:] if r[7]}
    assert seen and seen <= lsoas


def test_force_is_west_yorkshire(tmp_path: Path):
    generate("force", tmp_path / "force", volume=0.001, period=("2024-04", "2024-04"), partners=False)
    config = load_config(tmp_path / "force")
    assert [p.local_authorities for p in config.partnerships] == [[c] for c in WEST_YORKSHIRE]
    assert [f.name for f in (tmp_path / "force" / "raw" / "police_street").iterdir()] == ["2024-04-west-yorkshire-street.csv"]


def test_every_resident_is_in_a_partnership_of_the_national_workspace():
    """Rows are spread by residents over the partnerships' LSOAs: none may fall in a 2011 district code that no
    partnership has (the population file's codes predate the 2019 mergers)."""
    people = residents()
    census = _read(POPULATION_FILE, ["usual_residents"])["usual_residents"].cast(int).sum()
    assert people["usual_residents"].sum() == census
    assert set(people["lad_cd"]) == set(authorities("national"))


def test_a_resumed_run_takes_only_stages_that_ran_to_the_end():
    from pipeline.bench_scale import finished

    assert finished({"success": True, "wall_s": 894.5})
    assert finished({"suites": ["raw.marac"], "wall_s": 27.3})  # a stage without a Dagster run
    assert not finished({"success": False, "wall_s": 971.1})  # a failed step: run again
    assert not finished({"timed_out_after_s": 900})
    assert not finished({"error": "Traceback ..."})
