"""The synthetic Calderdale demo: partner extracts generated from one seeded world (see docs/demo-data.md).

`build_world` (world.py) generates the crimes, incidents, people and places once; each source then has its own
writer module that renders the world in that source's published or agreed layout, into
`<raw_root>/<source>/`. Only police.uk street-level files are written so far; the other sources (the force's
crime extract, council ASB, fire, A&E assaults, MARAC, …) are to be added here, one writer module per source.
Every figure the demo produces is synthetic.
"""

from __future__ import annotations

from pathlib import Path

from pipeline.demo.police_street import write_police_street
from pipeline.demo.world import DEMO_SEED, build_world

__all__ = ["DEMO_SEED", "generate_demo_extracts"]


def generate_demo_extracts(raw_root: Path, seed: int = DEMO_SEED) -> dict[str, list[Path]]:
    """Write every demo source's files under `raw_root` (one folder per source); return the paths by source."""
    world = build_world(seed)
    return {"police_street": write_police_street(world, raw_root / "police_street")}
