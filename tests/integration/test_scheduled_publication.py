"""On a copy of the built demo: the schedule's run request for a past committee renders that quarter's pack, and
`csp status` then shows what is loaded, overdue, the last run, every edition and the next publications."""

import datetime as dt
import json
import re
import shutil
from zoneinfo import ZoneInfo

import dagster as dg
from typer.testing import CliRunner

from pipeline.cli import app, dagster_home
from pipeline.definitions import defs
from pipeline.schedules import TIMEZONE, publications_schedule
from pipeline.workspace import WORKSPACE_ENV, Workspace


def _row(*cells: str) -> re.Pattern:
    """A row of a printed table holding these cells, in order."""
    return re.compile(r"│\s*" + r"\s*│\s*".join(map(re.escape, cells)) + r"\s*│")


def test_a_scheduled_pack_renders_its_quarter_and_status_shows_it(demo_workspace, tmp_path, monkeypatch):
    demo, _ = demo_workspace
    shutil.copytree(demo.root, tmp_path / "ws", ignore=shutil.ignore_patterns(".dagster"))
    ws = Workspace.at(tmp_path / "ws")
    monkeypatch.setenv(WORKSPACE_ENV, str(ws.root))  # as `csp dev` sets it for the daemon

    tick = dt.datetime(2023, 12, 2, 6, tzinfo=ZoneInfo(TIMEZONE))  # ten days before the committee of 12 December 2023
    [request] = publications_schedule.evaluate_tick(dg.build_schedule_context(scheduled_execution_time=tick)).run_requests
    job = defs.resolve_implicit_global_asset_job_def()
    with dg.DagsterInstance.from_config(str(dagster_home(ws))) as instance:
        result = job.execute_in_process(run_config=request.run_config, asset_selection=request.asset_selection,
                                        instance=instance, tags=request.tags, raise_on_error=False)
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    built = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert built == {"reports/scrutiny_pack"}, "a scheduled document rebuilds nothing else"
    folder = ws.published / "calderdale" / "scrutiny-pack" / "2023-24-Q2"
    assert (folder / "report.html").is_file() and (ws.restricted / "calderdale" / "scrutiny-pack" / "2023-24-Q2" / "report.pdf").is_file()
    assert json.loads((folder / "manifest.json").read_text(encoding="utf-8"))["period"]["end"] == "2023-11"

    status = CliRunner().invoke(app, ["status", "--workspace", str(ws.root), "--as-of", "2023-09-01"])
    assert status.exit_code == 0, status.output
    out = status.output
    with ws.connect(read_only=True) as con:
        loaded_to = con.execute("SELECT strftime(max(period_to), '%Y-%m') FROM raw._manifest WHERE source = 'police_street'").fetchone()[0]
        overdue = [s for (s,) in con.execute("SELECT DISTINCT source FROM marts.mart_submissions WHERE status = 'overdue' ORDER BY 1").fetchall()]
    assert re.search(rf"│\s*police_street\s*│.*│\s*{loaded_to}\s*│", out), out  # landed up to which month
    assert re.findall(r"OVERDUE (\w+):", out) == overdue
    last = next(line for line in out.splitlines() if line.startswith("last run"))
    assert result.run_id[:8] in last and "calderdale 2023-24-Q2" in last and last.endswith("success"), last
    for period in ("2023-24-Q2", "2024-25-Q4"):  # the scheduled edition beside the one `csp demo` published
        for edition in ("public", "restricted"):
            assert _row("calderdale", "scrutiny-pack", period, edition).search(out), (period, edition, out)
    assert _row("2023-09-09", "calderdale", "scrutiny-pack", "2023-24-Q1", "committee meeting 2023-09-19").search(out), out
    assert _row("2023-12-02", "calderdale", "scrutiny-pack", "2023-24-Q2", "committee meeting 2023-12-12").search(out), out
