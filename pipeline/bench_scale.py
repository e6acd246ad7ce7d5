"""`csp bench --scale borough|force|national`: every stage of a run, at the size of one borough, one police force
or all of England and Wales, each against its floor, in one run.

Workspaces are generated here from a fixed seed, without the network:

- borough: the demo (`csp demo`'s partnership.yaml and extracts, Calderdale, five years);
- force: the five local authorities of West Yorkshire, each its own partnership;
- national: every local authority of England and Wales (Dec 2019 codes, the shipped ONS lookup), each its own
  partnership.

For force and national, each partnership's entry is the one `csp init --local-authority CODE` writes
(`starter_config`, validated as `csp init` validates it); the workspace is three financial years (2022-04 to
2025-03). police.uk street files (one per force per month, `YYYY-MM-<force>-street.csv`, police.uk's headings)
are synthesised in DuckDB over the real LSOAs at the national rate (6 million crimes and 1 million ASB incidents a
year over England and Wales' Census 2011 residents), so each LSOA gets rows in proportion to its residents. The
partner extracts that carry an LSOA (council ASB, environment, fire, hate, ambulance, police crimes) are the
demo's Calderdale extracts replicated onto every partnership in proportion to its residents (a partnership of
twice Calderdale's residents gets each row twice, on average), the LSOA redrawn among the partnership's own,
the ward re-derived from it and every identifier suffixed per copy. The demo's other sources (Calderdale's
aggregates, sources without a place) are not scaled and not included. Forces: West Yorkshire is itself; the
rest of England and Wales is cut into 42 synthetic force areas of similar population (the reference data has
no LA → force lookup), named `synthetic-force-NN`.

Stages, each in a fresh process (wall and CPU time including its children; peak memory is the stage process's
own VmHWM, so render workers' memory is not in it): ingest (the `raw` assets, as `csp run` lands them), marts
(every other asset but the documents, checks aside), checks (every suite through `run_and_record`, what each
Dagster check runs), one partnership's three documents in both editions, and every partnership's scrutiny pack.
Floors, in the same run: DuckDB `CREATE TABLE … AS SELECT * FROM read_csv(…)` of every raw CSV file into a
database file (ingest); each suite as one SQL statement (`pipeline.quality.sql_floor`, checks); a bare Pandoc +
Typst render of a static page once per render (`bench_documents.floor_render`, documents). Marts have no floor.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from pipeline.bench import cpu_seconds, load_average, own_peak_rss_gb

SCALES = ("borough", "force", "national")
WEST_YORKSHIRE = ("E08000032", "E08000033", "E08000034", "E08000035", "E08000036")  # Bradford … Wakefield
PERIOD = ("2022-04", "2025-03")  # three financial years
CRIMES_A_YEAR = 6_000_000  # England and Wales, police.uk street-level
ASB_A_YEAR = 1_000_000
SYNTHETIC_FORCES = 42  # besides West Yorkshire
SEED = 20250401
# The demo's partner extracts that place their rows by LSOA, with their identifier columns (suffixed per copy).
PARTNER_SOURCES = {
    "council_asb": ("Case Reference",),
    "council_environment": ("Reference",),
    "fire_incidents": ("Incident Number",),
    "hate_incidents": ("Reference",),
    "health_ambulance": ("CAD Number",),
    "police_crimes": ("Crime Reference", "Victim ID", "Offender ID"),
}
STAGES = ("ingest", "marts", "checks", "documents_one", "scrutiny_packs")
FLOORS = ("floor_ingest", "floor_checks", "floor_render")


# ------------------------------------------------------------------------------------------- generation


def authorities(scale: str) -> list[str]:
    """The local authorities (GSS codes) that are partnerships at this scale."""
    from pipeline.geography import LOOKUP_FILE, _read

    if scale == "force":
        return list(WEST_YORKSHIRE)
    return sorted(set(_read(LOOKUP_FILE, ["lad_cd"])["lad_cd"]))


def workspace_config(codes: list[str], period: tuple[str, str] = PERIOD, name: str = "benchmark") -> str:
    """One partnership.yaml holding, for each local authority, the partnership `csp init --local-authority CODE`
    writes, marked synthetic; validated whole (every partnership in it) as `csp init` validates its one."""
    import yaml

    from pipeline.config import parse_config
    from pipeline.workspace import starter_config

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: 340 configurations in a second, not a minute
    configs = [yaml.load(starter_config([code], period=period), Loader=loader) for code in codes]
    merged = {**configs[0], "partnerships": [c["partnerships"][0] for c in configs]}
    merged["workspace"] = {"name": f"{name} (synthetic data)", "synthetic": True}
    text = yaml.safe_dump(merged, sort_keys=False, allow_unicode=True)
    parse_config(text, origin="bench_scale")
    return text


def residents():
    """Census 2011 residents per LSOA with its Dec 2019 local authority (the lookup's: the population file carries
    2011 codes, which differ where districts merged since)."""
    import polars as pl

    from pipeline.geography import LOOKUP_FILE, POPULATION_FILE, _read

    people = _read(POPULATION_FILE, ["lsoa11cd", "usual_residents"]).with_columns(pl.col("usual_residents").cast(pl.Int64))
    return _read(LOOKUP_FILE, ["lsoa11cd", "lsoa11nm", "lad_cd"]).join(people, on="lsoa11cd", how="left").with_columns(
        pl.col("usual_residents").fill_null(0))


def forces(codes: list[str]):
    """LA code → (force name, file slug): West Yorkshire is itself; the others are cut, in code order, into
    SYNTHETIC_FORCES areas of similar population."""
    import polars as pl

    people = residents().group_by("lad_cd").agg(pl.col("usual_residents").sum()).sort("lad_cd")
    people = people.filter(pl.col("lad_cd").is_in(codes))
    found = {c: ("West Yorkshire Police", "west-yorkshire") for c in codes if c in WEST_YORKSHIRE}
    others = people.filter(~pl.col("lad_cd").is_in(WEST_YORKSHIRE))
    per_force = max(others["usual_residents"].sum(), 1) / SYNTHETIC_FORCES
    running = 0
    for code, people_in_la in others.iter_rows():
        n = min(int(running // per_force) + 1, SYNTHETIC_FORCES)
        found[code] = (f"Synthetic Force {n:02d}", f"synthetic-force-{n:02d}")
        running += people_in_la
    return found


def _months(period: tuple[str, str]) -> list[str]:
    y, m = map(int, period[0].split("-"))
    out = []
    while f"{y}-{m:02d}" <= period[1]:
        out.append(f"{y}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def _connect(database: Path | str = ":memory:"):
    import duckdb

    con = duckdb.connect(str(database))
    con.execute("SET enable_progress_bar = false")
    return con


def police_street(folder: Path, codes: list[str], period: tuple[str, str], volume: float = 1.0) -> int:
    """police.uk street files for these authorities' LSOAs, one per force and month, at `volume` × the national
    rate; returns the rows written."""
    import polars as pl
    import shapely

    from pipeline.bench import CRIME_MIX, OUTCOME_MIX, STREETS, _sql_list
    from pipeline.geography import BOUNDARIES_FILE
    from pipeline.paths import REFERENCE_DIR

    folder.mkdir(parents=True, exist_ok=True)
    crimes = [(share, kind) for share, kind in CRIME_MIX if kind != "Anti-social behaviour"]
    cases, low = [], 0
    for share, kind in crimes:
        cases.append(f"WHEN r < {low + share} THEN '{kind}'")
        low += share
    crime_type = f"CASE WHEN j >= n_crime THEN 'Anti-social behaviour' ELSE CASE {' '.join(cases)} END END"
    shapes = pl.read_parquet(REFERENCE_DIR / BOUNDARIES_FILE)
    centres = shapely.centroid(shapely.from_wkb(shapes["geometry"].to_list()))
    centroids = pl.DataFrame({"lsoa11cd": shapes["lsoa11cd"], "lon": shapely.get_x(centres), "lat": shapely.get_y(centres)})
    force_of = pl.DataFrame([(c, f, s) for c, (f, s) in forces(codes).items()], schema=["lad_cd", "force", "slug"], orient="row")
    months = _months(period)
    rows = 0
    with _connect() as con:
        people = residents()
        con.register("centroids", centroids)
        con.register("force_of", force_of)
        con.register("people", people)
        total = people["usual_residents"].sum()
        crime_rate, asb_rate = volume * CRIMES_A_YEAR / 12 / total, volume * ASB_A_YEAR / 12 / total
        con.execute("""CREATE TEMP TABLE cells AS
            SELECT p.lsoa11cd, p.lsoa11nm, f.force, f.slug, c.lon, c.lat, p.usual_residents::DOUBLE AS residents
            FROM people AS p JOIN force_of AS f USING (lad_cd) LEFT JOIN centroids AS c USING (lsoa11cd)""")
        for month in months:
            staged = folder / f".{month}"
            rows += con.execute(f"""COPY (
                WITH counted AS (
                    SELECT *, floor(residents * {crime_rate} + (hash(lsoa11cd, '{month}', 'c') % 1000000) / 1e6)::BIGINT AS n_crime,
                           floor(residents * {asb_rate} + (hash(lsoa11cd, '{month}', 'a') % 1000000) / 1e6)::BIGINT AS n_asb
                    FROM cells
                ), expanded AS (
                    SELECT *, unnest(range(n_crime + n_asb)) AS j FROM counted
                ), drawn AS (
                    SELECT *, hash(lsoa11cd, '{month}', j, {SEED}) AS h FROM expanded
                ), typed AS (
                    SELECT *, (h % 75)::INTEGER AS r, (h >> 20) % 1000 < 30 AS no_location FROM drawn
                ), t AS (SELECT *, {crime_type} AS crime_type FROM typed)
                SELECT
                    CASE WHEN crime_type <> 'Anti-social behaviour' THEN sha256('csp-scale-' || lsoa11cd || '{month}' || j) END AS "Crime ID",
                    '{month}' AS "Month", force AS "Reported by", force AS "Falls within",
                    CASE WHEN NOT no_location THEN round(lon + (((h >> 8) % 200)::INTEGER - 100) / 100000.0, 6) END AS "Longitude",
                    CASE WHEN NOT no_location THEN round(lat + (((h >> 16) % 200)::INTEGER - 100) / 100000.0, 6) END AS "Latitude",
                    CASE WHEN no_location THEN 'No Location' ELSE 'On or near ' || {_sql_list(STREETS)}[(1 + (h >> 40) % {len(STREETS)})::BIGINT] END AS "Location",
                    CASE WHEN NOT no_location THEN lsoa11cd END AS "LSOA code",
                    CASE WHEN NOT no_location THEN lsoa11nm END AS "LSOA name",
                    crime_type AS "Crime type",
                    CASE WHEN crime_type <> 'Anti-social behaviour' THEN {_sql_list(OUTCOME_MIX)}[(1 + (h >> 48) % {len(OUTCOME_MIX)})::BIGINT] END AS "Last outcome category",
                    NULL::VARCHAR AS "Context",
                    slug AS _slug
                FROM t
            ) TO '{staged}' (FORMAT csv, HEADER true, PARTITION_BY (_slug), OVERWRITE_OR_IGNORE true)""").fetchone()[0]
            for part in sorted(staged.glob("_slug=*/*.csv")):
                slug = part.parent.name.removeprefix("_slug=")
                target = folder / f"{month}-{slug}-street.csv"
                part.rename(target)
            shutil.rmtree(staged)
    return rows


def _quarter_in_period(name: str, period: tuple[str, str]) -> bool:
    """A demo quarterly file `YYYY-YY-Qn.csv` within the period's financial years."""
    def financial_year(month: str) -> int:
        return int(month[:4]) - (month[5:7] < "04")

    return name[:4].isdigit() and financial_year(period[0]) <= int(name[:4]) <= financial_year(period[1])


def partner_extracts(raw: Path, demo_raw: Path, codes: list[str], period: tuple[str, str]) -> dict[str, int]:
    """The demo's LSOA-placed partner extracts replicated onto every partnership in proportion to its residents
    (see the module's docstring); returns rows written per source."""
    import polars as pl

    from pipeline.demo.geography import CALDERDALE
    from pipeline.geography import LOOKUP_FILE, _read

    people = residents()
    calderdale = people.filter(pl.col("lad_cd") == CALDERDALE)["usual_residents"].sum()
    parts = (people.filter(pl.col("lad_cd").is_in(codes)).group_by("lad_cd")
             .agg(pl.col("lsoa11cd").sort().alias("lsoas"), (pl.col("usual_residents").sum() / calderdale).alias("factor"))
             .sort("lad_cd").with_row_index("k"))
    wards = _read(LOOKUP_FILE, ["lsoa11cd", "ward_cd"])
    written = {}
    with _connect() as con:
        con.register("parts_df", parts)
        con.register("wards", wards)
        con.execute("CREATE TEMP TABLE parts AS SELECT k, lsoas, len(lsoas) AS n, factor, ceil(factor)::BIGINT AS copies FROM parts_df")
        for source, ids in PARTNER_SOURCES.items():
            (raw / source).mkdir(parents=True, exist_ok=True)
            written[source] = 0
            for path in sorted((demo_raw / source).glob("*.csv")):
                if not _quarter_in_period(path.name, period):
                    continue
                columns = [d[0] for d in con.execute(f"DESCRIBE SELECT * FROM read_csv('{path}', all_varchar=true, header=true)").fetchall()]
                out = []
                for column in columns:
                    q = '"' + column.replace('"', '""') + '"'
                    if column.lstrip("\ufeff") in ids:
                        out.append(f"CASE WHEN {q} IS NULL THEN NULL ELSE {q} || '-' || k || '-' || c END AS {q}")
                    elif column == "LSOA Code":
                        out.append(f"CASE WHEN {q} IS NULL THEN NULL ELSE lsoa END AS {q}")
                    elif column == "Ward Code":
                        out.append(f"CASE WHEN {q} IS NULL THEN NULL ELSE w.ward_cd END AS {q}")
                    else:
                        out.append(q)
                target = raw / source / path.name
                written[source] += con.execute(f"""COPY (
                    WITH src AS (SELECT row_number() OVER () AS _r, * FROM read_csv('{path}', all_varchar=true, header=true)),
                    spread AS (SELECT src.*, p.k, p.lsoas, p.n, p.factor, unnest(range(p.copies)) AS c FROM src, parts AS p),
                    kept AS (
                        SELECT *, lsoas[1 + (hash(_r, k, c, {SEED}) % n)::BIGINT] AS lsoa FROM spread
                        WHERE c < floor(factor) OR (hash(_r, k, 'part', {SEED}) % 1000000) / 1e6 < factor - floor(factor)
                    )
                    SELECT {", ".join(out)} FROM kept LEFT JOIN wards AS w ON w.lsoa11cd = kept.lsoa ORDER BY _r, k, c
                ) TO '{target}' (FORMAT csv, HEADER true)""").fetchone()[0]
    return written


def generate(scale: str, root: Path, *, volume: float = 1.0, period: tuple[str, str] = PERIOD,
             partners: bool = True) -> dict:
    """A workspace at `root` for this scale; what was generated (partnerships, rows per source, seconds)."""
    from pipeline.demo import DEMO_SEED, generate_demo_extracts
    from pipeline.workspace import Workspace

    started = time.perf_counter()
    ws = Workspace.at(root)
    if scale == "borough":
        from pipeline.cli import DEMO_CONFIG
        from pipeline.demo.police_prc import peers_config

        ws.scaffold(DEMO_CONFIG.replace("\nsources:\n", f"\n{peers_config()}sources:\n", 1))
        written = generate_demo_extracts(ws.raw, seed=DEMO_SEED)
        rows = {s: sum(_rows(p) for p in paths) for s, paths in written.items()}
        return {"partnerships": 1, "rows": rows, "generate_s": round(time.perf_counter() - started, 1)}
    codes = authorities(scale)
    ws.scaffold(workspace_config(codes, period, name=f"{scale} benchmark"))
    rows = {"police_street": police_street(ws.raw / "police_street", codes, period, volume)}
    if partners:
        demo_raw = root.parent / "demo-extracts"
        if not demo_raw.is_dir():
            generate_demo_extracts(demo_raw, seed=DEMO_SEED)
        rows |= partner_extracts(ws.raw, demo_raw, codes, period)
    return {"partnerships": len(codes), "rows": rows, "generate_s": round(time.perf_counter() - started, 1)}


def generated_workspace(scale: str, root: Path, volume: float = 1.0, resume: bool = False) -> dict:
    """The scale's workspace at `root`: generated, or as generated before (`--keep`, `--generate-only`) when its
    raw files are there and nothing has been built from them yet (or, resuming, whatever was built)."""
    marker = root / ".generated.json"
    if marker.is_file() and (resume or not (root / "warehouse" / "csp.duckdb").exists()):
        return json.loads(marker.read_text())
    if root.exists():
        shutil.rmtree(root)
    generated = generate(scale, root, volume=volume)
    marker.write_text(json.dumps(generated))
    return generated


def _rows(path: Path) -> int:
    if path.suffix != ".csv":
        return 0
    with path.open("rb") as handle:
        return max(sum(1 for _ in handle) - 1, 0)


# ------------------------------------------------------------------------------------------- stages


def _run(ws, selection) -> dict:
    from pipeline.cli import run_pipeline

    outcome = run_pipeline(ws, selection, show=False)
    return {"success": outcome.success, "failures": outcome.failures[:10], "refusals": len(outcome.refusals),
            "held": len(outcome.held), "slowest_steps": slowest_steps(ws)}


def slowest_steps(ws, n: int = 12) -> list[tuple[str, float]]:
    """The latest run's slowest steps (Dagster's step stats), for the profile of a stage."""
    import dagster as dg

    from pipeline.cli import dagster_home

    instance = dg.DagsterInstance.from_config(str(dagster_home(ws)))
    runs = instance.get_runs(limit=1)
    if not runs:
        return []
    stats = instance.get_run_step_stats(runs[0].run_id)
    timed = [(s.step_key, round(s.end_time - s.start_time, 2)) for s in stats if s.start_time and s.end_time]
    return sorted(timed, key=lambda t: -t[1])[:n]


def _csv_files(ws) -> list[Path]:
    return sorted(p for p in ws.raw.rglob("*") if p.is_file() and p.suffix.lower() == ".csv")


def stage(name: str, root: Path) -> dict:
    """Run one stage in this process; what it did (its figures are added by the caller)."""
    import dagster as dg

    from pipeline.workspace import Workspace

    ws = Workspace.at(root)
    if name == "ingest":
        return _run(ws, dg.AssetSelection.groups("raw").without_checks())
    if name == "marts":
        from pipeline.quality.checks import RESULTS_DDL

        with ws.connect() as con:  # what the marts read of the checks' results exists before the checks run
            con.execute(RESULTS_DDL)
        return _run(ws, (dg.AssetSelection.all() - dg.AssetSelection.groups("raw", "reports")).without_checks())
    if name == "checks":
        from pipeline.models.sql_assets import set_run_variables
        from pipeline.quality.checks import _READS_REFERENCE, run_and_record, suite_files

        done, failed, rows = [], [], 0
        with ws.connect() as con:
            set_run_variables(con, ws)
            tables = {f"{s}/{t}" for s, t in con.execute("SELECT table_schema, table_name FROM information_schema.tables").fetchall()}
            for suite in suite_files():  # those whose table, and the reference tables it reads, are built
                reads = {f"reference/{t}" for t in _READS_REFERENCE.findall(suite.path.read_text(encoding="utf-8"))}
                if suite.asset not in tables or not reads <= tables:
                    continue
                outcome = run_and_record(con, suite.path)
                done.append(suite.name)
                rows += outcome.rows
                failed += [suite.name] if outcome.errors else []
        return {"suites": done, "suites_failing_errors": failed, "rows_checked": rows}
    if name == "floor_checks":
        from pipeline.models.sql_assets import set_run_variables
        from pipeline.quality.sql_floor import run_floor
        from pipeline.quality.suites import SuiteError, load_suite

        suites = json.loads(os.environ["CSP_BENCH_SUITES"])
        floored, skipped = [], []
        with ws.connect(read_only=True) as con:
            set_run_variables(con, ws)
            for suite in _suite_paths(suites):
                try:
                    run_floor(con, load_suite(suite))
                    floored.append(suite.stem)
                except SuiteError as exc:
                    skipped.append(f"{suite.stem}: {exc}"[:200])
        return {"suites": floored, "not_floored": skipped}
    if name == "floor_ingest":
        database = root / "floor.duckdb"
        database.unlink(missing_ok=True)
        rows = 0
        with _connect(database) as con:
            for i, path in enumerate(_csv_files(ws)):
                try:
                    con.execute(f"CREATE TABLE f{i} AS SELECT * FROM read_csv('{path}')")
                except Exception:  # a file DuckDB's sniffer cannot type: every column as text, still materialised
                    con.execute(f"CREATE OR REPLACE TABLE f{i} AS SELECT * FROM read_csv('{path}', all_varchar=true)")
                rows += con.execute(f"SELECT count(*) FROM f{i}").fetchone()[0]
        database.unlink()
        return {"files": len(_csv_files(ws)), "rows": rows}
    if name == "documents_one":
        first = ws.config().partnerships[0].id
        return {"partnership": first, **_run(Workspace.at(root, partnership=first), "reports/*")}
    if name == "scrutiny_packs":
        return _run(ws, "reports/scrutiny_pack")
    if name == "floor_render":
        from pipeline.bench_documents import floor_render

        renders = int(os.environ["CSP_BENCH_RENDERS"])
        with tempfile.TemporaryDirectory(prefix="csp-floor-") as tmp:
            for _ in range(renders):
                floor_render(Path(tmp))
        return {"renders": renders}
    raise ValueError(f"unknown stage {name!r}; expected one of {', '.join(STAGES + FLOORS)}")


def _suite_paths(names: list[str]) -> list[Path]:
    from pipeline.paths import EXPECTATIONS_DIR

    return [EXPECTATIONS_DIR / f"{n}.json" for n in names]


def _child(name: str, root: Path, out: Path) -> None:
    """The body of a stage process: run the stage, write its figures to `out`."""
    cpu, started = cpu_seconds(), time.perf_counter()
    found = stage(name, root)
    wall = time.perf_counter() - started
    found |= {"wall_s": round(wall, 2), "cpu_s_self": round(cpu_seconds() - cpu, 2), "peak_rss_gb": own_peak_rss_gb()}
    out.write_text(json.dumps(found), encoding="utf-8")


def in_fresh_process(name: str, root: Path, timeout: float | None = None, env: dict | None = None) -> dict:
    """Run a stage in a new interpreter: its figures, with CPU time including every process it waited for; after
    `timeout` seconds its process group is stopped and the result says so."""
    from pipeline.paths import PROJECT_ROOT
    from pipeline.workspace import MEMORY_LIMIT_ENV

    out = root / f".stage-{name}.json"
    out.unlink(missing_ok=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    env = {**os.environ, **(env or {}),
           "PYTHONPATH": os.pathsep.join(p for p in (str(PROJECT_ROOT), os.environ.get("PYTHONPATH", "")) if p)}
    log = root / f".stage-{name}.log"
    load_before, commit = load_average(), _commit(PROJECT_ROOT)
    process = subprocess.Popen([sys.executable, "-m", "pipeline.bench_scale", "--stage", name, "--workspace", str(root),
                                "--stage-out", str(out)], env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
                               start_new_session=True)
    try:
        code = process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        code = None
    from pipeline.workspace import Workspace

    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    found = json.loads(out.read_text()) if out.is_file() else {}
    found |= {"process_wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "load_before": load_before, "load_after": load_average(),
              "commit": commit, "duckdb_memory_limit": os.environ.get(MEMORY_LIMIT_ENV)}
    if code is None:  # what the stopped run had finished, from Dagster's step records
        found["timed_out_after_s"] = timeout
        if name in ("ingest", "marts", "documents_one", "scrutiny_packs"):
            found["steps_finished_slowest"] = slowest_steps(Workspace.at(root), n=400)
    elif code != 0:
        found["error"] = log.read_text(errors="replace")[-1500:]
    return found


def _commit(root: Path) -> str | None:
    """The code a stage ran (a long benchmark outlives commits: each stage says which it ran at)."""
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return head.stdout.strip() or None


# ------------------------------------------------------------------------------------------- one scale


def _count_rendered(root: Path, document: str) -> int:
    """PDFs of the document on disk, every partnership and edition."""
    from pipeline.publish.assets import discover

    slug = next(r.slug for r in discover() if r.name == document)
    return sum(1 for edition in ("published", "restricted") for _ in (root / edition).glob(f"*/{slug}/*/report.pdf"))


def run_scale(scale: str, folder: Path, *, volume: float = 1.0, render_timeout: float | None = None,
              stage_timeout: float | None = None, resume: bool = False) -> dict:
    """Generate the scale's workspace in `folder` and measure every stage and floor there. Each stage's figures
    are kept beside the workspace (`.result-<stage>.json`); `resume` takes those of a kept run (`--keep`) as
    measured and runs only the stages after them (a national run takes hours: a stopped one goes on)."""
    from pipeline.ingest.pseudonymise import KEY_ENV
    from pipeline.publish.assets import EDITIONS, discover
    from pipeline.workspace import Workspace

    os.environ.setdefault(KEY_ENV, "c5b0" * 16)  # a benchmark's own key (the workspace is thrown away)
    root = folder / scale
    generated = generated_workspace(scale, root, volume, resume)
    ws = Workspace.at(root)
    raw_bytes = sum(p.stat().st_size for p in ws.raw.rglob("*") if p.is_file())
    result = {"scale": scale, **generated, "raw_mb": round(raw_bytes / 2**20, 1), "stages": {}}
    stages = result["stages"]
    partnerships = len(ws.config().partnerships)
    print(f"[{scale}] generated {partnerships} partnerships, {raw_bytes / 2**20:.0f} MB in {generated['generate_s']} s", flush=True)

    def measured(label: str, name: str, timeout: float | None = stage_timeout, env: dict | None = None) -> dict:
        kept = root / f".result-{label}.json"
        if resume and kept.is_file() and finished(kept_result := json.loads(kept.read_text())):
            stages[label] = kept_result | {"resumed": True}
        else:
            stages[label] = in_fresh_process(name, root, timeout=timeout, env=env)
            kept.write_text(json.dumps(stages[label]), encoding="utf-8")
        print(f"[{scale}] {label}: {stages[label].get('wall_s', stages[label])} s", flush=True)
        return stages[label]

    measured("floor_ingest", "floor_ingest")
    measured("ingest", "ingest")
    # the raw tables' suites straight after landing (what a run checks first), then every suite after the marts
    suites = measured("checks_raw", "checks").get("suites", [])
    measured("floor_checks_raw", "floor_checks", env={"CSP_BENCH_SUITES": json.dumps(suites)})
    if not measured("marts", "marts").get("success"):
        result["ratios"] = ratios(stages)
        return result
    suites = measured("checks", "checks").get("suites", [])
    measured("floor_checks", "floor_checks", env={"CSP_BENCH_SUITES": json.dumps(suites)})
    measured("documents_one", "documents_one", timeout=render_timeout)
    renders_one = len(discover()) * len(EDITIONS)
    measured("floor_render_one", "floor_render", env={"CSP_BENCH_RENDERS": str(renders_one)})
    measured("scrutiny_packs", "scrutiny_packs", timeout=render_timeout)
    stages["scrutiny_packs"]["rendered"] = _count_rendered(root, "scrutiny_pack")
    stages["scrutiny_packs"]["expected"] = partnerships * len(EDITIONS)
    renders_all = partnerships * len(EDITIONS)
    measured("floor_render_packs", "floor_render", env={"CSP_BENCH_RENDERS": str(renders_all)})
    result["ratios"] = ratios(stages)
    print(f"[{scale}] {json.dumps(result['ratios'])}", flush=True)
    return result


def finished(stage_result: dict) -> bool:
    """A stage that ran to the end: not stopped, not crashed, its run not failed (a resumed run does those again)."""
    return not ({"error", "timed_out_after_s"} & stage_result.keys()) and stage_result.get("success") is not False


def ratios(stages: dict) -> dict:
    """Each stage's wall time over its floor's (checks: over the suites the floor translates; None when either
    did not finish)."""
    def wall(name):
        s = stages.get(name, {})
        return None if "error" in s or "timed_out_after_s" in s else s.get("wall_s")

    pairs = {"ingest": ("ingest", "floor_ingest"), "checks_raw": ("checks_raw", "floor_checks_raw"), "checks": ("checks", "floor_checks"),
             "documents_one": ("documents_one", "floor_render_one"), "scrutiny_packs": ("scrutiny_packs", "floor_render_packs")}
    found = {}
    for label, (a, b) in pairs.items():
        x, y = wall(a), wall(b)
        found[label] = round(x / y, 1) if x and y else None
    floor_sum = sum(filter(None, (wall("floor_ingest"), wall("floor_checks"))))
    work = [wall(n) for n in ("ingest", "checks", "marts")]
    found["ingest_checks_marts_over_load_floor"] = round(sum(work) / wall("floor_ingest"), 1) if all(work) and wall("floor_ingest") else None
    return found


def main(scales: list[str], out: Path, *, volume: float = 1.0, render_timeout: float | None = None,
         stage_timeout: float | None = None, keep: Path | None = None, resume: bool = False) -> dict:
    from pipeline.bench import machine

    out = Path(out)
    folder = keep or Path(tempfile.mkdtemp(prefix="csp-bench-scale-"))
    folder.mkdir(parents=True, exist_ok=True)
    report = json.loads(out.read_text()) if out.is_file() else {}
    report.setdefault("scales", {})
    try:
        for scale in scales:
            started = datetime.now()
            result = run_scale(scale, folder, volume=volume, render_timeout=render_timeout, stage_timeout=stage_timeout,
                               resume=resume)
            result["date"] = started.isoformat(timespec="seconds")
            result["command"] = "csp bench --scale " + scale + (f" --volume {volume}" if volume != 1.0 else "")
            result["machine"] = machine()
            report["scales"][scale] = result
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    finally:
        if keep is None:
            shutil.rmtree(folder, ignore_errors=True)
    print(format_report(report))
    return report


def format_report(report: dict) -> str:
    lines = [f"{'scale':<9} {'stage':<16} {'wall s':>8} {'CPU s':>8} {'peak GB':>8} {'floor s':>8} {'× floor':>8}"]
    floors = {"ingest": "floor_ingest", "checks_raw": "floor_checks_raw", "checks": "floor_checks", "documents_one": "floor_render_one",
              "scrutiny_packs": "floor_render_packs"}
    for scale, result in report["scales"].items():
        for name in ("ingest", "checks_raw", "marts", "checks", "documents_one", "scrutiny_packs"):
            s = result["stages"].get(name, {})
            f = result["stages"].get(floors.get(name, ""), {})
            note = " TIMED OUT" if "timed_out_after_s" in s else (" FAILED" if "error" in s or s.get("success") is False else "")
            lines.append(f"{scale:<9} {name:<16} {s.get('wall_s', s.get('process_wall_s', '')):>8} {s.get('cpu_s', ''):>8} "
                         f"{s.get('peak_rss_gb', ''):>8} {f.get('wall_s', ''):>8} {str(result['ratios'].get(name, '')):>8}{note}")
    return "\n".join(lines)


def markdown(report: dict) -> str:
    """The figures as the table in docs/benchmarks.md: a row per scale and stage, with its floor and ratio."""
    floors = {"ingest": "floor_ingest", "checks_raw": "floor_checks_raw", "checks": "floor_checks",
              "documents_one": "floor_render_one", "scrutiny_packs": "floor_render_packs"}
    lines = ["| scale | stage | wall s | CPU s | peak GB | floor: wall s / CPU s / peak GB | × floor: wall / CPU | note |",
             "|---|---|---|---|---|---|---|---|"]
    for scale, result in report["scales"].items():
        for name in ("ingest", "checks_raw", "marts", "checks", "documents_one", "scrutiny_packs"):
            s = result["stages"].get(name)
            if s is None:
                lines.append(f"| {scale} | {name} | – | – | – | – | – | not reached |")
                continue
            f = result["stages"].get(floors.get(name, ""), {})
            floor = f"{f.get('wall_s', '–')} / {f.get('cpu_s', '–')} / {f.get('peak_rss_gb', '–')}" if f else "–"
            note = (f"stopped after {s['timed_out_after_s']:.0f} s" if "timed_out_after_s" in s
                    else "failed" if "error" in s or s.get("success") is False else "")
            finished = not note
            if name == "scrutiny_packs" and "rendered" in s:
                note = (note + "; " if note else "") + f"{s['rendered']} of {s['expected']} PDFs"
            by_cpu = round(s["cpu_s"] / f["cpu_s"], 1) if s.get("cpu_s") and f.get("cpu_s") and finished else "–"
            lines.append(f"| {scale} | {name} | {s.get('wall_s', s.get('process_wall_s'))} | {s.get('cpu_s')} | "
                         f"{s.get('peak_rss_gb', '–')} | {floor} | {result.get('ratios', {}).get(name) or '–'} / {by_cpu} | {note} |")
    return "\n".join(lines)


def _cli(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.bench_scale", description=__doc__.splitlines()[0])
    parser.add_argument("--scale", action="append", choices=SCALES)
    parser.add_argument("--out", type=Path, default=Path(".bench/bench_scale.json"))
    parser.add_argument("--volume", type=float, default=1.0, help="police.uk rows as a share of the national rate")
    parser.add_argument("--render-timeout", type=float, default=None, help="stop a rendering stage after this many seconds")
    parser.add_argument("--stage-timeout", type=float, default=None, help="stop any other stage after this many seconds")
    parser.add_argument("--keep", type=Path, default=None,
                        help="generate into this folder and keep it (a workspace generated there before and not yet built is reused)")
    parser.add_argument("--markdown", action="store_true", help="print the figures in --out as docs/benchmarks.md's table")
    parser.add_argument("--resume", action="store_true",
                        help="with --keep: take the stages a stopped run there finished as measured and run the rest")
    parser.add_argument("--generate-only", action="store_true", help="generate the workspaces (in --keep) and stop")
    parser.add_argument("--stage", choices=STAGES + ("floor_ingest", "floor_checks", "floor_render"), help=argparse.SUPPRESS)
    parser.add_argument("--workspace", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--stage-out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.stage:
        _child(args.stage, args.workspace, args.stage_out)
        return 0
    if args.markdown:
        print(markdown(json.loads(args.out.read_text())))
        return 0
    if args.resume and not args.keep:
        parser.error("--resume needs --keep FOLDER (the folder of the stopped run)")
    if args.generate_only:
        folder = args.keep or parser.error("--generate-only needs --keep FOLDER")
        for scale in args.scale or ["borough"]:
            print(scale, generated_workspace(scale, folder / scale, args.volume))
        return 0
    main(args.scale or ["borough"], args.out, volume=args.volume, render_timeout=args.render_timeout,
         stage_timeout=args.stage_timeout, keep=args.keep, resume=args.resume)
    return 0


if __name__ == "__main__":
    sys.exit(_cli())
