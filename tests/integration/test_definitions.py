"""The Dagster definitions load, validate with Dagster's own CLI, and keep the asset graph we expect."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.paths import PROJECT_ROOT

SNAPSHOT = Path(__file__).parent.parent / "fixtures" / "asset_graph.txt"


def graph_lines() -> list[str]:
    from pipeline.definitions import defs

    graph = defs.resolve_asset_graph()
    lines = []
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        parents = ", ".join(sorted(p.to_user_string() for p in node.parent_keys))
        checks = ", ".join(sorted(c.name for c in node.check_keys))
        by = " by quarter" if node.partitions_def is not None else ""
        lines.append(f"{key.to_user_string()}{by} <- [{parents}]" + (f" checks [{checks}]" if checks else ""))
    return lines


def test_asset_graph_matches_the_snapshot():
    """A change to the graph is deliberate: refresh with `python -m tests.integration.test_definitions`."""
    assert graph_lines() == SNAPSHOT.read_text(encoding="utf-8").splitlines()


def test_dagster_definitions_validate(tmp_path: Path):
    dagster = Path(sys.executable).with_name("dagster")
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path)}
    done = subprocess.run(
        [str(dagster), "definitions", "validate", "-m", "pipeline.definitions"],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Validation successful" in done.stdout + done.stderr


def test_loading_definitions_does_not_import_heavy_engines():
    code = (
        "import sys, pipeline.definitions as d; "
        "heavy = [m for m in ('great_expectations', 'kaleido', 'playwright', 'nbclient', 'typst') if m in sys.modules]; "
        "print(heavy); sys.exit(1 if heavy else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr


if __name__ == "__main__":
    SNAPSHOT.write_text("\n".join(graph_lines()) + "\n", encoding="utf-8")
    print(f"wrote {SNAPSHOT}")
