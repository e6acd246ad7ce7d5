"""Real data.police.uk files (vendored in tests/fixtures) load exactly, with duplicates and cross-border rows found."""

import csv
import shutil
from collections import Counter
from pathlib import Path

import pytest

from pipeline.ingest.assets import land
from pipeline.models.sql_assets import build_model, discover
from pipeline.placement import place
from pipeline.reference import geography
from pipeline.sources import SOURCES
from tests.helpers import POLICE_UK_FILES, make_workspace


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    ws = make_workspace(tmp_path_factory.mktemp("ws"))
    folder = ws.raw / "police_street"
    folder.mkdir(parents=True)
    files = list(POLICE_UK_FILES)
    for f in files:
        shutil.copy(f, folder / f.name)
    summary = land(ws, SOURCES["police_street"])
    import dagster as dg

    from pipeline.resources import WorkspaceResource

    dg.materialize([geography], resources={"workspace": WorkspaceResource(root=str(ws.root))})
    models = {m.name: m for m in discover()}
    for name in ("stg_police_street", "dim_geography"):
        build_model(ws, models[name])
    with ws.connect() as con:
        place(con, ws, ws.config())
    build_model(ws, models["fct_street_records"])
    return ws, summary, files


def _independent_counts(path: Path) -> Counter:
    with path.open(newline="", encoding="utf-8") as handle:
        return Counter(row["Crime type"] for row in csv.DictReader(handle))


def test_every_data_line_is_accepted_or_rejected(loaded):
    ws, summary, files = loaded
    for outcome, path in zip(summary.files, files):
        with path.open(newline="", encoding="utf-8") as handle:
            data_lines = sum(1 for _ in csv.reader(handle)) - 1
        assert outcome.status == "loaded", outcome.detail
        assert outcome.rows_accepted + outcome.rows_rejected == data_lines
        assert outcome.rows_read == data_lines


def test_counts_by_crime_type_equal_an_independent_count(loaded):
    ws, _, files = loaded
    with ws.connect(read_only=True) as con:
        for path in files:
            landed = dict(con.execute(
                """SELECT p.crime_type, count(*) FROM raw.police_street p JOIN raw._manifest m
                   ON m.file_id = p._file_id WHERE m.file_name = ? GROUP BY 1""",
                [f"raw/police_street/{path.name}"],
            ).fetchall())
            assert landed == dict(_independent_counts(path))


def test_exact_duplicates_are_counted_for_every_file(loaded):
    ws, summary, files = loaded
    for outcome, path in zip(summary.files, files):
        with path.open(newline="", encoding="utf-8") as handle:
            rows = [tuple(row) for row in csv.reader(handle)][1:]
        assert outcome.rows_repeated == len(rows) - len(set(rows)) > 0  # police.uk has real ones
    with ws.connect(read_only=True) as con:
        landed = dict(con.execute("SELECT file_name, rows_repeated FROM raw._manifest").fetchall())
    assert landed == {o.file_name: o.rows_repeated for o in summary.files}


def test_met_sample_duplicates_are_reported_and_counted_once(loaded):
    ws, _, files = loaded
    with (files[-1]).open(newline="", encoding="utf-8") as handle:
        ids = [row["Crime ID"] for row in csv.DictReader(handle) if row["Crime ID"]]
    expected_repeats = len(ids) - len(set(ids))
    assert expected_repeats > 0
    with ws.connect(read_only=True) as con:
        repeats = con.execute(
            """SELECT count(*) FROM staging.stg_police_street s JOIN raw._manifest m ON m.file_id = s.file_id
               WHERE m.file_name LIKE '%metropolitan%' AND s.is_duplicate"""
        ).fetchone()[0]
    assert repeats == expected_repeats


def test_rows_outside_the_partnership_are_kept_and_flagged(loaded):
    ws, _, files = loaded
    with files[-1].open(newline="", encoding="utf-8") as handle:
        met_rows = sum(1 for _ in csv.DictReader(handle))
    with ws.connect(read_only=True) as con:
        by_reason = dict(con.execute(
            "SELECT coalesce(unplaced_reason, 'placed'), count(*) FROM conformed.fct_street_records GROUP BY 1"
        ).fetchall())
        calderdale_rows = con.execute(
            "SELECT count(*) FROM raw.police_street WHERE lsoa_name LIKE 'Calderdale %'"
        ).fetchone()[0]
    assert by_reason["outside the partnership area"] == met_rows  # every row of the Met sample lies outside Calderdale
    assert by_reason["placed"] == calderdale_rows


def test_no_location_rows_are_kept_without_an_lsoa(tmp_path: Path):
    ws = make_workspace(tmp_path)
    folder = ws.raw / "police_street"
    folder.mkdir(parents=True)
    source = POLICE_UK_FILES[0].read_bytes()
    no_location = b",2016-07,West Yorkshire Police,West Yorkshire Police,,,No Location,,,Other crime,,\r\n"
    (folder / "with-no-location.csv").write_bytes(source + no_location)
    outcome = land(ws, SOURCES["police_street"]).files[0]
    assert outcome.status == "loaded" and outcome.rows_rejected == 0
    with ws.connect(read_only=True) as con:
        kept = con.execute("SELECT count(*) FROM raw.police_street WHERE location = 'No Location' AND lsoa_code IS NULL").fetchone()[0]
    assert kept == 1
