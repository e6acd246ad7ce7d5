"""Disclosure control, privacy and provenance on the built demo: public editions show no small count and
nothing that gives one away, restricted editions keep them; the warehouse holds no direct identifier and the
key is nowhere but its file; a planted identifier stops the release; the same inputs give the same bytes."""

import csv
import hashlib
import json
import shutil
import stat
import subprocess
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipeline.ingest.parse import looks_personal
from pipeline.paths import PROJECT_ROOT
from pipeline.publish.assets import discover, publish
from pipeline.publish.pool import WORKERS_ENV as RENDER_WORKERS_ENV
from pipeline.publish.audit import IDENTIFIERS, audit_folder, pdf_text
from pipeline.publish.disclosure import PUBLIC_DIR, STATUS, SUPPRESSED, TREATMENTS
from pipeline.publish.manifest import MANIFEST
from pipeline.publish.release import ReleaseRefused
from pipeline.workspace import Workspace
from tests.helpers import edition_folder

SMALL = (1, 4)
# Column names that read like a person's details but are not: the outward code alone (its values are checked
# below for full postcodes), and the name of a checked column in quality.results.
NOT_PERSONAL = {"outward_postcode", "column_name"}


def _digests(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_the_public_marts_show_no_small_count_and_none_can_be_worked_out(demo_workspace):
    ws, _ = demo_workspace
    monthly = pl.read_parquet(ws.marts / "mart_crime_monthly_ward.parquet")
    small = monthly.filter(pl.col("records").is_between(*SMALL))
    assert small["ward_code"].n_unique() >= 10 and small["month"].n_unique() >= 12  # plenty, in many wards and months
    public_dir = ws.warehouse / PUBLIC_DIR
    for path in sorted(public_dir.glob("*.parquet")):
        spec = TREATMENTS[path.stem]
        if spec.count is None:
            continue
        public = pl.read_parquet(path)
        assert public.filter(pl.col(STATUS).is_null() & pl.col(spec.count).is_between(*SMALL)).height == 0, path.name
        for group in spec.totals:  # no hidden cell alone in a group that adds up to a published total
            if all(c in public.columns for c in group):
                lone = public.group_by(list(group)).agg((pl.col(STATUS) == SUPPRESSED).sum().alias("n"), pl.len().alias("cells"))
                assert lone.filter((pl.col("n") == 1) & (pl.col("cells") > 1)).height == 0, (path.name, group)
    assert "ward_code" not in pl.read_parquet(public_dir / "mart_crime_monthly_ward.parquet").columns
    assert audit_folder(edition_folder(ws, "public")) == []  # tables, embedded chart data, CSV downloads, PDF text
    restricted = edition_folder(ws, "restricted")
    assert "OFFICIAL-SENSITIVE" in (restricted / "report.html").read_text(encoding="utf-8")
    assert {stat.S_IMODE(p.stat().st_mode) for p in [restricted, *restricted.rglob("*")]} <= {0o600, 0o700}
    assert stat.S_IMODE(ws.database.stat().st_mode) == 0o600


def _by_type_rows(html: Path) -> dict[str, list[str]]:
    from bs4 import BeautifulSoup

    table = next(t for t in BeautifulSoup(html.read_text(encoding="utf-8"), "html.parser").find_all("table")
                 if "by type" in t.find("caption").get_text())
    rows = [[c.get_text(strip=True) for c in tr.find_all(["th", "td"])] for tr in table.find_all("tr")[1:]]
    return {r[0]: r[1:] for r in rows}


def test_seeded_small_counts_show_in_the_restricted_edition_only(copy_of_demo):
    """Seed counts of 1-4 into the yearly mart the pack's by-type table shows: the public edition hides them
    (and the next smallest, so the year's total gives nothing away); the restricted edition shows them."""
    ws = copy_of_demo
    mart = ws.marts / "mart_crime_rate_fy.parquet"
    rates = pl.read_parquet(mart)
    latest = rates.filter(pl.col("record_kind") == "crime")["financial_year"].max()
    crimes = rates.with_row_index().filter((pl.col("record_kind") == "crime") & (pl.col("financial_year") == latest)).sort("records")
    seeded = dict(zip(crimes["crime_type"][:1].to_list(), [3]))
    rates = rates.with_columns(
        pl.when((pl.col("financial_year") == latest) & pl.col("crime_type").is_in(list(seeded)))
        .then(pl.col("crime_type").replace_strict(seeded, default=None)).otherwise(pl.col("records")).alias("records")
    )
    rates.write_parquet(mart)
    publish(ws, discover()[0])
    public, restricted = edition_folder(ws, "public"), edition_folder(ws, "restricted")
    shown, full = _by_type_rows(public / "report.html"), _by_type_rows(restricted / "report.html")
    (seeded_type,) = seeded
    assert full[seeded_type][0] == "3" and shown[seeded_type] == ["[c]", "[c]"]  # the count and its rate
    assert sum(cells == ["[c]", "[c]"] for cells in shown.values()) == 2  # the next smallest is hidden too
    assert audit_folder(public) == []
    findings = [str(f) for f in audit_folder(restricted)]
    assert any("count 3 is below the threshold 5" in f for f in findings), findings
    public_pdf = " ".join(pdf_text(public / "report.pdf").split())
    assert f"{seeded_type} 3 " in " ".join(pdf_text(restricted / "report.pdf").split())
    assert f"{seeded_type} 3 " not in public_pdf and seeded_type in public_pdf


def test_every_edition_carries_its_provenance(demo_workspace):
    ws, _ = demo_workspace
    manifest = json.loads((edition_folder(ws) / MANIFEST).read_text(encoding="utf-8"))
    with duckdb.connect(str(ws.database), read_only=True) as con:
        landed = con.execute("SELECT count(*), count(DISTINCT source) FROM raw._manifest").fetchone()
    assert (len(manifest["inputs"]), len({i["source"] for i in manifest["inputs"]})) == landed
    assert all(len(i["sha256"]) == 64 and i["period_from"] for i in manifest["inputs"])
    assert manifest["configuration_sha256"] == hashlib.sha256(ws.config_path.read_bytes()).hexdigest()
    assert manifest["code_version"].startswith(("git ", "csp "))
    assert "counts from 1 to 4 are shown as [c]" in manifest["disclosure_rule"]
    assert sum(c["passed"] for c in manifest["checks"]) > 0
    assert set(manifest["outputs"]) >= {"report.html", "report.pdf", "figures.csv", "figures.xlsx"}


def test_every_published_figure_names_the_sources_it_came_from(demo_workspace):
    """figures.csv: each number's sources are sources the manifest lists extracts of (or reference data)."""
    ws, _ = demo_workspace
    from pipeline.sources import SOURCES

    for edition in ("public", "restricted"):
        folder = edition_folder(ws, edition)
        landed = {i["source"] for i in json.loads((folder / MANIFEST).read_text(encoding="utf-8"))["inputs"]}
        with (folder / "figures.csv").open(encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        assert rows
        for row in rows:
            named = set(row["sources"].split("; "))
            assert row["sources"] and named <= set(SOURCES), row
            assert named & landed, (row, landed)
        assert any(r["indicator_id"] == "police_uk_crime" for r in rows)


def test_the_warehouse_holds_no_direct_identifier(demo_workspace):
    """Every table and column: no column named like a person's details, no value shaped like a full postcode,
    a date of birth or a clear crime reference (pseudonyms are the only identifiers, as 32-hex HMACs)."""
    ws, _ = demo_workspace
    patterns = {k: v for k, v in IDENTIFIERS.items() if "hex" not in k}
    problems = []
    with duckdb.connect(str(ws.database), read_only=True) as con:
        columns = con.execute(
            "SELECT table_schema, table_name, column_name, data_type FROM information_schema.columns ORDER BY ALL"
        ).fetchall()
        assert len(columns) > 100
        for schema, table, column, data_type in columns:
            if looks_personal(column) and column not in NOT_PERSONAL:
                problems.append(f"{schema}.{table}.{column}: named like a person's details")
            if data_type != "VARCHAR":
                continue
            values = [v for (v,) in con.execute(f'SELECT DISTINCT "{column}" FROM "{schema}"."{table}" WHERE "{column}" IS NOT NULL LIMIT 5000').fetchall()]
            for what, pattern in patterns.items():
                hits = [v for v in values if pattern.search(v)]
                if hits:
                    problems.append(f"{schema}.{table}.{column}: {what}, e.g. {hits[0]!r}")
    assert problems == [], problems


def test_the_key_is_nowhere_but_its_file(demo_workspace, pseudonym_key_env):
    ws, _ = demo_workspace
    key = bytes.fromhex(pseudonym_key_env.read_text().strip())
    needles = [key, key.hex().encode(), key.hex().upper().encode()]
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=PROJECT_ROOT, capture_output=True, check=True).stdout.split(b"\0")
    files = [p for p in ws.root.rglob("*") if p.is_file()] + [PROJECT_ROOT / f.decode() for f in tracked if f]
    assert any(p.suffix == ".duckdb" for p in files) and any(".dagster" in p.parts for p in files)
    leaks = [str(p) for p in files if p.is_file() and any(n in p.read_bytes() for n in needles)]
    assert leaks == []


@pytest.fixture
def copy_of_demo(demo_workspace, tmp_path) -> Workspace:
    ws, _ = demo_workspace
    shutil.copytree(ws.root, tmp_path / "ws", ignore=shutil.ignore_patterns(".dagster"))
    return Workspace.at(tmp_path / "ws")


def test_a_planted_identifier_stops_the_release_and_the_previous_edition_stays(copy_of_demo):
    ws = copy_of_demo
    before = _digests(ws.published)
    mart = ws.marts / "mart_crime_rate_fy.parquet"
    rates = pl.read_parquet(mart)
    latest = rates.filter(pl.col("record_kind") == "crime")["financial_year"].max()
    planted = "a3" * 32  # shaped like a police.uk Crime ID
    biggest = rates.with_row_index().filter(pl.col("financial_year") == latest).sort("records")["index"][-1]
    rates.with_columns(pl.when(pl.int_range(pl.len()) == biggest).then(pl.lit(planted)).otherwise(pl.col("crime_type")).alias("crime_type")).write_parquet(mart)
    with pytest.raises(ReleaseRefused, match=f"(?s)pseudonym or Crime ID.*{planted}"):
        publish(ws, discover()[0])
    assert _digests(ws.published) == before
    assert [p.name for p in edition_folder(ws).parent.iterdir()] == [edition_folder(ws).name]  # nothing half-built left


def test_the_same_inputs_give_the_same_bytes(copy_of_demo, demo_workspace, monkeypatch):
    """The demo rendered its editions side by side in worker processes; rendered again one after another in
    this process, every file but the manifest's build time is byte-identical."""
    ws = copy_of_demo
    first = {e: _digests(edition_folder(ws, e)) for e in ("public", "restricted")}
    first_manifest = json.loads((edition_folder(ws) / MANIFEST).read_text(encoding="utf-8"))
    monkeypatch.setenv(RENDER_WORKERS_ENV, "1")
    publish(ws, discover()[0])
    second = {e: _digests(edition_folder(ws, e)) for e in ("public", "restricted")}
    second_manifest = json.loads((edition_folder(ws) / MANIFEST).read_text(encoding="utf-8"))
    for edition in first:
        differ = sorted(name for name in first[edition] if first[edition][name] != second[edition].get(name))
        assert differ == [MANIFEST], (edition, differ)
    first_manifest.pop("built_at"), second_manifest.pop("built_at")
    assert first_manifest == second_manifest
