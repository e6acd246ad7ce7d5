"""The synthetic Calderdale demo: partner extracts generated from one seeded world (see docs/demo-data.md).

`build_world` (world.py) generates the crimes, incidents, people and places once; each source then has its own
writer module that renders the world in that source's published or agreed layout, into `<raw_root>/<source>/`.
`WRITERS` below is the one place they are registered: one entry per source of `pipeline.sources.SOURCES`.
Every figure the demo produces is synthetic.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from pipeline.demo.council_asb import write_council_asb
from pipeline.demo.council_environment import write_council_environment
from pipeline.demo.fire_incidents import write_fire_incidents
from pipeline.demo.hate_incidents import write_hate_incidents
from pipeline.demo.health_ambulance import write_health_ambulance
from pipeline.demo.health_istv import write_health_istv
from pipeline.demo.health_treatment import write_health_treatment
from pipeline.demo.marac import write_idva_referrals, write_marac
from pipeline.demo.police_crimes import write_police_crimes
from pipeline.demo.police_prc import write_police_prc
from pipeline.demo.police_street import write_police_street
from pipeline.demo.population import write_population
from pipeline.demo.prevent import write_prevent
from pipeline.demo.probation import write_probation_iom, write_probation_reoffending
from pipeline.demo.survey import write_survey
from pipeline.demo.world import DEMO_SEED, DemoWorld, build_world

__all__ = ["DEMO_SEED", "WRITERS", "generate_demo_extracts"]

Writer = Callable[[DemoWorld, Path], list[Path]]

# source name -> the writer of its demo files (each writes into the folder it is given)
WRITERS: dict[str, Writer] = {
    "police_street": write_police_street,
    "police_crimes": write_police_crimes,
    "police_prc": write_police_prc,
    "council_asb": write_council_asb,
    "council_environment": write_council_environment,
    "fire_incidents": write_fire_incidents,
    "probation_iom": write_probation_iom,
    "probation_reoffending": write_probation_reoffending,
    "health_istv": write_health_istv,
    "health_treatment": write_health_treatment,
    "health_ambulance": write_health_ambulance,
    "marac": write_marac,
    "idva_referrals": write_idva_referrals,
    "hate_incidents": write_hate_incidents,
    "prevent": write_prevent,
    "survey": write_survey,
    "population": write_population,
}


def generate_demo_extracts(raw_root: Path, seed: int = DEMO_SEED) -> dict[str, list[Path]]:
    """Write every demo source's files under `raw_root` (one folder per source); return the paths by source."""
    world = build_world(seed)
    return {name: write(world, raw_root / name) for name, write in WRITERS.items()}
