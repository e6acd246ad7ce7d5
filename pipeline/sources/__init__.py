"""The registry of sources, found by itself: every module (or package) under pipeline/sources that declares
`SOURCE` (one Source) or `SOURCES` (several) is registered, in the order of the module names. Adding a source
is adding its module; nothing here lists them.

A source module is imported while the registry is built, so at its top it may import `pipeline.sources.base`,
other source modules and `pipeline.ingest.readers`, but not what imports the registry (`pipeline.ingest.parse`,
`landing`): import those inside the function that needs them.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

from pipeline.sources.base import Column, Source


def declared(module: ModuleType) -> tuple[Source, ...]:
    """The sources a module declares: its `SOURCES`, or its `SOURCE`, or none (a helper module)."""
    if hasattr(module, "SOURCES"):
        return tuple(module.SOURCES)
    return (module.SOURCE,) if hasattr(module, "SOURCE") else ()


def discover(package: str = __name__) -> dict[str, Source]:
    """Every source declared by the modules of `package`, by name; a name declared twice is an error."""
    found: dict[str, Source] = {}
    for info in sorted(pkgutil.iter_modules(importlib.import_module(package).__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{package}.{info.name}")
        for source in declared(module):
            if source.name in found:
                raise ValueError(f"source {source.name!r} is declared twice (again in {module.__name__}); names must be unique")
            found[source.name] = source
    return found


SOURCES: dict[str, Source] = discover()

__all__ = ["SOURCES", "Column", "Source", "discover"]
