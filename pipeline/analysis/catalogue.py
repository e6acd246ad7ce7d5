"""The indicator catalogue: every measure the documents and the strategy use, declared once in
`indicators/<theme>.yaml` (what it means, how it is counted, what it is divided by, who may see it).

An entry's numerator is SQL over the conformed facts: either the short form (`from`, `where`, `numerator`, `per`, `month`)
or a whole query (`sql`) returning `partnership_id, ward_code, lsoa_code, month, numerator, denominator`
(denominator only for proportions and ratios). The engine (pipeline/analysis/engine.py) sums those rows over
areas and periods, divides by the population of the right year or by `per`, and attaches intervals.
`python -m pipeline.analysis.catalogue > docs/indicators.md` writes the reference page.
"""

from __future__ import annotations

import re
import sys
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pipeline.paths import INDICATORS_DIR

POPULATION_DENOMINATORS = {  # conformed.population's denominators and how a unit names them
    "residents": "residents",
    "households": "households",
    "females_16_plus": "females aged 16 and over",
    "aged_10_17": "residents aged 10 to 17",
    "aged_0_24": "residents aged 0 to 24",
}
GEOGRAPHIES = ("partnership", "ward", "lsoa")  # from the largest to the smallest
ROW_COLUMNS = ("partnership_id", "ward_code", "lsoa_code", "month", "numerator", "denominator")
_ID = re.compile(r"^[a-z][a-z0-9_]{2,59}$")


class CatalogueError(Exception):
    """An indicator file is wrong; the message names the file, the entry and the key."""


class Indicator(BaseModel):
    """One indicator. `kind`: rate (per `multiplier` of a population denominator), proportion (a share of
    `per`, times `multiplier`: 100 for per cent), ratio (events per `per`, e.g. offences per person) or count."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    id: str
    title: str
    theme: str
    definition: str
    sources: list[str] = Field(min_length=1)
    kind: Literal["rate", "proportion", "ratio", "count"]
    denominator: str | None = None  # a population denominator (rates only)
    multiplier: int = Field(default=1, ge=1)
    unit: str
    polarity: Literal["higher", "lower", "none"]  # which way is better ("none": context, not a goal)
    smallest_geography: Literal["partnership", "ward", "lsoa"] = "partnership"
    disclosure: Literal["public", "restricted"] = "public"
    method: str = ""
    caveats: str = ""
    peer_offence_group: str | None = None  # the Home Office offence group it matches, for marts.peer_comparison
    annual_snapshot: bool = False  # a yearly survey: its fieldwork months stand for their whole financial year
    # the numerator: the short form ...
    from_: str | None = Field(default=None, alias="from")
    where: str | None = None
    numerator: str = "count(*)"
    month: str = "month"  # the month a row counts in, when not the fact's own (e.g. the end of a follow-up)
    per: str | None = None  # proportions and ratios: the denominator, an aggregate over the same rows
    # ... or a whole query
    sql: str | None = None
    file: str = ""

    @field_validator("id")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not _ID.match(value):
            raise ValueError("must be 3-60 lower-case letters, digits or underscores, starting with a letter")
        return value

    @field_validator("sources")
    @classmethod
    def _known_sources(cls, value: list[str]) -> list[str]:
        from pipeline.sources import SOURCES

        unknown = [s for s in value if s not in SOURCES]
        if unknown:
            raise ValueError(f"unknown source {unknown[0]!r}; known sources: {', '.join(sorted(SOURCES))}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> "Indicator":
        if (self.sql is None) == (self.from_ is None):
            raise ValueError("give either `from` (with optional `where`, `numerator`, `per`) or a whole `sql` query, not both or neither")
        if self.kind == "rate" and self.denominator not in POPULATION_DENOMINATORS:
            raise ValueError(f"a rate needs `denominator`, one of {', '.join(POPULATION_DENOMINATORS)}; found {self.denominator!r}")
        if self.kind != "rate" and self.denominator is not None:
            raise ValueError(f"only a rate has a population `denominator`; a {self.kind} is divided by `per` (or nothing)")
        if self.kind in ("proportion", "ratio") and self.from_ is not None and self.per is None:
            raise ValueError(f"a {self.kind} needs `per`: the aggregate it is a share of, e.g. count(*)")
        if self.kind == "count" and self.multiplier != 1:
            raise ValueError("a count has no multiplier")
        if self.kind == "proportion" and self.multiplier not in (1, 100):
            raise ValueError("a proportion's multiplier is 100 (per cent) or 1")
        return self

    @property
    def numerator_sql(self) -> str:
        """The query returning ROW_COLUMNS: one row per partnership, ward, LSOA and month."""
        if self.sql:
            return self.sql.strip()
        per = self.per if self.kind in ("proportion", "ratio") else "NULL"
        return (
            f"SELECT partnership_id, ward_code, lsoa_code, {self.month}::DATE AS month, ({self.numerator})::DOUBLE AS numerator, "
            f"({per})::DOUBLE AS denominator\nFROM {self.from_}\nWHERE {self.where or 'TRUE'}\nGROUP BY ALL"
        )

    @property
    def geographies(self) -> tuple[str, ...]:
        """The area types the indicator is published for: the partnership down to its smallest geography."""
        return GEOGRAPHIES[: GEOGRAPHIES.index(self.smallest_geography) + 1]


def _load_file(path: Path) -> list[Indicator]:
    try:
        entries = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    except yaml.YAMLError as exc:
        raise CatalogueError(f"{path.name}: not valid YAML: {exc}") from None
    if not isinstance(entries, list):
        raise CatalogueError(f"{path.name}: expected a list of indicators (each starting `- id: ...`)")
    indicators = []
    for number, entry in enumerate(entries, start=1):
        name = entry.get("id", f"entry {number}") if isinstance(entry, dict) else f"entry {number}"
        try:
            indicators.append(Indicator.model_validate({**entry, "file": path.name}))
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'entry'}: {e['msg'].removeprefix('Value error, ')}" for e in exc.errors())
            raise CatalogueError(f"{path.name}: indicator {name!r}: {problems}") from None
        except TypeError:
            raise CatalogueError(f"{path.name}: entry {number} is not a mapping of keys (id, title, ...)") from None
    return indicators


@lru_cache(maxsize=4)
def load_catalogue(folder: Path = INDICATORS_DIR) -> dict[str, Indicator]:
    """Every indicator by id, from every `*.yaml` of the folder; an id used twice is refused."""
    catalogue: dict[str, Indicator] = {}
    for path in sorted(folder.glob("*.yaml")):
        for indicator in _load_file(path):
            if indicator.id in catalogue:
                raise CatalogueError(f"{path.name}: indicator id {indicator.id!r} is already declared in {catalogue[indicator.id].file}")
            catalogue[indicator.id] = indicator
    return catalogue


def markdown(catalogue: dict[str, Indicator]) -> str:
    """docs/indicators.md: every indicator by theme, with its definition, source, method and caveats."""
    lines = [
        "# Indicators",
        "",
        "Generated from `indicators/*.yaml` by `python -m pipeline.analysis.catalogue > docs/indicators.md`; do not edit.",
        "Each indicator is computed by `pipeline/analysis/engine.py` into `marts.indicator_values` for every area from",
        "the partnership down to its smallest geography, by month, quarter, financial year and rolling 12 months.",
        "Rates divide by the population of the mid-year nearest the period's middle (`denominator_year`); intervals",
        "are 95%: exact Poisson below 10 events and Byar's method from 10 for rates, ratios and counts; Wilson for",
        "proportions (`pipeline/analysis/stats.py`, method in `docs/methods.md`). A period counts only the months its",
        "sources delivered (`months_covered`; `complete` when all of them); a month delivered without events is a zero.",
        "",
        "`marts.indicator_comparisons` sets, per indicator and area, the 12 months to the period end against the 12",
        "before and the latest complete financial year against the baseline (a rate ratio with the conditional binomial",
        "test, or a difference of proportions with the score test), the trend across the financial years since the",
        "baseline (quasi-Poisson or quasi-binomial regression, partnership only), the strategy's targets with",
        "red/amber/green, and the peer comparison for indicators naming a Home Office offence group. A verdict says",
        "`increase` or `decrease` only when its test is significant at 5%. `marts.strategy_review` gives every measure",
        "of `partnership.yaml`'s strategy its baseline, latest figure (the 12 months to the period end, else the latest",
        "complete year), target, RAG with its reason, and trend. RAG (`stats.rag`): green when the target is met; a",
        "missed target is red when the change since the baseline is significant the wrong way, amber when it is",
        "significant the right way or the target lies within the interval, and red when the whole interval misses it.",
        "",
        f"{len(catalogue)} indicators.",
        "",
    ]
    themes: dict[str, list[Indicator]] = {}
    for indicator in catalogue.values():
        themes.setdefault(indicator.theme, []).append(indicator)
    for theme, indicators in themes.items():
        lines += [f"## {theme[:1].upper()}{theme[1:]}", "", "| id | indicator | unit | better | smallest area | disclosure | sources |", "|---|---|---|---|---|---|---|"]
        for i in indicators:
            lines.append(f"| `{i.id}` | {i.title} | {i.unit} | {i.polarity} | {i.smallest_geography} | {i.disclosure} | {', '.join(i.sources)} |")
        lines.append("")
        for i in indicators:
            lines += [f"### `{i.id}`: {i.title}", "", f"**Definition.** {i.definition.strip()}", ""]
            if i.method:
                lines += [f"**Method.** {i.method.strip()}", ""]
            if i.caveats:
                lines += [f"**Caveats.** {i.caveats.strip()}", ""]
            lines += ["```sql", i.numerator_sql, "```", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.stdout.write(markdown(load_catalogue()))
