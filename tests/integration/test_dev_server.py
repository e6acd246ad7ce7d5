"""`make dev` runs `csp dev`: the Dagster UI answers on 127.0.0.1 over a workspace, with our graph; its
daemon lands a dropped file by itself; and a SIGTERM to `csp dev` (as systemd or `kill` sends) stops it with every
process it started."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import dagster as dg
import psutil

from pipeline.sensors import SETTLE_SECONDS
from tests.helpers import POLICE_UK_FILES, make_workspace


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_dev(root, port: int, log) -> subprocess.Popen:
    """`csp dev` from this checkout (the same interpreter and path as the tests)."""
    return subprocess.Popen([sys.executable, "-m", "pipeline.cli", "dev", "--workspace", str(root), "--port", str(port)],
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def _wait_for_ui(port: int, seconds: int = 420) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(1)
    raise AssertionError(f"the Dagster UI did not answer on port {port} within {seconds} s")


def _asset_keys(port: int) -> list[str]:
    """The asset graph the UI serves (GraphQL), once the code server has loaded it."""
    query = json.dumps({"query": "{ assetNodes { assetKey { path } } }"}).encode()
    deadline, keys = time.monotonic() + 120, []
    while time.monotonic() < deadline and not keys:
        request = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", data=query, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            nodes = (json.load(response).get("data") or {}).get("assetNodes") or []
        keys = ["/".join(n["assetKey"]["path"]) for n in nodes]
        time.sleep(0 if keys else 2)
    return keys


def _landing_run(home, seconds: int = 900):
    """The run the drop-zone sensor launched, once it has finished."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with dg.DagsterInstance.from_config(str(home)) as instance:
            runs = [r for r in instance.get_runs() if "csp/sources" in r.tags]
            if runs and runs[0].is_finished:
                return runs[0], instance.all_logs(runs[0].run_id)
        time.sleep(5)
    raise AssertionError(f"no run launched by the drop-zone sensor finished within {seconds} s")


def test_dev_serves_the_graph_lands_a_dropped_file_and_sigterm_stops_everything(tmp_path, pseudonym_key_env):
    """With `csp dev` running, the UI serves our asset graph from the workspace's instance, and a file in raw/ is
    landed without any command; SIGTERM to csp then stops the webserver, daemon, code server and run workers with
    it; no start-up warning blames our dagster.yaml. (One `dagster dev` start for all of it: each costs minutes.)"""
    ws = make_workspace(tmp_path / "ws")
    (ws.raw / "police_street").mkdir(parents=True, exist_ok=True)
    dropped = ws.raw / "police_street" / "2016-07.csv"
    shutil.copyfile(POLICE_UK_FILES[0], dropped)
    then = time.time() - SETTLE_SECONDS - 5  # dropped a while ago: settled
    os.utime(dropped, (then, then))
    port, log_path = _free_port(), tmp_path / "dev.log"
    with log_path.open("wb") as log:
        process = _start_dev(ws.root, port, log)
        started = []
        try:
            _wait_for_ui(port)
            keys = _asset_keys(port)
            assert "reports/scrutiny_pack" in keys and "raw/police_street" in keys, keys
            assert (ws.root / ".dagster" / "dagster.yaml").is_file()
            started = psutil.Process(process.pid).children(recursive=True)
            names = " ".join(" ".join(p.cmdline()) for p in started)
            assert "dagster_webserver" in names and "dagster._daemon" in names, names
            run, events = _landing_run(ws.root / ".dagster")
            assert run.tags["dagster/sensor_name"] == "drop_zone_sensor" and run.tags["csp/sources"] == "police_street"
            landed = [e.dagster_event.step_materialization_data.materialization for e in events
                      if e.is_dagster_event and e.dagster_event.is_step_materialization]
            assert [m.metadata["files_loaded"].value for m in landed if m.asset_key == dg.AssetKey(["raw", "police_street"])] == [1]
            assert not [k for k in run.asset_selection if k.path[0] == "reports"], "documents come when scheduled"
            started = psutil.Process(process.pid).children(recursive=True)  # now with the run's own processes, if any
            process.send_signal(signal.SIGTERM)  # to csp alone, as `kill PID` does; systemd would signal the group
            process.wait(timeout=120)
            _, alive = psutil.wait_procs(started, timeout=10)
            assert not alive, f"left running after SIGTERM to csp dev: {[' '.join(p.cmdline()) for p in alive]}"
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=120)
            for leftover in started:
                if leftover.is_running():
                    leftover.kill()
    output = log_path.read_text(errors="replace")
    assert "Launching Dagster services" in output, output  # the log was captured, so the next line means something
    assert "will not be used" not in output, output
