"""Where the project's own files are, resolved from this file, never from the working directory."""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SQL_DIR = PROJECT_ROOT / "sql"
REPORTS_DIR = PROJECT_ROOT / "reports"
EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"
REFERENCE_DIR = PROJECT_ROOT / "data" / "reference"
INDICATORS_DIR = PROJECT_ROOT / "indicators"
INSTANCE_CONFIG = PROJECT_ROOT / "dagster.yaml"  # every workspace's Dagster instance (cli.dagster_home)
