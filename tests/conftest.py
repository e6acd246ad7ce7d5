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


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups (its own hook of the same name)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """What runs where under `--dist loadgroup`, and in which order.

    Tests that share a module-scoped fixture (a workspace built once for a module) form one group, which runs on
    one worker, so that nothing is built twice; every other test goes to whichever worker is free. The order:
    first the tests of one group that reads the demo (its worker builds the demo), then everything that does not
    need the demo (the other worker runs it meanwhile), then the rest of the demo's readers, and the unit tests
    last, quick ones to even out the end. Without xdist, the same order runs in one process."""
    group = list(range(len(items)))  # union-find: each test's group, by the index of a test in it

    def find(i: int) -> int:
        while group[i] != i:
            group[i] = group[group[i]]
            i = group[i]
        return i

    first_user: dict[tuple, int] = {}
    for i, item in enumerate(items):
        fixtures = _fixtures_used(item)
        for name, defs in fixtures.items():
            scope = defs[-1].scope if defs else "function"
            if scope in ("module", "class", "package"):  # one instance per module (or package) that uses it
                where = defs[-1].baseid if scope == "package" else str(item.path)
                group[find(i)] = find(first_user.setdefault((where, name), i))

    groups: dict[int, list[int]] = {}
    for i in range(len(items)):
        groups.setdefault(find(i), []).append(i)
    needs_demo = {g: any(DEMO_FIXTURE in _fixtures_used(items[i]) for i in members) for g, members in groups.items()}
    first_demo = next((g for g in groups if needs_demo[g]), None)

    def rank(g: int) -> int:
        if g == first_demo:
            return 0
        if needs_demo[g]:
            return 2
        return 3 if items[g].nodeid.startswith("tests/unit/") else 1

    order = sorted(groups, key=lambda g: (rank(g), g))
    for g in order:
        if len(groups[g]) > 1:
            for i in groups[g]:
                items[i].add_marker(pytest.mark.xdist_group(f"{items[g].path.stem}-{g}"))
    items[:] = [items[i] for g in order for i in groups[g]]


def _fixtures_used(item: pytest.Item) -> dict:
    """A test's fixtures (name -> definitions), with every fixture they use in turn; and a fixture named by one of
    its parameters, which the test asks for by `request.getfixturevalue` (test_quality_gates' scenarios)."""
    used = dict(item._fixtureinfo.name2fixturedefs) if hasattr(item, "_fixtureinfo") else {}
    for value in item.callspec.params.values() if hasattr(item, "callspec") else ():
        defs = item.session._fixturemanager.getfixturedefs(value, item) if isinstance(value, str) else None
        for fixturedef in defs or ():
            used[value] = defs
            used.update({name: item.session._fixturemanager.getfixturedefs(name, item) for name in fixturedef.argnames})
    return used
