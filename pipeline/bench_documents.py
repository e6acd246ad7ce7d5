"""`python -m pipeline.bench_documents`: how long the documents take to publish, against a bare render's floor.

On a built demo workspace (made with `csp demo` if the folder has no warehouse) it times the publishing
step alone — every document in `reports/`, for every partnership, in both editions, HTML and PDF, with
figures.csv/xlsx, disclosure control and the audit — as `csp run --select 'reports/*'` runs it, and in the
same run the floor: Pandoc writing one static page as self-contained HTML and Typst compiling it to PDF, once
per edition and document. It reports wall and CPU seconds, the ratio, each edition's HTML size and the seconds
headless Chromium takes to draw it (the issue's budgets: 3 MB and 2 s a page; all documents within 60 s on 2
cores).

With `--partnerships N [--report scrutiny_pack] [--edition public]` it times one document instead, for N
partnerships (copies of the demo's), to give the seconds a partnership costs when many are published: the
aim is every national partnership's public scrutiny pack (about 330) within 15 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from pipeline.bench import cpu_seconds, machine

FLOOR_PAGE = "\n\n".join(
    ["# Floor\n", *(f"## Section {i}\n\n" + "A paragraph of plain text in a static page. " * 40 for i in range(20)),
     "| a | b |\n|---|---|\n" + "\n".join(f"| {i} | {i * i} |" for i in range(200))]
)


def floor_render(folder: Path) -> None:
    """One static page through the engines the documents use, without any of the project's work."""
    import pypandoc
    import typst

    html = folder / "floor.html"
    pypandoc.convert_text(FLOOR_PAGE, "html5", format="markdown", outputfile=str(html),
                          extra_args=["--standalone", "--embed-resources", "--metadata=title:Floor"])
    source = folder / "floor.typ"
    pypandoc.convert_text(FLOOR_PAGE, "typst", format="markdown", outputfile=str(source), extra_args=["--standalone"])
    typst.compile(str(source), output=str(folder / "floor.pdf"))


def draw_seconds(pages: list[Path], loads: int = 2) -> dict[str, float]:
    """Seconds from navigation to every chart drawn, per page, in headless Chromium (offline, 1280 px): the best
    of `loads` loads, since the first also reads the file from disk (the issue's budget: under 2 s)."""
    import shutil

    from playwright.sync_api import sync_playwright

    found = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium") or "/usr/bin/chromium",
                                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        for page_path in pages:
            best = None
            for _ in range(loads):
                context = browser.new_context(offline=True, viewport={"width": 1280, "height": 900})
                page = context.new_page()
                page.goto(page_path.as_uri())
                page.wait_for_load_state("load")
                charts = page.locator("figure.csp-chart").count()
                page.wait_for_function(f"document.querySelectorAll('.csp-chart-plot .main-svg').length >= {charts}",
                                       timeout=60_000)
                took = page.evaluate("performance.now()") / 1000
                best = took if best is None else min(best, took)
                context.close()
            found[str(page_path)] = round(best, 2)
        browser.close()
    return found


def measure(workspace: Path, partnerships: int | None = None, report: str = "scrutiny_pack",
            edition: str = "public") -> dict:
    """The demo's documents as `csp run` publishes them; with `partnerships`, one document's editions for that
    many partnerships instead (measure_partnerships)."""
    if partnerships:
        return measure_partnerships(workspace, partnerships, report, edition)
    return measure_demo(workspace)


def measure_partnerships(workspace: Path, partnerships: int, report_name: str, edition: str) -> dict:
    """One document (`report_name`) in one edition (or `both`) for N partnerships — the demo's and N-1 copies of
    it (pipeline/bench_celery.py with_copies) — published twice in one process: first with the render pool's
    workers starting (their kernels' imports, their browsers), then with them warm, as every partnership after
    the first few of a national run is. Seconds per partnership are the warm run's wall time over N."""
    from pipeline.bench_celery import with_copies
    from pipeline.publish import pool
    from pipeline.publish.assets import EDITIONS, discover, publish
    from pipeline.workspace import Workspace

    ensure_demo(workspace)
    report = next((r for r in discover() if r.name == report_name), None)
    if report is None:
        raise SystemExit(f"--report {report_name}: no reports/{report_name}.qmd")
    editions = EDITIONS if edition == "both" else (edition,)
    runs = []
    with tempfile.TemporaryDirectory(prefix="csp-bench-partnerships-") as tmp:
        ws = with_copies(Workspace.at(workspace), Path(tmp) / "ws", partnerships)
        try:
            for _ in ("cold", "warm"):
                started, cpu = time.perf_counter(), cpu_seconds()
                publish(ws, report, editions=editions)
                runs.append((time.perf_counter() - started, cpu_seconds() - cpu))
        finally:
            workers = pool.workers()
            pool.shutdown()
    (cold, cold_cpu), (warm, warm_cpu) = runs
    return {
        "date": datetime.now().isoformat(timespec="seconds"),
        "command": f"python -m pipeline.bench_documents --workspace {workspace} --partnerships {partnerships} "
                   f"--report {report_name} --edition {edition}",
        "machine": machine(),
        "report": report.slug, "editions": list(editions), "partnerships": partnerships, "workers": workers,
        "cold_s": round(cold, 1), "warm_s": round(warm, 1), "cold_cpu_s": round(cold_cpu, 1), "warm_cpu_s": round(warm_cpu, 1),
        "per_partnership_s": round(warm / partnerships, 2), "per_partnership_cpu_s": round(warm_cpu / partnerships, 2),
    }


def format_partnerships(report: dict) -> str:
    return (f"{report['report']} ({', '.join(report['editions'])}) for {report['partnerships']} partnerships on "
            f"{report['workers']} workers: {report['cold_s']} s with the workers starting, {report['warm_s']} s warm "
            f"({report['cold_cpu_s']} and {report['warm_cpu_s']} s CPU) -> {report['per_partnership_s']} s a partnership "
            f"({report['per_partnership_cpu_s']} s CPU); load average at the end "
            f"{report['machine'].get('load_average_at_end')}")


def measure_demo(workspace: Path) -> dict:
    from pipeline.cli import run_pipeline
    from pipeline.publish.assets import EDITIONS, discover
    from pipeline.workspace import Workspace

    ensure_demo(workspace)
    ws = Workspace(workspace)
    reports = discover()
    renders = len(reports) * len(EDITIONS) * len(ws.config().partnerships)

    started, cpu = time.perf_counter(), cpu_seconds()
    outcome = run_pipeline(ws, "reports/*", show=False)
    publish_s, publish_cpu = time.perf_counter() - started, cpu_seconds() - cpu
    if not outcome.success:
        raise SystemExit("publishing failed: " + "; ".join(outcome.failures))

    with tempfile.TemporaryDirectory(prefix="csp-floor-") as tmp:
        floor_render(Path(tmp))  # warm: imports, Typst's fonts
        started = time.perf_counter()
        for _ in range(renders):
            floor_render(Path(tmp))
        floor_s = time.perf_counter() - started

    pages = [p for root in (ws.published, ws.restricted) for p in sorted(root.glob("*/*/*/report.html"))]
    sizes = {str(p.relative_to(ws.root)): p.stat().st_size for p in pages}
    drawn = {str(Path(p).relative_to(ws.root)): s for p, s in draw_seconds(pages).items()}
    return {
        "date": datetime.now().isoformat(timespec="seconds"),
        "command": f"python -m pipeline.bench_documents --workspace {workspace}",
        "machine": machine(),
        "documents": [r.slug for r in reports],
        "renders": renders,
        "publish_s": round(publish_s, 1),
        "publish_cpu_s": round(publish_cpu, 1),
        "floor_s": round(floor_s, 1),
        "ratio": round(publish_s / floor_s, 1) if floor_s else None,
        "html_bytes": sizes,
        "draw_s": drawn,
    }


def format_report(report: dict) -> str:
    if "partnerships" in report:
        return format_partnerships(report)
    largest = max(report["html_bytes"].values(), default=0)
    return "\n".join([
        f"documents {', '.join(report['documents'])}: {report['renders']} renders (documents × editions × partnerships)",
        f"publish (csp run --select 'reports/*'): {report['publish_s']} s wall, {report['publish_cpu_s']} s CPU",
        f"floor (Pandoc HTML + Typst PDF of a static page, {report['renders']} times): {report['floor_s']} s "
        f"-> {report['ratio']}x floor",
        f"largest report.html: {largest / 2**20:.2f} MB; load average at the end {report['machine'].get('load_average_at_end')}",
        "drawn in headless Chromium (navigation to every chart drawn, best of 2): "
        + ", ".join(f"{Path(page).parts[-3]} {Path(page).parts[-5]} {s} s" for page, s in report["draw_s"].items()),
    ])


def demo_bench_cli(module: str, doc: str, measure, format_report, argv: list[str] | None = None,
                   options=None) -> int:
    """The command line of a benchmark on a built demo workspace: measure it, write the JSON, print the summary.
    `options(parser)` adds a benchmark's own options; their values are passed to `measure` as keywords."""
    name = module.rsplit(".", 1)[-1]
    parser = argparse.ArgumentParser(prog=f"python -m {module}", description=doc.splitlines()[0])
    parser.add_argument("--workspace", type=Path, default=Path(tempfile.gettempdir()) / "csp-bench-demo",
                        help="a demo workspace (built with csp demo when it has no warehouse)")
    parser.add_argument("--out", type=Path, default=Path(f"{name}.json"))
    if options:
        options(parser)
    args = parser.parse_args(argv)
    extra = {k: v for k, v in vars(args).items() if k not in ("workspace", "out")}
    report = measure(args.workspace, **extra)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(format_report(report))
    return 0


def ensure_demo(workspace: Path) -> None:
    """Build the demo in `workspace` with `csp demo` unless it has a warehouse already."""
    from typer.testing import CliRunner

    from pipeline.cli import app

    if not (workspace / "warehouse" / "csp.duckdb").is_file():
        done = CliRunner().invoke(app, ["demo", "--workspace", str(workspace)])
        if done.exit_code != 0:
            raise SystemExit(f"csp demo failed:\n{done.output}")


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--partnerships", type=int, help="publish one document for N partnerships (copies of the "
                        "demo's) instead of the demo's documents")
    parser.add_argument("--report", default="scrutiny_pack", help="with --partnerships: the document (a reports/ stem)")
    parser.add_argument("--edition", default="public", choices=("public", "restricted", "both"))


if __name__ == "__main__":
    sys.exit(demo_bench_cli(__spec__.name, __doc__, measure, format_report, options=_options))
