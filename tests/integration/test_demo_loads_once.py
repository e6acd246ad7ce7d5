"""Every demo extract of every source, loaded a second time (and under new names), changes no count."""

import shutil

from pipeline.ingest.assets import land
from pipeline.sources import SOURCES
from tests.helpers import table_counts


def test_loading_every_demo_file_twice_changes_nothing(demo_workspace, tmp_path):
    demo, _ = demo_workspace
    ws = demo.__class__.at(tmp_path / "ws")
    shutil.copytree(demo.root, ws.root, ignore=shutil.ignore_patterns(".dagster"))
    before = table_counts(ws)
    assert before["raw.police_street"] > 100_000 and before["raw._manifest"] > 300
    for name, source in SOURCES.items():
        folder = ws.raw / name
        for path in sorted(folder.iterdir()):
            shutil.copy2(path, folder / f"copy-of-{path.name}")  # the same bytes under a new name
        outcomes = land(ws, source).files
        assert outcomes and {o.status for o in outcomes} == {"already loaded"}, (name, outcomes[:2])
    assert table_counts(ws) == before
