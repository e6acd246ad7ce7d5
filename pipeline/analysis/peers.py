"""Peers: a partnership's recorded crime beside its most similar partnerships', from the Home Office tables.

`partnership.yaml` names each partnership's peer group (`peers:`; CSP names as the Home Office tables by CSP
spell them, with their residents). For each offence group (and all crime excluding fraud) and complete
financial year, `marts.peer_rates` holds every area's rate per 1,000 residents with its interval and rank, and
`marts.peer_comparison` one row per partnership: its rate, the peer mean with its interval, its rank, the
force-area rate where the force table has landed, and whether it sits significantly above or below its peers
(the two intervals do not overlap). The method is in docs/methods.md.
"""

from __future__ import annotations

import difflib

import dagster as dg
import polars as pl

from pipeline.analysis.stats import rate_ci_frame
from pipeline.config import Config, ConfigError, resolve_file
from pipeline.ingest.landing import ensure_tables
from pipeline.models.sql_assets import export_parquet
from pipeline.resources import WorkspaceResource
from pipeline.sources import SOURCES
from pipeline.workspace import Workspace

ALL_CRIME = "All recorded crime (excluding fraud)"
EXCLUDED_GROUP = "Fraud offences"  # recorded nationally by Action Fraud, not by forces: not in the CSP tables
MULTIPLIER = 1000
UNIT = "per 1,000 residents"
ROLES = ("partnership", "peer", "force")
VERDICTS = ("above peers", "below peers", "similar to peers")
METHOD = ("rates with Fingertips intervals (exact Poisson below 10 offences, Byar's from 10); peer mean: unweighted "
          "mean of the peers' rates with its t interval; above/below: the two intervals do not overlap")
KEY = ["partnership_id", "offence_group", "financial_year"]


def offence_counts(prc: pl.DataFrame) -> pl.DataFrame:
    """Offences by area, financial year and offence group (and all crime), for the area's complete years only.

    `prc`: raw.police_prc's rows. An area is a CSP (`area_type` "csp") or, in the tables by force, a force.
    A year counts when all four quarters of the area are present; a negative total (the Home Office publishes
    adjustments) counts as 0.
    """
    rows = prc.filter(pl.col("offence_group") != EXCLUDED_GROUP).with_columns(
        pl.coalesce("csp_name", "force_name").alias("area"),
        pl.when(pl.col("csp_name").is_null()).then(pl.lit("force")).otherwise(pl.lit("csp")).alias("area_type"),
    )
    area_year = ["area_type", "area", "financial_year"]
    complete = rows.group_by(area_year).agg(pl.col("financial_quarter").n_unique().alias("quarters")).filter(pl.col("quarters") == 4)
    by_group = rows.group_by(*area_year, "offence_group").agg(pl.col("offences").sum())
    total = rows.group_by(area_year).agg(pl.col("offences").sum()).with_columns(pl.lit(ALL_CRIME).alias("offence_group"))
    counts = pl.concat([by_group, total.select(by_group.columns)])
    return counts.join(complete.select(area_year), on=area_year, how="semi").with_columns(pl.col("offences").clip(0))


def peer_rates(counts: pl.DataFrame, areas: pl.DataFrame, confidence: float) -> pl.DataFrame:
    """Every area's rate per 1,000 residents with its interval; rank 1 = the lowest rate among the partnership
    and its peers (the force is not ranked).

    `areas`: partnership_id, role (ROLES), area_type, area, population, population_year; an area may have
    several rows, one per population year.
    """
    joined = areas.join(counts, on=["area_type", "area"], how="inner")
    # an area with populations for several years: the latest year not after the financial year's start, else the earliest
    gap = pl.col("financial_year").str.slice(0, 4).cast(pl.Int64) - pl.col("population_year")
    joined = joined.sort(gap < 0, gap.abs()).unique([*KEY, "role", "area"], keep="first", maintain_order=True)
    rated = rate_ci_frame(joined, "offences", "population", multiplier=MULTIPLIER, confidence=confidence)
    ranked = pl.col("role") != "force"
    rank = pl.when(ranked).then(pl.col("value").rank("min").over(*KEY, ranked)).cast(pl.Int64)
    return rated.with_columns(rank.alias("rank"), pl.col("area").filter(ranked).count().over(KEY).alias("n_ranked")).select(
        *KEY, "role", "area", "offences", "population", "population_year", "value", "lower", "upper", "rank", "n_ranked",
    ).sort(*KEY, "role", "rank", "area")


def peer_comparison(rates: pl.DataFrame, confidence: float) -> pl.DataFrame:
    """One row per partnership, offence group and year that has a partnership rate and at least two peers."""
    from scipy import stats as sps

    peers = rates.filter(pl.col("role") == "peer").group_by(KEY).agg(
        pl.col("value").mean().alias("peer_mean"), pl.col("value").std(ddof=1).alias("peer_sd"), pl.len().alias("n_peers"),
    ).filter(pl.col("n_peers") >= 2)
    t = sps.t.ppf((1 + confidence) / 2, peers["n_peers"].to_numpy() - 1)
    half = pl.Series(t) * peers["peer_sd"] / peers["n_peers"].cast(pl.Float64).sqrt()
    peers = peers.with_columns((pl.col("peer_mean") - half).alias("peer_lower"), (pl.col("peer_mean") + half).alias("peer_upper"))
    force = rates.filter(pl.col("role") == "force").select(
        *KEY, pl.col("area").alias("force_name"), pl.col("value").alias("force_value"),
        pl.col("lower").alias("force_lower"), pl.col("upper").alias("force_upper"),
    )
    ours = rates.filter(pl.col("role") == "partnership").rename({"area": "csp_name"})
    verdict = (
        pl.when(pl.col("lower") > pl.col("peer_upper")).then(pl.lit(VERDICTS[0]))
        .when(pl.col("upper") < pl.col("peer_lower")).then(pl.lit(VERDICTS[1]))
        .otherwise(pl.lit(VERDICTS[2]))
    )
    return ours.join(peers, on=KEY, how="inner").join(force, on=KEY, how="left").with_columns(
        verdict.alias("verdict"), pl.lit(UNIT).alias("unit"), pl.lit(confidence).alias("confidence"), pl.lit(METHOD).alias("method"),
    ).select(
        *KEY, "csp_name", "offences", "population", "population_year", "value", "lower", "upper",
        "peer_mean", "peer_lower", "peer_upper", "rank", "n_peers", "verdict",
        "force_name", "force_value", "force_lower", "force_upper", "unit", "confidence", "method",
    ).sort(KEY)


def peer_areas(ws: Workspace, config: Config, residents: dict[str, tuple[int, int]]) -> list[tuple[str, float, pl.DataFrame]]:
    """Each partnership with peers: (id, confidence, its areas); `residents` gives a partnership's own
    (residents, year) from its geography, used when `peers.population` is not set."""
    groups = []
    for index, p in enumerate(config.partnerships):
        if p.peers is None:
            continue
        key = f"partnerships[{index}].peers"
        year = p.peers.population_year
        rows = [("partnership", "csp", p.peers.csp_name, *((p.peers.population, year) if p.peers.population else residents[p.id]))]
        rows += [("peer", "csp", c.name, c.population, year) for c in p.peers.csps if c.population]
        unnumbered = [c.name for c in p.peers.csps if not c.population]
        if unnumbered:
            rows += _population_file(resolve_file(p.peers.population_file, ws.root), unnumbered, year, f"{key}.population_file")
        if p.peers.force:
            rows.append(("force", "force", p.peers.force.name, p.peers.force.population, p.peers.population_year))
        frame = pl.DataFrame(rows, schema={"role": pl.String, "area_type": pl.String, "area": pl.String,
                                           "population": pl.Int64, "population_year": pl.Int64}, orient="row")
        groups.append((p.id, p.peers.confidence, frame.with_columns(pl.lit(p.id).alias("partnership_id"))))
    return groups


def _population_file(path, names: list[str], default_year: int, key: str) -> list[tuple]:
    """Peer rows from a CSV of csp_name, population and, optionally, year (one row per CSP and year: ONS
    mid-year estimates); without a year column the populations describe `default_year`."""
    table = pl.read_csv(path, infer_schema=False)
    if not {"csp_name", "population"} <= set(table.columns):
        raise ConfigError(f"{key}: {path} needs the columns csp_name and population (and optionally year); found {', '.join(table.columns)}")
    if "year" not in table.columns:
        table = table.with_columns(pl.lit(str(default_year)).alias("year"))
    rows = []
    for name in names:
        found = table.filter(pl.col("csp_name") == name)
        for population, year in found.select("population", "year").iter_rows():
            if not (population or "").strip().isdigit() or int(population) <= 0 or not (year or "").strip().isdigit():
                raise ConfigError(f"{key}: {path} gives peer {name!r} the population {population!r} for year {year!r}; "
                                  "expected a positive whole number and a year such as 2021")
            rows.append(("peer", "csp", name, int(population), int(year)))
        if found.is_empty():
            raise ConfigError(f"{key}: {path} has no row for peer {name!r}; add one (csp_name,population) or give csps[].population")
    return rows


def check_names(areas: pl.DataFrame, counts: pl.DataFrame, partnership_index: int) -> None:
    """Every configured CSP must appear in the landed tables by CSP, spelt as the Home Office spells it."""
    known = set(counts.filter(pl.col("area_type") == "csp")["area"].unique().to_list())
    for role, area in areas.filter(pl.col("area_type") == "csp").select("role", "area").iter_rows():
        if area not in known:
            key = f"partnerships[{partnership_index}].peers." + ("csp_name" if role == "partnership" else "csps")
            if not known:
                raise ConfigError(f"{key}: {area!r} cannot be compared: no Home Office table by CSP (with a CSP_Name column) "
                                  "has landed in raw/police_prc with four quarters of a financial year")
            close = difflib.get_close_matches(area, sorted(known), n=3)
            hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
            raise ConfigError(f"{key}: {area!r} is not a CSP with a complete financial year of the reporting period in the "
                              f"Home Office tables landed in raw.police_prc{hint}")


RATES_COLUMNS = {"partnership_id": pl.String, "offence_group": pl.String, "financial_year": pl.String, "role": pl.String,
                 "area": pl.String, "offences": pl.Int64, "population": pl.Int64, "population_year": pl.Int64,
                 "value": pl.Float64, "lower": pl.Float64, "upper": pl.Float64, "rank": pl.Int64, "n_ranked": pl.UInt32}


def build(ws: Workspace) -> tuple[pl.DataFrame, pl.DataFrame]:
    """marts.peer_rates and marts.peer_comparison for every partnership with a peers section."""
    config = ws.config()
    with ws.connect() as con:
        ensure_tables(con, SOURCES["police_prc"])
        prc = pl.from_arrow(con.sql(
            "SELECT force_name, csp_name, financial_year, financial_quarter, offence_group, offences FROM raw.police_prc").to_arrow_table())
        residents = {pid: (int(n), int(year)) for pid, n, year in con.execute(
            "SELECT partnership_id, sum(residents), any_value(population_year) FROM reference.geography GROUP BY ALL").fetchall()}
        years = [y for (y,) in con.execute("SELECT DISTINCT financial_year FROM conformed.dim_month").fetchall()]
    counts = offence_counts(prc).filter(pl.col("financial_year").is_in(years))
    rates, comparisons = [pl.DataFrame(schema=RATES_COLUMNS)], []
    index = {p.id: i for i, p in enumerate(config.partnerships)}
    for partnership_id, confidence, areas in peer_areas(ws, config, residents):
        check_names(areas, counts, index[partnership_id])
        group_rates = peer_rates(counts, areas, confidence)
        rates.append(group_rates)
        comparisons.append(peer_comparison(group_rates, confidence))
    rates_frame = pl.concat(rates, how="vertical_relaxed")
    return rates_frame, (pl.concat(comparisons) if comparisons else peer_comparison(rates_frame, 0.95))


def write_marts(ws: Workspace, rates: pl.DataFrame, comparison: pl.DataFrame) -> None:
    """Replace the two marts in the warehouse and export them to Parquet for the reports. Both hold the Home
    Office's published statistics: public."""
    with ws.connect() as con:
        con.execute("CREATE SCHEMA IF NOT EXISTS marts")
        for name, frame in (("peer_rates", rates), ("peer_comparison", comparison)):
            con.register("incoming", frame.with_columns(pl.lit("public").alias("disclosure_class")).to_arrow())
            con.execute(f"CREATE OR REPLACE TABLE marts.{name} AS SELECT * FROM incoming")
            con.unregister("incoming")
            export_parquet(con, f"marts.{name}", ws.marts / f"{name}.parquet")


DEPS = [dg.AssetKey(["raw", "police_prc"]), dg.AssetKey(["reference", "geography"]), dg.AssetKey(["conformed", "dim_month"])]


@dg.multi_asset(
    specs=[
        dg.AssetSpec(["marts", "peer_rates"], deps=DEPS,
                     group_name="marts", kinds={"duckdb", "python"},
                     description="Each partnership, its peer CSPs and its force: offences per 1,000 residents by offence group and financial year, with intervals and rank"),
        dg.AssetSpec(["marts", "peer_comparison"], deps=DEPS,
                     group_name="marts", kinds={"duckdb", "python"},
                     description="Each partnership against its most similar CSPs: rate, peer mean and their intervals, rank, force-area rate, above/below/similar"),
    ],
)
def peer_marts(workspace: WorkspaceResource):
    ws = workspace.get()
    rates, comparison = build(ws)
    write_marts(ws, rates, comparison)
    verdicts = comparison["verdict"].value_counts().rows() if comparison.height else []
    yield dg.MaterializeResult(asset_key=["marts", "peer_rates"], metadata={"dagster/row_count": rates.height})
    yield dg.MaterializeResult(asset_key=["marts", "peer_comparison"], metadata={
        "dagster/row_count": comparison.height, **{v.replace(" ", "_"): int(n) for v, n in verdicts}})


ASSETS = [peer_marts]
