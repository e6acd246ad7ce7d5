"""A new month's extract in a fully built workspace rebuilds that month's quarter of what it feeds, and nothing else.

The demo is built once (the session's `demo_workspace`); each test works on a copy of it.
"""

import shutil
from collections import defaultdict

import dagster as dg
import pytest
from typer.testing import CliRunner

from pipeline import bench_refresh
from pipeline.cli import app, dagster_home, run_pipeline
from pipeline.definitions import ALL_ASSETS, ALL_CHECKS, defs
from pipeline.ingest.plan import BUILT_TAG, plan
from pipeline.resources import WorkspaceResource
from pipeline.sensors import landing_request, record_built
from pipeline.workspace import WORKSPACE_ENV, Workspace

WAREHOUSE = dg.AssetSelection.all() - dg.AssetSelection.groups("reports")  # the documents are not what is measured here
MARCH = "2025-03-west-yorkshire-street.csv"


@pytest.fixture
def built(demo_workspace, tmp_path) -> Workspace:
    demo, _ = demo_workspace
    ws = Workspace.at(tmp_path / "ws")
    shutil.copytree(demo.root, ws.root, ignore=shutil.ignore_patterns("published", "restricted"))
    return ws


def write_month(ws: Workspace, month: str) -> int:
    return bench_refresh.write_month(ws.raw / "police_street", month, MARCH)


def materialised(ws: Workspace) -> dict[str, set]:
    """Asset -> the partitions the workspace's latest run materialised (None for an unpartitioned asset)."""
    instance = dg.DagsterInstance.from_config(str(dagster_home(ws)))
    run = instance.get_runs(limit=1)[0]
    found = defaultdict(set)
    for record in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION):
        materialization = record.dagster_event.step_materialization_data.materialization
        found[materialization.asset_key.to_user_string()].add(materialization.partition)
    return found


def counts_by_month(ws: Workspace, table: str) -> dict:
    with ws.connect(read_only=True) as con:
        return dict(con.execute(f"SELECT month, count(*) FROM {table} GROUP BY month").fetchall())


def test_a_new_month_rebuilds_only_its_quarter_of_what_it_feeds(built: Workspace):
    before = {t: counts_by_month(built, t) for t in ("conformed.fct_street_records", "conformed.fct_crimes", "staging.stg_police_street")}
    rows = write_month(built, "2025-04")

    assert run_pipeline(built, WAREHOUSE, show=False).success
    runs = materialised(built)

    partitioned = {asset: keys for asset, keys in runs.items() if keys != {None}}
    assert partitioned and all(keys == {"2025-04-01"} for keys in partitioned.values()), partitioned
    assert {"raw/police_street", "staging/stg_police_street", "conformed/placements", "conformed/fct_street_records"} <= set(partitioned)
    assert [a for a in runs if a.startswith("raw/")] == ["raw/police_street"]  # no other source is landed again
    assert "staging/stg_police_crimes" not in runs  # the force extract is not fed by a police.uk file
    assert "marts/indicator_values" in runs  # the marts aggregate every quarter: rebuilt whole

    after = {t: counts_by_month(built, t) for t in before}
    april = next(m for m in after["staging.stg_police_street"] if str(m) == "2025-04-01")
    assert after["staging.stg_police_street"][april] == rows
    for table, months in before.items():  # every other month exactly as it was (the force extract has some of April)
        assert {m: n for m, n in after[table].items() if m != april} == {m: n for m, n in months.items() if m != april}, table
    assert after["conformed.fct_crimes"][april] == before["conformed.fct_crimes"][april]


def test_the_check_of_a_new_month_validates_that_quarter(built: Workspace):
    write_month(built, "2025-04")
    assert run_pipeline(built, WAREHOUSE, show=False).success
    instance = dg.DagsterInstance.from_config(str(dagster_home(built)))
    run = instance.get_runs(limit=1)[0]
    evaluations = {
        (e.dagster_event.event_specific_data.check_name, e.dagster_event.event_specific_data.partition)
        for e in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
    }
    assert ("raw__police_street", "2025-04-01") in evaluations
    with built.connect(read_only=True) as con:
        months, rows = con.execute("SELECT DISTINCT months, rows_checked FROM quality.results WHERE suite = 'raw.police_street'").fetchone()
    assert months == "2025-04 to 2025-06" and 0 < rows < 10_000


def test_nothing_new_rebuilds_no_partition_and_a_second_run_lands_nothing(built: Workspace):
    write_month(built, "2025-04")
    assert run_pipeline(built, WAREHOUSE, show=False).success
    assert run_pipeline(built, WAREHOUSE, show=False).success
    assert all(keys == {None} for keys in materialised(built).values())


def test_a_month_landed_by_csp_check_is_built_by_the_next_run(built: Workspace):
    """`csp check` lands without building; the run after it builds what that landing left, though nothing is new."""
    write_month(built, "2025-04")
    assert CliRunner().invoke(app, ["check", "--workspace", str(built.root)]).exit_code == 0
    assert "2025-04-01" not in {str(m) for m in counts_by_month(built, "staging.stg_police_street")}

    assert run_pipeline(built, WAREHOUSE, show=False).success
    assert materialised(built)["staging/stg_police_street"] == {"2025-04-01"}
    assert "2025-04-01" in {str(m) for m in counts_by_month(built, "staging.stg_police_street")}
    assert run_pipeline(built, WAREHOUSE, show=False).success  # and once built, not again
    assert "staging/stg_police_street" not in materialised(built)


def test_a_corrected_earlier_month_rebuilds_from_its_quarter_to_the_last(built: Workspace):
    """A re-issue of an old month can change which later row repeats an earlier one: later quarters come with it."""
    corrected = built.raw / "police_street" / "2024-11-west-yorkshire-street.csv"
    november = corrected.read_text(encoding="utf-8").splitlines(keepends=True)
    corrected.write_text("".join(november[:-5]), encoding="utf-8")  # five fewer rows: within the re-issue tolerance
    assert run_pipeline(built, WAREHOUSE, show=False).success
    runs = materialised(built)
    assert runs["staging/stg_police_street"] == {"2024-10-01", "2025-01-01"}
    assert "raw/police_crimes" not in runs


def test_a_run_the_drop_zone_sensor_asked_for_is_recorded_as_built_when_it_succeeds(built: Workspace, monkeypatch):
    """The daemon's runs are not `csp run`: the run-status sensor records what they built, so the next run has
    nothing left to build (without it, the months the sensor's run built would be built once more)."""
    monkeypatch.setenv(WORKSPACE_ENV, str(built.root))
    write_month(built, "2025-04")
    request = landing_request(built, ["police_street"], defs.resolve_asset_graph())
    assert request.tags[BUILT_TAG] == "police_street"

    with dg.DagsterInstance.from_config(str(dagster_home(built))) as instance:
        run = dg.materialize([*ALL_ASSETS, *ALL_CHECKS], selection=request.asset_selection, tags=request.tags,
                             resources={"workspace": WorkspaceResource(root=str(built.root))}, instance=instance)
        assert plan(built).unbuilt == ("police_street",), "landed by a run nobody has recorded yet"
        success = next(e for e in run.all_events if e.event_type == dg.DagsterEventType.RUN_SUCCESS)
        record_built(dg.build_run_status_sensor_context(sensor_name="record_built", dagster_instance=instance,
                                                        dagster_run=run.dagster_run, dagster_event=success))
    after = plan(built)
    assert (after.months, after.unbuilt) == (None, ()), after.why
