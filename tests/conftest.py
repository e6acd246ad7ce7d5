"""Shared fixtures: ../shared for optional large-data tests, and a built demo workspace (vendored files: tests/helpers.py)."""

from pathlib import Path

import pytest

from pipeline.paths import PROJECT_ROOT

SHARED = PROJECT_ROOT.parent / "shared"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The large real files beside the checkout, for optional tests: skipped, saying why, when absent."""
    path = SHARED / "data"
    if not path.is_dir():
        pytest.skip(f"optional large-data test: {path} is not beside this checkout (the vendored cut in tests/fixtures is tested instead)")
    return path


@pytest.fixture(scope="session")
def demo_workspace(tmp_path_factory, pseudonym_key_env):
    """The demo built once, exactly as `csp demo` builds it, for the end-to-end and browser tests to read."""
    from typer.testing import CliRunner

    from pipeline.cli import app
    from pipeline.workspace import Workspace

    root = tmp_path_factory.mktemp("demo")
    result = CliRunner().invoke(app, ["demo", "--workspace", str(root)])
    assert result.exit_code == 0, result.output
    return Workspace.at(root), result.output


@pytest.fixture(scope="session")
def pseudonym_key_env(tmp_path_factory):
    """A pseudonymisation key of the tests' own, outside every workspace, for the whole session."""
    import os

    from pipeline.ingest.pseudonymise import KEY_FILE_ENV, create_key_file

    path, _ = create_key_file(tmp_path_factory.mktemp("key") / "pseudonymisation.key")
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
    import os

    from pipeline.models.sql_assets import AS_OF_ENV

    previous = os.environ.get(AS_OF_ENV)
    yield
    if previous is None:
        os.environ.pop(AS_OF_ENV, None)
    else:
        os.environ[AS_OF_ENV] = previous
