"""The registry of sources: adding a source is one module under pipeline/sources and one line here."""

from __future__ import annotations

from pipeline.sources import (
    council_asb,
    council_environment,
    fire_incidents,
    hate_incidents,
    health_ambulance,
    health_istv,
    health_treatment,
    marac,
    police_crimes,
    police_prc,
    police_street,
    population,
    prevent,
    probation,
    survey,
)
from pipeline.sources.base import Column, Source

SOURCES: dict[str, Source] = {
    source.name: source
    for module in (
        police_street, police_crimes, police_prc, council_asb, council_environment, fire_incidents, probation,
        health_istv, health_treatment, health_ambulance, marac, hate_incidents, prevent, survey, population,
    )
    for source in getattr(module, "SOURCES", (getattr(module, "SOURCE", None),))
}

__all__ = ["SOURCES", "Column", "Source"]
