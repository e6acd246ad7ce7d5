"""docs/sources.md is written from the source registry; it must not drift from the code."""

from pipeline.paths import PROJECT_ROOT
from pipeline.sources import SOURCES
from pipeline.sources.catalogue import render


def test_docs_sources_is_up_to_date():
    """Refresh with: .venv/bin/csp generate"""
    assert (PROJECT_ROOT / "docs" / "sources.md").read_text(encoding="utf-8") == render()


def test_every_source_is_documented_with_its_columns():
    text = render()
    for name, source in SOURCES.items():
        assert f"## `{name}`" in text
        for column in source.columns:
            assert f"| `{column.name}` |" in text
