"""The drop-zone sensor through Dagster's own sensor evaluation: a new or changed file in raw/<source>/ asks for
one run landing that source with its checks and what depends on it, never the documents; a file seen is not
asked for again."""

import os
import shutil
import time

import dagster as dg

from pipeline.definitions import defs
from pipeline.sensors import SETTLE_SECONDS, drop_zone_sensor
from pipeline.workspace import WORKSPACE_ENV
from tests.helpers import POLICE_UK_FILES, make_workspace


def _tick(cursor):
    data = drop_zone_sensor.evaluate_tick(dg.build_sensor_context(cursor=cursor, definitions=defs))
    return data.run_requests or [], data.cursor if data.cursor is not None else cursor


def _age(path, seconds: float) -> None:
    """As if the file had been dropped `seconds` ago."""
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_a_dropped_file_asks_for_one_landing_run_once(tmp_path, monkeypatch):
    ws = make_workspace(tmp_path / "ws")
    monkeypatch.setenv(WORKSPACE_ENV, str(ws.root))
    requests, cursor = _tick(None)
    assert requests == []  # nothing dropped yet

    folder = ws.raw / "police_street"
    folder.mkdir(parents=True, exist_ok=True)
    dropped = folder / "2016-07.csv"
    shutil.copyfile(POLICE_UK_FILES[0], dropped)
    requests, cursor = _tick(cursor)
    assert requests == [], "a file changed within the last minute may still be being copied"

    _age(dropped, SETTLE_SECONDS + 5)
    requests, cursor = _tick(cursor)
    assert len(requests) == 1
    keys = {k.to_user_string() for k in requests[0].asset_selection}
    assert "raw/police_street" in keys and "marts/mart_crime_monthly_ward" in keys
    assert not {k for k in keys if k.startswith("reports/")}, "documents are built when scheduled, not on landing"
    assert not {k for k in keys if k.startswith("raw/") and k != "raw/police_street"}, "only the source that changed lands"
    assert any(c.asset_key == dg.AssetKey(["raw", "police_street"]) for c in requests[0].asset_check_keys)
    assert requests[0].tags["csp/sources"] == "police_street"

    requests, cursor = _tick(cursor)
    assert requests == [], "the same file again asks for nothing"

    with dropped.open("a", encoding="utf-8") as f:  # a corrected file under the same name
        f.write("\n")
    _age(dropped, SETTLE_SECONDS + 1)
    requests, cursor = _tick(cursor)
    assert [r.tags["csp/sources"] for r in requests] == ["police_street"]
