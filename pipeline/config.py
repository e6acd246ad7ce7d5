"""`partnership.yaml`: the one configuration file of a workspace, validated with messages an analyst can act on.

A workspace holds one or more partnerships (a county and its districts, or every CSP of a force). Each has
its own geography; sources are shared, because one force file covers several partnerships and each row is
placed by its LSOA. Later sections (strategy, calendar, peers, disclosure) slot in as further models here.
"""

from __future__ import annotations

import difflib
import re
from datetime import date
from pathlib import Path
from typing import Annotated, Literal, Sequence

import yaml
from pydantic import (AfterValidator, BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator,
                      model_validator)

from pipeline.paths import REFERENCE_DIR

CONFIG_FILE = "partnership.yaml"
BUILTIN_PREFIX = "builtin:"
_ID = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
_LA_CODE = re.compile(r"^[EW]0[6789]\d{6}$")
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_COLOUR = re.compile(r"^#[0-9A-Fa-f]{6}$")
_FINANCIAL_YEAR = re.compile(r"^(\d{4})/(\d{2})$")


class ConfigError(Exception):
    """A workspace's configuration is missing or wrong; the message says where and what was expected."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LookupFile(_Strict):
    """A CSV naming each LSOA's ward; column names are configurable because every lookup spells them differently."""

    file: str
    lsoa: str = "lsoa11cd"
    ward_code: str = "ward_cd"
    ward_name: str = "ward_nm"


class PopulationFile(_Strict):
    """Residents and households per LSOA: the denominators of every rate, with the year they describe."""

    file: str
    year: int = Field(ge=2001, le=2100)
    lsoa: str = "lsoa11cd"
    persons: str = "usual_residents"
    households: str | None = "households"


class Geography(_Strict):
    vintage: Literal[2011, 2021]
    lookup: LookupFile
    population: PopulationFile
    boundaries: str | None = None


class PeerCsp(_Strict):
    """A similar partnership, named as the Home Office tables by CSP spell it, with its residents."""

    name: str = Field(min_length=1)
    population: int | None = Field(default=None, gt=0)  # else from peers.population_file

    @model_validator(mode="before")
    @classmethod
    def _name_alone(cls, value):
        return {"name": value} if isinstance(value, str) else value


class ForceArea(_Strict):
    """The force area, named as the Home Office tables by force spell it, for the force-area figure."""

    name: str = Field(min_length=1)
    population: int = Field(gt=0)


class Peers(_Strict):
    """The partnership's most similar group of CSPs, compared in marts.peer_comparison (docs/methods.md)."""

    csp_name: str = Field(min_length=1)  # this partnership, as the Home Office tables spell it
    population: int | None = Field(default=None, gt=0)  # default: its residents from geography.population
    population_year: int = Field(ge=2001, le=2100)  # the year the peers' (and force's) populations describe
    population_file: str | None = None  # CSV: csp_name, population[, year], for peers listed without a population
    csps: list[PeerCsp] = Field(min_length=2)
    force: ForceArea | None = None
    confidence: float = 0.95

    @field_validator("confidence")
    @classmethod
    def _confidence(cls, value: float) -> float:
        from pipeline.analysis.stats import confidence_level

        return confidence_level(value)

    @model_validator(mode="after")
    def _distinct(self) -> "Peers":
        names = [c.name for c in self.csps]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"peer {dupes[0]!r} is listed twice")
        if self.csp_name in names:
            raise ValueError(f"the partnership itself ({self.csp_name!r}) cannot be one of its peers")
        unnumbered = [c.name for c in self.csps if c.population is None]
        if unnumbered and not self.population_file:
            raise ValueError(f"peer {unnumbered[0]!r} has no population: give csps[].population or a population_file")
        return self


def contrast_ratio(colour: str, background: str = "#ffffff") -> float:
    """WCAG 2 contrast ratio of two #RRGGBB colours (1 to 21)."""
    def luminance(hex_colour: str) -> float:
        channels = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
        r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    light, dark = sorted((luminance(colour), luminance(background)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


class Branding(_Strict):
    """How a partnership's documents look: the name on every page, a logo file and an accent colour (title
    band, headings, links in the PDF; the HTML's title band)."""

    name: str | None = None  # defaults to the partnership's name
    logo: str | None = None  # a PNG, JPEG or SVG file, relative to the workspace (or builtin:NAME)
    accent: str = "#12436D"
    contact: str | None = None  # where a reader asks for another format (the accessibility statement)

    @field_validator("accent")
    @classmethod
    def _accent_contrast(cls, value: str) -> str:
        if not _COLOUR.match(value):
            raise ValueError("must be a colour written #RRGGBB, such as #12436D")
        ratio = contrast_ratio(value)
        if ratio < 3:
            raise ValueError(f"contrast {ratio:.1f}:1 against white is below the 3:1 that WCAG 2.2 (1.4.11) asks of "
                             "headings and graphics; choose a darker colour")
        return value

    @field_validator("logo")
    @classmethod
    def _logo_kind(cls, value: str | None) -> str | None:
        if value is not None and Path(value).suffix.lower() not in (".png", ".jpg", ".jpeg", ".svg"):
            raise ValueError("must be a .png, .jpg or .svg file")
        return value


class Calendar(_Strict):
    """When a partnership's documents are due (pipeline/schedules.py turns this into Dagster schedules): the
    scrutiny pack `pack_days_before` each committee or board meeting, for the latest complete quarter; the
    strategic assessment each year on `assessment_date` (MM-DD), for the financial year before; the mid-term
    review at the midpoint of the workspace's `strategy:`. A meeting is one more date in its list."""

    committee: list[date] = Field(default_factory=list)  # scrutiny committee meetings, YYYY-MM-DD
    board: list[date] = Field(default_factory=list)  # partnership board meetings, YYYY-MM-DD
    pack_days_before: int = Field(default=10, ge=0, le=90)
    assessment_date: str | None = None  # MM-DD, e.g. "06-30"; none: the assessment is not scheduled

    @field_validator("committee", "board", mode="before")
    @classmethod
    def _days(cls, value):
        days = []
        for item in value or []:
            try:
                days.append(item if isinstance(item, date) else date.fromisoformat(str(item)))
            except ValueError:
                raise ValueError(f"{item!r} is not a day written YYYY-MM-DD, such as 2024-07-16") from None
        repeated = sorted({d for d in days if days.count(d) > 1})
        if repeated:
            raise ValueError(f"{repeated[0]} is listed twice")
        return days

    @field_validator("assessment_date")
    @classmethod
    def _month_day(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            date.fromisoformat(f"2001-{value}")  # a year with no 29 February: the date must come every year
        except ValueError:
            raise ValueError("must be a day of the year written MM-DD, such as 06-30") from None
        return value

    @property
    def meetings(self) -> list[tuple[date, str]]:
        """Every meeting a pack is built for, in date order."""
        return sorted([(d, "committee") for d in self.committee] + [(d, "board") for d in self.board])


class Partnership(_Strict):
    id: str
    name: str
    local_authorities: list[str] = Field(min_length=1)
    police_force: str | None = None
    postcode_districts: list[str] = Field(default_factory=list)  # places rows that carry only an outward postcode
    geography: Geography
    peers: Peers | None = None
    branding: Branding = Field(default_factory=Branding)
    calendar: Calendar | None = None  # none: no document is scheduled for this partnership

    @field_validator("id")
    @classmethod
    def _id_is_a_slug(cls, value: str) -> str:
        if not _ID.match(value):
            raise ValueError("must be 2-40 lower-case letters, digits or underscores, starting with a letter")
        return value

    @field_validator("local_authorities")
    @classmethod
    def _la_codes(cls, value: list[str]) -> list[str]:
        bad = [code for code in value if not _LA_CODE.match(code)]
        if bad:
            raise ValueError(f"{bad[0]!r} is not a local authority GSS code such as E08000033")
        from pipeline.geography import unknown_local_authority  # the national list; imported late, read once

        unknown = [reason for reason in map(unknown_local_authority, value) if reason]
        if unknown:
            raise ValueError(unknown[0])
        return value


class Period(_Strict):
    """The months the documents cover, as YYYY-MM; financial years run April to March."""

    start: str
    end: str

    @field_validator("start", "end")
    @classmethod
    def _month(cls, value: str) -> str:
        if not _MONTH.match(str(value)):
            raise ValueError("must be a month written YYYY-MM, such as 2020-04")
        return str(value)

    @model_validator(mode="after")
    def _ordered(self) -> "Period":
        if self.start > self.end:
            raise ValueError(f"start {self.start} is after end {self.end}")
        return self

    @property
    def first_day(self) -> date:
        return date(int(self.start[:4]), int(self.start[5:]), 1)


class SourceSettings(_Strict):
    """How one source is read (where its files are dropped, how a partner's headings map onto ours), when it
    is due, and what a re-issue may change before it is held for the analyst to accept."""

    enabled: bool | None = None  # unset: expected (and landed) when raw/<source>/ has files; false: never read
    folder: str | None = None
    aliases: dict[str, str] = Field(default_factory=dict)  # a partner's heading -> our column (or "ignore")
    constants: dict[str, str] = Field(default_factory=dict)  # values for columns a partner's file lacks
    sheet: str | None = None  # XLSX: the sheet to read, when the partner's differs from ours
    header_row: int | None = Field(default=None, ge=1)
    max_reject_share: float = Field(default=0.05, ge=0.0, le=1.0)
    cadence: Literal["monthly", "quarterly", "annual", "ad hoc"] | None = None  # default: the source's own
    lag_months: int | None = Field(default=None, ge=1, le=60)  # months after a quarter ends that it is due
    reissue_tolerance: float = Field(default=0.2, ge=0.0)  # share a re-issue may shrink or grow a period by
    accept_reissues: bool = False  # apply every re-issue, however much it changes, without `csp accept`
    known_gaps: dict[str, str] = Field(default_factory=dict)  # "YYYY-MM": why the month has no data

    @field_validator("known_gaps")
    @classmethod
    def _gap_months(cls, value: dict[str, str]) -> dict[str, str]:
        for month, reason in value.items():
            if not _MONTH.match(str(month)):
                raise ValueError(f"{month!r} is not a month written YYYY-MM, such as 2021-03")
            if not str(reason or "").strip():
                raise ValueError(f"known gap {month} needs a reason, such as \"force system outage\"")
        return value


def _financial_year(value: str) -> str:
    found = _FINANCIAL_YEAR.match(str(value))
    if not found or (int(found.group(1)) + 1) % 100 != int(found.group(2)):
        raise ValueError("must be a financial year written YYYY/YY, such as 2021/22")
    return str(value)


class Target(_Strict):
    """What a measure commits to, exactly one of: `value` (a count or rate in the indicator's unit), `share` (a
    percentage, for indicators measured in per cent) or `change` (per cent against the baseline year, e.g. -10)."""

    value: float | None = None
    share: float | None = Field(default=None, ge=0, le=100)
    change: float | None = Field(default=None, ge=-100)

    @model_validator(mode="after")
    def _one(self) -> "Target":
        given = [k for k in ("value", "share", "change") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of value, share or change (found {', '.join(given) or 'none'})")
        return self

    @property
    def kind(self) -> str:
        return next(k for k in ("value", "share", "change") if getattr(self, k) is not None)

    @property
    def amount(self) -> float:
        return getattr(self, self.kind)


def _unique_ids(kind: str, ids: Sequence[str], hint: str = "") -> None:
    """Refuse an id used twice (the first, alphabetically), naming what kind of id it is."""
    dupes = sorted({i for i in ids if list(ids).count(i) > 1})
    if dupes:
        raise ValueError(f"{kind} id {dupes[0]!r} is used twice{hint}")


def _closest(value: str, known: Sequence[str]) -> str:
    """" (did you mean 'x'?)" for the nearest known name, or "" when nothing is near."""
    near = difflib.get_close_matches(value, list(known), n=1, cutoff=0.6)
    return f" (did you mean {near[0]!r}?)" if near else ""


def _catalogue_id(value: str) -> str:
    """An indicator id of the catalogue (indicators/*.yaml), or an error suggesting the closest one."""
    from pipeline.analysis.catalogue import load_catalogue  # the catalogue; imported late, like the source registry

    catalogue = load_catalogue()
    if value not in catalogue:
        raise ValueError("is not in the indicator catalogue (indicators/*.yaml; see docs/indicators.md)"
                         + _closest(value, sorted(catalogue)))
    return value


def _source_name(value: str) -> str:
    from pipeline.sources import SOURCES

    if value not in SOURCES:
        raise ValueError(f"is not a known source{_closest(value, sorted(SOURCES))}; see docs/sources.md")
    return value


IndicatorId = Annotated[str, AfterValidator(_catalogue_id)]
SourceName = Annotated[str, AfterValidator(_source_name)]


class Measure(_Strict):
    """One measure of a priority: an indicator of the catalogue (indicators/*.yaml), its target and owner.
    `direction` says which way is better when the indicator's own polarity does not (or differs here)."""

    indicator: IndicatorId
    label: str | None = None
    target: Target | None = None
    direction: Literal["higher", "lower"] | None = None
    owner: str

    @model_validator(mode="after")
    def _fits_indicator(self) -> "Measure":
        from pipeline.analysis.catalogue import load_catalogue

        indicator = load_catalogue()[self.indicator]
        if self.target and self.target.kind == "share" and not indicator.unit.startswith("%"):
            raise ValueError(f"a share target needs an indicator measured in per cent; {indicator.id} is {indicator.unit!r} (use value or change)")
        if self.target and not self.direction and indicator.polarity == "none":
            raise ValueError(f"{indicator.id} has no better direction of its own; set direction: higher or lower")
        return self


class Priority(_Strict):
    id: str
    name: str
    measures: list[Measure] = Field(min_length=1)
    actions: list[str] = Field(default_factory=list)  # the strategic actions, listed in the strategy review


class Strategy(_Strict):
    """The partnership plan the mid-term review reports against: its years (financial years, inclusive), the
    baseline year targets of a % change are measured from, and its priorities."""

    name: str
    start: str
    end: str
    baseline: str
    priorities: list[Priority] = Field(min_length=1)

    @field_validator("start", "end", "baseline")
    @classmethod
    def _years(cls, value: str, info: ValidationInfo) -> str:
        value = _financial_year(value)
        start = info.data.get("start")
        if info.field_name == "end" and start and value < start:
            raise ValueError(f"is before the strategy's start {start}")
        if info.field_name == "baseline" and start and value >= start:
            raise ValueError(f"must be a year before the strategy starts ({start})")
        return value

    @field_validator("priorities")
    @classmethod
    def _unique(cls, value: list[Priority]) -> list[Priority]:
        _unique_ids("priority", [p.id for p in value])
        return value

    @property
    def measures(self) -> list[tuple[Priority, Measure]]:
        return [(p, m) for p in self.priorities for m in p.measures]


# What a committee question's section can show beside its indicators (reports/_partials/question.qmd).
QUESTION_MARTS = {
    "mart_submissions": "partners' data submissions and their timeliness",
    "strategy_review": "progress on the strategy's measures (RAG)",
}


class Question(_Strict):
    """A question a scrutiny committee sent the partnership, and the data that answer it: catalogue indicators
    (each cited with its verdict), optionally the sources whose submissions bear on it and further marts."""

    id: str
    question: str = Field(min_length=1)
    indicators: list[IndicatorId] = Field(min_length=1)
    sources: list[SourceName] = Field(default_factory=list)
    marts: list[Literal[tuple(QUESTION_MARTS)]] = Field(default_factory=list)

    @field_validator("id")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not re.match(r"^[a-z0-9][a-z0-9-]{0,39}$", value):
            raise ValueError("must be 1-40 lower-case letters, digits or hyphens (it names the section and its commentary file)")
        return value


class Scrutiny(_Strict):
    """The scrutiny committee's questions, one section each in the scrutiny pack."""

    committee: str | None = None  # e.g. "Communities and Environment Scrutiny Committee"
    questions: list[Question] = Field(min_length=1)
    headline: list[IndicatorId] = Field(default_factory=list)  # the headline table's rows (default: the questions' indicators)

    @property
    def headline_indicators(self) -> list[str]:
        return self.headline or list(dict.fromkeys(i for q in self.questions for i in q.indicators))

    @field_validator("questions")
    @classmethod
    def _unique(cls, value: list[Question]) -> list[Question]:
        _unique_ids("question", [q.id for q in value])
        return value


HARM_DEFAULT_FILE = "harm_weights_illustrative.csv"


class HarmWeights(_Strict):
    """A harm weight per Home Office offence code (marts.harm). The shipped default is illustrative; the ONS
    Crime Severity Score weights, saved as CSV, drop in by naming the file and its code and weight columns."""

    file: str = f"{BUILTIN_PREFIX}{HARM_DEFAULT_FILE}"
    code: str = "Offence code"
    weight: str = "Weight"
    source: str | None = None  # how documents name the weights, e.g. "ONS Crime Severity Score weights, 2024"

    @property
    def illustrative(self) -> bool:
        return self.file == f"{BUILTIN_PREFIX}{HARM_DEFAULT_FILE}"


PRIORITY_FACTORS = ("harm", "volume", "trend", "concentration", "community_concern", "vulnerability", "capacity")


class PriorityWeights(_Strict):
    """How much each factor of the prioritisation matrix counts (marts.priority_matrix; docs/methods.md). A
    weight of 0 leaves a factor out; the defaults give harm and vulnerability double weight, as MoRiLE does
    for harm to individuals."""

    harm: float = Field(default=2.0, ge=0)
    volume: float = Field(default=1.0, ge=0)
    trend: float = Field(default=1.0, ge=0)
    concentration: float = Field(default=1.0, ge=0)
    community_concern: float = Field(default=1.0, ge=0)
    vulnerability: float = Field(default=2.0, ge=0)
    capacity: float = Field(default=1.0, ge=0)

    @model_validator(mode="after")
    def _some(self) -> "PriorityWeights":
        if not any(getattr(self, f) for f in PRIORITY_FACTORS):
            raise ValueError(f"at least one weight must be above 0 ({', '.join(PRIORITY_FACTORS)})")
        return self


class Priorities(_Strict):
    """The prioritisation matrix: factor weights, the partnership's capacity per theme (1 = well covered by
    existing services, 5 = little capacity, where partnership action adds most; unset themes score 3) and how
    many of the top-ranked themes are recommended."""

    weights: PriorityWeights = Field(default_factory=PriorityWeights)
    capacity: dict[str, int] = Field(default_factory=dict)
    recommend: int = Field(default=5, ge=1)

    @field_validator("capacity")
    @classmethod
    def _themes(cls, value: dict[str, int]) -> dict[str, int]:
        from pipeline.analysis.priorities import THEMES  # the themes; imported late, like the catalogue

        for theme, score in value.items():
            if theme not in THEMES:
                raise ValueError(f"unknown theme {theme!r}; themes are {', '.join(THEMES)}")
            if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
                raise ValueError(f"theme {theme!r}: capacity must be a whole number from 1 to 5; found {score!r}")
        return value


class DisclosureRule(_Strict):
    """How small counts are protected: counts from 1 to `threshold - 1` are hidden (`[c]`); zero is shown;
    `rounding` (0 or 5) rounds every published count to that base."""

    threshold: int = Field(default=5, ge=2, le=100)
    rounding: Literal[0, 5, 10] = 0


def _nhs_rule_for_health() -> dict[str, DisclosureRule]:
    """The default override: every health source under the NHS rule (1-7 hidden, other counts rounded to 5)."""
    from pipeline.sources import SOURCES

    return {name: DisclosureRule(threshold=8, rounding=5) for name, s in sorted(SOURCES.items()) if s.agency == "health"}


class Disclosure(DisclosureRule):
    """The public edition's disclosure control (pipeline/publish/disclosure.py applies it, in one place).

    `secondary` hides further cells so no hidden one can be worked out from a published total; `sources`
    overrides the rule for a source's figures (health data: the NHS rule, 1-7 hidden, others rounded to 5)."""

    secondary: bool = True
    sources: dict[str, DisclosureRule] = Field(default_factory=lambda: _nhs_rule_for_health())

    @field_validator("sources")
    @classmethod
    def _known(cls, value: dict[str, DisclosureRule]) -> dict[str, DisclosureRule]:
        from pipeline.sources import SOURCES

        unknown = sorted(set(value) - set(SOURCES))
        if unknown:
            raise ValueError(f"unknown source {unknown[0]!r}; known sources: {', '.join(sorted(SOURCES))}")
        return value

    def rule(self, sources: Sequence[str] = ()) -> DisclosureRule:
        """The strictest rule over the sources a figure comes from (the workspace rule when none overrides)."""
        rules = [self.sources[s] for s in sources if s in self.sources] or [self]
        return DisclosureRule(threshold=max(r.threshold for r in rules), rounding=max(r.rounding for r in rules))


class WorkspaceInfo(_Strict):
    name: str
    synthetic: bool = False


class Config(_Strict):
    version: Literal[1]
    workspace: WorkspaceInfo
    period: Period
    partnerships: list[Partnership] = Field(min_length=1)
    sources: dict[str, SourceSettings] = Field(default_factory=dict)
    strategy: Strategy | None = None
    scrutiny: Scrutiny | None = None
    harm: HarmWeights = Field(default_factory=HarmWeights)
    priorities: Priorities = Field(default_factory=Priorities)
    disclosure: Disclosure = Field(default_factory=Disclosure)

    @model_validator(mode="after")
    def _consistent(self) -> "Config":
        _unique_ids("partnership", [p.id for p in self.partnerships], "; each partnership needs its own id")
        vintages = {p.geography.vintage for p in self.partnerships}
        if len(vintages) > 1:
            raise ValueError("all partnerships of a workspace must use one LSOA vintage (2011 or 2021)")
        from pipeline.sources import SOURCES  # the registry; imported late to keep config free of I/O

        unknown = sorted(set(self.sources) - set(SOURCES))
        if unknown:
            raise ValueError(f"unknown source {unknown[0]!r}; known sources: {', '.join(sorted(SOURCES))}")
        if self.scrutiny and not self.strategy:
            needs = [q.id for q in self.scrutiny.questions if "strategy_review" in q.marts]
            if needs:
                raise ValueError(f"scrutiny question {needs[0]!r} shows strategy_review, but there is no strategy: section")
        return self

    @property
    def lsoa_vintage(self) -> int:
        return self.partnerships[0].geography.vintage

    def source(self, name: str) -> SourceSettings:
        return self.sources.get(name, SourceSettings())


def resolve_file(spec: str, workspace: Path) -> Path:
    """`builtin:NAME` is a file shipped in data/reference; anything else is relative to the workspace."""
    if spec.startswith(BUILTIN_PREFIX):
        return REFERENCE_DIR / spec[len(BUILTIN_PREFIX):]
    path = Path(spec)
    return path if path.is_absolute() else workspace / path


def _describe(error: dict, raw: dict) -> str:
    """One line per pydantic error: the key path, the value found, and what was expected."""
    loc = error["loc"]
    key = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc).lstrip(".") or "(top level)"
    found = raw
    for part in loc:
        try:
            found = found[part]
        except (KeyError, IndexError, TypeError):
            found = None
            break
    kind = error["type"]
    if kind == "missing":
        return f"{key}: missing; this key is required"
    if kind == "extra_forbidden":
        return f"{key}: unknown key (found {found!r}); check its spelling against docs/configuration.md"
    message = error["msg"].removeprefix("Value error, ")
    return f"{key}: found {found!r}; {message}"


_SECRET_KEY = re.compile(r"(key|secret|password|passwd|token|credential)s?$", re.I)
_SECRET_VALUE = re.compile(r"^(?:[0-9a-fA-F]{32,}|[A-Za-z0-9+/]{40,}={0,2})$")


def _secrets(value: object, path: str = "") -> list[str]:
    """Keys of the configuration that hold something shaped like a key or password (hex or base64 blobs)."""
    if isinstance(value, dict):
        found = []
        for key, item in value.items():
            where = f"{path}.{key}".lstrip(".")
            if _SECRET_KEY.search(str(key)) and isinstance(item, str) and len(item) >= 12 and " " not in item:
                found.append(where)
            else:
                found += _secrets(item, where)
        return found
    if isinstance(value, list):
        return [hit for i, item in enumerate(value) for hit in _secrets(item, f"{path}[{i}]")]
    return [path] if isinstance(value, str) and _SECRET_VALUE.match(value.strip()) else []


def parse_config(text: str, origin: str = CONFIG_FILE) -> Config:
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"{origin}: not valid YAML{where}: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{origin}: expected a mapping of keys (version, workspace, period, partnerships…), found {type(raw).__name__}")
    secrets = _secrets(raw)
    if secrets:
        raise ConfigError(
            f"{origin}: {secrets[0]}: looks like a key or password; secrets never go in partnership.yaml "
            f"(the pseudonymisation key lives outside the workspace: $CSP_PSEUDONYM_KEY_FILE, see docs/data-protection.md)"
        )
    try:
        return Config.model_validate(raw)
    except ValidationError as exc:
        lines = [_describe(err, raw) for err in exc.errors()]
        raise ConfigError(f"{origin}: {len(lines)} problem(s):\n  - " + "\n  - ".join(lines)) from None


def load_config(workspace: Path) -> Config:
    path = workspace / CONFIG_FILE
    if not path.is_file():
        raise ConfigError(f"{path}: not found; run `csp init {workspace}` to create a workspace")
    config = parse_config(path.read_text(encoding="utf-8"), origin=str(path))
    for partnership in config.partnerships:
        geo = partnership.geography
        files = [(f"geography.{key}", spec) for key, spec in
                 (("lookup.file", geo.lookup.file), ("population.file", geo.population.file), ("boundaries", geo.boundaries))]
        if partnership.peers:
            files.append(("peers.population_file", partnership.peers.population_file))
        files.append(("branding.logo", partnership.branding.logo))
        for key, spec in files:
            if spec and not resolve_file(spec, workspace).is_file():
                raise ConfigError(
                    f"{path}: partnerships[{config.partnerships.index(partnership)}].{key}: file {spec!r} not found "
                    f"(looked at {resolve_file(spec, workspace)})"
                )
    if not resolve_file(config.harm.file, workspace).is_file():
        raise ConfigError(f"{path}: harm.file: file {config.harm.file!r} not found (looked at {resolve_file(config.harm.file, workspace)})")
    return config
