"""What a source is: its canonical columns, their types and rules, how its files are read, and how it is checked.

A source module declares one `Source` (or several); the generic ingest code (pipeline/ingest) does the reading,
checking, pseudonymising and landing, and pipeline/quality/templates.py writes its expectation suites from the
declaration (its columns, `keys`, `rules`, `volume_checked`, `inside_share`). The registry finds the module by
itself (pipeline/sources/__init__.py), so adding a source is adding its module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Literal

if TYPE_CHECKING:
    import polars as pl

    from pipeline.ingest.readers import TextTable

ColumnType = Literal[
    "text",  # free text, trimmed; longer than MAX_TEXT characters is a row fault
    "code",  # a short code or category; `allowed` makes it a closed set, `known` an open one (new values warn)
    "integer",  # whole number; thousands separators accepted; `minimum` checked
    "decimal",
    "boolean",  # Y/N, yes/no, true/false, 1/0
    "month",  # YYYY-MM, stored as the first day of the month
    "date",  # YYYY-MM-DD or DD/MM/YYYY
    "datetime",  # ISO or DD/MM/YYYY HH:MM[:SS]
    "time",  # HH:MM[:SS]
    "lsoa",  # an LSOA code of the workspace's vintage
    "pseudonym",  # an identifier (person, case, crime reference) replaced by a keyed hash at the door
    "postcode",  # cut to the outward code at the door
]


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType = "text"
    required: bool = True  # the column must be in the file
    nullable: bool = True  # its values may be blank
    headings: tuple[str, ...] = ()  # the headings agencies publish it under, besides `name`
    allowed: frozenset[str] | None = None
    known: frozenset[str] | None = None
    reference: str | None = None  # values must be in this reference list (e.g. "offence_codes")
    derive: Callable[[], "pl.Expr"] | None = None  # computed from the typed columns, not read from the file
    minimum: float | None = None
    maximum: float | None = None
    description: str = ""


ROW_AT = "t.row_at"  # in a Rule's label: where the row is ("raw/<source>/<file> line <n>"), computed by the suite


@dataclass(frozen=True)
class Key:
    """Columns that identify a row within the source (after re-issues replaced their periods): a uniqueness check."""

    columns: tuple[str, ...]
    description: str
    severity: Literal["error", "warn"] = "error"


@dataclass(frozen=True)
class Rule:
    """A row-level rule between columns, checked by the source's generated suite: `broken` is a SQL condition on
    the landed row (table alias t), `label` the SQL text shown for a row that breaks it (start it with ROW_AT).
    A rule whose condition is NULL holds. `column` names the computed column, NULL where the rule holds."""

    column: str
    broken: str
    label: str
    description: str
    severity: Literal["error", "warn"] = "error"
    mostly: float | None = None


def not_listed(value: str, table: str, column: str) -> str:
    """SQL: `value` is not among the non-null values of table.column (a NULL in the list would make NOT IN never true)."""
    return f"{value} NOT IN (SELECT {column} FROM {table} WHERE {column} IS NOT NULL)"


# the rule of the aggregates published by area (NDTMS, MoJ): the area is one of the partnership's authorities
AREA_INSIDE = Rule(
    "area_outside_partnership", not_listed("t.area_code", "reference.geography", "lad_code"), "t.area_code",
    "area code is one of the partnership's local authorities (a return by county or region would see this warning)", "warn",
)


@dataclass(frozen=True)
class Source:
    name: str  # also the raw/<name>/ folder and the raw.<name> table
    agency: str  # who delivers it: police, council, fire, probation, health, marac, survey, partnership, reference…
    title: str
    columns: tuple[Column, ...]
    period_column: str  # the month or date that says which period a row belongs to
    issuer_column: str | None = None  # a re-issue replaces rows of the same issuer and period
    category_column: str | None = None  # a re-issue covering fewer of its values (crime types) is held, not applied
    exact_header: bool = False  # a public standard: headings must be exactly as published
    file_suffixes: tuple[str, ...] = (".csv",)
    sheet: str | None = None  # XLSX: the sheet to read
    header_row: int = 1  # XLSX: the row holding the headings (1-based)
    period_grain: Literal["month", "quarter", "year"] = "month"
    cadence: Literal["monthly", "quarterly", "annual", "ad hoc"] = "quarterly"  # how often it arrives (s17A duty: quarterly)
    lag_months: int = 3  # months after a quarter ends by which its data is due (SI 2007/1831: within the following quarter)
    prepare: Callable[["TextTable", Path], "TextTable"] | None = None  # reshape a known layout (e.g. a wide workbook)
    example: str = ""  # a few lines in the canonical layout, for docs/sources.md
    notes: str = ""
    # how the generated suite expectations/raw.<name>.json checks the landed table (pipeline/quality/templates.py)
    keys: tuple[Key, ...] = ()  # what identifies a row: each a uniqueness expectation
    rules: tuple[Rule, ...] = ()  # rules between columns that a column's own type and bounds cannot state
    volume_checked: bool = False  # events, one row each, monthly grain: rows per month against a learned band (raw.<name>_volume)
    inside_share: float | None = 0.9  # share of located rows expected inside the partnership (warn); None: a national file
    hand_written_suites: bool = False  # its suites in expectations/ are written by hand, not generated

    @property
    def read_columns(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.derive is None)

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)

    @property
    def lsoa_column(self) -> str | None:
        """The column placing a row in an LSOA: a re-issue covering fewer LSOAs is held, not applied."""
        return next((c.name for c in self.columns if c.type == "lsoa"), None)

    @property
    def table(self) -> str:
        return f"raw.{self.name}"

    @property
    def partitioned(self) -> bool:
        """Whether raw.<name> is partitioned by quarter (pipeline/partitions.py): all but ad hoc sources, whose
        files (population estimates) each stand for a whole year and arrive when published."""
        return self.cadence != "ad hoc"
