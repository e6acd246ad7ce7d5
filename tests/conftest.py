"""Shared fixtures: paths to the project and to ../shared, and a built demo workspace for the end-to-end tests."""

from pathlib import Path

import pytest

from pipeline.paths import PROJECT_ROOT

SHARED = PROJECT_ROOT.parent / "shared"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real public files beside the checkout (CI clones the project next to shared/)."""
    path = SHARED / "data"
    if not path.is_dir():
        pytest.fail(f"{path} is missing: tests read the real police.uk files from ../shared beside the checkout")
    return path
