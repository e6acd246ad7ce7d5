"""One factory turns each `sql/<layer>/<name>.sql` into the asset `<layer>/<name>`.

A model file is a single SELECT; the factory wraps it in `CREATE OR REPLACE TABLE <layer>.<name>`, so a
model is idempotent by construction. Its dependencies are the `schema.table` names it reads, so each one is
stated once, in the SQL itself. The comment lines at the top are the asset's description. Marts are also
exported to Parquet (atomically) for the reports and other readers, who never open the live warehouse.
Models may read the run's settings with getvariable('period_start'), getvariable('period_end').

A staging or conformed model whose rows each have a `month` may say so in its header (`-- partitioned by quarter`):
it becomes a quarterly-partitioned asset, and a run rebuilds only the quarters it covers (pipeline/partitions.py).
"""


import os
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import dagster as dg
from dagster import AssetExecutionContext  # a real class: Dagster checks the annotation

from pipeline import partitions
from pipeline.paths import SQL_DIR
from pipeline.resources import WorkspaceResource
from pipeline.workspace import SHARED_MACROS, Workspace

LAYERS = ("staging", "conformed", "marts")
READABLE_SCHEMAS = ("raw", "reference", "quality", *LAYERS)  # quality.results: pipeline/quality/checks.py
_REFERENCE = re.compile(r"\b(" + "|".join(READABLE_SCHEMAS) + r")\.([a-z_][a-z0-9_]*)\b")
PARTITIONED = "-- partitioned by quarter"  # a header line: the quarter of the model's `month` column is its partition


@dataclass(frozen=True)
class Model:
    layer: str
    name: str
    path: Path
    sql: str

    @property
    def key(self) -> dg.AssetKey:
        return dg.AssetKey([self.layer, self.name])

    @property
    def header(self) -> list[str]:
        """The comment lines the file starts with."""
        lines = []
        for line in self.sql.splitlines():
            if not line.startswith("--"):
                break
            lines.append(line.strip())
        return lines

    @property
    def description(self) -> str:
        return " ".join(line[2:].strip() for line in self.header if line != PARTITIONED)

    @property
    def partitioned(self) -> bool:
        return PARTITIONED in self.header

    @property
    def reads(self) -> list[dg.AssetKey]:
        body = "\n".join(line.split("--", 1)[0] for line in self.sql.splitlines())
        # raw._manifest and the other bookkeeping tables belong to the raw assets upstream, not assets of their own
        keys = {dg.AssetKey([s, t]) for s, t in _REFERENCE.findall(body) if not t.startswith("_")}
        return sorted(keys - {self.key}, key=str)


def discover(sql_dir: Path = SQL_DIR) -> list[Model]:
    models = []
    for layer in LAYERS:
        for path in sorted((sql_dir / layer).glob("*.sql")):
            models.append(Model(layer, path.stem, path, path.read_text(encoding="utf-8")))
    return models


AS_OF_ENV = "CSP_AS_OF"


def as_of() -> date:
    """The day "overdue" is measured against: a run parameter (`csp run --as-of`, i.e. CSP_AS_OF), else the run's day.

    Only submission tracking and the period checks read it; indicators are anchored on the period end, so the
    same extracts give the same figures whatever day they are built.
    """
    given = os.environ.get(AS_OF_ENV)
    return date.fromisoformat(given) if given else date.today()


def run_settings(ws: Workspace) -> dict[str, str]:
    """The reporting period, and the "as of" day of the run."""
    config = ws.config()
    return {
        "period_start": f"{config.period.start}-01",
        "period_end": f"{config.period.end}-01",
        "as_of": as_of().isoformat(),
    }


def set_run_variables(con, ws: Workspace) -> None:
    """What models and suites may read with getvariable(): the reporting period."""
    for name, value in run_settings(ws).items():
        con.execute(f"SET VARIABLE {name} = '{value}'")


def build_model(ws: Workspace, model: Model, span: tuple[date, date] | None = None) -> int:
    """Build the model's table: whole, or for a partitioned model the months of `span` (whole when it is new or
    its SQL, the macros or partnership.yaml changed since it was last built)."""
    with ws.connect() as con:
        set_run_variables(con, ws)
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {model.layer}")
        table = f"{model.layer}.{model.name}"
        try:
            if span is None:
                con.execute(f"CREATE OR REPLACE TABLE {table} AS\n{model.sql}")
            else:
                built_by = model_fingerprint(ws, model)
                whole = partitions.rebuilt_whole(con, table, built_by)
                partitions.replace_window(con, table, model.sql, "month", None if whole else span, built_by)
        except Exception as exc:  # duckdb's errors say what; add which file
            raise RuntimeError(f"{model.path.relative_to(model.path.parents[2])}: {exc}") from exc
        rows = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        if model.layer == "marts":
            export_parquet(con, table, ws.marts / f"{model.name}.parquet")
    return rows


def model_fingerprint(ws: Workspace, model: Model) -> str:
    """What a partitioned model's rows depend on besides its inputs' rows: its SQL, the macros and the configuration."""
    return partitions.fingerprint(model.sql, SHARED_MACROS, ws.config_path.read_text(encoding="utf-8"))


def export_parquet(con, table: str, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    con.execute(f"COPY {table} TO '{partial}' (FORMAT parquet)")
    os.replace(partial, target)


def model_asset(model: Model) -> dg.AssetsDefinition:
    @dg.asset(
        key=model.key,
        deps=model.reads,
        group_name=model.layer,
        description=model.description or None,
        kinds={"duckdb", "sql"},
        metadata={"sql": dg.MetadataValue.md(f"```sql\n{model.sql}\n```"), "file": str(model.path.relative_to(SQL_DIR.parent))},
        partitions_def=partitions.QUARTERS if model.partitioned else None,
        backfill_policy=partitions.SINGLE_RUN if model.partitioned else None,
    )
    def _asset(context: AssetExecutionContext, workspace: WorkspaceResource) -> dg.MaterializeResult:
        span = partitions.window(context) if model.partitioned else None
        rows = build_model(workspace.get(), model, span)
        months = {"months": partitions.window_label(span)} if span else {}
        return dg.MaterializeResult(metadata={"dagster/row_count": rows, **months})

    return _asset


ASSETS = [model_asset(m) for m in discover()]
