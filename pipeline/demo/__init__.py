"""The synthetic Calderdale demo: partner extracts generated from one seeded world (see docs/demo-data.md).

`build_world` (world.py) generates the crimes, incidents, people and places once; each source then has its own
writer that renders the world in that source's published or agreed layout, into `<raw_root>/<source>/`.
A writer is a function `write_<source>(world, folder) -> list[Path]` in any module of this package: `WRITERS`
finds them by that name, one per source of `pipeline.sources.SOURCES`, so nothing here lists them.
Every figure the demo produces is synthetic.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path
from typing import Callable

from pipeline.demo.world import DEMO_SEED, DemoWorld, build_world

__all__ = ["DEMO_SEED", "WRITERS", "generate_demo_extracts", "discover_writers"]

Writer = Callable[[DemoWorld, Path], list[Path]]


def discover_writers(package: str = __name__) -> dict[str, Writer]:
    """source name -> its writer: every function `write_<source>` defined in a module of `package`, for a registered
    source, in the registry's order; a source with two writers is an error."""
    from pipeline.sources import SOURCES

    found: dict[str, Writer] = {}
    for info in pkgutil.iter_modules(importlib.import_module(package).__path__):
        module = importlib.import_module(f"{package}.{info.name}")
        for name, function in inspect.getmembers(module, inspect.isfunction):
            source = name.removeprefix("write_")
            if name.startswith("write_") and source in SOURCES and function.__module__ == module.__name__:
                if source in found:
                    raise ValueError(f"two demo writers for {source!r}: {found[source].__module__} and {module.__name__}")
                found[source] = function
    return {name: found[name] for name in SOURCES if name in found}


WRITERS: dict[str, Writer] = discover_writers()


def generate_demo_extracts(raw_root: Path, seed: int = DEMO_SEED) -> dict[str, list[Path]]:
    """Write every demo source's files under `raw_root` (one folder per source); return the paths by source."""
    world = build_world(seed)
    return {name: write(world, raw_root / name) for name, write in WRITERS.items()}
