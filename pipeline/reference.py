"""Reference assets: each partnership's geography and denominators, and the national lookups.

They come from the files `partnership.yaml` names (built-in ones ship in data/reference/), so that a
partnership on another geography is a configuration change, not a code change.
"""

from datetime import date

import dagster as dg
from dagster import AssetExecutionContext
import polars as pl

from pipeline.config import Config, resolve_file
from pipeline.ingest.landing import national_lsoa_codes
from pipeline.paths import REFERENCE_DIR
from pipeline.resources import WorkspaceResource
from pipeline.workspace import Workspace


def _replace_table(ws: Workspace, table: str, frame: pl.DataFrame) -> int:
    with ws.connect() as con:
        con.execute("CREATE SCHEMA IF NOT EXISTS reference")
        con.register("incoming", frame.to_arrow())
        con.execute(f"CREATE OR REPLACE TABLE reference.{table} AS SELECT * FROM incoming")
        con.unregister("incoming")
    return frame.height


def geography_frame(ws: Workspace, config: Config) -> pl.DataFrame:
    """One row per partnership and LSOA: its ward, and the residents and households of the population year."""
    frames = []
    for p in config.partnerships:
        geo = p.geography
        lookup = pl.read_csv(resolve_file(geo.lookup.file, ws.root), infer_schema=False).select(
            pl.col(geo.lookup.lsoa).alias("lsoa_code"),
            pl.col(geo.lookup.ward_code).alias("ward_code"),
            pl.col(geo.lookup.ward_name).alias("ward_name"),
        )
        pop_cols = [pl.col(geo.population.lsoa).alias("lsoa_code"), pl.col(geo.population.persons).cast(pl.Int64).alias("residents")]
        if geo.population.households:
            pop_cols.append(pl.col(geo.population.households).cast(pl.Int64).alias("households"))
        population = pl.read_csv(resolve_file(geo.population.file, ws.root), infer_schema=False).select(pop_cols)
        if "households" not in population.columns:
            population = population.with_columns(pl.lit(None, pl.Int64).alias("households"))
        names = pl.read_csv(REFERENCE_DIR / "lsoa11_to_lsoa21.csv.gz", infer_schema=False)
        code, name = ("lsoa11cd", "lsoa11nm") if geo.vintage == 2011 else ("lsoa21cd", "lsoa21nm")
        names = names.select(pl.col(code).alias("lsoa_code"), pl.col(name).alias("lsoa_name"), pl.col("lad22cd").alias("lad_code")).unique("lsoa_code")
        frame = (
            lookup.join(names, on="lsoa_code", how="left")
            .filter(pl.col("lad_code").is_in(p.local_authorities))
            .join(population, on="lsoa_code", how="left")
            .with_columns(
                pl.lit(p.id).alias("partnership_id"),
                pl.lit(p.name).alias("partnership_name"),
                pl.lit(geo.population.year).alias("population_year"),
                pl.lit(geo.vintage).alias("lsoa_vintage"),
            )
        )
        if frame.is_empty():
            raise ValueError(f"partnership {p.id}: no LSOA of the lookup lies in {', '.join(p.local_authorities)}")
        frames.append(frame)
    return pl.concat(frames).select(
        "partnership_id", "partnership_name", "lsoa_code", "lsoa_name", "ward_code", "ward_name", "lad_code",
        "residents", "households", "population_year", "lsoa_vintage",
    )


@dg.asset(key=["reference", "geography"], group_name="reference", description="Partnership → ward → LSOA, with residents and households")
def geography(context: AssetExecutionContext, workspace: WorkspaceResource) -> dg.MaterializeResult:
    ws = workspace.get()
    frame = geography_frame(ws, ws.config())
    missing = frame.filter(pl.col("residents").is_null())
    if missing.height:
        raise ValueError(f"{missing.height} LSOA(s) have no population, e.g. {missing['lsoa_code'][0]}: check geography.population")
    rows = _replace_table(ws, "geography", frame)
    districts = pl.DataFrame(
        [{"partnership_id": p.id, "outward_postcode": d.upper()} for p in ws.config().partnerships for d in p.postcode_districts],
        schema={"partnership_id": pl.String, "outward_postcode": pl.String},
    )
    _replace_table(ws, "postcode_districts", districts)
    return dg.MaterializeResult(metadata={"dagster/row_count": rows, "partnerships": frame["partnership_id"].n_unique()})


@dg.asset(key=["reference", "lsoa_codes"], group_name="reference", description="Every LSOA code of England and Wales and its vintages (ONS)")
def lsoa_codes(workspace: WorkspaceResource) -> dg.MaterializeResult:
    rows = _replace_table(workspace.get(), "lsoa_codes", national_lsoa_codes())
    return dg.MaterializeResult(metadata={"dagster/row_count": rows})


@dg.asset(key=["reference", "offence_codes"], group_name="reference", description="Home Office offence code → group, subgroup, police.uk category")
def offence_codes(workspace: WorkspaceResource) -> dg.MaterializeResult:
    frame = pl.read_csv(REFERENCE_DIR / "ho_offence_codes_to_policeuk.csv", infer_schema=False).select(
        pl.col("Offence_Code").alias("offence_code"),
        pl.col("Offence_Description").alias("offence_description"),
        pl.col("Offence_Group").alias("offence_group"),
        pl.col("Offence_Subgroup").alias("offence_subgroup"),
        pl.col("Police.uk_Cat").alias("police_uk_category"),
    )
    rows = _replace_table(workspace.get(), "offence_codes", frame)
    return dg.MaterializeResult(metadata={"dagster/row_count": rows})


def expected_because(ws: Workspace, config: Config, name: str) -> str | None:
    """Why a source is expected (and can be overdue) in this workspace, or None: a partnership tracks the sources
    it has, not every source it might have."""
    enabled = config.source(name).enabled
    if enabled is not None:
        return "enabled in partnership.yaml" if enabled else None
    folder = ws.source_folder(config, name)
    if folder.is_dir() and any(not p.name.startswith(".") for p in folder.iterdir()):
        return f"files in {folder.relative_to(ws.root) if folder.is_relative_to(ws.root) else folder}/"
    return None


@dg.asset(key=["reference", "sources"], group_name="reference",
          description="Every registered source: its agency, cadence, publication lag and whether this workspace expects it")
def sources(workspace: WorkspaceResource) -> dg.MaterializeResult:
    from pipeline.sources import SOURCES

    ws = workspace.get()
    config = ws.config()
    rows = []
    for s in SOURCES.values():
        settings, because = config.source(s.name), expected_because(ws, config, s.name)
        rows.append({
            "source": s.name, "agency": s.agency, "title": s.title, "cadence": settings.cadence or s.cadence,
            "lag_months": s.lag_months if settings.lag_months is None else settings.lag_months,
            "expected": because is not None, "expected_because": because, "period_grain": s.period_grain,
        })
    frame = pl.DataFrame(rows, schema_overrides={"expected_because": pl.String})
    count = _replace_table(ws, "sources", frame)
    return dg.MaterializeResult(metadata={"dagster/row_count": count, "expected": int(frame["expected"].sum())})


@dg.asset(key=["reference", "known_gaps"], group_name="reference",
          description="Months a source is known to have no data (partnership.yaml sources.<name>.known_gaps), with why")
def known_gaps(workspace: WorkspaceResource) -> dg.MaterializeResult:
    ws = workspace.get()
    frame = pl.DataFrame(
        [{"source": name, "month": date(int(m[:4]), int(m[5:]), 1), "reason": reason}
         for name, settings in sorted(ws.config().sources.items()) for m, reason in sorted(settings.known_gaps.items())],
        schema={"source": pl.String, "month": pl.Date, "reason": pl.String},
    )
    return dg.MaterializeResult(metadata={"dagster/row_count": _replace_table(ws, "known_gaps", frame)})


ASSETS = [geography, lsoa_codes, offence_codes, sources, known_gaps]
