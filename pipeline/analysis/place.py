"""Place: where harm concentrates, and whether it is concentrating.

Both marts read the ward and LSOA rates of `marts.area_rates` (the engine's figures beside the partnership's,
with the interval comparison) for every indicator that is a rate per residents or households:

- `marts.concentration`: per indicator, partnership and financial year, the share of events in the 5% and 10%
  of LSOAs with most events and the Gini coefficient of events over LSOAs, and whether concentration rose
  since the previous year (a parametric bootstrap of the Gini's change; see docs/methods.md).
- `marts.hotspots`: per area (LSOA, and ward: the dissolved LSOAs), whether it is significantly above the
  partnership rate (its interval wholly above), its Getis-Ord Gi* (PySAL's esda on Queen contiguity of the
  boundaries), `hot` when both say so, and `persistent` when hot in 3 or more of the last 4 years.
"""

from __future__ import annotations

import functools
import math
import warnings
from contextlib import contextmanager

import dagster as dg

import numpy as np
import polars as pl
import shapely

from pipeline.analysis.engine import write_mart
from pipeline.resources import WorkspaceResource

ALPHA = 0.05  # significance of Gi* (its permutation pseudo p-value) and of the concentration change
PERMUTATIONS = 999
SEED = 20190401  # fixed: the same data give the same hotspots on every run
TOP_SHARES = {"top5_share": 0.05, "top10_share": 0.10}
PERSISTENT_WINDOW, PERSISTENT_MIN = 4, 3  # hot in 3 or more of the last 4 financial years
NEIGHBOUR_RULE = "Queen contiguity (areas sharing a boundary point), the area itself included (Gi*), row-standardised"
CONCENTRATION_METHOD = (
    f"Gini of events over LSOAs; change since the previous financial year with a 95% parametric bootstrap interval "
    f"({PERMUTATIONS} redistributions of each year's events over its LSOAs in proportion to the observed counts); "
    f"rose/fell when the interval excludes 0"
)
AREA_KINDS = ("rate",)  # event rates per residents or households; proportions and counts are not places' harm


# ------------------------------------------------------------------------------------------- concentration


def gini(counts) -> np.ndarray:
    """Gini coefficient of each row of `counts` (events per area): 0 when every area has as many events, towards 1
    when all fall in one area; NaN for a row without events."""
    x = np.sort(np.atleast_2d(np.asarray(counts, dtype=float)), axis=1)
    n = x.shape[1]
    total = x.sum(axis=1)
    ranks = 2 * np.arange(1, n + 1) - n - 1
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, (x * ranks).sum(axis=1) / (n * total), np.nan)


def top_share(counts, fraction: float) -> float:
    """Share of the events in the ceil(fraction × n) areas with most events (at least one area)."""
    x = np.sort(np.asarray(counts, dtype=float))[::-1]
    total = x.sum()
    if total <= 0:
        return math.nan
    return float(x[: max(1, math.ceil(fraction * x.size))].sum() / total)


def _bootstrap_gini(counts: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    total = int(round(counts.sum()))
    if total == 0:
        return np.full(PERMUTATIONS, np.nan)
    return gini(rng.multinomial(total, counts / counts.sum(), size=PERMUTATIONS))


def concentration_frame(lsoa_rows: pl.DataFrame) -> pl.DataFrame:
    """One row per indicator, partnership and financial year from LSOA rows (indicator_id, theme,
    partnership_id, period, period_start, complete, numerator, disclosure_class)."""
    rng = np.random.default_rng(SEED)
    rows = []
    for (indicator_id, partnership_id), group in lsoa_rows.sort("period_start").group_by("indicator_id", "partnership_id", maintain_order=True):
        previous = None
        for (period,), year in group.group_by("period", maintain_order=True):
            counts = year["numerator"].fill_null(0).to_numpy().astype(float)
            draws = _bootstrap_gini(counts, rng)
            row = {
                "indicator_id": indicator_id, "theme": year["theme"][0], "partnership_id": partnership_id, "period": period,
                "period_start": year["period_start"][0], "complete": bool(year["complete"].all()),
                "events": float(counts.sum()), "n_lsoas": int(counts.size),
                **{name: top_share(counts, fraction) for name, fraction in TOP_SHARES.items()},
                "gini": float(gini(counts)[0]),
                "previous_period": None, "gini_change": None, "change_lower": None, "change_upper": None,
                "verdict": None, "method": CONCENTRATION_METHOD, "disclosure_class": year["disclosure_class"][0],
            }
            if previous is not None and not math.isnan(row["gini"]) and not math.isnan(previous[0]["gini"]):
                lower, upper = np.nanpercentile(draws - previous[1], [100 * ALPHA / 2, 100 * (1 - ALPHA / 2)])
                row.update(previous_period=previous[0]["period"], gini_change=row["gini"] - previous[0]["gini"],
                           change_lower=float(lower), change_upper=float(upper),
                           verdict="rose" if lower > 0 else "fell" if upper < 0 else "no significant change")
            rows.append(row)
            previous = (row, draws)
    return pl.DataFrame(rows, schema_overrides={"previous_period": pl.String, "verdict": pl.String, "gini_change": pl.Float64,
                                                "change_lower": pl.Float64, "change_upper": pl.Float64})


# ------------------------------------------------------------------------------------------------ hotspots


def ward_shapes(lsoa_shapes: dict[str, shapely.Geometry], lsoa_ward: dict[str, str]) -> dict[str, shapely.Geometry]:
    """Ward polygons as the union of their LSOAs' (wards are built from whole LSOAs)."""
    members: dict[str, list[shapely.Geometry]] = {}
    for lsoa, shape in lsoa_shapes.items():
        if lsoa in lsoa_ward:
            members.setdefault(lsoa_ward[lsoa], []).append(shape)
    return {ward: shapely.unary_union(shapes) for ward, shapes in members.items()}


def queen_weights(shapes: dict[str, shapely.Geometry]):
    """libpysal Queen contiguity of the areas, in code order."""
    from libpysal.weights import Queen

    codes = sorted(shapes)
    return Queen.from_iterable([shapes[c] for c in codes], ids=codes, silence_warnings=True)


def gi_star(values: np.ndarray, weights) -> tuple[np.ndarray, np.ndarray]:
    """Gi* z-score and one-sided permutation pseudo p-value per area (values in the weights' id order)."""
    from esda.getisord import G_Local
    from libpysal.weights import fill_diagonal

    if np.ptp(values) == 0:  # every area alike: nothing stands out (and Gi*'s z is 0/0)
        return np.zeros(values.size), np.ones(values.size)
    # Gi*: each area counts among its own neighbours, weight 1 before row-standardising. A new W every time: esda's
    # randomisation zeroes the diagonal of the weights it is given, so a reused W would give Gi, not Gi*.
    with_self = fill_diagonal(weights, 1.0)
    with warnings.catch_warnings():  # esda's notice that a future release changes its default alternative;
        # G_Local takes no `alternative` yet, and the one-sided pseudo p-value is what this module means.
        warnings.filterwarnings("ignore", message="The alternative hypothesis", category=DeprecationWarning)
        g = G_Local(values, with_self, transform="R", permutations=PERMUTATIONS, star=None, seed=SEED, n_jobs=1,
                    keep_simulations=False)
    return np.asarray(g.Zs, dtype=float), np.asarray(g.p_sim, dtype=float)


def _subset(w, ids: list[str]):
    """The weights restricted to `ids` (areas without a figure this year drop out)."""
    from libpysal.weights import w_subset

    return w if len(ids) == w.n else w_subset(w, ids, silence_warnings=True)


@contextmanager
def shared_permutations():
    """Draw esda's conditional-randomisation permutations once per (neighbours, areas, permutations, seed) instead of
    once per Gi*: they depend on nothing else, and every indicator and year of a partnership asks for the same
    ones (esda's own draw, kept; the results are identical). Without numba the draw is most of Gi*'s time."""
    import esda.crand as crand

    draw = crand.vec_permutations
    crand.vec_permutations = functools.cache(draw)  # a few hundred draws of ~100 KB at national scale
    try:
        yield
    finally:
        crand.vec_permutations = draw


def hotspots_frame(area_rows: pl.DataFrame, shapes: dict[str, dict[str, shapely.Geometry]]) -> pl.DataFrame:
    """Every ward and LSOA row of `area_rows` (marts.area_rates' columns) with its interval flag, Gi* and verdicts.

    `shapes`: area_type → area code → polygon. Areas without a polygon get no Gi* and are never hot."""
    weights = {area_type: queen_weights(s) for area_type, s in shapes.items() if len(s) > 1}
    prepared: dict[tuple[str, tuple[str, ...]], object] = {}  # a partnership's areas are the same most years
    parts = []
    keys = ["indicator_id", "partnership_id", "area_type", "period"]
    with shared_permutations():
        for (_, _, area_type, _), group in area_rows.filter(pl.col("value").is_not_null()).group_by(keys, maintain_order=True):
            z = np.full(group.height, np.nan)
            p = np.full(group.height, np.nan)
            w = weights.get(area_type)
            if w is not None:
                position = {code: i for i, code in enumerate(group["area_code"])}
                ids = tuple(sorted(code for code in position if code in w.id2i))  # the weights' order: sorted codes
                if len(ids) > 1:
                    if (area_type, ids) not in prepared:
                        prepared[area_type, ids] = _subset(w, list(ids))
                    rows = [position[c] for c in ids]
                    z[rows], p[rows] = gi_star(group["value"].to_numpy()[rows].astype(float), prepared[area_type, ids])
            parts.append(group.with_columns(pl.Series("gi_star_z", z, nan_to_null=True), pl.Series("gi_star_p", p, nan_to_null=True)))
    if not parts:
        return pl.DataFrame()
    frame = pl.concat(parts).with_columns(
        (pl.col("significance") == "above").alias("above_partnership"),
        ((pl.col("gi_star_z") > 0) & (pl.col("gi_star_p") < ALPHA)).fill_null(False).alias("gi_star_hot"),
    ).with_columns((pl.col("above_partnership") & pl.col("gi_star_hot")).alias("hot"))
    area = ["indicator_id", "partnership_id", "area_type", "area_code"]
    frame = frame.sort(*area, "period_start").with_columns(
        pl.col("hot").cast(pl.Int32).rolling_sum(PERSISTENT_WINDOW, min_samples=1).over(area).alias("years_hot_of_last_4"),
    ).with_columns(
        (pl.col("years_hot_of_last_4") >= PERSISTENT_MIN).alias("persistent"),
        pl.lit(NEIGHBOUR_RULE).alias("neighbour_rule"),
        pl.lit(ALPHA).alias("alpha"),
    )
    return frame.select(
        "indicator_id", "title", "theme", "partnership_id", "area_type", "area_code", "area_name", "ward_code", "period",
        "period_start", "complete", "numerator", "denominator", "value", "lower", "upper", "partnership_value",
        "above_partnership", "gi_star_z", "gi_star_p", "gi_star_hot", "hot", "years_hot_of_last_4", "persistent",
        "neighbour_rule", "alpha", "disclosure_class",
    )


# ---------------------------------------------------------------------------------------------- the assets


def read_area_rows(con) -> pl.DataFrame:
    """marts.area_rates for rates, with each LSOA's ward (a ward row's ward is itself)."""
    return pl.from_arrow(con.sql(f"""
        SELECT r.*, CASE WHEN r.area_type = 'ward' THEN r.area_code ELSE g.ward_code END AS ward_code
        FROM marts.area_rates AS r
        LEFT JOIN reference.geography AS g ON r.area_type = 'lsoa' AND g.lsoa_code = r.area_code AND g.partnership_id = r.partnership_id
        WHERE r.kind IN ({", ".join(f"'{k}'" for k in AREA_KINDS)})
    """).to_arrow_table())


def read_shapes(con) -> dict[str, dict[str, shapely.Geometry]]:
    """LSOA polygons from reference.boundaries and ward polygons dissolved from them."""
    boundaries = con.sql("SELECT lsoa_code, geometry FROM reference.boundaries").fetchall()
    lsoas = {code: shapely.from_wkb(bytes(wkb)) for code, wkb in boundaries}
    lsoa_ward = dict(con.sql("SELECT DISTINCT lsoa_code, ward_code FROM reference.geography").fetchall())
    return {"lsoa": lsoas, "ward": ward_shapes(lsoas, lsoa_ward)}


@dg.asset(
    key=["marts", "concentration"],
    deps=[dg.AssetKey(["marts", "area_rates"]), dg.AssetKey(["reference", "geography"])],
    group_name="marts",
    description="Is harm concentrating? Share of events in the top 5% and 10% of LSOAs and the Gini, per indicator, partnership and financial year, with the change since the previous year",
    kinds={"duckdb", "python"},
)
def concentration(workspace: WorkspaceResource) -> dg.MaterializeResult:
    ws = workspace.get()
    with ws.connect() as con:
        rows = read_area_rows(con).filter(pl.col("area_type") == "lsoa")
        count = write_mart(con, ws, "concentration", concentration_frame(rows))
    return dg.MaterializeResult(metadata={"dagster/row_count": count})


@dg.asset(
    key=["marts", "hotspots"],
    deps=[dg.AssetKey(["marts", "area_rates"]), dg.AssetKey(["reference", "geography"]), dg.AssetKey(["reference", "boundaries"])],
    group_name="marts",
    description="Wards and LSOAs significantly above the partnership rate and in a Getis-Ord Gi* hot spot, per indicator and financial year; persistent when hot in 3 of the last 4 years",
    kinds={"duckdb", "python"},
)
def hotspots(workspace: WorkspaceResource) -> dg.MaterializeResult:
    ws = workspace.get()
    with ws.connect() as con:
        frame = hotspots_frame(read_area_rows(con), read_shapes(con))
        count = write_mart(con, ws, "hotspots", frame)
    hot = frame.filter(pl.col("hot")).height if count else 0
    return dg.MaterializeResult(metadata={"dagster/row_count": count, "hot_rows": hot})


ASSETS = [concentration, hotspots]
