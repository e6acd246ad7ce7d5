"""A workspace: the folder an analyst owns, with its configuration, drop zone, warehouse and outputs.

    partnership.yaml   the configuration (validated on load)
    raw/<source>/      the drop zone; csp only ever reads it
    warehouse/         DuckDB (csp.duckdb) and Parquet exports of the marts; rebuildable from raw/
    published/         public editions of the documents
    restricted/        restricted (OFFICIAL-SENSITIVE) editions
    commentary/        text the analyst writes for the documents
"""

from __future__ import annotations

import json
import os
import re
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import duckdb

from pipeline.config import CONFIG_FILE, Config, ConfigError, load_config
from pipeline.paths import SQL_DIR

WORKSPACE_ENV = "CSP_WORKSPACE"
SHARED_MACROS = (SQL_DIR / "macros.sql").read_text(encoding="utf-8")
# DuckDB's memory ceiling for a run (e.g. "6GB"); unset, DuckDB's own default (80% of the machine's memory). Past it
# DuckDB spills to disk: a national warehouse on a shared host is built under it.
MEMORY_LIMIT_ENV = "CSP_DUCKDB_MEMORY_LIMIT"
CHECKPOINT_THRESHOLD = "1GB"  # the write-ahead log a writer lets grow before folding it into the database

PERIOD = ("2020-04", "2025-03")  # a starter's five financial years


def _scalar(text: str) -> str:
    """A YAML scalar: as written when YAML reads it back unchanged, else double-quoted (JSON is YAML)."""
    return text if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9 _().,&'-]*", text) else json.dumps(text, ensure_ascii=False)


def partnership_id(name: str) -> str:
    """A partnership's id from its name: lower-case words joined by underscores, at most 40 characters."""
    words = re.sub(r"[^a-z0-9]+", " ", name.lower().removesuffix(" community safety partnership")).split()
    slug = "_".join(words)[:40].rstrip("_")
    return slug if re.match(r"^[a-z]", slug) else f"csp_{slug}"[:40]


def starter_config(
    local_authorities: list[str], *, name: str | None = None, workspace_name: str | None = None,
    period: tuple[str, str] = PERIOD, police_force: str | None = None, postcode_districts: tuple[str, ...] = (),
) -> str:
    """A partnership.yaml for one partnership of these local authorities on the national geography shipped in
    data/reference: police.uk street-level data enabled, every other source listed commented out."""
    from pipeline.geography import BOUNDARIES_FILE, LOOKUP_FILE, POPULATION_FILE, local_authority_names
    from pipeline.sources import SOURCES

    names = local_authority_names(local_authorities)
    name = name or " and ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names) + " Community Safety Partnership"
    force = f"    police_force: {_scalar(police_force)}\n" if police_force else "    # police_force: the force's name\n"
    others = "".join(
        f"  # {source}:{' ' * max(1, 22 - len(source))}# {SOURCES[source].agency}: {SOURCES[source].title}\n  #   enabled: true\n"
        for source in SOURCES if source != "police_street"
    )
    return f"""\
# partnership.yaml: see docs/configuration.md for every key.
version: 1
workspace:
  name: {_scalar(workspace_name or name)}
  synthetic: false
period:            # the months the documents cover (financial years run April to March)
  start: "{period[0]}"
  end: "{period[1]}"
partnerships:
  - id: {partnership_id(name)}
    name: {_scalar(name)}
    local_authorities: [{", ".join(local_authorities)}]  # {"; ".join(names)}
{force}    postcode_districts: [{", ".join(postcode_districts)}]  # outward postcodes (the part before the space) that place rows carrying only a postcode
    geography:     # national ONS reference data shipped with csp (data/reference/ATTRIBUTION.md)
      vintage: 2011
      lookup:      # LSOA 2011 -> electoral ward (Dec 2019), the ONS best fit
        file: builtin:{LOOKUP_FILE}
      population:  # Census 2011 usual residents and households per LSOA
        file: builtin:{POPULATION_FILE}
        year: 2011
      boundaries: builtin:{BOUNDARIES_FILE}
    branding:        # the documents' look; the accent must reach 3:1 against white (docs/configuration.md)
      accent: "#12436D"
sources:
  police_street:   # police: data.police.uk street-level crime and ASB
    enabled: true
    max_reject_share: 0.05
  # The other sources, each expected only once enabled here or once its files are in raw/<source>/
  # (docs/sources.md gives every layout): uncomment the ones your partners send.
{others}"""


# `csp init` without --local-authority: a worked example, Calderdale, with its force and postcode districts.
STARTER_CONFIG = starter_config(
    ["E08000033"], name="Calderdale Community Safety Partnership", workspace_name="WORKSPACE_NAME",
    police_force="West Yorkshire Police", postcode_districts=("HX1", "HX2", "HX3", "HX4", "HX5", "HX6", "HX7", "HD6", "OL14"),
).replace("WORKSPACE_NAME", "{name}")


@dataclass(frozen=True)
class Workspace:
    root: Path
    # A scheduled publication (pipeline/schedules.py) narrows its run to one partnership's documents, for the
    # period that was complete by the month `period_end`; every other run reads partnership.yaml as written.
    partnership: str | None = None
    period_end: str | None = None

    @classmethod
    def at(cls, root: Path | str, partnership: str | None = None, period_end: str | None = None) -> "Workspace":
        return cls(Path(root).expanduser().resolve(), partnership, period_end)

    @property
    def config_path(self) -> Path:
        return self.root / CONFIG_FILE

    @property
    def raw(self) -> Path:
        return self.root / "raw"

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse"

    @property
    def database(self) -> Path:
        return self.warehouse / "csp.duckdb"

    @property
    def marts(self) -> Path:
        return self.warehouse / "marts"

    @property
    def published(self) -> Path:
        return self.root / "published"

    @property
    def restricted(self) -> Path:
        return self.root / "restricted"

    @property
    def commentary(self) -> Path:
        return self.root / "commentary"

    def source_folder(self, config: Config, source: str) -> Path:
        folder = config.source(source).folder
        return (self.root / folder) if folder else self.raw / source

    def config(self) -> Config:
        config = load_config(self.root)
        if self.partnership:
            chosen = [p for p in config.partnerships if p.id == self.partnership]
            if not chosen:
                raise ConfigError(f"{self.config_path}: partnerships[].id: no partnership {self.partnership!r} "
                                  f"(a scheduled run names one of {', '.join(p.id for p in config.partnerships)})")
            config = config.model_copy(update={"partnerships": chosen})
        if self.period_end:
            if self.period_end > config.period.end:
                raise ConfigError(f"{self.config_path}: period.end: found {config.period.end!r}; a publication scheduled "
                                  f"for the period complete by {self.period_end} needs it at least that late")
            config = config.model_copy(update={"period": config.period.model_copy(update={"end": self.period_end})})
        return config

    def scaffold(self, config_text: str | None = None) -> list[Path]:
        """Create the folders and a starter partnership.yaml; an existing configuration is never overwritten."""
        made = []
        for folder in (self.raw, self.warehouse, self.published, self.restricted, self.commentary):
            if not folder.exists():
                folder.mkdir(parents=True)
                made.append(folder)
        if not self.config_path.exists():
            self.config_path.write_text(config_text or STARTER_CONFIG.format(name=self.root.name), encoding="utf-8")
            made.append(self.config_path)
        return made

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """The one writer is a pipeline run; everything else opens the warehouse read-only or reads Parquet."""
        if not read_only:
            self.warehouse.mkdir(parents=True, exist_ok=True)
            self.warehouse.chmod(0o700)  # it holds pseudonymised person-level rows: its owner's alone
        con = duckdb.connect(str(self.database), read_only=read_only)
        if not read_only:
            self.database.chmod(0o600)
        con.execute(SHARED_MACROS)  # financial year, rolling windows, deduplication: sql/macros.sql
        if not read_only:  # landing commits once per file: at DuckDB's 16 MB default it checkpoints after most of them
            con.execute(f"SET checkpoint_threshold = '{CHECKPOINT_THRESHOLD}'")
        if os.environ.get(MEMORY_LIMIT_ENV):
            try:
                con.execute("SET memory_limit = ?", [os.environ[MEMORY_LIMIT_ENV]])
            except duckdb.Error as exc:
                con.close()
                raise ConfigError(f"{MEMORY_LIMIT_ENV}={os.environ[MEMORY_LIMIT_ENV]!r} is not a memory size DuckDB "
                                  f"reads (e.g. 6GB, 800MB): {exc}") from None
        try:
            yield con
        finally:
            con.close()
