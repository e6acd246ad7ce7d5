"""Reference assets: each partnership's geography, denominators and boundaries, and the national lookups.

They come from the files `partnership.yaml` names (built-in ones ship in data/reference/), so that a
partnership on another geography is a configuration change, not a code change. How each is read lives in
pipeline/geography.py; this module only writes the warehouse tables.
"""

from datetime import date

import dagster as dg
from dagster import AssetExecutionContext
import polars as pl
import shapely

from pipeline.config import Config
from pipeline.geography import geography_frame, imd_frame, national_lsoa_codes, workspace_boundaries
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


@dg.asset(key=["reference", "boundaries"], deps=[geography], group_name="reference",
          description="Each partnership LSOA's boundary (WKB, lon/lat) from the configured boundary files, for maps and spatial statistics")
def boundaries(workspace: WorkspaceResource) -> dg.MaterializeResult:
    ws = workspace.get()
    with ws.connect(read_only=True) as con:
        codes = {code for (code,) in con.execute("SELECT DISTINCT lsoa_code FROM reference.geography").fetchall()}
    shapes = workspace_boundaries(ws, ws.config(), codes)
    frame = pl.DataFrame(
        {"lsoa_code": list(shapes), "geometry": shapely.to_wkb(list(shapes.values()))},
        schema={"lsoa_code": pl.String, "geometry": pl.Binary},
    ).sort("lsoa_code")
    rows = _replace_table(ws, "boundaries", frame)
    return dg.MaterializeResult(metadata={"dagster/row_count": rows, "lsoas_without_boundary": len(codes) - rows})


@dg.asset(key=["reference", "imd"], group_name="reference",
          description="IMD 2019 (England) / WIMD 2019 (Wales) rank and decile per LSOA 2011; 1 = most deprived")
def imd(workspace: WorkspaceResource) -> dg.MaterializeResult:
    rows = _replace_table(workspace.get(), "imd", imd_frame())
    return dg.MaterializeResult(metadata={"dagster/row_count": rows})


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


ASSETS = [geography, boundaries, imd, lsoa_codes, offence_codes, sources, known_gaps]
