"""Data quality gates publishing: a corrupted extract stops the run before anything is published, names the
failed expectation in the terminal and in Dagster's event log (what the UI shows), and a suite that is
itself wrong fails the run instead of passing."""

import hashlib
import re
import shutil
from pathlib import Path

import dagster as dg
import pytest
from typer.testing import CliRunner

from pipeline.cli import app, dagster_home
from pipeline.workspace import Workspace
from tests.helpers import SCRUTINY_PACK_ONLY, latest_check_evaluation

pytestmark = pytest.mark.slow  # three scenarios each build the demo's warehouse from nothing: scheduled first (tests/conftest.py)


def _copy_without_warehouse(demo: Workspace, target: Path) -> Workspace:
    shutil.copytree(demo.root, target, ignore=shutil.ignore_patterns("warehouse", ".dagster"))
    return Workspace.at(target)


def _digests(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


def _withhold_months(ws: Workspace) -> None:
    for month in ("2023-07", "2023-08"):
        (ws.raw / "police_street" / f"{month}-west-yorkshire-street.csv").unlink()


def _corrupt_values(ws: Workspace) -> None:
    """Unknown crime types in one month's file, and a negative count in a Prevent return: both under the 5%
    that would refuse a whole file, so they land as rejected rows."""
    path = ws.raw / "police_street" / "2024-01-west-yorkshire-street.csv"
    lines = path.read_bytes().split(b"\r\n")
    for i in range(1, 60):
        lines[i] = lines[i].replace(b",Burglary,", b",Cyber crime,").replace(b",Shoplifting,", b",Cyber crime,")
    path.write_bytes(b"\r\n".join(lines))
    prevent = ws.raw / "prevent"
    prevent.mkdir(exist_ok=True)
    rows = ["quarter_start,concern_type,referrals,channel_discussed,channel_adopted"]
    # quarters before the demo's (a return for quarters already landed, with other counts, would be held as a re-issue)
    rows += [f"{y}-{m:02d},{c},1,0,0" for y in (2017, 2018) for m in (1, 4, 7, 10) for c in ("extreme right-wing", "islamist", "other")]
    rows.append("2019-04,islamist,-2,0,0")
    (prevent / "prevent-returns-corrupt.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")


def _failed_check_descriptions(ws: Workspace) -> dict[str, str]:
    """What Dagster stored for each failed check: the event log the UI reads."""
    instance = dg.DagsterInstance.from_config(str(dagster_home(ws)))
    found = {}
    records = instance.get_event_records(dg.EventRecordsFilter(event_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION), limit=200)
    for record in records:
        evaluation = record.event_log_entry.dagster_event.event_specific_data
        if not evaluation.passed:
            results = evaluation.metadata.get("results")
            found[evaluation.check_name] = (evaluation.description or "") + (results.value if results else "")
    return found


def _run(demo: Workspace, target: Path, corrupt) -> tuple[Workspace, dict, object]:
    ws = _copy_without_warehouse(demo, target)
    corrupt(ws)
    before = _digests(ws.published)
    return ws, before, CliRunner().invoke(app, ["run", "--workspace", str(ws.root)])


@pytest.fixture(scope="module")
def months_missing(demo_workspace, tmp_path_factory):
    return _run(demo_workspace[0], tmp_path_factory.mktemp("missing") / "ws", _withhold_months)


@pytest.fixture(scope="module")
def bad_values(demo_workspace, tmp_path_factory):
    return _run(demo_workspace[0], tmp_path_factory.mktemp("bad") / "ws", _corrupt_values)


@pytest.mark.parametrize("scenario", ["months_missing", "bad_values"])
def test_the_run_stops_before_publishing_and_leaves_the_reports_untouched(scenario, request):
    ws, before, result = request.getfixturevalue(scenario)
    assert result.exit_code == 1, result.output
    output = " ".join(result.output.split())
    assert "reports/scrutiny_pack" in output.split("not built", 1)[1]
    assert output.endswith("needs the analyst: a blocking check failed; what depends on a failure was not built (exit 1)")
    assert before and _digests(ws.published) == before


def test_missing_months_are_named_in_the_terminal_and_in_dagster(months_missing):
    ws, _, result = months_missing
    output = " ".join(result.output.split())
    assert "check raw__police_street_volume" in output and "'2023-07', '2023-08'" in output
    failed = _failed_check_descriptions(ws)
    assert "2023-07" in failed["raw__police_street_volume"] and "2023-08" in failed["raw__police_street_volume"]
    assert not (ws.marts / "mart_crime_monthly_ward.parquet").exists()


def test_unknown_crime_types_and_negative_counts_are_named_in_the_terminal_and_in_dagster(bad_values):
    ws, _, result = bad_values
    output = " ".join(result.output.split())
    assert "check conformed__source_periods" in output and "Cyber crime" in output
    failed = _failed_check_descriptions(ws)
    assert "Cyber crime" in failed["conformed__source_periods"]
    assert "below the minimum of 0" in failed["conformed__source_periods"]


def test_csp_check_names_the_faults_and_exits_1(bad_values):
    ws, _, _ = bad_values
    result = CliRunner().invoke(app, ["check", "--workspace", str(ws.root)])
    assert result.exit_code == 1, result.output
    output = " ".join(result.output.split())
    assert "Cyber crime" in output
    assert output.endswith("needs the analyst: a blocking check failed; publishing is blocked (exit 1)")
    report = (ws.restricted / "data_quality.html").read_text(encoding="utf-8")
    assert "Cyber crime" in report and "below the minimum of 0" in report


def test_a_misspelt_expectation_type_fails_the_run(demo_workspace, tmp_path: Path):
    from pipeline.ingest.assets import ASSETS as SOURCE_ASSETS
    from pipeline.quality.checks import SuiteFile, suite_check
    from pipeline.resources import WorkspaceResource

    demo, _ = demo_workspace
    ws = _copy_without_warehouse(demo, tmp_path / "ws")
    suite = tmp_path / "raw.police_street.json"
    suite.write_text(
        '{"name": "raw.police_street", "meta": {"csp": {"asset": "raw/police_street", "batch": "SELECT * FROM raw.police_street"}},'
        ' "expectations": [{"type": "expect_column_values_to_not_be_nul", "kwargs": {"column": "month"}}]}',
        encoding="utf-8",
    )
    street = next(a for a in SOURCE_ASSETS if a.key == dg.AssetKey(["raw", "police_street"]))
    result = dg.materialize(
        [street, suite_check(SuiteFile("raw.police_street", suite, "raw/police_street"))],
        resources={"workspace": WorkspaceResource(root=str(ws.root))},
        partition_key="2024-07-01",  # one quarter is enough to run the suite
        raise_on_error=False,
    )
    assert not result.success
    failures = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    message = str(failures[0].step_failure_data.error.cause or failures[0].step_failure_data.error)
    assert "expect_column_values_to_not_be_nul" in message and "raw.police_street.json" in message


def test_a_withheld_quarter_shows_as_missing_in_csp_check_and_in_the_report(demo_workspace, tmp_path: Path):
    demo, _ = demo_workspace
    ws = _copy_without_warehouse(demo, tmp_path / "ws")
    (ws.raw / "fire_incidents" / "2023-24-Q2.csv").unlink()
    checked = CliRunner().invoke(app, ["check", "--workspace", str(ws.root)])
    assert "OVERDUE fire_incidents: 1 quarter(s) not received, 2023/24 Q2" in " ".join(checked.output.split())
    assert checked.exit_code == 0, checked.output
    assert " ".join(checked.output.split()).endswith("nothing blocks publishing; nothing needs attention (exit 0)")
    # overdue: published, but exit 1 (everything but the two documents this test does not read)
    ran = CliRunner().invoke(app, ["run", "--workspace", str(ws.root), "--strict", "--select", SCRUTINY_PACK_ONLY])
    assert ran.exit_code == 1, ran.output
    output = " ".join(ran.output.split())
    assert "OVERDUE fire_incidents: 1 quarter(s) not received, 2023/24 Q2" in output
    assert re.search(r"needs the analyst: \d+ source\(s\) overdue; built \(exit 1\)$", output), output
    evaluation = latest_check_evaluation(ws, "raw/fire_incidents", "freshness")  # the UI's check on the source agrees
    assert not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.WARN
    assert evaluation.metadata["overdue_quarters"].value == ["2023/24 Q2"]
    strict = CliRunner().invoke(app, ["check", "--workspace", str(ws.root), "--strict"])
    assert strict.exit_code == 1, strict.output
    output = " ".join(strict.output.split())
    assert re.search(r"needs the analyst: \d+ source\(s\) overdue; nothing blocks publishing \(exit 1\)$", output), output
    text = next((ws.published / "calderdale" / "scrutiny-pack").glob("*/report.html")).read_text(encoding="utf-8")
    appendix = text.rsplit("Appendix: data received from partners", 1)[1]  # the heading, not the contents entry
    fire_row = next(row for row in appendix.split("<tr") if "Fire and rescue incidents" in row)
    assert "2023/24 Q2" in fire_row
    assert "2023/24 Q2" in (ws.restricted / "data_quality.html").read_text(encoding="utf-8")
