"""The documents on real Celery workers: a Redis broker on loopback, two workers, `csp publish` for two
partnerships; what they publish is byte for byte what the in-process render publishes (but the manifest's
build time), and both workers took a share of the steps."""

import json
import shutil
import time

import pytest

from pipeline.bench_celery import local_broker, local_workers, with_copies
from pipeline.publish.assets import discover, publish
from pipeline.publish.manifest import MANIFEST
from pipeline.workspace import Workspace

REPORT = "scrutiny_pack"  # the quickest document: the fan-out is what is under test, not the other two
SECOND = "calderdale_copy1"


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    """A real redis-server on a free loopback port, nothing saved to disk; stopped whatever happens."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (`make test` installs Debian's redis-server: `apt-get install redis-server`)")
    with local_broker(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture(scope="module")
def workers(broker, tmp_path_factory):
    """Two real Celery workers, one process each, on that broker; their names. Stopped whatever happens."""
    with local_workers(broker, tmp_path_factory.mktemp("workers")) as names:
        yield names


@pytest.fixture(scope="module")
def two_partnerships(demo_workspace, tmp_path_factory) -> Workspace:
    """A copy of the demo with a second partnership: the same area under another id and name, its marts rows
    copies of the first's (documents read marts only, so it publishes documents of its own)."""
    ws, _ = demo_workspace
    return with_copies(ws, tmp_path_factory.mktemp("celery") / "ws", partnerships=2)


def _editions(ws: Workspace) -> dict[str, bytes]:
    """Every file of every released edition and index, by its path in the workspace."""
    return {str(p.relative_to(ws.root)): p.read_bytes()
            for folder in (ws.published, ws.restricted) for p in sorted(folder.rglob("*"))
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(ws.root).parts)}


def test_documents_on_two_celery_workers_equal_the_in_process_render(two_partnerships, broker, workers):
    from typer.testing import CliRunner

    import dagster as dg

    from pipeline.cli import app, dagster_home

    ws = two_partnerships
    (report,) = [r for r in discover() if r.name == REPORT]
    publish(ws, report)  # in this process, every partnership and edition: the reference
    in_process = _editions(ws)
    assert {p.split("/")[1] for p in in_process} == {"calderdale", SECOND}

    started = time.perf_counter()
    result = CliRunner().invoke(app, ["publish", "--workspace", str(ws.root), "--report", REPORT, "--broker", broker])
    assert result.exit_code == 0, result.output
    assert "2 run(s) on Celery workers" in result.output
    on_celery = _editions(ws)

    assert sorted(on_celery) == sorted(in_process)
    differ = sorted(path for path in in_process if on_celery[path] != in_process[path])
    # every document, figures file and index is the same; each manifest differs in its build time, and only there
    manifests = [p for p in in_process if p.endswith(MANIFEST) and report.slug in p]
    assert differ == manifests and len(manifests) == 4, differ
    for path in manifests:
        before, after = json.loads(in_process[path]), json.loads(on_celery[path])
        assert before.pop("built_at") <= after.pop("built_at")
        assert before == after, path
    second = ws.published / SECOND / report.slug
    assert "(copy 1)" in next(second.glob("*/report.html")).read_text(encoding="utf-8")
    assert "(copy 1)" not in next((ws.published / "calderdale" / report.slug).glob("*/report.html")).read_text(encoding="utf-8")

    # a run per partnership, its document a step on a worker; the two runs' steps went to both workers
    with dg.DagsterInstance.from_config(str(dagster_home(ws))) as instance:
        runs = instance.get_runs(dg.RunsFilter(job_name="documents"))
        assert sorted(r.tags["csp/partnership"] for r in runs) == ["calderdale", SECOND]
        assert all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs)
        taken = {}
        for run in runs:
            for record in instance.get_records_for_run(run.run_id, of_type=dg.DagsterEventType.ENGINE_EVENT).records:
                data = record.event_log_entry.dagster_event.engine_event_data
                if "Celery worker" in data.metadata:
                    taken[(run.tags["csp/partnership"], record.event_log_entry.step_key)] = data.metadata["Celery worker"].value
    assert sorted(taken) == [("calderdale", f"reports__{REPORT}"), (SECOND, f"reports__{REPORT}")]
    assert set(taken.values()) == workers, taken
    print(f"two partnerships' {report.slug} on two Celery workers: {time.perf_counter() - started:.1f} s")


def test_publish_says_what_is_missing_before_anything_runs(tmp_path, pseudonym_key_env, monkeypatch):
    from typer.testing import CliRunner

    from pipeline.cli import app
    from pipeline.distributed import BROKER_ENV
    from tests.helpers import make_workspace

    monkeypatch.delenv(BROKER_ENV, raising=False)
    ws = make_workspace(tmp_path / "ws")
    result = CliRunner().invoke(app, ["publish", "--workspace", str(ws.root), "--report", "annual_report",
                                      "--partnership", "nowhere"])
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.split())
    assert "--report annual_report: no reports/annual_report.qmd (one of " in text and "scrutiny_pack" in text
    assert "--partnership nowhere: no such partnership in" in text and "(partnerships[].id: calderdale)" in text
    assert f"give --broker URL or set {BROKER_ENV}" in text
    assert not (ws.root / ".dagster" / "history").exists()  # no run was started


def test_a_run_narrowed_to_one_partnership_publishes_only_its_documents(two_partnerships):
    """A run on a workspace narrowed to one partnership (as a scheduled publication or `csp bench`'s one-partnership
    stage narrows it) renders that partnership's documents alone: the run's workspace resource keeps the narrowing."""
    from pipeline.cli import run_pipeline

    def built_at() -> dict[str, str | None]:
        found = {}
        for partnership in ("calderdale", SECOND):
            manifests = sorted((two_partnerships.published / partnership).glob(f"scrutiny-pack/*/{MANIFEST}"))
            found[partnership] = json.loads(manifests[-1].read_text(encoding="utf-8"))["built_at"] if manifests else None
        return found

    before = built_at()
    narrowed = Workspace.at(two_partnerships.root, partnership=SECOND)
    assert run_pipeline(narrowed, f"reports/{REPORT}", show=False).success
    after = built_at()
    assert after[SECOND] is not None and after[SECOND] != before[SECOND]
    assert after["calderdale"] == before["calderdale"], "the other partnership's pack was rendered again"
