"""docs/sources.md is written from the source registry (`csp generate`; its staleness is tested with the generated
suites', in tests/unit/test_source_suites.py)."""

from pipeline.sources import SOURCES
from pipeline.sources.catalogue import render


def test_every_source_is_documented_with_its_columns():
    text = render()
    for name, source in SOURCES.items():
        assert f"## `{name}`" in text
        for column in source.columns:
            assert f"| `{column.name}` |" in text
