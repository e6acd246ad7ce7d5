"""Place analytics on hand-built data: a planted hotspot is found by both rules, a uniform area by neither, and
concentration matches an independent computation."""

import numpy as np
import polars as pl
import pytest
import shapely

from pipeline.analysis import place
from pipeline.analysis.stats import rate_ci_frame

SIDE = 8  # an 8 x 8 grid of square LSOAs
RESIDENTS = 1500.0


def grid_shapes() -> dict[str, shapely.Geometry]:
    return {f"L{r}{c}": shapely.box(c, r, c + 1, r + 1) for r in range(SIDE) for c in range(SIDE)}


def area_rows(counts: dict[str, float], period: str = "2023/24") -> pl.DataFrame:
    """Rows shaped like marts.area_rates for one rate indicator and year, compared with the partnership's rate."""
    frame = pl.DataFrame({"area_code": list(counts), "numerator": list(counts.values())}).with_columns(
        pl.lit(RESIDENTS).alias("denominator"))
    frame = rate_ci_frame(frame, "numerator", "denominator", multiplier=1000)
    partnership = 1000 * frame["numerator"].sum() / frame["denominator"].sum()
    return frame.with_columns(
        pl.lit("crime_rate").alias("indicator_id"), pl.lit("Crime").alias("title"), pl.lit("crime").alias("theme"),
        pl.lit("p").alias("partnership_id"), pl.lit("lsoa").alias("area_type"), pl.col("area_code").alias("area_name"),
        pl.lit(None, pl.String).alias("ward_code"), pl.lit(period).alias("period"),
        pl.lit(f"{period[:4]}-04-01").str.to_date().alias("period_start"), pl.lit(True).alias("complete"),
        pl.lit(partnership).alias("partnership_value"), pl.lit("restricted").alias("disclosure_class"),
        pl.when(pl.col("lower") > partnership).then(pl.lit("above")).when(pl.col("upper") < partnership).then(pl.lit("below"))
        .otherwise(pl.lit("similar")).alias("significance"),
    )


PLANTED = {"L33", "L34", "L43", "L44"}  # a 2 x 2 town centre in the middle of the grid


@pytest.fixture(scope="module")
def planted():
    rng = np.random.default_rng(7)
    counts = {code: float(rng.poisson(60 if code in PLANTED else 15)) for code in grid_shapes()}
    return place.hotspots_frame(area_rows(counts), {"lsoa": grid_shapes()})


def test_planted_hotspot_found_by_interval_and_gi_star(planted):
    centre = planted.filter(pl.col("area_code").is_in(sorted(PLANTED)))
    assert centre["above_partnership"].all()
    assert centre["gi_star_hot"].all()
    assert centre["hot"].all()
    assert set(planted.filter(pl.col("hot"))["area_code"]) == PLANTED


def test_gi_star_is_highest_at_the_centre_and_not_significant_at_the_edge(planted):
    z = dict(zip(planted["area_code"], planted["gi_star_z"]))
    edge = planted.filter(pl.col("area_code").str.contains("^L[07]|^L.[07]$"))  # the grid's edge, away from the centre
    assert edge.height == 4 * SIDE - 4
    assert min(z[c] for c in PLANTED) > edge["gi_star_z"].max()
    assert not edge["gi_star_hot"].any()


def test_uniform_area_yields_no_hotspot():
    frame = place.hotspots_frame(area_rows({code: 15.0 for code in grid_shapes()}), {"lsoa": grid_shapes()})
    assert frame.height == SIDE * SIDE
    assert not frame["above_partnership"].any()
    assert not frame["gi_star_hot"].any()
    assert not frame["hot"].any()


def test_persistent_when_hot_in_three_of_the_last_four_years():
    rng = np.random.default_rng(3)
    years = []
    for year, hot_centre in zip(range(2019, 2024), (True, False, True, True, False)):
        counts = {code: float(rng.poisson(60 if hot_centre and code in PLANTED else 15)) for code in grid_shapes()}
        years.append(area_rows(counts, f"{year}/{str(year + 1)[2:]}"))
    frame = place.hotspots_frame(pl.concat(years), {"lsoa": grid_shapes()})
    centre = frame.filter(pl.col("area_code") == "L33").sort("period_start")
    assert centre["hot"].to_list() == [True, False, True, True, False]
    assert centre["persistent"].to_list() == [False, False, False, True, False]  # 2023/24: 2 of the last 4


def test_every_years_gi_star_equals_esda_run_alone_on_its_own_weights():
    """hotspots_frame shares the permutation draws and the area subsets between years; each year's z and pseudo p must
    still be what esda's G_Local gives on that year alone, with a fresh Gi* weights object (esda's randomisation
    zeroes the diagonal of the weights it is given, so a reused one would silently give Gi)."""
    from esda.getisord import G_Local
    from libpysal.weights import Queen, fill_diagonal

    rng = np.random.default_rng(5)
    shapes = grid_shapes()
    missing = {"2021/22": {"L00"}, "2022/23": set(), "2023/24": set()}  # one year without a corner: a smaller subset
    years = [area_rows({c: float(rng.poisson(40 if c in PLANTED else 15)) for c in shapes if c not in gone}, period)
             for period, gone in missing.items()]
    frame = place.hotspots_frame(pl.concat(years), {"lsoa": shapes})
    for period, gone in missing.items():
        got = frame.filter(pl.col("period") == period).sort("area_code")
        codes = sorted(c for c in shapes if c not in gone)
        alone = fill_diagonal(Queen.from_iterable([shapes[c] for c in codes], ids=codes, silence_warnings=True), 1.0)
        g = G_Local(got["value"].to_numpy(), alone, transform="R", permutations=place.PERMUTATIONS, star=None,
                    seed=place.SEED, n_jobs=1)
        assert got["area_code"].to_list() == codes
        np.testing.assert_allclose(got["gi_star_z"].to_numpy(), g.Zs, rtol=1e-12)
        np.testing.assert_array_equal(got["gi_star_p"].to_numpy(), g.p_sim)
        assert (got["gi_star_z"] > 0).any() and (got["gi_star_p"] < place.ALPHA).any()  # the comparison has hot areas in it


def test_ward_polygons_are_the_dissolved_lsoas():
    wards = place.ward_shapes(grid_shapes(), {code: "W1" if code[1] < "4" else "W2" for code in grid_shapes()})
    assert wards["W1"].equals(shapely.box(0, 0, SIDE, SIDE / 2))
    assert wards["W1"].touches(wards["W2"])


def test_concentration_equals_an_independent_computation():
    rng = np.random.default_rng(11)
    first, second = rng.poisson(20, 40).astype(float), rng.poisson(20, 40).astype(float)
    second[:4] += 200  # the second year concentrates in four LSOAs
    rows = pl.concat([
        pl.DataFrame({"numerator": counts}).with_columns(
            pl.lit("crime_rate").alias("indicator_id"), pl.lit("crime").alias("theme"), pl.lit("p").alias("partnership_id"),
            pl.lit(period).alias("period"), pl.lit(start).str.to_date().alias("period_start"), pl.lit(True).alias("complete"),
            pl.lit("restricted").alias("disclosure_class"))
        for counts, period, start in ((first, "2022/23", "2022-04-01"), (second, "2023/24", "2023-04-01"))
    ])
    frame = place.concentration_frame(rows).sort("period_start")
    for counts, row in zip((first, second), frame.iter_rows(named=True)):
        # Gini as the mean absolute difference over twice the mean; top shares by sorting
        expected_gini = np.abs(counts[:, None] - counts[None, :]).sum() / (2 * counts.size ** 2 * counts.mean())
        ordered = np.sort(counts)[::-1]
        assert row["gini"] == pytest.approx(expected_gini)
        assert row["top5_share"] == pytest.approx(ordered[:2].sum() / counts.sum())  # 5% of 40 LSOAs: 2
        assert row["top10_share"] == pytest.approx(ordered[:4].sum() / counts.sum())
        assert row["n_lsoas"] == 40
    assert frame["verdict"].to_list() == [None, "rose"]
    assert frame["change_lower"][1] < frame["gini_change"][1] < frame["change_upper"][1]
