"""`csp`: the analyst's command line. Each command is a thin layer over the pipeline package."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from pipeline.config import ConfigError
from pipeline.paths import PROJECT_ROOT
from pipeline.workspace import STARTER_CONFIG, WORKSPACE_ENV, Workspace

app = typer.Typer(help="Community Safety Pipeline: strategic assessments, strategy reviews and scrutiny packs.", no_args_is_help=True)


@app.callback()
def _owner_only() -> None:
    """Everything csp writes (warehouse, run logs, restricted editions) is its owner's alone unless it says
    otherwise: a public edition is opened for reading when it is released."""
    os.umask(0o077)

console = Console(highlight=False, width=max(Console().width, 110))
DEFAULT_DEMO = PROJECT_ROOT / "data" / "demo"
WorkspaceOption = typer.Option(..., "--workspace", "-w", help="the workspace folder (holds partnership.yaml)")


def _workspace(path: Path) -> Workspace:
    from pipeline.ingest.pseudonymise import PseudonymKeyError, check_key_file

    ws = Workspace.at(path)
    try:
        ws.config()
        check_key_file()
    except ConfigError as exc:
        console.print(f"[red]configuration error[/red] {exc}")
        raise typer.Exit(2) from None
    except PseudonymKeyError as exc:
        console.print(f"[red]pseudonymisation key[/red] {exc}")
        raise typer.Exit(2) from None
    return ws


def dagster_home(ws: Workspace) -> Path:
    """The workspace's own Dagster instance (run history, logs; owner-only), configured by the project's dagster.yaml."""
    home = ws.root / ".dagster"
    home.mkdir(parents=True, exist_ok=True)
    home.chmod(0o700)
    shutil.copyfile(PROJECT_ROOT / "dagster.yaml", home / "dagster.yaml")
    return home


@app.command()
def init(directory: Path = typer.Argument(..., help="the folder to create or complete")) -> None:
    """Scaffold a workspace: partnership.yaml and the raw/, warehouse/, published/, restricted/, commentary/ folders."""
    ws = Workspace.at(directory)
    made = ws.scaffold()
    for path in made:
        console.print(f"created {path}")
    if not made:
        console.print(f"{ws.root} is already a workspace; nothing changed")


def run_pipeline(ws: Workspace, selection=None, show: bool = True) -> bool:
    """Materialise the whole graph (or a selection) in this process; returns whether every step succeeded."""
    import dagster as dg

    from pipeline.definitions import ALL_ASSETS, CHECKS
    from pipeline.resources import WorkspaceResource

    instance = dg.DagsterInstance.from_config(str(dagster_home(ws)))
    started = time.perf_counter()
    result = dg.materialize(
        [*ALL_ASSETS, *CHECKS],
        resources={"workspace": WorkspaceResource(root=str(ws.root))},
        instance=instance,
        selection=selection,
        raise_on_error=False,
        run_config={"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}},  # the summary below says it all
    )
    if show:
        _print_run(ws, result, ALL_ASSETS if selection is None else None)
        console.print(f"{'finished' if result.success else '[red]failed[/red]'} in {time.perf_counter() - started:.1f} s")
    return result.success


_SHOWN = ("dagster/row_count", "files_loaded", "files_refused", "rows_accepted", "rows_rejected")


def _print_run(ws: Workspace, result, planned=None) -> None:
    """One line per asset built, per check failed or warned, per step that failed, and what was held back."""
    table = Table(title=f"csp run: {ws.root}")
    table.add_column("asset or check")
    table.add_column("result")
    idle, built = [], set()
    for event in result.all_events:
        kind = event.event_type_value
        if kind == "ASSET_MATERIALIZATION":
            mat = event.step_materialization_data.materialization
            built.add(mat.asset_key)
            meta = {k: v.value for k, v in mat.metadata.items() if k in _SHOWN}
            if meta.get("files_loaded") == 0 and meta.get("files_refused") == 0:
                idle.append(mat.asset_key.path[-1])
                continue
            detail = ", ".join(f"{k.removeprefix('dagster/')}={v:,}" if isinstance(v, int) else f"{k}={v}" for k, v in meta.items())
            table.add_row(mat.asset_key.to_user_string(), detail or "done")
        elif kind == "ASSET_CHECK_EVALUATION":
            evaluation = event.event_specific_data
            if not evaluation.passed:
                colour = "red" if evaluation.severity.value == "ERROR" else "yellow"
                summary = (evaluation.description or "").splitlines()
                table.add_row(f"[{colour}]check {evaluation.check_name}[/{colour}]",
                              f"[{colour}]" + "; ".join(line.strip() for line in summary[1:4]) + f"[/{colour}]")
        elif kind == "STEP_FAILURE":
            error = event.step_failure_data.error
            if error and error.cls_name == "DagsterAssetCheckFailedError":
                continue  # already shown as the failed check itself
            message = (error.cause or error).message.strip() if error else "failed"
            table.add_row(f"[red]{event.step_key}[/red]", f"[red]{message.splitlines()[-1]}[/red]")
    if idle:
        table.add_row("raw (no new files)", ", ".join(idle))
    held = sorted(k.to_user_string() for a in planned or [] for k in a.keys if k not in built)
    if held:
        table.add_row("[red]not built[/red]", "[red]" + ", ".join(held) + " (held back by a failed step or blocking check)[/red]")
    console.print(table)


@app.command()
def run(workspace: Path = WorkspaceOption, select: str = typer.Option(None, help="a Dagster asset selection, e.g. 'marts/*'")) -> None:
    """Land new extracts, rebuild the warehouse and publish the documents."""
    ws = _workspace(workspace)
    if not run_pipeline(ws, select):
        raise typer.Exit(1)
    _print_published(ws)


def _print_published(ws: Workspace) -> None:
    for folder in (ws.published, ws.restricted):
        for path in sorted(folder.rglob("*")) if folder.is_dir() else []:
            if path.is_file() and path.suffix in (".html", ".pdf"):
                console.print(f"published {path}")


@app.command()
def demo(
    workspace: Path = typer.Option(DEFAULT_DEMO, "--workspace", "-w", help="where to build the demo workspace"),
    seed: int = typer.Option(None, help="the generator's seed (default: the fixed demo seed)"),
) -> None:
    """Build the synthetic Calderdale demo from nothing: workspace, extracts, warehouse and published reports."""
    from pipeline.demo import DEMO_SEED, generate_demo_extracts
    from pipeline.demo.police_prc import peers_config
    from pipeline.ingest.pseudonymise import KEY_ENV, create_key_file

    ws = Workspace.at(workspace)
    ws.scaffold(DEMO_CONFIG.replace("\nsources:\n", f"\n{peers_config()}sources:\n", 1))  # the peer group the demo writes
    if not os.environ.get(KEY_ENV):
        key, made = create_key_file()
        console.print(f"{'created' if made else 'using'} the pseudonymisation key {key} (kept outside the workspace)")
    started = time.perf_counter()
    written = generate_demo_extracts(ws.raw, seed=DEMO_SEED if seed is None else seed)
    files = sum(len(v) for v in written.values())
    console.print(f"generated {files} synthetic extract files in {ws.raw} ({time.perf_counter() - started:.1f} s)")
    if not run_pipeline(_workspace(ws.root)):
        raise typer.Exit(1)
    _print_published(ws)


CHECK_REPORT = "data_quality.html"


@app.command()
def check(workspace: Path = WorkspaceOption) -> None:
    """Land and check what is in raw/ without publishing: a table per source, and an HTML report for partners.

    Exit status 0 when nothing blocks publishing, 1 when a check fails with severity error.
    """
    import dagster as dg

    from pipeline.quality.report import collect, write_report

    ws = _workspace(workspace)
    landed = run_pipeline(ws, dg.AssetSelection.groups("reference", "raw"), show=False)
    tracked = run_pipeline(
        ws, [dg.AssetKey(["conformed", "dim_month"]), dg.AssetKey(["conformed", "source_periods"]),
             dg.AssetKey(["marts", "mart_submissions"])], show=False,
    )
    statuses = collect(ws)
    table = Table(title=f"csp check: {ws.root}")
    for heading in ("source", "files", "refused", "read", "accepted", "rejected", "passed", "warned", "failed", "overdue"):
        table.add_column(heading, justify="left" if heading == "source" else "right", no_wrap=True)
    for s in statuses:
        overdue = str(len(s.overdue)) if s.overdue else ""
        table.add_row(
            f"[red]{s.source}[/red]" if s.blocking else s.source, str(s.files_loaded),
            f"[red]{s.files_refused}[/red]" if s.files_refused else "0", f"{s.rows_read:,}", f"{s.rows_accepted:,}",
            f"{s.rows_rejected:,}", str(s.passed), str(s.warned), f"[red]{s.failed}[/red]" if s.failed else "0",
            f"[yellow]{overdue}[/yellow]" if overdue else "",
        )
    console.print(table)
    for s in statuses:
        for suite, expectation, column, severity, observed, threshold, examples in s.failures:
            colour = "red" if severity == "error" else "yellow"
            console.print(f"[{colour}]{severity.upper()}[/{colour}] {s.source}: {suite}: {expectation}"
                          f"{f'({column})' if column else ''}: observed {observed}; expected {threshold}"
                          + (f"; e.g. {examples}" if examples else ""))
        for file_name, reason in s.refusals:
            console.print(f"[red]REFUSED[/red] {file_name}: {reason}")
        if s.overdue:
            span = f"{s.overdue[0]} to {s.overdue[-1]}" if len(s.overdue) > 1 else s.overdue[0]
            console.print(f"[yellow]OVERDUE[/yellow] {s.source}: {len(s.overdue)} quarter(s) not received, {span}")
    report = write_report(ws, statuses, ws.restricted / CHECK_REPORT)
    console.print(f"data-quality report: {report}")
    blocked = any(s.blocking for s in statuses) or not (landed and tracked)
    console.print("[red]publishing is blocked[/red]" if blocked else "nothing blocks publishing")
    raise typer.Exit(1 if blocked else 0)


@app.command()
def status(workspace: Path = WorkspaceOption) -> None:
    """What has been landed, refused and published, read without taking the writer's lock."""
    ws = _workspace(workspace)
    if not ws.database.exists():
        console.print("nothing built yet: run `csp run --workspace ...`")
        raise typer.Exit(0)
    with ws.connect(read_only=True) as con:
        rows = con.execute(
            """SELECT source, count(*), sum(rows_accepted), sum(rows_rejected), min(period_from), max(period_to)
               FROM raw._manifest GROUP BY source ORDER BY source"""
        ).fetchall()
        refused = con.execute("SELECT source, file_name, reason FROM raw._refusals ORDER BY source, file_name").fetchall()
    table = Table(title="landed extracts")
    for heading in ("source", "files", "rows accepted", "rows rejected", "from", "to"):
        table.add_column(heading)
    for source, n, ok, bad, start, end in rows:
        table.add_row(source, str(n), f"{ok:,}", f"{bad:,}", f"{start:%Y-%m}", f"{end:%Y-%m}")
    console.print(table)
    for source, name, reason in refused:
        console.print(f"[red]refused[/red] {source}: {name}: {reason}")
    _print_published(ws)


@app.command()
def dev(
    workspace: Path = typer.Option(DEFAULT_DEMO, "--workspace", "-w"),
    port: int = 3000,
    host: str = typer.Option("127.0.0.1", help="the address the UI listens on; 0.0.0.0 opens it to the network"),
) -> None:
    """The Dagster UI and daemon over the given workspace, on this machine only unless --host says otherwise."""
    ws = _workspace(workspace)
    env = {**os.environ, "DAGSTER_HOME": str(dagster_home(ws)), WORKSPACE_ENV: str(ws.root)}
    dagster = Path(sys.executable).with_name("dagster")
    command = [str(dagster), "dev", "-m", "pipeline.definitions", "-h", host, "-p", str(port)]
    console.print(f"Dagster UI on http://{host}:{port} over {ws.root} (Ctrl-C stops it)")
    raise typer.Exit(subprocess.call(command, env=env, cwd=PROJECT_ROOT))


@app.command()
def bench(out: Path = typer.Option(PROJECT_ROOT / ".bench" / "bench.json", help="where the figures are written (JSON)")) -> None:
    """Benchmarks: landing vs DuckDB's bare scan, GX suites vs the same checks in plain SQL (docs/benchmarks.md)."""
    from pipeline.bench import main

    main(out)
    console.print(f"figures written to {out}")


@app.command()
def audit(
    folder: Path = typer.Argument(..., help="a folder of outputs (an edition, or any folder of HTML, PDF, CSV, XLSX)"),
    threshold: int = typer.Option(None, help="the smallest count that may be shown (default: the workspace's, else 5)"),
    workspace: Path = typer.Option(None, "--workspace", "-w", help="take the threshold from this workspace's partnership.yaml"),
) -> None:
    """Audit outputs for disclosure: small counts, cells recoverable from totals, person identifiers.

    Exit status 0 when nothing was found, 1 when something was (each finding names file, place and what)."""
    from pipeline.publish.audit import audit_folder

    if not folder.is_dir():
        console.print(f"[red]{folder}: not a folder[/red]")
        raise typer.Exit(2)
    limit = threshold or (_workspace(workspace).config().disclosure.threshold if workspace else 5)
    findings = audit_folder(folder, limit)
    for finding in findings:
        console.print(f"[red]FINDING[/red] {finding}", soft_wrap=True)
    console.print(f"{len(findings)} finding(s) in {folder} (threshold {limit})" if findings else f"{folder}: clean (threshold {limit})")
    raise typer.Exit(1 if findings else 0)


key_app = typer.Typer(help="The pseudonymisation key (kept outside every workspace).")
app.add_typer(key_app, name="key")


@key_app.command("create")
def key_create() -> None:
    """Create the pseudonymisation key file if there is none; an existing key is never replaced."""
    from pipeline.ingest.pseudonymise import create_key_file

    path, made = create_key_file()
    console.print(f"{'created' if made else 'kept the existing'} pseudonymisation key {path}")


DEMO_CONFIG = STARTER_CONFIG.replace("synthetic: false", "synthetic: true").replace(
    "name: {name}", "name: Calderdale demo (synthetic data)"
)

if __name__ == "__main__":
    app()
