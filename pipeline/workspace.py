"""A workspace: the folder an analyst owns, with its configuration, drop zone, warehouse and outputs.

    partnership.yaml   the configuration (validated on load)
    raw/<source>/      the drop zone; csp only ever reads it
    warehouse/         DuckDB (csp.duckdb) and Parquet exports of the marts; rebuildable from raw/
    published/         public editions of the documents
    restricted/        restricted (OFFICIAL-SENSITIVE) editions
    commentary/        text the analyst writes for the documents
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import duckdb

from pipeline.config import CONFIG_FILE, Config, load_config

WORKSPACE_ENV = "CSP_WORKSPACE"

STARTER_CONFIG = """\
# partnership.yaml: see docs/configuration.md for every key.
version: 1
workspace:
  name: {name}
  synthetic: false
period:            # the months the documents cover (financial years run April to March)
  start: "2020-04"
  end: "2025-03"
partnerships:
  - id: calderdale
    name: Calderdale Community Safety Partnership
    local_authorities: [E08000033]
    police_force: West Yorkshire Police
    postcode_districts: [HX1, HX2, HX3, HX4, HX5, HX6, HX7, HD6, OL14]
    geography:
      vintage: 2011
      lookup:
        file: builtin:calderdale_lsoa11_to_ward_postcode_majority.csv
        lsoa: lsoa11cd
        ward_code: ward_cd
        ward_name: ward_nm
      population:
        file: builtin:calderdale_lsoa11_census2011_pop.csv
        year: 2011
        lsoa: lsoa11cd
        persons: usual_residents
        households: households
      boundaries: builtin:calderdale_lsoa11_bsc.geojson
sources:
  police_street:
    enabled: true
    max_reject_share: 0.05
"""


@dataclass(frozen=True)
class Workspace:
    root: Path

    @classmethod
    def at(cls, root: Path | str) -> "Workspace":
        return cls(Path(root).expanduser().resolve())

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
        return load_config(self.root)

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
        try:
            yield con
        finally:
            con.close()
