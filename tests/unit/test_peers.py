"""Peers: the comparison with the most similar CSPs, on hand-built Home Office rows against a computation written
out here (sums, means, t intervals, ranks by hand), the demo's peer group end to end, and the peers section of
partnership.yaml with its messages."""

import math
import statistics
from itertools import product

import polars as pl
import pytest
from scipy import stats as sps

from pipeline.analysis import peers
from pipeline.analysis.stats import rate_ci
from pipeline.cli import DEMO_CONFIG
from pipeline.config import ConfigError, parse_config
from pipeline.workspace import STARTER_CONFIG

POPULATION = {"Ourtown": 100_000, "Ash": 80_000, "Birch": 120_000, "Cedar": 90_000, "Damson": 110_000, "Shire": 1_000_000}
# offences a quarter per 1,000 residents: Ourtown records far more theft than its peers and far less robbery
LEVEL = {"Theft offences": {"Ourtown": 5.0, "Ash": 2.4, "Birch": 2.6, "Cedar": 2.5, "Damson": 2.7, "Shire": 3.0},
         "Robbery": {"Ourtown": 0.05, "Ash": 0.25, "Birch": 0.3, "Cedar": 0.2, "Damson": 0.28, "Shire": 0.2},
         "Drug offences": {"Ourtown": 0.5, "Ash": 0.45, "Birch": 0.55, "Cedar": 0.5, "Damson": 0.6, "Shire": 0.5},
         "Fraud offences": {area: 1.0 for area in POPULATION}}
YEARS = ("2022/23", "2023/24")


def _prc_rows() -> pl.DataFrame:
    """Four quarters of each year for every area, except Cedar's 2023/24 (three: an incomplete year), with a
    negative adjustment in Ourtown's robbery."""
    rows = []
    for year, quarter, (group, levels), area in product(YEARS, range(1, 5), LEVEL.items(), POPULATION):
        if (area, year, quarter) == ("Cedar", "2023/24", 4):
            continue
        count = round(levels[area] * POPULATION[area] / 1000 * (1 + 0.1 * quarter))
        force = area == "Shire"
        rows.append({"force_name": "Shire" if force else "Anyforce", "csp_name": None if force else area,
                     "financial_year": year, "financial_quarter": quarter, "offence_group": group, "offences": count})
    rows.append({"force_name": "Anyforce", "csp_name": "Ourtown", "financial_year": "2022/23", "financial_quarter": 2,
                 "offence_group": "Robbery", "offences": -2})
    return pl.DataFrame(rows)


def _areas() -> pl.DataFrame:
    roles = {"Ourtown": "partnership", "Shire": "force"}
    return pl.DataFrame([
        {"partnership_id": "ourtown", "role": roles.get(a, "peer"), "area_type": "force" if a == "Shire" else "csp",
         "area": a, "population": n, "population_year": 2021} for a, n in POPULATION.items()
    ])


def _expected() -> dict[tuple[str, str], dict]:
    """The comparison written out: sums per area, group and year over complete years only (fraud left out)."""
    totals: dict[tuple[str, str, str], int] = {}
    quarters: dict[tuple[str, str], set] = {}
    for r in _prc_rows().iter_rows(named=True):
        area = r["csp_name"] or r["force_name"]
        quarters.setdefault((area, r["financial_year"]), set()).add(r["financial_quarter"])
        if r["offence_group"] == "Fraud offences":
            continue
        for group in (r["offence_group"], peers.ALL_CRIME):
            key = (area, r["financial_year"], group)
            totals[key] = totals.get(key, 0) + r["offences"]
    expected = {}
    for (area, year, group), count in totals.items():
        if area != "Ourtown" or len(quarters[(area, year)]) < 4:
            continue
        peer_rates = [1000 * totals[(p, year, group)] / POPULATION[p] for p in ("Ash", "Birch", "Cedar", "Damson")
                      if len(quarters[(p, year)]) == 4]
        mean = statistics.mean(peer_rates)
        low, high = sps.t.interval(0.95, len(peer_rates) - 1, loc=mean, scale=statistics.stdev(peer_rates) / math.sqrt(len(peer_rates)))
        value, lower, upper = rate_ci(count, POPULATION[area], 1000)
        force = rate_ci(totals[("Shire", year, group)], POPULATION["Shire"], 1000)
        verdict = "above peers" if lower > high else "below peers" if upper < low else "similar to peers"
        expected[(group, year)] = {
            "offences": count, "value": value, "lower": lower, "upper": upper, "peer_mean": mean, "peer_lower": low,
            "peer_upper": high, "n_peers": len(peer_rates), "rank": 1 + sum(r < value for r in peer_rates),
            "verdict": verdict, "force_value": force.value, "force_lower": force.lower, "force_upper": force.upper,
        }
    return expected


def test_peer_comparison_matches_an_independent_computation():
    counts = peers.offence_counts(_prc_rows())
    rates = peers.peer_rates(counts, _areas(), 0.95)
    result = peers.peer_comparison(rates, 0.95)
    expected = _expected()
    assert len(expected) == 8 and result.height == 8
    for row in result.iter_rows(named=True):
        want = expected[(row["offence_group"], row["financial_year"])]
        for column, value in want.items():
            if isinstance(value, float):
                assert math.isclose(row[column], value, rel_tol=1e-9), (row["offence_group"], row["financial_year"], column)
            else:
                assert row[column] == value, (row["offence_group"], row["financial_year"], column)
        assert row["csp_name"] == "Ourtown" and row["force_name"] == "Shire" and row["population_year"] == 2021
    assert {r["verdict"] for r in expected.values()} == set(peers.VERDICTS)  # the rows exercise every verdict
    assert {e["n_peers"] for e in expected.values()} == {3, 4}  # Cedar's incomplete 2023/24 left out
    assert rates.filter(pl.col("role") == "force")["rank"].null_count() == rates.filter(pl.col("role") == "force").height


def test_a_misspelt_peer_is_named_with_the_nearest_spelling():
    counts = peers.offence_counts(_prc_rows())
    areas = _areas().with_columns(pl.col("area").replace({"Birch": "Burch"}))
    with pytest.raises(ConfigError, match=r"partnerships\[0\]\.peers\.csps: 'Burch' is not a CSP .*did you mean 'Birch'\?"):
        peers.check_names(areas, counts, 0)
    with pytest.raises(ConfigError, match="no Home Office table by CSP"):
        peers.check_names(_areas(), counts.filter(pl.col("area_type") == "force"), 0)


PEERS_BLOCK = """    peers:
      csp_name: Calderdale
      population_year: 2021
{body}sources:
"""


@pytest.mark.parametrize("body,message", [
    ("      csps: [{name: Bury, population: 190000}]\n", "peers.csps: found [{'name': 'Bury', 'population': 190000}]; List should have at least 2 items"),
    ("      csps: [{name: Bury, population: 1}, {name: Bury, population: 2}]\n", "peer 'Bury' is listed twice"),
    ("      csps: [{name: Bury, population: 1}, {name: Calderdale, population: 2}]\n", "the partnership itself ('Calderdale') cannot be one of its peers"),
    ("      csps: [Bury, Bolton]\n", "peer 'Bury' has no population: give csps[].population or a population_file"),
    ("      confidence: 0.9\n      csps: [{name: Bury, population: 1}, {name: Bolton, population: 2}]\n", "peers.confidence: found 0.9; confidence must be 0.95 or 0.998"),
    ("      csps: [{name: Bury, population: 0}, {name: Bolton, population: 2}]\n", "peers.csps[0].population: found 0; Input should be greater than 0"),
])
def test_peers_section_errors_name_the_key(body, message):
    text = STARTER_CONFIG.format(name="t").replace("sources:\n", PEERS_BLOCK.format(body=body), 1)
    with pytest.raises(ConfigError) as error:
        parse_config(text)
    assert message in str(error.value)
    assert "partnerships[0].peers" in str(error.value)


def test_demo_peer_group(tmp_path, monkeypatch):
    """The demo's Home Office tables and peers section: Calderdale against 15 CSPs in every offence group and
    year, with West Yorkshire's figure; its CSP rows are its own crimes."""
    from pipeline import reference
    from pipeline.demo.police_prc import PEER_CSPS, peers_config, write_police_prc
    from pipeline.demo.world import build_world
    from pipeline.ingest.assets import land
    from pipeline.ingest.pseudonymise import KEY_ENV
    from pipeline.models.sql_assets import build_model, discover
    from pipeline.paths import EXPECTATIONS_DIR
    from pipeline.quality.checks import run_and_record
    from pipeline.sources import SOURCES
    from tests.helpers import make_workspace

    monkeypatch.setenv(KEY_ENV, "6a" * 32)
    ws = make_workspace(tmp_path, DEMO_CONFIG.replace("\nsources:\n", f"\n{peers_config()}sources:\n", 1))
    assert len(ws.config().partnerships[0].peers.csps) == len(PEER_CSPS) == 15
    world = build_world()
    write_police_prc(world, ws.raw / "police_prc")
    assert all(f.status == "loaded" and f.rows_rejected == 0 for f in land(ws, SOURCES["police_prc"]).files)
    reference._replace_table(ws, "geography", reference.geography_frame(ws, ws.config()))
    build_model(ws, next(m for m in discover() if m.name == "dim_month"))
    rates, comparison = peers.build(ws)
    peers.write_marts(ws, rates, comparison)
    with ws.connect() as con:
        outcome = run_and_record(con, EXPECTATIONS_DIR / "marts.peer_comparison.json")
    assert outcome.rows == comparison.height and not outcome.errors and not outcome.warnings, outcome.outcomes

    assert comparison.height == 5 * 10  # five financial years, nine offence groups (fraud aside) and all crime
    assert set(rates["role"]) == set(peers.ROLES)
    assert set(comparison["n_peers"]) == {15} and comparison["force_value"].null_count() == 0
    assert comparison["rank"].is_between(1, 16).all()
    verdicts = dict(comparison.group_by("offence_group").agg(pl.col("verdict").unique().sort()).iter_rows())
    assert verdicts["Violence against the person"] == ["above peers"] and verdicts["Theft offences"] == ["below peers"]
    calderdale = world.lsoas.filter(pl.col("in_partnership"))["lsoa11cd"].implode()
    recorded = world.crimes.filter(pl.col("lsoa11cd").is_in(calderdale) & pl.col("recorded_date").is_between(pl.date(2020, 4, 1), pl.date(2025, 3, 31)))
    assert comparison.filter(pl.col("offence_group") == peers.ALL_CRIME)["offences"].sum() == recorded.height


def test_populations_from_the_list_the_file_and_the_geography(tmp_path):
    from pipeline.config import load_config
    from pipeline.workspace import Workspace

    body = ("      population_file: peers.csv\n"
            "      force: {name: West Yorkshire, population: 2351600}\n"
            "      csps: [{name: Bury, population: 190000}, Bolton, Oldham]\n")
    (tmp_path / "partnership.yaml").write_text(STARTER_CONFIG.format(name="t").replace("sources:\n", PEERS_BLOCK.format(body=body), 1))
    with pytest.raises(ConfigError, match=r"partnerships\[0\]\.peers\.population_file: file 'peers.csv' not found"):
        load_config(tmp_path)
    (tmp_path / "peers.csv").write_text("csp_name,population\nBolton,296000\nOldham,242100\nBury,1\n")
    config = load_config(tmp_path)
    [(pid, confidence, areas)] = peers.peer_areas(Workspace.at(tmp_path), config, {"calderdale": (203_826, 2011)})
    assert (pid, confidence) == ("calderdale", 0.95)
    assert areas.select("role", "area", "population", "population_year").rows() == [
        ("partnership", "Calderdale", 203_826, 2011),  # no peers.population: the geography's residents and year
        ("peer", "Bury", 190_000, 2021),  # the list wins over the file
        ("peer", "Bolton", 296_000, 2021),
        ("peer", "Oldham", 242_100, 2021),
        ("force", "West Yorkshire", 2_351_600, 2021),
    ]
    (tmp_path / "peers.csv").write_text("csp_name,population\nBolton,296000\n")
    with pytest.raises(ConfigError, match=r"peers\.population_file: .* has no row for peer 'Oldham'"):
        peers.peer_areas(Workspace.at(tmp_path), load_config(tmp_path), {"calderdale": (203_826, 2011)})
    (tmp_path / "peers.csv").write_text("csp_name,population\nBolton,296000\nOldham,242 100\n")
    with pytest.raises(ConfigError, match=r"gives peer 'Oldham' the population '242 100' for year '2021'; expected a positive whole number"):
        peers.peer_areas(Workspace.at(tmp_path), load_config(tmp_path), {"calderdale": (203_826, 2011)})


def test_each_year_takes_the_latest_population_not_after_it():
    two_years = pl.concat([_areas(), _areas().filter(pl.col("area") == "Ash").with_columns(
        pl.lit(100_000, pl.Int64).alias("population"), pl.lit(2023, pl.Int64).alias("population_year"))])
    rates = peers.peer_rates(peers.offence_counts(_prc_rows()), two_years, 0.95).filter(pl.col("area") == "Ash")
    used = dict(rates.select("financial_year", "population").unique().iter_rows())
    assert used == {"2022/23": 80_000, "2023/24": 100_000}
    assert rates.height == 2 * 4  # one row per year and group (three groups and all crime), never two
    later = two_years.with_columns(pl.when(pl.col("area") == "Ash").then(pl.col("population_year") + 5).otherwise(pl.col("population_year")))
    rates = peers.peer_rates(peers.offence_counts(_prc_rows()), later, 0.95).filter(pl.col("area") == "Ash")
    assert set(rates["population"]) == {80_000}  # every year before the first population year: the earliest
