"""Small helpers the tests share: a workspace on the built-in Calderdale geography, and table counts."""

from pathlib import Path

from pipeline.workspace import STARTER_CONFIG, Workspace

FIXTURES = Path(__file__).parent / "fixtures"
# the vendored police.uk files (tests/fixtures/README.md), oldest month first; named, not globbed, so that
# another test's fixture in the same folder changes nothing here
POLICE_UK_FILES = tuple(
    FIXTURES / "police_uk" / name
    for name in (
        "2016-07-west-yorkshire-street.calderdale.csv",
        "2017-07-west-yorkshire-street.calderdale.csv",
        "2023-01-metropolitan-street.first-400.csv",
    )
)


def make_workspace(root: Path, config_text: str | None = None) -> Workspace:
    ws = Workspace.at(root)
    ws.scaffold(config_text or STARTER_CONFIG.format(name="test"))
    return ws


def table_counts(ws: Workspace) -> dict[str, int]:
    """Rows in every table of the warehouse: what a refused or repeated file must leave unchanged."""
    if not ws.database.exists():
        return {}
    with ws.connect(read_only=True) as con:
        tables = con.execute("SELECT schema_name, table_name FROM duckdb_tables() ORDER BY ALL").fetchall()
        return {f"{s}.{t}": con.execute(f'SELECT count(*) FROM "{s}"."{t}"').fetchone()[0] for s, t in tables}


def edition_folder(ws: Workspace, edition: str = "public", partnership: str = "calderdale", report: str = "scrutiny-pack") -> Path:
    """The one released edition of a report (published/<partnership>/<report>/<period>/, or restricted/...)."""
    base = (ws.published if edition == "public" else ws.restricted) / partnership / report
    folders = [p for p in base.iterdir() if p.is_dir() and not p.name.startswith(".")] if base.is_dir() else []
    assert len(folders) == 1, f"expected one edition under {base}, found {folders}"
    return folders[0]


# `csp run --select` for tests that re-run a whole workspace: everything but the two long documents, which the
# shared demo build (tests/conftest.py) publishes and their own tests read; each costs a minute or more a run.
SCRUTINY_PACK_ONLY = "not key:reports/strategic_assessment and not key:reports/strategy_review"


def latest_check_evaluation(ws: Workspace, asset: str, check: str):
    """A check's latest evaluation on an asset (`raw/fire_incidents`), as the workspace's Dagster instance holds
    it: what the UI shows."""
    import dagster as dg

    from pipeline.cli import dagster_home

    key = dg.AssetCheckKey(dg.AssetKey(asset.split("/")), check)
    with dg.DagsterInstance.from_config(str(dagster_home(ws))) as instance:
        record = instance.event_log_storage.get_latest_asset_check_execution_by_key([key])[key]
    return record.event.dagster_event.event_specific_data
