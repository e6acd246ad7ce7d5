"""`python -m pipeline.bench_refresh`: one new month's extract in a built workspace, against rebuilding it all.

On a copy of a built demo workspace (made with `csp demo` if the folder has no warehouse) it times, in the same
run, the warehouse (every asset but the documents) rebuilt whole (`csp run --rebuild`: every quarter of every
partitioned table, every check, every mart), then the refresh after one month's police.uk file is dropped in
(`csp run`: that month's quarter of what the file feeds, then the marts). The issue's aim: the refresh within
10% of the rebuild.
"""

from __future__ import annotations

import csv
import shutil
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from pipeline.bench import cpu_seconds, machine
from pipeline.bench_documents import demo_bench_cli, ensure_demo


def write_month(raw_folder: Path, month: str, like: str) -> int:
    """A police.uk street file for `month` (YYYY-MM): the rows of the file `like`, with that month and new Crime
    IDs; returns its rows."""
    rows = list(csv.reader((raw_folder / like).open(newline="", encoding="utf-8")))
    with (raw_folder / f"{month}-west-yorkshire-street.csv").open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(rows[0])
        for row in rows[1:]:
            out.writerow([row[0] and row[0][:-6] + month.replace("-", ""), month, *row[2:]])
    return len(rows) - 1


def measure(workspace: Path) -> dict:
    import dagster as dg

    from pipeline.cli import run_pipeline
    from pipeline.workspace import Workspace

    ensure_demo(workspace)
    warehouse = dg.AssetSelection.all() - dg.AssetSelection.groups("reports")
    with tempfile.TemporaryDirectory(prefix="csp-refresh-") as tmp:
        ws = Workspace.at(Path(tmp) / "ws")
        shutil.copytree(workspace, ws.root, ignore=shutil.ignore_patterns("published", "restricted"))
        timings = {}
        for stage in ("rebuild", "refresh"):
            if stage == "refresh":
                folder = ws.raw / "police_street"
                latest = sorted(p.name for p in folder.glob("*-street.csv"))[-1]
                month = f"{int(latest[:4]) + (latest[5:7] == '12')}-{int(latest[5:7]) % 12 + 1:02d}"
                rows = write_month(folder, month, latest)
            started, cpu = time.perf_counter(), cpu_seconds()
            outcome = run_pipeline(ws, warehouse, show=False, rebuild=stage == "rebuild")
            timings[stage] = (time.perf_counter() - started, cpu_seconds() - cpu)
            if not outcome.success:
                raise SystemExit(f"{stage} failed: " + "; ".join(outcome.failures))
    (rebuild_s, rebuild_cpu), (refresh_s, refresh_cpu) = timings["rebuild"], timings["refresh"]
    return {
        "date": datetime.now().isoformat(timespec="seconds"),
        "command": f"python -m pipeline.bench_refresh --workspace {workspace}",
        "machine": machine(),
        "new_month": month,
        "new_rows": rows,
        "rebuild_s": round(rebuild_s, 1),
        "rebuild_cpu_s": round(rebuild_cpu, 1),
        "refresh_s": round(refresh_s, 1),
        "refresh_cpu_s": round(refresh_cpu, 1),
        "ratio": round(refresh_s / rebuild_s, 3),
    }


def format_report(report: dict) -> str:
    return "\n".join([
        f"rebuild (csp run --rebuild, every asset but the documents): {report['rebuild_s']} s wall, {report['rebuild_cpu_s']} s CPU",
        f"refresh (one police.uk month, {report['new_month']}, {report['new_rows']:,} rows, then csp run): "
        f"{report['refresh_s']} s wall, {report['refresh_cpu_s']} s CPU -> {report['ratio']:.0%} of the rebuild",
        f"load average at the end {report['machine'].get('load_average_at_end')}",
    ])


if __name__ == "__main__":
    sys.exit(demo_bench_cli(__spec__.name, __doc__, measure, format_report))
