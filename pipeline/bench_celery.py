"""`python -m pipeline.bench_celery`: N partnerships' documents rendered in-process, then on two Celery workers.

On a copy of a built demo workspace with N partnerships (the demo's and N-1 copies of it under other ids, whose
mart rows are copies of the demo's: documents read marts only, so each publishes documents of its own), it
times `csp run --select 'reports/*'` (one process, the editions of a document side by side) against `csp
publish` (a run per partnership, each document a step) with a Redis broker and two workers started here on
loopback. The broker and workers are also what tests/integration/test_celery.py starts.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Iterator

from pipeline.paths import PROJECT_ROOT
from pipeline.workspace import Workspace

READY_SECONDS = 90


def with_copies(demo: Workspace, root: Path, partnerships: int) -> Workspace:
    """A copy of a built workspace at root whose first partnership is repeated as `<id>_copy<k>`, k = 1..N-1,
    named "<name> (copy k)", its rows in every mart with a partnership_id copied under the new id."""
    import polars as pl
    import yaml

    shutil.copytree(demo.root, root, ignore=shutil.ignore_patterns(".dagster"))
    ws = Workspace.at(root)
    config = yaml.safe_load(ws.config_path.read_text(encoding="utf-8"))
    first = config["partnerships"][0]
    ids = [f"{first['id']}_copy{k}" for k in range(1, partnerships)]
    for k, new in enumerate(ids, start=1):
        branding = {**first.get("branding", {}), "name": f"{first['name']} (copy {k})"}
        config["partnerships"].append({**first, "id": new, "name": f"{first['name']} (copy {k})", "branding": branding})
    ws.config_path.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8")
    for path in ws.marts.glob("*.parquet"):
        frame = pl.read_parquet(path)
        if "partnership_id" in frame.columns and ids:
            mine = frame.filter(pl.col("partnership_id") == first["id"])
            pl.concat([frame, *(mine.with_columns(pl.lit(new).alias("partnership_id")) for new in ids)]).write_parquet(path)
    return ws


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM the process's group (a worker and its pool), then SIGKILL whatever is left."""
    for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


@contextmanager
def local_broker(folder: Path) -> Iterator[str]:
    """A redis-server on a free loopback port, saving nothing; its URL. Stopped however the block ends."""
    import redis

    server = shutil.which("redis-server")
    if server is None:
        raise FileNotFoundError("redis-server is not installed (Debian: apt-get install redis-server; `make system`)")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = folder / "redis.log"
    process = subprocess.Popen([server, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no",
                                "--dir", str(folder)], stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)
    try:
        url = f"redis://127.0.0.1:{port}/0"
        deadline = time.monotonic() + 20
        while True:
            try:
                redis.Redis.from_url(url).ping()
                break
            except redis.ConnectionError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server did not start: {log.read_text()[-2000:]}") from None
                time.sleep(0.1)
        yield url
    finally:
        _stop(process)


@contextmanager
def local_workers(broker: str, folder: Path, names: tuple[str, ...] = ("one", "two")) -> Iterator[set[str]]:
    """Celery workers on this machine, one process each, started as docs/operations.md starts them; their names.
    Each logs to folder/<name>.log; all are stopped (their process groups) however the block ends."""
    from pipeline.ingest.pseudonymise import KEY_ENV, KEY_FILE_ENV

    host = socket.gethostname()
    unneeded = (KEY_ENV, KEY_FILE_ENV)  # documents read marts, never raw extracts: no worker holds the key
    env = {**{k: v for k, v in os.environ.items() if k not in unneeded}, "CSP_CELERY_BROKER": broker,
           "PYTHONPATH": os.pathsep.join(p for p in (str(PROJECT_ROOT), os.environ.get("PYTHONPATH", "")) if p)}
    celery = Path(sys.executable).with_name("celery")
    processes, logs = [], [folder / f"{name}.log" for name in names]
    try:
        for name, log in zip(names, logs):
            processes.append(subprocess.Popen(
                [str(celery), "-A", "pipeline.celery_app", "worker", "--pool", "solo",
                 "--without-gossip", "--without-mingle", "-n", f"{name}@{host}", "--loglevel", "INFO"],
                cwd=folder, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True))
        deadline = time.monotonic() + READY_SECONDS
        while not all(" ready." in log.read_text() for log in logs):
            for log, process in zip(logs, processes):
                if process.poll() is not None:
                    raise RuntimeError(f"Celery worker {log.stem} exited: {log.read_text()[-3000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Celery workers not ready in {READY_SECONDS} s: {logs[0].read_text()[-3000:]}")
            time.sleep(0.5)
        yield {f"{name}@{host}" for name in names}
    finally:
        for process in processes:
            _stop(process)


def measure(demo: Path, partnerships: int, folder: Path) -> dict:
    from typer.testing import CliRunner

    from pipeline.bench import machine
    from pipeline.cli import app, run_pipeline

    ws = with_copies(Workspace.at(demo), folder / "ws", partnerships)
    started = time.perf_counter()
    outcome = run_pipeline(ws, "reports/*", show=False)
    in_process = time.perf_counter() - started
    if not outcome.success:
        raise SystemExit("in-process publishing failed: " + "; ".join(outcome.failures))
    with local_broker(folder) as broker, local_workers(broker, folder):
        started = time.perf_counter()
        done = CliRunner().invoke(app, ["publish", "--workspace", str(ws.root), "--broker", broker])
        on_celery = time.perf_counter() - started
    if done.exit_code != 0:
        raise SystemExit(f"csp publish failed:\n{done.output}")
    return {"date": datetime.now().isoformat(timespec="seconds"), "machine": machine(),
            "command": f"python -m pipeline.bench_celery --workspace {demo} --partnerships {partnerships}",
            "partnerships": partnerships, "in_process_s": round(in_process, 1), "celery_2_workers_s": round(on_celery, 1)}


def _cli(argv: list[str] | None = None) -> int:
    import tempfile

    parser = argparse.ArgumentParser(prog="python -m pipeline.bench_celery", description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", type=Path, required=True, help="a built demo workspace (csp demo); it is copied, not changed")
    parser.add_argument("--partnerships", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("bench_celery.json"))
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="csp-bench-celery-") as tmp:
        report = measure(args.workspace, args.partnerships, Path(tmp))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"{args.partnerships} partnerships' documents: in-process {report['in_process_s']} s, "
          f"on two Celery workers {report['celery_2_workers_s']} s")
    return 0


if __name__ == "__main__":
    sys.exit(_cli())
