"""Deprivation: how each harm falls across the partnership's more and less deprived neighbourhoods.

From the LSOA rates of `marts.area_rates` and the national deprivation ranks of `reference.imd` (IMD 2019 in
England, WIMD 2019 in Wales; 1 = most deprived), `marts.deprivation` holds per indicator, partnership and
financial year one row per national decile (its rate with the interval of pipeline/analysis/stats.py), and
beside each the share of the events in the partnership's own most deprived 10% and 20% of LSOAs and the rate
ratio of its most to its least deprived fifth of LSOAs with its interval (stats.rate_change's ratio).
"""

from __future__ import annotations


import dagster as dg
import polars as pl

from pipeline.analysis import stats
from pipeline.analysis.engine import write_mart
from pipeline.analysis.place import AREA_KINDS
from pipeline.resources import WorkspaceResource

KEY = ["indicator_id", "partnership_id", "period"]
RATIO_METHOD = ("rate in the partnership's most deprived fifth of LSOAs (by national rank) over its least deprived fifth; "
                f"{stats.RATE_TEST}")


def local_groups(lsoas: pl.DataFrame) -> pl.DataFrame:
    """Each LSOA's place in its partnership's own ranking by national deprivation rank: quintile 1 = the most
    deprived fifth, and whether it is among the most deprived 10% and 20% (ceil of the share, at least one)."""
    ranked = lsoas.sort("imd_rank").with_columns(
        (pl.int_range(pl.len()).over("partnership_id")).alias("_position"), pl.len().over("partnership_id").alias("_n"))
    return ranked.with_columns(
        (pl.col("_position") * 5 // pl.col("_n") + 1).cast(pl.Int8).alias("local_quintile"),
        (pl.col("_position") < (pl.col("_n") * 0.1).ceil().clip(lower_bound=1)).alias("most_deprived_10"),
        (pl.col("_position") < (pl.col("_n") * 0.2).ceil().clip(lower_bound=1)).alias("most_deprived_20"),
    ).drop("_position", "_n")


def deprivation_frame(lsoa_rows: pl.DataFrame, imd: pl.DataFrame) -> pl.DataFrame:
    """`lsoa_rows`: marts.area_rates' LSOA rows (indicator_id, theme, partnership_id, period, period_start,
    area_code, numerator, denominator, multiplier, disclosure_class); `imd`: lsoa_code, imd_index, imd_rank,
    imd_decile. LSOAs without a deprivation rank are left out (and counted in lsoas_without_imd)."""
    lsoas = local_groups(lsoa_rows.select("partnership_id", pl.col("area_code").alias("lsoa_code")).unique()
                         .join(imd, on="lsoa_code", how="inner"))
    rows = lsoa_rows.join(lsoas, left_on=["partnership_id", "area_code"], right_on=["partnership_id", "lsoa_code"], how="left")
    missing = rows.group_by(KEY).agg(pl.col("imd_rank").is_null().sum().alias("lsoas_without_imd"))
    rows = rows.filter(pl.col("imd_rank").is_not_null())
    numbers = [pl.col("numerator").sum(), pl.col("denominator").sum()]
    deciles = rows.group_by(*KEY, "imd_index", "imd_decile", "multiplier").agg(*numbers, pl.len().alias("n_lsoas"))
    deciles = pl.concat([stats.rate_ci_frame(part, "numerator", "denominator", multiplier=m)
                         for (m,), part in deciles.group_by("multiplier")])
    shares = rows.group_by(KEY).agg(
        pl.col("theme").first(), pl.col("title").first(), pl.col("period_start").first(), pl.col("disclosure_class").first(),
        (pl.col("numerator").filter(pl.col("most_deprived_10")).sum() / pl.col("numerator").sum() * 100).alias("share_most_deprived_10"),
        (pl.col("numerator").filter(pl.col("most_deprived_20")).sum() / pl.col("numerator").sum() * 100).alias("share_most_deprived_20"),
        pl.col("numerator").filter(pl.col("local_quintile") == 1).sum().alias("most_deprived_numerator"),
        pl.col("denominator").filter(pl.col("local_quintile") == 1).sum().alias("most_deprived_denominator"),
        pl.col("numerator").filter(pl.col("local_quintile") == 5).sum().alias("least_deprived_numerator"),
        pl.col("denominator").filter(pl.col("local_quintile") == 5).sum().alias("least_deprived_denominator"),
    ).with_columns(pl.col("share_most_deprived_10", "share_most_deprived_20").fill_nan(None))
    ratio = stats.rate_change_arrays(shares["least_deprived_numerator"].to_numpy(), shares["least_deprived_denominator"].to_numpy(),
                                     shares["most_deprived_numerator"].to_numpy(), shares["most_deprived_denominator"].to_numpy())
    shares = shares.with_columns(
        pl.Series("rate_ratio", ratio["estimate"], nan_to_null=True), pl.Series("rate_ratio_lower", ratio["lower"], nan_to_null=True),
        pl.Series("rate_ratio_upper", ratio["upper"], nan_to_null=True), pl.Series("rate_ratio_p_value", ratio["p_value"], nan_to_null=True),
        pl.lit(RATIO_METHOD).alias("rate_ratio_method"),
    )
    return deciles.join(shares, on=KEY, how="left").join(missing, on=KEY, how="left").select(
        "indicator_id", "title", "theme", "partnership_id", "period", "period_start", "imd_index", "imd_decile", "n_lsoas",
        "numerator", "denominator", "value", "lower", "upper", "share_most_deprived_10", "share_most_deprived_20",
        "rate_ratio", "rate_ratio_lower", "rate_ratio_upper", "rate_ratio_p_value", "rate_ratio_method", "lsoas_without_imd",
        "disclosure_class",
    ).sort("indicator_id", "partnership_id", "period_start", "imd_decile")


@dg.asset(
    key=["marts", "deprivation"],
    deps=[dg.AssetKey(["marts", "area_rates"]), dg.AssetKey(["reference", "imd"])],
    group_name="marts",
    description="Rates by IMD 2019 / WIMD 2019 decile, the share of events in the partnership's most deprived 10% and 20% of LSOAs, and the most/least deprived fifth rate ratio, per indicator and financial year",
    kinds={"duckdb", "python"},
)
def deprivation(workspace: WorkspaceResource) -> dg.MaterializeResult:
    ws = workspace.get()
    with ws.connect() as con:
        kinds = ", ".join(f"'{k}'" for k in AREA_KINDS)
        rows = pl.from_arrow(con.sql(f"SELECT * FROM marts.area_rates WHERE area_type = 'lsoa' AND kind IN ({kinds})").to_arrow_table())
        imd = pl.from_arrow(con.sql("SELECT lsoa_code, imd_index, imd_rank, imd_decile FROM reference.imd").to_arrow_table())
        count = write_mart(con, ws, "deprivation", deprivation_frame(rows, imd))
    return dg.MaterializeResult(metadata={"dagster/row_count": count})


ASSETS = [deprivation]
