"""Any area of England and Wales from its codes: `csp init --local-authority` → real police.uk rows → `csp run`
publishes, with counts equal to an independent count; and LSOA 2021 codes placed in a 2011 workspace."""

import csv
import gzip
import shutil
from collections import Counter
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
import shapely
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.geography import BOUNDARIES_FILE, LOOKUP_FILE, POPULATION_FILE, read_boundaries, vintage_lookup
from pipeline.ingest.assets import land
from pipeline.models.sql_assets import build_model, discover
from pipeline.paths import PROJECT_ROOT, REFERENCE_DIR
from pipeline.placement import place
from pipeline.reference import geography
from pipeline.resources import WorkspaceResource
from pipeline.sources import SOURCES
from pipeline.workspace import Workspace
from tests.helpers import SCRUTINY_PACK_ONLY

BARKING = "E09000002"  # Barking and Dagenham
FIXTURE = PROJECT_ROOT / "tests" / "fixtures" / "police_uk" / "2023-01-metropolitan-street.barking-and-dagenham.csv"


def _init(root: Path, *options: str) -> Workspace:
    result = CliRunner().invoke(app, ["init", str(root), *options])
    assert result.exit_code == 0, result.output
    return Workspace.at(root)


def _fixture_rows() -> tuple[list[str], list[dict[str, str]]]:
    with FIXTURE.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames), list(reader)


def _independent_counts(rows: list[dict[str, str]]) -> Counter:
    """Per crime type with the csv module, each Crime ID once (a repeated ID is one crime published twice);
    ASB rows have no Crime ID and each counts (docs/sources.md, police_street)."""
    counts, seen = Counter(), set()
    for row in rows:
        if row["Crime ID"]:
            if row["Crime ID"] in seen:
                continue
            seen.add(row["Crime ID"])
        counts[row["Crime type"]] += 1
    return counts


def test_barking_and_dagenham_from_init_to_published(tmp_path: Path, pseudonym_key_env):
    ws = _init(tmp_path / "bd", "--local-authority", BARKING, "--period", "2023-01:2023-01")
    text = ws.config_path.read_text(encoding="utf-8")
    assert "Barking and Dagenham Community Safety Partnership" in text and "Calderdale" not in text
    (ws.raw / "police_street").mkdir(parents=True, exist_ok=True)
    shutil.copy(FIXTURE, ws.raw / "police_street" / FIXTURE.name)

    result = CliRunner().invoke(app, ["run", "--workspace", str(ws.root), "--select", SCRUTINY_PACK_ONLY])
    assert result.exit_code == 0, result.output
    assert "placement=lsoa" in result.output

    _, rows = _fixture_rows()
    with gzip.open(REFERENCE_DIR / LOOKUP_FILE, "rt", newline="", encoding="utf-8") as handle:
        barking = {r["lsoa11cd"] for r in csv.DictReader(handle) if r["lad_cd"] == BARKING}
    expected = _independent_counts([r for r in rows if r["LSOA code"] in barking])
    monthly = pl.read_parquet(ws.marts / "mart_crime_monthly_ward.parquet")
    assert dict(monthly.group_by("crime_type").agg(pl.col("records").sum()).iter_rows()) == dict(expected)
    for document in ("report.html", "report.pdf"):
        (published,) = (ws.published / "barking_and_dagenham" / "scrutiny-pack").glob(f"*/{document}")
        assert published.stat().st_size > 0


def test_init_names_an_unknown_local_authority_and_suggests_the_closest(tmp_path: Path):
    result = CliRunner().invoke(app, ["init", str(tmp_path / "x"), "--local-authority", "barking"])
    assert result.exit_code == 2
    assert "'barking' is not the GSS code of a local authority of England or Wales" in " ".join(result.output.split())
    assert "closest: E09000002 Barking and Dagenham" in " ".join(result.output.split())
    assert not (tmp_path / "x").exists()


def test_init_for_a_group_of_authorities_covers_all_their_lsoas(tmp_path: Path):
    ws = _init(tmp_path / "group", "-l", BARKING, "-l", "E09000016", "--name", "Outer East London CSP")
    config = ws.config()
    (partnership,) = config.partnerships
    assert (partnership.id, partnership.local_authorities) == ("outer_east_london_csp", [BARKING, "E09000016"])
    with gzip.open(REFERENCE_DIR / POPULATION_FILE, "rt", newline="", encoding="utf-8") as handle:
        residents = sum(int(r["usual_residents"]) for r in csv.DictReader(handle) if r["lad_cd"] in (BARKING, "E09000016"))
    from pipeline.geography import geography_frame

    assert geography_frame(ws, config)["residents"].sum() == residents


# --- both LSOA vintages --------------------------------------------------------------------------------------

def _codes_2021(chgind: str) -> dict[str, list[str]]:
    """Barking and Dagenham's 2021 codes of this change, each with the 2011 LSOAs it overlaps (ONS lookup)."""
    changed = vintage_lookup().filter((pl.col("lad22cd") == BARKING) & (pl.col("chgind") == chgind))
    return {new: sorted(changed.filter(pl.col("lsoa21cd") == new)["lsoa11cd"]) for new in sorted(set(changed["lsoa21cd"]))}


@pytest.fixture(scope="module")
def mixed_vintages(tmp_path_factory):
    """Real Met rows relabelled with the 2021 code that the ONS lookup gives their 2011 LSOA: rows of a
    merged 2021 LSOA (coordinates kept, and one without), and rows of a split one."""
    ((merged, merged_from),) = _codes_2021("M").items()  # E01034479 ← E01000048, E01033588
    split = _codes_2021("S")
    split_code, (split_from,) = next(iter(split.items()))
    header, rows = _fixture_rows()
    relabelled, expected = [], {}
    for row in rows:
        if row["LSOA code"] in merged_from:
            expected[len(relabelled) + 2] = ("by coordinates", row["LSOA code"], row)
            relabelled.append({**row, "LSOA code": merged})
        elif row["LSOA code"] == split_from:
            expected[len(relabelled) + 2] = ("exact", split_from, row)
            relabelled.append({**row, "LSOA code": split_code})
    no_coordinates = {**relabelled[0], "Longitude": "", "Latitude": "", "LSOA code": merged}
    with gzip.open(REFERENCE_DIR / POPULATION_FILE, "rt", newline="", encoding="utf-8") as handle:
        people = {r["lsoa11cd"]: int(r["usual_residents"]) for r in csv.DictReader(handle) if r["lsoa11cd"] in merged_from}
    expected[len(relabelled) + 2] = ("best fit", max(merged_from, key=lambda code: (people[code], code)), no_coordinates)
    relabelled.append(no_coordinates)

    ws = _init(tmp_path_factory.mktemp("vintages") / "bd", "-l", BARKING)
    folder = ws.raw / "police_street"
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "2023-01-relabelled-2021.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(relabelled)
    outcome = land(ws, SOURCES["police_street"]).files[0]
    assert (outcome.status, outcome.rows_rejected) == ("loaded", 0), outcome.detail
    dg.materialize([geography], resources={"workspace": WorkspaceResource(root=str(ws.root))})
    build_model(ws, {m.name: m for m in discover()}["dim_geography"])
    with ws.connect() as con:
        counts = place(con, ws, ws.config())
        placed = {line: (by, code) for line, by, code in con.execute(
            "SELECT line, placed_by, lsoa_code FROM conformed.placements").fetchall()}
    return expected, placed, counts, merged_from


def test_a_merged_2021_lsoa_is_placed_by_the_rows_coordinates(mixed_vintages):
    """Each row goes to the 2011 part whose (shipped, generalised) polygon holds its point. Where police.uk's
    own 2011 code names that part, the row lands back in it, though the best fit would say otherwise; four
    "Boundary Road" rows that police.uk gives to E01000048 lie ~70 m inside E01033588 on the ONS
    generalised boundaries (the original GeoJSON too), and follow their coordinates."""
    expected, placed, _, merged_from = mixed_vintages
    shapes = read_boundaries(REFERENCE_DIR / BOUNDARIES_FILE, set(merged_from))
    best_fit = next(code for how, code, _ in expected.values() if how == "best fit")
    agreeing = 0
    for line, (how, published, row) in expected.items():
        if how != "by coordinates":
            continue
        point = shapely.Point(float(row["Longitude"]), float(row["Latitude"]))
        (holder,) = [code for code in merged_from if shapes[code].contains(point)]
        assert placed[line] == ("lsoa 2021→2011 by coordinates", holder), line
        agreeing += holder == published != best_fit
    assert agreeing >= 2  # rows the best fit would have put in the other part


def test_a_split_2021_lsoa_maps_exactly_and_no_coordinates_falls_back_to_best_fit(mixed_vintages):
    expected, placed, counts, _ = mixed_vintages
    for line, (how, code, _) in expected.items():
        if how != "by coordinates":
            assert placed[line] == (f"lsoa 2021→2011 {how}", code), line
    assert counts == dict(Counter(f"lsoa 2021→2011 {how}" for how, _, _ in expected.values()))
