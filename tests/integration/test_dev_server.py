"""`make dev` runs `csp dev`: the Dagster UI answers on 127.0.0.1 over the demo workspace, with our graph."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_dev_server_answers_with_the_asset_graph(demo_workspace):
    ws, _ = demo_workspace
    port = _free_port()
    csp = Path(sys.executable).with_name("csp")
    process = subprocess.Popen(
        [str(csp), "dev", "--workspace", str(ws.root), "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    try:
        deadline, answered = time.monotonic() + 180, False
        while time.monotonic() < deadline and not answered:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=5) as response:
                    answered = response.status == 200
            except OSError:
                time.sleep(1)
        assert answered, "the Dagster UI did not answer within 180 s"
        query = json.dumps({"query": "{ assetNodes { assetKey { path } } }"}).encode()
        deadline, keys = time.monotonic() + 120, []
        while time.monotonic() < deadline and not keys:
            request = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", data=query, headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(request, timeout=30) as response:
                nodes = (json.load(response).get("data") or {}).get("assetNodes") or []
            keys = ["/".join(n["assetKey"]["path"]) for n in nodes]
            time.sleep(0 if keys else 2)
        assert "reports/scrutiny_pack" in keys and "raw/police_street" in keys
        assert (ws.root / ".dagster" / "dagster.yaml").is_file()
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
