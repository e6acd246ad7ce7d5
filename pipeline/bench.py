"""`csp bench`: how far the project's own paths are from the floor DuckDB sets, on police.uk-sized data.

For each size (10 million rows, and the demo's ~300,000) it synthesises a police.uk street-level table in
DuckDB, writes it as a CSV file in the published layout, and measures, in the same run:

(a) ingest: DuckDB loading every column of the CSV into a table (`CREATE TABLE … AS SELECT * FROM
    read_csv(...)`, the floor) against the project's landing path for police_street
    (pipeline.ingest.landing.land_source: hash, read, type, check, write raw.police_street with its manifest),
    each in a fresh process: wall time, CPU time and peak resident memory;
(b) quality: the raw.police_street suite through Great Expectations (run_suite: GX's SQL execution engine
    on the DuckDB connection) against the same checks as one DuckDB statement (pipeline.quality.sql_floor),
    on the landed table.

Each path is reported in seconds and as a ratio to its floor. Results go to a JSON file and a table on
stdout. Run with `csp bench` or `python -m pipeline.bench [--out FILE] [--rows N] [--small-rows N]`.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from datetime import date, datetime
from pathlib import Path

LARGE_ROWS = 10_000_000
SMALL_ROWS = 300_000
FIRST_MONTH = "2020-04-01"
MONTHS = 60  # April 2020 to March 2025, the starter configuration's period
WEST_YORKSHIRE = ("E08000032", "E08000033", "E08000034", "E08000035", "E08000036")  # Bradford … Wakefield

HEADER = (
    "Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude", "Location", "LSOA code",
    "LSOA name", "Crime type", "Last outcome category", "Context",
)
# (share in percent, crime type), in the rough proportions of a metropolitan force's file
CRIME_MIX = (
    (25, "Anti-social behaviour"), (30, "Violence and sexual offences"), (8, "Criminal damage and arson"),
    (9, "Public order"), (6, "Other theft"), (5, "Burglary"), (5, "Vehicle crime"), (5, "Shoplifting"),
    (2, "Drugs"), (1, "Theft from the person"), (1, "Bicycle theft"), (1, "Robbery"),
    (1, "Possession of weapons"), (1, "Other crime"),
)
OUTCOME_MIX = (
    "Investigation complete; no suspect identified", "Unable to prosecute suspect", "Under investigation",
    "Status update unavailable", "Awaiting court outcome", "Local resolution", "Offender given a caution",
    "Court result unavailable", "Further action is not in the public interest", "Suspect charged",
)
STREETS = (
    "High Street", "Church Lane", "Station Road", "Park Avenue", "Victoria Road", "Mill Lane", "Parking Area",
    "Supermarket", "Petrol Station", "Sports/Recreation Area", "King Street", "Bradford Road", "Halifax Road",
    "Back Lane", "Shopping Area", "Nightclub", "Hospital", "School Lane", "Bus/Coach Station", "Further/Higher Educational Building",
)


# ------------------------------------------------------------------------------------------- synthesis


def _sql_list(values) -> str:
    return "[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def synthesise(con, rows: int, csv_path: Path) -> float:
    """A police.uk street-level table of `rows` rows (bench_src), written as CSV in the published layout."""
    from pipeline.paths import REFERENCE_DIR

    started = time.perf_counter()
    lads = ", ".join(f"'{c}'" for c in WEST_YORKSHIRE)
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE bench_lsoa AS
            SELECT (row_number() OVER (ORDER BY lsoa11cd) - 1)::BIGINT AS k, lsoa11cd, lsoa11nm
            FROM (SELECT DISTINCT lsoa11cd, lsoa11nm FROM read_csv('{REFERENCE_DIR / 'lsoa11_to_lsoa21.csv.gz'}')
                  WHERE lad22cd IN ({lads}))"""
    )
    lsoas = con.execute("SELECT count(*) FROM bench_lsoa").fetchall()[0][0]
    cases, low = [], 0
    for share, kind in CRIME_MIX:
        cases.append(f"WHEN r < {low + share} THEN '{kind}'")
        low += share
    crime_type = "CASE " + " ".join(cases) + " END"
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE bench_src AS
        WITH g AS (
            SELECT i, hash(i) AS h, (hash(i) % 100)::INTEGER AS r, (hash(i) >> 20) % 1000 < 30 AS no_location
            FROM range({rows}) AS t(i)
        ), t AS (
            SELECT g.*, {crime_type} AS crime_type, ((h >> 32) % {lsoas})::BIGINT AS k FROM g
        )
        SELECT
            CASE WHEN crime_type <> 'Anti-social behaviour' THEN sha256('csp-bench-' || i) END AS "Crime ID",
            strftime(DATE '{FIRST_MONTH}' + INTERVAL (i % {MONTHS}) MONTH, '%Y-%m') AS "Month",
            'West Yorkshire Police' AS "Reported by",
            'West Yorkshire Police' AS "Falls within",
            CASE WHEN NOT no_location THEN round(-2.15 + (hash(k) % 900) / 1000.0 + (((h >> 8) % 200)::INTEGER - 100) / 100000.0, 6) END AS "Longitude",
            CASE WHEN NOT no_location THEN round(53.55 + (hash(k + 7) % 400) / 1000.0 + (((h >> 16) % 200)::INTEGER - 100) / 100000.0, 6) END AS "Latitude",
            CASE WHEN no_location THEN 'No Location' ELSE 'On or near ' || {_sql_list(STREETS)}[(1 + (h >> 40) % {len(STREETS)})::BIGINT] END AS "Location",
            CASE WHEN NOT no_location THEN l.lsoa11cd END AS "LSOA code",
            CASE WHEN NOT no_location THEN l.lsoa11nm END AS "LSOA name",
            crime_type AS "Crime type",
            CASE WHEN crime_type <> 'Anti-social behaviour' THEN {_sql_list(OUTCOME_MIX)}[(1 + (h >> 48) % {len(OUTCOME_MIX)})::BIGINT] END AS "Last outcome category",
            NULL::VARCHAR AS "Context"
        FROM t JOIN bench_lsoa AS l USING (k)
        ORDER BY i"""
    )
    con.execute(f"COPY bench_src TO '{csv_path}' (FORMAT csv, HEADER true)")
    return time.perf_counter() - started


# ------------------------------------------------------------------------------------------- measuring


def _connect(database: Path | None = None, read_only: bool = False):
    """A DuckDB connection without the progress bar DuckDB draws on long queries (it would garble the report)."""
    import duckdb

    con = duckdb.connect(str(database) if database else ":memory:", read_only=read_only)
    con.execute("SET enable_progress_bar = false")
    return con


def _timed(fn):
    started = time.perf_counter()
    value = fn()
    return time.perf_counter() - started, value


def _ingest_in_child(kind: str, csv_path: Path, database: Path) -> dict:
    """One ingest path in this (fresh) process: its wall time, CPU time (every thread's) and peak resident memory.

    `floor`: DuckDB loading every column of the file into a table (`CREATE TABLE … AS SELECT * FROM read_csv`)
    in a database file. `landing`: land_source for police_street into a database file (the reference lists it
    checks against are loaded first, outside the timing).
    """
    import resource

    rss_before = _rss_now_gb()
    if kind == "floor":
        def run() -> int:
            with _connect(database) as con:
                con.execute(f"CREATE TABLE floor AS SELECT * FROM read_csv('{csv_path}')")
                return con.execute("SELECT count(*) FROM floor").fetchall()[0][0]
    else:
        from pipeline.config import SourceSettings
        from pipeline.ingest.landing import land_source, national_lsoa_codes, parse_context, reference_lists
        from pipeline.sources.police_street import SOURCE

        def no_person_ids(values):
            raise RuntimeError("police_street has no person identifiers to pseudonymise")

        national_lsoa_codes(), reference_lists()
        ctx = parse_context(date.today(), no_person_ids)

        def run() -> int:
            with _connect(database) as con:
                outcome = land_source(con, SOURCE, [csv_path], SourceSettings(), ctx).files[0]
                if outcome.status != "loaded":
                    raise RuntimeError(f"landing the benchmark file did not load it: {outcome.status} {outcome.detail!r}")
                return con.execute("SELECT count(*) FROM raw.police_street").fetchall()[0][0]

    gc.collect()
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    rows = run()
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    return {"wall_s": round(wall, 3), "cpu_s": round(after.ru_utime + after.ru_stime - cpu.ru_utime - cpu.ru_stime, 3),
            "peak_rss_gb": own_peak_rss_gb(), "rss_at_start_gb": rss_before, "rows": rows}


def cpu_seconds() -> float:
    """CPU seconds of this process and every process under it, finished (reaped) or still running: the render
    pool's workers and their kernels outlive a publish, so a stage's CPU is this after minus this before."""
    import resource

    import psutil

    usage = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    running = 0.0
    for child in psutil.Process().children(recursive=True):
        try:
            t = child.cpu_times()
            running += t.user + t.system + t.children_user + t.children_system
        except psutil.NoSuchProcess:
            continue
    return sum(u.ru_utime + u.ru_stime for u in usage) + running


def own_peak_rss_gb() -> float | None:
    """This process's peak resident memory since it started its program (Linux: VmHWM). Not ru_maxrss, which a
    spawned child inherits from the process that forked it."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 2**20, 2)
    except OSError:
        pass
    return None


def _in_fresh_process(kind: str, csv_path: Path, database: Path) -> dict:
    """Run `_ingest_in_child` in a new interpreter, so that its peak memory is its own."""
    import multiprocessing

    database.unlink(missing_ok=True)
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(_ingest_in_child, (kind, csv_path, database))


def measure_ingest(csv_path: Path, database: Path) -> dict:
    """(a) the floor (better of one load before and one after) against one land_source, each in its own process."""
    scratch = database.with_name(database.stem + "_floor.duckdb")
    floors = [_in_fresh_process("floor", csv_path, scratch)]
    landing = _in_fresh_process("landing", csv_path, database)  # kept: the quality stage reads it
    floors.append(_in_fresh_process("floor", csv_path, scratch))
    scratch.unlink(missing_ok=True)
    floor = min(floors, key=lambda f: f["wall_s"])
    if landing["rows"] != floor["rows"]:
        raise RuntimeError(f"landing the benchmark file did not load every row: {landing['rows']:,} of {floor['rows']:,}")
    size_gb = csv_path.stat().st_size / 2**30
    return {
        "floor": floor, "floor_wall_all_s": [f["wall_s"] for f in floors], "landing": landing,
        "ratio": round(landing["wall_s"] / floor["wall_s"], 1),
        "ratio_cpu": round(landing["cpu_s"] / floor["cpu_s"], 1),
        "peak_rss_per_file_size": round(landing["peak_rss_gb"] / size_gb, 1),
        "floor_peak_rss_per_file_size": round(floor["peak_rss_gb"] / size_gb, 1),
        "rows_landed": landing["rows"],
    }


def measure_suite(database: Path, suite_name: str = "raw.police_street", repeats: int = 2) -> dict:
    """(b) the suite through GX (run_suite: GX's SQL engine on the DuckDB connection) against its SQL floor, on the
    landed table."""
    from pipeline.quality.sql_floor import run_floor
    from pipeline.quality.suites import EXPECTATIONS_DIR, load_suite, run_suite

    suite = load_suite(EXPECTATIONS_DIR / f"{suite_name}.json")
    with _connect(database, read_only=True) as con:
        sample = dataclasses.replace(suite, batch=f"SELECT * FROM (\n{suite.batch}\n) LIMIT 1000")
        run_suite(con, sample)  # warm-up on 1,000 rows, untimed
        floor_times = []
        gx_times = []
        for _ in range(repeats):  # interleaved, so that a busy spell on a shared machine hits both paths
            floor = run_floor(con, suite)
            floor_times.append(floor.seconds)
            gc.collect()
            seconds, outcome = _timed(lambda: run_suite(con, suite))
            gx_times.append(seconds)
    total_s, floor_s = min(gx_times), min(floor_times)
    disagreements = [
        f"{g.type}({g.column}): GX {'pass' if g.success else 'fail'}, SQL {'pass' if f.success else 'fail'}"
        for g, f in zip(outcome.outcomes, floor.outcomes)
        if g.success != f.success
    ]
    return {
        "suite": suite_name,
        "expectations": len(suite.expectations),
        "floor_sql_s": round(floor_s, 3),
        "gx_total_s": round(total_s, 3),
        "ratio_total": round(total_s / floor_s, 2),
        "repeats": repeats,
        "floor_sql_all_s": [round(t, 3) for t in floor_times],
        "gx_total_all_s": [round(t, 3) for t in gx_times],
        "gx_passed": outcome.passed,
        "floor_passed": floor.passed,
        "disagreements": disagreements,
    }


def _warm_gx() -> float:
    """Import GX and make its context outside the timings (a one-off per process), and say how long it took."""
    from pipeline.quality.suites import EXPECTATIONS_DIR, load_suite, run_suite

    started = time.perf_counter()
    suite = load_suite(EXPECTATIONS_DIR / "raw.police_street.json")
    with _connect() as con:
        con.execute("CREATE SCHEMA raw")
        con.execute("CREATE TABLE raw.police_street (month DATE)")
        run_suite(con, suite)
    return time.perf_counter() - started


def _rss_now_gb() -> float | None:
    """The process's resident memory now (Linux: /proc/self/statm, in pages)."""
    try:
        return round(int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**30, 2)
    except (OSError, ValueError, IndexError):
        return None


def _peak_rss_gb() -> float | None:
    """The process's peak resident memory so far (Linux reports kilobytes)."""
    try:
        import resource

        return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 1)
    except (ImportError, OSError):
        return None


def load_average() -> str | None:
    """The 1, 5 and 15 minute load averages: how shared the machine was while a figure was taken."""
    try:
        return " ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return None


def machine() -> dict:
    import duckdb
    import pandas
    import polars

    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError, AttributeError):
        memory = None
    from importlib.metadata import version

    return {
        "cpus": os.cpu_count(),
        "memory_gb": round(memory, 1) if memory else None,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "polars": polars.__version__,
        "pandas": pandas.__version__,
        "great_expectations": version("great_expectations"),
        "load_average_at_end": load_average(),
    }


def run_size(rows: int, folder: Path, keep: bool = False) -> dict:
    csv_path = folder / f"police_street_{rows}.csv"
    database = folder / f"bench_{rows}.duckdb"
    with _connect() as con:
        synth_s = synthesise(con, rows, csv_path)
    ingest = measure_ingest(csv_path, database)
    suite = measure_suite(database, repeats=2 if rows > 1_000_000 else 3)
    suite["peak_rss_gb_so_far"] = _peak_rss_gb()
    result = {
        "rows": rows,
        "csv_mb": round(csv_path.stat().st_size / 2**20, 1),
        "synthesis_s": round(synth_s, 2),
        "ingest": ingest,
        "quality": suite,
    }
    if not keep:  # free the disk before the next size
        csv_path.unlink()
        database.unlink()
    return result


def main(out: Path, *, rows: int = LARGE_ROWS, small_rows: int = SMALL_ROWS, keep: bool = False) -> dict:
    """Run the benchmark at `rows` and `small_rows`; write the JSON to `out`, print a table, return the dict."""
    out = Path(out)
    folder = Path(tempfile.mkdtemp(prefix="csp-bench-"))
    started = datetime.now()
    try:
        gx_warmup = _warm_gx()
        runs = [run_size(n, folder, keep) for n in (rows, small_rows) if n]
    finally:
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)
    report = {
        "date": started.isoformat(timespec="seconds"),
        "wall_s": round((datetime.now() - started).total_seconds(), 1),
        "command": "python -m pipeline.bench" if rows == LARGE_ROWS and small_rows == SMALL_ROWS
        else f"python -m pipeline.bench --rows {rows} --small-rows {small_rows}",
        "machine": machine(),
        "gx_import_and_first_validation_s": round(gx_warmup, 2),
        "runs": runs,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(format_report(report))
    print(f"\nwritten to {out}")
    return report


def format_report(report: dict) -> str:
    m = report["machine"]
    lines = [
        f"csp bench {report['date']}: {m['cpus']} CPUs, {m['memory_gb']} GB, duckdb {m['duckdb']}, "
        f"polars {m['polars']}, pandas {m['pandas']}, GX {m['great_expectations']}",
        f"GX import + context + first validation (once per process, not in the timings): {report['gx_import_and_first_validation_s']:.1f} s",
        "",
        f"{'rows':>12}  {'path':<44} {'seconds':>9} {'floor s':>9} {'× floor':>8}",
    ]
    for run in report["runs"]:
        ingest, quality = run["ingest"], run["quality"]
        rows = f"{run['rows']:,}"
        lines += [
            f"{rows:>12}  {'ingest: land_source (CSV ' + str(run['csv_mb']) + ' MB)':<44} {ingest['landing']['wall_s']:>9.2f} {ingest['floor']['wall_s']:>9.2f} {ingest['ratio']:>8.1f}",
            f"{'':>12}  {'ingest, CPU seconds (all threads)':<44} {ingest['landing']['cpu_s']:>9.2f} {ingest['floor']['cpu_s']:>9.2f} {ingest['ratio_cpu']:>8.1f}",
            f"{'':>12}  {'ingest, peak resident GB (own process)':<44} {ingest['landing']['peak_rss_gb']:>9.2f} {ingest['floor']['peak_rss_gb']:>9.2f} "
            f"{ingest['landing']['peak_rss_gb'] / ingest['floor']['peak_rss_gb']:>8.1f}   ({ingest['peak_rss_per_file_size']}× the file)",
            f"{'':>12}  {'quality: GX run_suite (' + str(quality['expectations']) + ' expectations)':<44} {quality['gx_total_s']:>9.2f} {quality['floor_sql_s']:>9.2f} {quality['ratio_total']:>8.2f}",
        ]
        if quality["disagreements"]:
            lines.append(f"{'':>12}  GX and the SQL floor DISAGREE: {'; '.join(quality['disagreements'])}")
        lines.append(
            f"{'':>12}  (synthesis {run['synthesis_s']:.1f} s; peak RSS of the main process after GX {quality.get('peak_rss_gb_so_far')} GB)"
        )
    lines.append("")
    lines.append(f"load average at the end: {m.get('load_average_at_end')}; whole run {report.get('wall_s')} s")
    lines.append("floors: ingest = CREATE TABLE AS SELECT * FROM read_csv(file) in a database file, the better of one before and one")
    lines.append("        after the one landing, each in its own process;")
    lines.append("        quality = the suite as one DuckDB statement; it and GX interleaved, best of 2 (over 1M rows) or 3")
    return "\n".join(lines)


def _cli(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("bench.json"), help="where to write the JSON (default ./bench.json)")
    parser.add_argument("--rows", type=int, default=LARGE_ROWS, help=f"rows of the large table (default {LARGE_ROWS:,})")
    parser.add_argument("--small-rows", type=int, default=SMALL_ROWS, help=f"rows of the small table (default {SMALL_ROWS:,}; 0 to skip)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (CSV files, databases)")
    args = parser.parse_args(argv)
    main(args.out, rows=args.rows, small_rows=args.small_rows, keep=args.keep)
    return 0


if __name__ == "__main__":
    sys.exit(_cli())
