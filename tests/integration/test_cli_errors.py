"""Every failure is explained where the analyst is: `csp run` and `csp check` name the step, the file or the
partnership.yaml key, and what was expected, and exit 0 (done), 1 (needs the analyst) or 2 (configuration).

Each case provokes a real failure in a small workspace on the vendored police.uk files; messages are checked
word for word where they are ours (whitespace folded: the terminal wraps long lines).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import duckdb
import pytest
import yaml
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.workspace import STARTER_CONFIG, Workspace
from tests.helpers import POLICE_UK_FILES, make_workspace

KEY = "7e" * 32
LAND = 'group:"reference" or key:"raw/police_street"'  # landing, with the reference tables its checks read
JULY_2016, JULY_2017 = POLICE_UK_FILES[:2]


def _config(**period) -> str:
    """The starter configuration, over July 2017 only (the month of the vendored file the cases land)."""
    config = yaml.safe_load(STARTER_CONFIG.format(name="errors"))
    config["period"] = {"start": "2017-07", "end": "2017-07", **period}
    return yaml.safe_dump(config, sort_keys=False)


def csp(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, " ".join(result.output.split())


@pytest.fixture
def ws(tmp_path: Path, monkeypatch) -> Workspace:
    monkeypatch.setenv("CSP_PSEUDONYM_KEY", KEY)
    ws = make_workspace(tmp_path / "ws", _config())
    (ws.raw / "police_street").mkdir()
    shutil.copy(JULY_2017, ws.raw / "police_street" / JULY_2017.name)
    return ws


# --- configuration: exit 2 before anything runs ------------------------------------------------------------


@pytest.mark.parametrize("command", ["run", "check"])
def test_a_misspelt_key_is_named_and_exits_2(ws: Workspace, command: str):
    ws.config_path.write_text(ws.config_path.read_text(encoding="utf-8").replace("  start:", "  strat:"), encoding="utf-8")
    code, output = csp(command, "--workspace", str(ws.root))
    assert code == 2, output
    assert output == (
        f"configuration error {ws.config_path}: 2 problem(s): - period.start: missing; this key is required "
        "- period.strat: unknown key (found '2017-07'); check its spelling against docs/configuration.md"
    )


def test_a_missing_reference_file_is_named_with_its_key_and_exits_2(ws: Workspace):
    config = yaml.safe_load(ws.config_path.read_text(encoding="utf-8"))
    config["partnerships"][0]["geography"]["population"]["file"] = "population/mine.csv"
    ws.config_path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    code, output = csp("run", "--workspace", str(ws.root))
    assert code == 2, output
    assert (
        f"{ws.config_path}: partnerships[0].geography.population.file: file 'population/mine.csv' not found "
        f"(looked at {ws.root / 'population' / 'mine.csv'})"
    ) in output


def test_a_missing_pseudonymisation_key_fails_landing_by_name_and_exits_2(ws: Workspace, tmp_path: Path, monkeypatch):
    monkeypatch.delenv("CSP_PSEUDONYM_KEY")
    monkeypatch.setenv("CSP_PSEUDONYM_KEY_FILE", str(tmp_path / "nowhere" / "csp.key"))
    (ws.raw / "police_crimes").mkdir()
    (ws.raw / "police_crimes" / "crimes-2017-07.csv").write_text(
        "crime_ref,recorded_date,committed_date,committed_time,offence_code,lsoa_code,domestic_abuse,hate_strand,knife,"
        "firearm,alcohol,night_time_economy,victim_id,offender_id,victim_age_band,victim_sex,outcome\n"
        "WY-1,2017-07-03,2017-07-02,22:15,105A,E01010955,N,,N,N,N,Y,V-1,O-1,25-34,F,Under investigation\n",
        encoding="utf-8",
    )
    code, output = csp("run", "--workspace", str(ws.root), "--select", "raw/police_crimes")
    assert code == 2, output
    assert (
        "FAILED landing raw/police_crimes (raw/police_crimes/, partnership.yaml sources.police_crimes): no "
        "pseudonymisation key: set CSP_PSEUDONYM_KEY (hex) or CSP_PSEUDONYM_KEY_FILE, or create "
        f"{tmp_path / 'nowhere' / 'csp.key'} (`csp key create` makes one); keep it outside the workspace"
    ) in output
    assert output.endswith("configuration error: 1 step(s) failed; what depends on a failure was not built (exit 2)")


# --- landing: a refused file needs the analyst (exit 1), in csp check and in csp run ---------------------------

SEMICOLONS = (
    "line 1: wrong delimiter: the header is one field holding 11 semicolons, so the values are separated by "
    "semicolons (;); expected commas (export or save the file as comma-separated CSV)"
)


def test_a_refused_file_is_named_by_check_and_run_and_exits_1(ws: Workspace):
    (ws.raw / "police_street" / "semicolons.csv").write_bytes(JULY_2016.read_bytes().replace(b",", b";"))
    code, output = csp("check", "--workspace", str(ws.root))
    assert code == 1, output
    assert f"REFUSED raw/police_street/semicolons.csv (sources.police_street): {SEMICOLONS}" in output
    assert output.endswith("needs the analyst: 1 file(s) refused; nothing blocks publishing (exit 1)")
    # the real file's exact repeats (police.uk anti-social behaviour at one map point) are counted and reported
    rows = JULY_2017.read_bytes().split(b"\r\n")[1:-1]
    repeated = len(rows) - len(set(rows))
    assert repeated > 0
    assert (f"REPEATED police_street: {repeated:,} row(s) repeat an earlier row of their file exactly (kept; see "
            "data_quality.html for the files and lines)") in output
    report = (ws.restricted / "data_quality.html").read_text(encoding="utf-8")
    assert "Repeated exactly" in report and f"<td>{repeated:,}</td>" in report
    assert f"{repeated:,} row(s) repeat an earlier row of this file exactly (e.g. line " in report
    assert "wrong delimiter" in report

    code, output = csp("run", "--workspace", str(ws.root), "--select", LAND)
    assert code == 1, output  # refused again: it is still in the folder
    assert f"REFUSED raw/police_street/semicolons.csv (sources.police_street): {SEMICOLONS}" in output
    assert output.endswith("needs the analyst: 1 file(s) refused; built (exit 1)")

    (ws.raw / "police_street" / "semicolons.csv").unlink()
    code, output = csp("run", "--workspace", str(ws.root), "--select", LAND)
    assert code == 0, output
    assert "REFUSED" not in output and output.endswith("built; nothing needs attention (exit 0)")
    code, output = csp("check", "--workspace", str(ws.root))  # its refusal, kept in raw._refusals, is not held against it
    assert code == 0, output
    assert "REFUSED" not in output and output.endswith("nothing blocks publishing; nothing needs attention (exit 0)")


# --- models and rendering: a failed step names its file (exit 1) -------------------------------------------


def test_a_failing_model_names_its_sql_file_and_exits_1(ws: Workspace):
    code, output = csp("run", "--workspace", str(ws.root), "--select", LAND)
    assert code == 0, output
    with duckdb.connect(str(ws.database)) as con:  # a warehouse whose raw table lacks a column the model reads
        con.execute("ALTER TABLE raw.police_street DROP COLUMN crime_id")
    code, output = csp("run", "--workspace", str(ws.root), "--select", "staging/stg_police_street")
    assert code == 1, output
    assert re.search(
        r"FAILED model staging/stg_police_street \(sql/staging/stg_police_street\.sql\): Binder Error: [^;]*\"crime_id\"",
        output,
    ), output
    assert output.endswith("needs the analyst: 1 step(s) failed; what depends on a failure was not built (exit 1)")


def test_a_failing_render_names_the_document_and_the_cell_and_exits_1(ws: Workspace):
    code, output = csp("run", "--workspace", str(ws.root), "--select", "reports/scrutiny_pack")  # no marts yet
    assert code == 1, output
    # The public edition's disclosure-controlled copy is made first: it names the document, the missing mart and
    # what to do (a failing cell is named by the renderer's own tests, tests/unit/test_render*.py).
    assert re.search(
        r"FAILED rendering reports/scrutiny_pack \(reports/scrutiny_pack\.qmd\): marts/mart_\w+: "
        r"\S*/warehouse/marts/mart_\w+\.parquet not found; build the marts before publishing", output
    ), output
    assert "Traceback" not in output
    assert output.endswith("needs the analyst: 1 step(s) failed; what depends on a failure was not built (exit 1)")


def test_exit_codes_are_in_the_help_and_a_usage_error_exits_2():
    from pipeline.cli import EXIT_CODES

    code, output = csp("--help")
    assert code == 0 and " ".join(EXIT_CODES.split()) in output
    code, output = csp("run")  # no --workspace
    assert code == 2 and "Missing option '--workspace'" in output
