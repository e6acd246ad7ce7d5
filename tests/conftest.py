"""Shared fixtures: ../shared for optional large-data tests, and a built demo workspace (vendored files: tests/helpers.py).

The suite runs on every core (pytest-xdist, pyproject's addopts). What is built once per session, the demo and the
pseudonymisation key, is built once for all workers: the first worker to ask builds it under a file lock in the
folder the workers share, and the others read the same copy. `pytest_collection_modifyitems` below decides what
runs where."""

import os
import sqlite3
from pathlib import Path

import pytest
from filelock import FileLock
from sqlalchemy import event
from sqlalchemy.engine import Engine

from pipeline.paths import PROJECT_ROOT

SHARED = PROJECT_ROOT.parent / "shared"
DEMO_FIXTURE = "demo_workspace"


@event.listens_for(Engine, "connect")
def _sqlite_without_fsync(connection, _record) -> None:
    """Dagster's SQLite instance storage (a workspace's .dagster/) commits every event with an fsync, some 20 ms
    each on a busy disk and thousands in a run: in the tests' own process the storage is the same SQLite, only not
    flushed to disk at each commit (a test outlives no power cut)."""
    if isinstance(connection, sqlite3.Connection):
        connection.execute("PRAGMA synchronous=OFF")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The large real files beside the checkout, for optional tests: skipped, saying why, when absent."""
    path = SHARED / "data"
    if not path.is_dir():
        pytest.skip(f"optional large-data test: {path} is not beside this checkout (the vendored cut in tests/fixtures is tested instead)")
    return path


@pytest.fixture(scope="session")
def session_folder(tmp_path_factory) -> Path:
    """The folder every worker of this test session shares (xdist gives each worker a subfolder of it)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session")
def demo_workspace(session_folder, pseudonym_key_env):
    """The demo built once, exactly as `csp demo` builds it, for the end-to-end and browser tests to read (and
    copy before changing anything): one build for the whole session, whichever worker asks first."""
    from typer.testing import CliRunner

    from pipeline.cli import app
    from pipeline.workspace import Workspace

    root, output, done = session_folder / "demo", session_folder / "demo.out", session_folder / "demo.done"
    with FileLock(session_folder / "demo.lock"):
        if not done.exists():
            assert not root.exists(), f"the demo build in {root} failed in another worker: its error is in that worker's report"
            result = CliRunner().invoke(app, ["demo", "--workspace", str(root)])
            output.write_text(result.output, encoding="utf-8")
            assert result.exit_code == 0, result.output
            done.touch()
    return Workspace.at(root), output.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def pseudonym_key_env(session_folder):
    """A pseudonymisation key of the tests' own, outside every workspace, for the whole session (every worker
    the same key, so that a worker re-running a copy of the demo pseudonymises as the demo's build did)."""
    from pipeline.ingest.pseudonymise import KEY_FILE_ENV, create_key_file

    with FileLock(session_folder / "key.lock"):
        path, _ = create_key_file(session_folder / "key" / "pseudonymisation.key")
    previous = os.environ.get(KEY_FILE_ENV)
    os.environ[KEY_FILE_ENV] = str(path)
    yield path
    if previous is None:
        os.environ.pop(KEY_FILE_ENV, None)
    else:
        os.environ[KEY_FILE_ENV] = previous


@pytest.fixture(autouse=True)
def _as_of_restored():
    """`csp ... --as-of` sets CSP_AS_OF for the process (a subprocess would drop it); in-process CLI tests must not
    leave their day behind for the next test, whose period checks would then see quarters "in the future"."""
    from pipeline.models.sql_assets import AS_OF_ENV

    previous = os.environ.get(AS_OF_ENV)
    yield
    if previous is None:
        os.environ.pop(AS_OF_ENV, None)
    else:
        os.environ[AS_OF_ENV] = previous


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The order of the test files, which `--dist loadscope` hands out a file at a time (so that a workspace a
    module builds once is built once): first the longest file that reads the demo (marked `slow`: its worker builds
    the demo, then runs it), then every file that does not need the demo (the other worker runs them meanwhile),
    then the rest of the demo's readers, and the unit tests last, quick ones to even out the end. Without xdist,
    the same order runs in one process."""
    files: dict[Path, list[pytest.Item]] = {}
    for item in items:
        files.setdefault(item.path, []).append(item)
    needs_demo = {path: any(DEMO_FIXTURE in _fixtures_used(item) for item in tests) for path, tests in files.items()}
    slow = {path for path, tests in files.items() if any(item.get_closest_marker("slow") for item in tests)}
    first = next((path for path in files if needs_demo[path] and path in slow), None) or next((p for p in files if needs_demo[p]), None)

    def rank(path: Path) -> int:
        if path == first:
            return 0
        if needs_demo[path]:
            return 2 if path in slow else 3
        return 4 if "unit" in path.parts else 1

    items[:] = [item for path in sorted(files, key=rank) for item in files[path]]


def _fixtures_used(item: pytest.Item) -> set[str]:
    """A test's fixtures, with every fixture they use in turn; and a fixture named by one of its parameters, which
    the test asks for by `request.getfixturevalue` (test_quality_gates' scenarios)."""
    used = set(getattr(item, "fixturenames", ()))
    manager = item.session._fixturemanager
    for value in item.callspec.params.values() if hasattr(item, "callspec") else ():
        for fixturedef in (manager.getfixturedefs(value, item) or ()) if isinstance(value, str) else ():
            used |= {value, *fixturedef.argnames}
    return used
