"""The registry of sources: adding a source is one module under pipeline/sources and one line here."""

from __future__ import annotations

from pipeline.sources import police_street
from pipeline.sources.base import Column, Source

SOURCES: dict[str, Source] = {
    source.name: source
    for module in (
        police_street,
    )
    for source in getattr(module, "SOURCES", (getattr(module, "SOURCE", None),))
}

__all__ = ["SOURCES", "Column", "Source"]
