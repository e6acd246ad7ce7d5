"""`csp`: the analyst's command line. Each command is a thin layer over the pipeline package."""

from __future__ import annotations

import dataclasses
import os
import shutil
import signal
import subprocess
import sys
import re
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from pipeline.config import ConfigError
from pipeline.demo.calendar import DEMO_CALENDAR
from pipeline.demo.scrutiny import DEMO_SCRUTINY
from pipeline.demo.strategy import DEMO_STRATEGY
from pipeline.paths import INSTANCE_CONFIG, PROJECT_ROOT
from pipeline.workspace import STARTER_CONFIG, WORKSPACE_ENV, Workspace

EXIT_OK, EXIT_NEEDS_ANALYST, EXIT_USAGE = 0, 1, 2
EXIT_CODES = (
    "Exit status (every command): 0 done (published, or nothing needs attention); 1 something needs the analyst "
    "(a refused file, a blocking check, a failed step, an overdue source with --strict); 2 a usage or "
    "configuration error (partnership.yaml, a reference file it names, the pseudonymisation key)."
)
app = typer.Typer(
    help="Community Safety Pipeline: strategic assessments, strategy reviews and scrutiny packs.\n\n" + EXIT_CODES,
    no_args_is_help=True,
)
console = Console(highlight=False, width=max(Console().width, 130))


@app.callback()
def _owner_only() -> None:
    """Everything csp writes (warehouse, run logs, restricted editions) is its owner's alone unless it says
    otherwise: a public edition is opened for reading when it is released."""
    os.umask(0o077)

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
        raise typer.Exit(EXIT_USAGE) from None
    except PseudonymKeyError as exc:
        console.print(f"[red]pseudonymisation key[/red] {exc}")
        raise typer.Exit(EXIT_USAGE) from None
    return ws


INSTANCE_DIR = ".dagster"


def dagster_home(ws: Workspace) -> Path:
    """The workspace's own Dagster instance (run history, logs; owner-only), configured by the project's dagster.yaml."""
    home = ws.root / INSTANCE_DIR
    home.mkdir(parents=True, exist_ok=True)
    home.chmod(0o700)
    shutil.copyfile(INSTANCE_CONFIG, home / "dagster.yaml")
    return home


@app.command()
def init(
    directory: Path = typer.Argument(..., help="the folder to create or complete"),
    local_authority: list[str] = typer.Option(
        None, "--local-authority", "-l", help="GSS code of a local authority (repeat for a group), e.g. E09000002"),
    name: str = typer.Option(None, help="the partnership's name (default: from its local authorities)"),
    period: str = typer.Option(None, help="the months covered, START:END as YYYY-MM:YYYY-MM (default 2020-04:2025-03)"),
) -> None:
    """Scaffold a workspace: partnership.yaml and the raw/, warehouse/, published/, restricted/, commentary/ folders.

    With --local-authority, partnership.yaml covers those authorities on the national geography shipped with csp;
    without, it is a worked example for Calderdale. Exit status 2 for an unknown code or a malformed period.
    """
    ws = Workspace.at(directory)
    text = None
    if local_authority or name or period:
        text = _starter_for(ws, local_authority, name, period)
    made = ws.scaffold(text)
    for path in made:
        console.print(f"created {path}")
    if not made:
        console.print(f"{ws.root} is already a workspace; nothing changed")
    elif ws.config_path in made:
        _describe_geography(ws)
        if not local_authority:
            console.print("partnership.yaml is a worked example for Calderdale: "
                          "`csp init DIR --local-authority CODE` writes one for your area")


def _starter_for(ws: Workspace, codes: list[str], name: str | None, period: str | None) -> str:
    """The partnership.yaml `csp init` writes for these options, validated; exits 2 on a usage error."""
    from pipeline.config import parse_config
    from pipeline.geography import unknown_local_authority
    from pipeline.workspace import PERIOD, starter_config

    if ws.config_path.exists():
        console.print(f"[red]usage error[/red] {ws.config_path} exists and is never overwritten; "
                      "edit it, or init another folder")
        raise typer.Exit(2)
    if not codes:
        console.print("[red]usage error[/red] --name and --period need --local-authority CODE (e.g. E09000002)")
        raise typer.Exit(2)
    problems = [f"--local-authority: {reason}" for reason in map(unknown_local_authority, codes) if reason]
    codes = [c.strip().upper() for c in codes]
    start, _, end = (period or ":".join(PERIOD)).partition(":")
    if not end:
        problems.append(f"--period: found {period!r}; expected START:END as YYYY-MM:YYYY-MM, e.g. 2021-04:2025-03")
    for problem in problems:
        console.print(f"[red]usage error[/red] {problem}")
    if problems:
        raise typer.Exit(2)
    text = starter_config(codes, name=name, period=(start, end))
    try:
        parse_config(text, origin="csp init")  # e.g. a month that is not YYYY-MM, or a start after the end
    except ConfigError as exc:
        console.print(f"[red]usage error[/red] {exc}")
        raise typer.Exit(2) from None
    return text


def _describe_geography(ws: Workspace) -> None:
    """One line per partnership: what the new workspace covers."""
    from pipeline.geography import geography_frame

    config = ws.config()
    frame = geography_frame(ws, config)
    for p in config.partnerships:
        rows = frame.filter(frame["partnership_id"] == p.id)
        console.print(f"partnership {p.id}: {p.name}: {rows.height:,} LSOAs (2011) in {rows['ward_code'].n_unique()} wards, "
                      f"{rows['residents'].sum():,} residents (Census {p.geography.population.year})")


@dataclass
class RunOutcome:
    """What one materialisation did, in the analyst's terms: every failed step and refused file, explained."""

    success: bool
    failures: list[str] = field(default_factory=list)  # one line per failed step: what, where, why
    refusals: list[tuple[str, str, str]] = field(default_factory=list)  # (source, file, reason), refused in this run
    held: list[tuple[str, str, str]] = field(default_factory=list)  # (source, file, reason): re-issues awaiting `csp accept`
    configuration: bool = False  # a step failed for want of a usable configuration (exit 2, not 1)

    @property
    def exit_code(self) -> int:
        if self.configuration:
            return EXIT_USAGE
        return EXIT_OK if self.success and not self.refusals and not self.held else EXIT_NEEDS_ANALYST


def run_pipeline(ws: Workspace, selection=None, show: bool = True, rebuild: bool = False) -> RunOutcome:
    """Materialise the whole graph (or a selection) in this process, and say what went wrong where.

    The partitioned assets cover the quarters pipeline/ingest/plan.py finds: those of new extracts (and
    every later month), every landed month when partnership.yaml changed or `rebuild`, none when nothing is new."""
    import dagster as dg

    from pipeline import partitions
    from pipeline.definitions import ALL_ASSETS, ALL_CHECKS, defs
    from pipeline.ingest.plan import record_run
    from pipeline.resources import WorkspaceResource

    whole_graph = selection is None
    selection = _asset_selection(selection) if isinstance(selection, str) else (selection or dg.AssetSelection.all())
    selection, tags, months = plan_run(ws, selection, rebuild)
    if show and months is not None:
        span = partitions.window_label((months.first, partitions.month_after(months.last))) if months.months else "none"
        console.print(f"months: {span} ({months.why})")
    if not selection.resolve(defs.resolve_asset_graph()) and not selection.resolve_checks(defs.resolve_asset_graph()):
        if show:
            console.print("nothing to build: every asset selected is partitioned, and no extract is new")
        return RunOutcome(True)
    instance = dg.DagsterInstance.from_config(str(dagster_home(ws)))
    started = time.perf_counter()
    since = datetime.now()
    result = dg.materialize(
        [*ALL_ASSETS, *ALL_CHECKS],
        resources={"workspace": WorkspaceResource(root=str(ws.root), partnership=ws.partnership, period_end=ws.period_end)},
        instance=instance,
        selection=selection,
        tags=tags,
        raise_on_error=False,
        run_config={"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}},  # the summary below says it all
    )
    failures, configuration = step_failures(ws, result.all_events)
    outcome = RunOutcome(result.success, failures, refusals=_files_since(ws, "_refusals", "seen_at", since),
                         held=_files_since(ws, "_held", "held_at", since), configuration=configuration)
    if result.success and months is not None:  # what is now built, and with which partnership.yaml
        record_run(ws, tags, datetime.now())
    if show:
        _print_run(ws, result, selection.resolve(defs.resolve_asset_graph()) if whole_graph else None)
        _print_problems(outcome)
        console.print(f"{'finished' if result.success else '[red]failed[/red]'} in {time.perf_counter() - started:.1f} s")
    return outcome


def plan_run(ws: Workspace, selection, rebuild: bool = False):
    """The selection and tags a run of `selection` needs: its partitioned assets cover the quarters of the new
    files (pipeline/ingest/plan.py), and only what those files feed is built; without anything new, no
    partitioned asset is. Returns (selection, tags, plan or None when the selection has no partitioned asset)."""
    import dagster as dg

    from pipeline.definitions import defs
    from pipeline.ingest.plan import plan

    graph = defs.resolve_asset_graph()
    by_month = [key for key in selection.resolve(graph) if graph.get(key).partitions_def is not None]
    if not by_month:
        return selection, {}, None
    months = plan(ws, rebuild=rebuild)
    if months.months is None:
        return selection - dg.AssetSelection.assets(*by_month), {}, months
    if not months.rebuild and not months.first_build:  # only what the new files feed: their quarters, then the marts
        selection = selection & months.fed()
    months = months.scoped(selection.resolve(graph), graph)
    return selection, months.tags(), months


def step_failures(ws: Workspace, events) -> tuple[list[str], bool]:
    """A run's failed steps (Dagster events), one line each, and whether one failed for want of a usable
    configuration; a blocking check's failure is left out, as it is shown as the failed check itself."""
    lines, configuration = [], False
    for event in events:
        if event.event_type_value == "STEP_FAILURE":
            error = event.step_failure_data.error
            if error and error.cls_name == "DagsterAssetCheckFailedError":
                continue
            cause = _own_error(error)
            configuration |= cause is not None and cause.cls_name in _CONFIGURATION_ERRORS
            lines.append(explain_failure(ws, event.step_key, cause))
    return lines, configuration


def _asset_selection(text: str):
    """`--select` text as a Dagster selection; a bare `marts/*` means the asset keys it matches."""
    import dagster as dg

    from pipeline.definitions import defs

    query = text if ":" in text or " " in text else f"key:{text}"
    try:
        selection = dg.AssetSelection.from_string(query)
        if not selection.resolve(defs.resolve_asset_graph()):
            raise ValueError("it matches no asset")
    except Exception as exc:  # Dagster's parse and resolve errors
        raise typer.BadParameter(f"{text!r} is not an asset selection this project can run ({str(exc).splitlines()[0]}); "
                                 "e.g. 'marts/*', 'reports/scrutiny_pack' or 'key:raw/* or key:staging/*' (csp dev shows the graph)",
                                 param_hint="--select") from None
    return selection


_CONFIGURATION_ERRORS = {"ConfigError", "PseudonymKeyError"}  # fixed in partnership.yaml or the key, not in the data
_MESSAGE_LINES = 4  # of an exception's message (DuckDB adds the offending SQL line and a caret)
_TRACEBACK = re.compile(r"^(-{10,}|Traceback \(most recent call last\))")


def _own_error(error):
    """The pipeline's own exception inside Dagster's wrappers (its class name and message)."""
    while error is not None and error.cls_name.startswith("Dagster") and error.cause is not None:
        error = error.cause
    return error


def step_source(ws: Workspace, step_key: str) -> tuple[str, str]:
    """What kind of step an asset's step is, and the file or partnership.yaml key it comes from."""
    from pipeline.models.sql_assets import LAYERS
    from pipeline.paths import REPORTS_DIR, SQL_DIR
    from pipeline.quality.checks import CHECKS, suite_files
    from pipeline.quality.freshness import freshness_checks

    suites = {check.node_def.name: suite for check, suite in zip(CHECKS, suite_files())}  # CHECKS is made from suite_files()
    if step_key in suites:
        return "check", str(suites[step_key].path.relative_to(PROJECT_ROOT))
    if step_key == freshness_checks.node_def.name:
        return "check", "pipeline/quality/freshness.py, reading marts.mart_submissions"
    layer, _, name = step_key.partition("__")
    if layer == "raw":
        try:
            folder = ws.source_folder(ws.config(), name).relative_to(ws.root)
        except (ConfigError, ValueError):
            folder = Path("raw") / name
        return "landing", f"{folder}/, partnership.yaml sources.{name}"
    if layer == "reference":
        if name in ("geography", "boundaries"):
            return "reference data", "partnership.yaml partnerships[].geography and the files it names"
        return "reference data", "data/reference/ (shipped with csp)"
    if layer in LAYERS and (SQL_DIR / layer / f"{name}.sql").is_file():
        return "model", f"sql/{layer}/{name}.sql"
    if layer == "reports":
        return "rendering", str((REPORTS_DIR / f"{name}.qmd").relative_to(REPORTS_DIR.parent))
    return "step", f"asset {layer}/{name}"


def explain_failure(ws: Workspace, step_key: str, cause) -> str:
    """A failed step in one line: its kind and asset, the file or partnership.yaml key it comes from, and why."""
    kind, where = step_source(ws, step_key)
    asset = Path(where).stem if kind == "check" else step_key.replace("__", "/", 1)
    if cause is None:
        return f"{kind} {asset} ({where})"
    message = re.sub(r"^[\w.]+: ", "", cause.message.strip())  # the exception's class: its message says it all
    message = message.removeprefix(f"{where}: ")  # a model's error already starts with its file
    lines = []
    for line in message.splitlines():
        if _TRACEBACK.match(line.strip()):
            break  # a notebook's error quotes its traceback after the message
        lines += [line.strip()] if line.strip() else []
    return f"{kind} {asset} ({where}): {' '.join(lines[:_MESSAGE_LINES])}"


def _files_since(ws: Workspace, table: str, stamp: str, since: datetime) -> list[tuple[str, str, str]]:
    """Files refused (raw._refusals) or held (raw._held) by this run: one still in its folder is again each run."""
    from pipeline.quality.report import table_exists

    if not ws.database.exists():
        return []
    with ws.connect(read_only=True) as con:
        if not table_exists(con, "raw", table):
            return []
        return con.execute(
            f"SELECT DISTINCT source, file_name, reason FROM raw.{table} WHERE {stamp} >= ? ORDER BY source, file_name", [since]
        ).fetchall()


def _print_problems(outcome: RunOutcome) -> None:
    for line in outcome.failures:
        console.print(f"[red]FAILED[/red] {line}")
    for source, file_name, reason in outcome.refusals:
        console.print(f"[red]REFUSED[/red] {file_name} (sources.{source}): {reason}")
    for _, file_name, reason in outcome.held:
        console.print(f"[yellow]HELD[/yellow] {file_name}: {reason}")


_SHOWN = ("dagster/row_count", "files_loaded", "files_refused", "files_held", "rows_accepted", "rows_rejected", "rows_repeated", "placement")


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
            if mat.asset_key in built:  # a partitioned asset: one event per quarter of the run, one line here
                continue
            built.add(mat.asset_key)
            meta = {k: v.value for k, v in mat.metadata.items() if k in _SHOWN}
            if meta.get("files_loaded") == 0 and meta.get("files_refused") == 0 and not meta.get("files_held"):
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
        elif kind == "STEP_FAILURE" and event.step_failure_data.error.cls_name != "DagsterAssetCheckFailedError":
            table.add_row(f"[red]{event.step_key.replace('__', '/', 1)}[/red]", "[red]failed (see below)[/red]")
    if idle:
        table.add_row("raw (no new files)", ", ".join(idle))
    held = sorted(k.to_user_string() for k in planned or [] if k not in built)
    if held:
        table.add_row("[red]not built[/red]", "[red]" + ", ".join(held) + " (held back by a failed step or blocking check)[/red]")
    console.print(table)


StrictOption = typer.Option(False, "--strict", help="exit 1 when a source is overdue (a quarter due and not received)")
AsOfOption = typer.Option(None, "--as-of", help="the day overdue submissions are judged on, YYYY-MM-DD (default: today)")


def _set_as_of(day: str | None) -> None:
    """A run parameter, not the clock: the same extracts and day give the same submission statuses."""
    from pipeline.models.sql_assets import AS_OF_ENV

    if day is None:
        return
    try:
        date.fromisoformat(day)
    except ValueError:
        console.print(f"[red]usage error[/red] --as-of: found {day!r}; expected a day written YYYY-MM-DD, such as 2025-06-30")
        raise typer.Exit(EXIT_USAGE) from None
    os.environ[AS_OF_ENV] = day


@app.command()
def run(
    workspace: Path = WorkspaceOption,
    select: str = typer.Option(None, help="a Dagster asset selection, e.g. 'marts/*'"),
    strict: bool = StrictOption,
    as_of: str = AsOfOption,
    rebuild: bool = typer.Option(False, "--rebuild", help="rebuild every quarter of every table, not only those of new extracts"),
) -> None:
    """Land new extracts, rebuild what they feed (their quarters, then the marts) and publish the documents.

    Exit status: 0 published and nothing refused; 1 a file refused, a blocking check or a step failed, an overdue source with --strict; 2 a configuration error.
    """
    _set_as_of(as_of)
    ws = _workspace(workspace)
    outcome = run_pipeline(ws, select, rebuild=rebuild)
    if outcome.success:
        _print_published(ws)
    from pipeline.quality.freshness import overdue_text

    overdue = _overdue(ws) if strict else []
    for source, quarters in overdue:
        console.print(f"[yellow]OVERDUE[/yellow] {source}: {overdue_text(quarters)}")
    done = ("published" if select is None else "built") if outcome.success else "what depends on a failure was not built"
    raise typer.Exit(_verdict(outcome, overdue, done))


def _verdict(outcome: RunOutcome, overdue: list, done: str) -> int:
    """The last line: why the exit status is what it is, and what was done."""
    code = outcome.exit_code if outcome.exit_code or not overdue else EXIT_NEEDS_ANALYST
    reasons = [f"{len(outcome.failures)} step(s) failed"] if outcome.failures else []
    reasons += [f"{len(outcome.refusals)} file(s) refused"] if outcome.refusals else []
    reasons += [f"{len(outcome.held)} file(s) held"] if outcome.held else []
    reasons += ["a blocking check failed"] if not outcome.success and not outcome.failures else []
    reasons += [f"{len(overdue)} source(s) overdue"] if overdue else []
    if code == EXIT_OK:
        console.print(f"{done}; nothing needs attention (exit 0)")
    else:
        kind = "configuration error" if code == EXIT_USAGE else "needs the analyst"
        console.print(f"[red]{kind}[/red]: {', '.join(reasons)}; {done} (exit {code})")
    return code


def _overdue(ws: Workspace) -> list[tuple[str, list[str]]]:
    """Sources with quarters due and not received (marts.mart_submissions), oldest first."""
    from pipeline.quality.freshness import read_freshness

    if not ws.database.exists():
        return []
    with ws.connect(read_only=True) as con:
        return [(f.source, f.overdue) for f in read_freshness(con).values() if f.overdue]


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
    outcome = run_pipeline(_workspace(ws.root))
    if outcome.success:
        _print_published(ws)
    raise typer.Exit(_verdict(outcome, [], "published" if outcome.success else "what depends on a failure was not built"))


@app.command()
def publish(
    workspace: Path = WorkspaceOption,
    report: list[str] = typer.Option(None, "--report", help="a document, as its reports/<name>.qmd stem, e.g. scrutiny_pack (repeat it; default: every one)"),
    partnership: list[str] = typer.Option(None, "--partnership", help="a partnership's id (repeat it; default: every one)"),
    broker: str = typer.Option(None, "--broker", envvar="CSP_CELERY_BROKER", show_envvar=True,
                               help="the Celery broker the workers listen on, e.g. redis://127.0.0.1:6379/0"),
) -> None:
    """Publish the documents on Celery workers: a run per partnership, side by side, each document a step any
    worker may take (docs/operations.md, "Across machines"). The marts must be built (`csp run`) and workers
    started on the same broker (`celery -A pipeline.celery_app worker`).

    Exit status: 0 published; 1 a step failed; 2 a usage or configuration error.
    """
    from pipeline.distributed import BROKER_ENV, publish_documents
    from pipeline.publish.assets import discover

    ws = _workspace(workspace)
    ids = [p.id for p in ws.config().partnerships]
    names = [r.name for r in discover()]
    problems = [f"--partnership {p}: no such partnership in {ws.config_path} (partnerships[].id: {', '.join(ids)})"
                for p in partnership or () if p not in ids]
    problems += [f"--report {r}: no reports/{r}.qmd (one of {', '.join(names)})" for r in report or () if r not in names]
    problems += [] if broker else [f"--broker: no Celery broker; give --broker URL or set {BROKER_ENV}"]
    for problem in problems:
        console.print(f"[red]usage error[/red] {problem}")
    if problems:
        raise typer.Exit(EXIT_USAGE)
    os.environ[BROKER_ENV] = broker  # the executor's config reads it (pipeline/distributed.py)
    started = time.perf_counter()
    runs = publish_documents(ws, dagster_home(ws), list(partnership or ids), list(report or ()) or None)
    failures, configuration = [], False
    for run in runs:
        lines, bad_config = step_failures(ws, run.events)
        failures += lines
        configuration |= bad_config
        console.print(f"partnership {run.partnership}: {'published' if run.success else '[red]failed[/red]'}")
    outcome = RunOutcome(all(r.success for r in runs), failures, configuration=configuration)
    _print_problems(outcome)
    console.print(f"{len(runs)} run(s) on Celery workers in {time.perf_counter() - started:.1f} s")  # not the URL: it may hold a password
    raise typer.Exit(_verdict(outcome, [], "published" if outcome.success else "what depends on a failure was not built"))


CHECK_REPORT = "data_quality.html"


@app.command()
def check(workspace: Path = WorkspaceOption, strict: bool = StrictOption, as_of: str = AsOfOption) -> None:
    """Land and check what is in raw/ without publishing: a table per source, and an HTML report for partners.

    Exit status: 0 nothing needs attention; 1 a file refused, a blocking check or a step failed, an overdue source with --strict; 2 a configuration error.
    """
    import dagster as dg

    from pipeline.quality.report import collect, write_report

    _set_as_of(as_of)
    ws = _workspace(workspace)
    from pipeline.quality.freshness import freshness_checks

    freshness = dg.AssetSelection.checks(freshness_checks)  # judged after the submissions mart, in the second run
    landed = run_pipeline(ws, dg.AssetSelection.groups("reference", "raw") - freshness, show=False)
    tracked = run_pipeline(
        ws, dg.AssetSelection.assets(dg.AssetKey(["conformed", "dim_month"]), dg.AssetKey(["conformed", "source_periods"]),
                                     dg.AssetKey(["marts", "mart_submissions"])) | freshness, show=False,
    )
    statuses = collect(ws)
    table = Table(title=f"csp check: {ws.root}")
    headings = ("source", "files", "refused", "read", "accepted", "rejected", "repeated", "passed", "warned", "failed", "overdue")
    for heading in headings:
        table.add_column(heading, justify="left" if heading == "source" else "right", no_wrap=True)
    for s in statuses:
        if not (s.expected_because or s.files_loaded or s.files_refused or s.held or s.failed or s.warned):
            continue  # a source this workspace neither uses nor has files for: named once, below the table
        overdue = str(len(s.overdue)) if s.overdue else ""
        table.add_row(
            f"[red]{s.source}[/red]" if s.blocking else s.source, str(s.files_loaded),
            f"[red]{s.files_refused}[/red]" if s.files_refused else "0", f"{s.rows_read:,}", f"{s.rows_accepted:,}",
            f"{s.rows_rejected:,}", f"{s.rows_repeated:,}", str(s.passed), str(s.warned),
            f"[red]{s.failed}[/red]" if s.failed else "0", f"[yellow]{overdue}[/yellow]" if overdue else "",
        )
    console.print(table)
    _print_expected(statuses)
    for s in statuses:
        for suite, expectation, column, severity, observed, threshold, examples in s.failures:
            colour = "red" if severity == "error" else "yellow"
            console.print(f"[{colour}]{severity.upper()}[/{colour}] {s.source}: {suite}: {expectation}"
                          f"{f'({column})' if column else ''}: observed {observed}; expected {threshold}"
                          + (f"; e.g. {examples}" if examples else ""))
        if s.rows_repeated:
            console.print(f"REPEATED {s.source}: {s.rows_repeated:,} row(s) repeat an earlier row of their file exactly "
                          f"(kept; see {CHECK_REPORT} for the files and lines)")
        _print_periods(s)
        _print_overdue(s)
    outcome = RunOutcome(
        landed.success and tracked.success and not any(s.blocking for s in statuses),
        failures=landed.failures + tracked.failures,
        refusals=[(s.source, name, reason) for s in statuses for name, reason in s.refusals],
        held=[(s.source, name, reason) for s in statuses for name, reason in s.held],
        configuration=landed.configuration or tracked.configuration,
    )
    _print_problems(outcome)
    report = write_report(ws, statuses, ws.restricted / CHECK_REPORT)
    console.print(f"data-quality report: {report}")
    overdue = [(s.source, s.overdue) for s in statuses if s.overdue] if strict else []
    raise typer.Exit(_verdict(outcome, overdue, "nothing blocks publishing" if outcome.success else "publishing is blocked"))


def _print_periods(s) -> None:
    """A source's months: missing, known gaps, and landed outside the period."""
    for line in s.periods.missing:
        console.print(f"[yellow]MISSING[/yellow] {s.source}: {line}")
    for line in s.periods.known_gaps:
        console.print(f"KNOWN GAP {s.source}: {line}")
    for line in s.periods.outside:
        console.print(f"OUTSIDE {s.source}: {line} (landed, kept as history)")


@app.command()
def accept(
    file: Path = typer.Argument(..., help="the held file, as `csp check` names it (raw/<source>/<file>)"),
    workspace: Path = WorkspaceOption,
    add: bool = typer.Option(False, "--add", help="keep the rows it would replace: a second file for the same period"),
) -> None:
    """Apply a held re-issue: its rows replace those of the periods it covers (with --add, they join them)."""
    from pipeline.ingest.assets import land
    from pipeline.ingest.landing import Accept
    from pipeline.sources import SOURCES

    ws = _workspace(workspace)
    config = ws.config()
    path = file if file.is_absolute() else ws.root / file
    source = next((s for s in SOURCES.values() if path.parent.resolve() == ws.source_folder(config, s.name).resolve()), None)
    if source is None or not path.is_file():
        folders = "raw/<source>/ (or a source's `folder` in partnership.yaml)"
        console.print(f"[red]{file}: {'not a file' if source else 'not in a source folder'}[/red]; expected a file in "
                      f"{folders} of {ws.root}, named as `csp check` names it, e.g. raw/police_street/2024-07.csv")
        raise typer.Exit(2)
    outcome = land(ws, source, accept=Accept(ws.source_folder(config, source.name) / path.name, add)).files[0]
    if outcome.status == "loaded":
        replaced = f", replacing the rows of {len(outcome.superseded)} earlier file(s) for the periods it covers" if outcome.superseded else ""
        console.print(f"applied {outcome.file_name}: {outcome.rows_accepted:,} rows landed{replaced}; "
                      "run `csp run` to rebuild the documents")
    else:
        console.print(f"{'[red]REFUSED[/red] ' if outcome.status == 'refused' else ''}{outcome.file_name}: {outcome.status}"
                      + (f": {outcome.detail}" if outcome.detail else ""))
        raise typer.Exit(1 if outcome.status == "refused" else 0)


@app.command()
def status(
    workspace: Path = WorkspaceOption,
    as_of: str = typer.Option(None, "--as-of", help="the day the next publications are counted from, YYYY-MM-DD (default: today)"),
) -> None:
    """What is landed and up to which month, what is refused, held or overdue, the last run and its result, each
    published edition, and the documents the calendar makes due next; read without taking the writer's lock."""
    from pipeline.models.sql_assets import as_of as today

    _set_as_of(as_of)
    ws = _workspace(workspace)
    if ws.database.exists():
        _print_warehouse(ws)
    else:
        console.print("nothing built yet: run `csp run --workspace ...`")
    _print_last_run(ws)
    _print_editions(ws)
    _print_next_publications(ws, today())


def _print_warehouse(ws: Workspace) -> None:
    """Per source: what is landed, from and to which month, refused and held; what is expected, when each
    quarter is due and which are overdue (marts.mart_submissions, as of its last build)."""
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
    from pipeline.quality.report import collect

    statuses = collect(ws)
    _print_expected(statuses)
    for s in statuses:
        for file_name, reason in s.held:
            console.print(f"[yellow]HELD[/yellow] {file_name}: {reason}")
        _print_periods(s)
        _print_overdue(s)


def _print_overdue(s) -> None:
    from pipeline.quality.freshness import overdue_text

    if s.overdue:
        console.print(f"[yellow]OVERDUE[/yellow] {s.source}: {overdue_text(s.overdue)}")


def _print_last_run(ws: Workspace) -> None:
    """The workspace's last run (`csp run`, the UI, a schedule or the sensor): when, what started it, its result
    and what failed."""
    import dagster as dg

    home = ws.root / INSTANCE_DIR
    if not (home / "dagster.yaml").is_file():
        console.print("last run: none recorded")
        return
    with dg.DagsterInstance.from_config(str(home)) as instance:
        records = instance.get_run_records(limit=1)
        if not records:
            console.print("last run: none recorded")
            return
        record, run = records[0], records[0].dagster_run
        events = [e.dagster_event for e in instance.all_logs(run.run_id) if e.is_dagster_event]
    when = " to ".join(f"{datetime.fromtimestamp(t):%Y-%m-%d %H:%M}" for t in (record.start_time, record.end_time) if t)
    tags = run.tags
    started_by = (f"schedule {tags['dagster/schedule_name']}" if "dagster/schedule_name" in tags else
                  f"sensor {tags['dagster/sensor_name']} ({tags.get('csp/sources', '')})" if "dagster/sensor_name" in tags else
                  "csp run or the UI")
    scope = f", {tags['csp/partnership']} {tags['csp/period']}" if "csp/period" in tags else ""
    result = run.status.value.lower()
    console.print(f"last run {run.run_id[:8]} ({started_by}{scope}), {when or 'not started'}: "
                  + (f"[red]{result}[/red]" if run.status == dg.DagsterRunStatus.FAILURE else result))
    failures, _ = step_failures(ws, events)
    for line in failures:
        console.print(f"[red]FAILED[/red] {line}")
    for event in events:
        if event.event_type_value == "ASSET_CHECK_EVALUATION":
            check = event.event_specific_data
            if not check.passed and check.severity.value == "ERROR":
                console.print(f"[red]FAILED[/red] blocking check {check.check_name} on {check.asset_key.to_user_string()}")


def _print_editions(ws: Workspace) -> None:
    """Every edition on disk: partnership, document, period, public or restricted, and when it was built."""
    import json

    from pipeline.publish.assets import DOCUMENT, EDITIONS, edition_root

    table = Table(title="published editions")
    for heading in ("partnership", "document", "period", "edition", "built"):
        table.add_column(heading)
    for partnership in ws.config().partnerships:
        for edition in EDITIONS:
            root = edition_root(ws, edition, partnership.id)
            for page in sorted(root.glob(f"*/*/{DOCUMENT}.html")) if root.is_dir() else []:
                folder = page.parent
                if folder.name.startswith("."):
                    continue  # an edition being built
                manifest = folder / "manifest.json"
                built = json.loads(manifest.read_text(encoding="utf-8")).get("built_at", "") if manifest.is_file() else ""
                table.add_row(partnership.id, folder.parent.name, folder.name, edition, built)
    console.print(table if table.row_count else "published editions: none yet")


def _print_next_publications(ws: Workspace, today: date) -> None:
    """The documents the partnerships' calendars make due in the coming year (pipeline/schedules.py)."""
    from datetime import timedelta

    from pipeline.publish.assets import discover
    from pipeline.schedules import publications

    config = ws.config()
    slugs = {r.name: r.slug for r in discover()}  # as the published folders name them
    if not any(p.calendar for p in config.partnerships):
        console.print("next publications: none scheduled (no calendar: in partnership.yaml; see docs/configuration.md)")
        return
    due = publications(config, today, today + timedelta(days=365))
    table = Table(title=f"next publications (from {today})")
    for heading in ("due", "partnership", "document", "period", "because"):
        table.add_column(heading)
    for p in due:
        beyond = (f" [yellow](needs period.end {p.period_end} or later in partnership.yaml; it is {config.period.end})[/yellow]"
                  if p.period_end > config.period.end else "")
        table.add_row(p.day.isoformat(), p.partnership, slugs[p.report], p.period, p.why + beyond)
    console.print(table if due else f"next publications: none due in the year from {today}")


def _print_expected(statuses) -> None:
    """The sources this workspace expects, why, and when each quarter is due; the others are never overdue."""
    expected = [s for s in statuses if s.expected_because]
    table = Table(title="sources expected")
    for heading in ("source", "expected because", "cadence", "each quarter due", "overdue quarters", "held files"):
        table.add_column(heading)
    for s in expected:
        table.add_row(s.source, s.expected_because, s.cadence, f"{s.lag_months} months after it ends",
                      str(len(s.overdue)), str(len(s.held)))
    console.print(table)
    others = [s.source for s in statuses if not s.expected_because]
    if others:
        console.print(f"not expected (neither enabled in partnership.yaml nor with files in raw/): {', '.join(others)}")


@app.command()
def dev(
    workspace: Path = typer.Option(DEFAULT_DEMO, "--workspace", "-w"),
    port: int = 3000,
    host: str = typer.Option("127.0.0.1", help="the address the UI listens on; 0.0.0.0 opens it to the network"),
) -> None:
    """The Dagster UI and daemon over the given workspace, on this machine only unless --host says otherwise."""
    ws = _workspace(workspace)
    home = dagster_home(ws)
    pythonpath = os.pathsep.join(p for p in (str(PROJECT_ROOT), os.environ.get("PYTHONPATH", "")) if p)
    env = {**os.environ, "DAGSTER_HOME": str(home), WORKSPACE_ENV: str(ws.root), "PYTHONPATH": pythonpath}
    dagster = Path(sys.executable).with_name("dagster")
    command = [str(dagster), "dev", "-m", "pipeline.definitions", "-h", host, "-p", str(port)]
    console.print(f"Dagster UI on http://{host}:{port} over {ws.root} (Ctrl-C stops it)")
    # Started in the instance's own folder: dagster dev warns about any dagster.yaml in its working folder
    # that is not DAGSTER_HOME's, and the project's is only the template each workspace's copy comes from.
    raise typer.Exit(_serve(command, env, cwd=home))


def _serve(command: list[str], env: dict, cwd: Path) -> int:
    """Run `dagster dev` in a process group of its own, and stop that whole group when csp is stopped.

    A SIGTERM (systemd, `kill`) or Ctrl-C to csp reaches dagster dev, its webserver, daemon and code servers as
    the Ctrl-C of a terminal would; csp waits for them, so nothing outlives it."""
    child = subprocess.Popen(command, env=env, cwd=cwd, start_new_session=True)

    def stop(signum, frame) -> None:
        _signal_group(child.pid, signal.SIGINT)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        return child.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        _signal_group(child.pid, signal.SIGKILL)  # anything dagster dev left behind


def _signal_group(group: int, sig: int) -> None:
    try:
        os.killpg(group, sig)
    except ProcessLookupError:
        pass  # the group has already gone


@app.command()
def bench(
    out: Path = typer.Option(None, help="where the figures are written (JSON; default .bench/bench.json, or "
                                        ".bench/bench_scale.json with --scale)"),
    scale: list[str] = typer.Option(None, "--scale", help="borough, force or national (repeatable): generate a workspace "
                                    "of that size and time every stage against its floor (pipeline/bench_scale.py)"),
    keep: Path = typer.Option(None, help="with --scale: generate into this folder and keep it"),
) -> None:
    """Benchmarks: landing vs DuckDB loading the same file into a table, GX suites vs the same checks in plain SQL;
    with --scale, every stage of a run at one borough, one force or national size (docs/benchmarks.md)."""
    if scale:
        from pipeline.bench_scale import SCALES
        from pipeline.bench_scale import main as scale_main

        unknown = [s for s in scale if s not in SCALES]
        if unknown:
            console.print(f"[red]usage error[/red] --scale: found {', '.join(unknown)}; expected {', '.join(SCALES)}")
            raise typer.Exit(EXIT_USAGE)
        out = out or PROJECT_ROOT / ".bench" / "bench_scale.json"
        scale_main(scale, out, keep=keep)
    else:
        from pipeline.bench import main

        out = out or PROJECT_ROOT / ".bench" / "bench.json"
        main(out)
    console.print(f"figures written to {out}")


@app.command()
def audit(
    folder: Path = typer.Argument(..., help="a folder of outputs (an edition, or any folder of HTML, PDF, CSV, XLSX)"),
    threshold: int = typer.Option(None, help="the smallest count that may be shown (default: the workspace's, else 5)"),
    workspace: Path = typer.Option(None, "--workspace", "-w", help="take the threshold from this workspace's partnership.yaml"),
    forbid: list[str] = typer.Option([], "--forbid", help="a value that must not appear, e.g. a name seen in a refused extract (repeatable)"),
) -> None:
    """Audit outputs for disclosure: small counts, cells recoverable from totals, person identifiers.

    Exit status 0 when nothing was found, 1 when something was (each finding names file, place and what)."""
    from pipeline.publish.audit import audit_folder

    if not folder.is_dir():
        console.print(f"[red]usage error[/red] {folder}: not a folder")
        raise typer.Exit(EXIT_USAGE)
    limit = threshold or (_workspace(workspace).config().disclosure.threshold if workspace else 5)
    findings = audit_folder(folder, limit, tuple(forbid))
    for finding in findings:
        console.print(f"[red]FINDING[/red] {finding}", soft_wrap=True)
    console.print(f"{len(findings)} finding(s) in {folder} (threshold {limit})" if findings else f"{folder}: clean (threshold {limit})")
    raise typer.Exit(EXIT_NEEDS_ANALYST if findings else EXIT_OK)


@app.command()
def generate(check: bool = typer.Option(False, "--check", help="change nothing; exit 1 naming each stale file")) -> None:
    """Rewrite the files written from the source declarations: expectations/raw.<source>*.json and docs/sources.md."""
    from pipeline import generated

    if check:
        stale = generated.stale()
        for path in stale:
            console.print(f"stale: {path.relative_to(PROJECT_ROOT)} (run `csp generate`)")
        if stale:
            raise typer.Exit(1)
        console.print("every generated file is up to date")
        return
    done = generated.write()
    for line in done:
        console.print(line)
    if not done:
        console.print("every generated file was already up to date")


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
).replace('accent: "#12436D"', 'accent: "#12436D"\n      logo: builtin:csp_demo_logo.svg' + DEMO_CALENDAR) + DEMO_STRATEGY + DEMO_SCRUTINY

if __name__ == "__main__":
    app()
