"""docs/extending.md's "A new source", followed to the letter in a copy of the project: one source module and
one demo writer are added, `csp generate` writes the suite and the docs section and touches nothing else, and
building the new asset lands the demo file and runs the generated check, whose declared key and rule catch
the faults planted in the file. The definitions carry the new asset, its check, and its placement and
submission tracking.
"""

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest

from pipeline.paths import PROJECT_ROOT

COPIED = ("pipeline", "sql", "reports", "expectations", "docs", "data/reference", "dagster.yaml")
KEY = "3c" * 32

TOY_SOURCE = '''\
"""Litter fines issued by the council's enforcement officers (a toy source for tests/integration/test_extending.py)."""

from pipeline.sources.base import ROW_AT, Column, Key, Rule, Source

SOURCE = Source(
    name="toy_litter",
    agency="council",
    title="Litter fines",
    period_column="issued_date",
    columns=(
        Column("fine_id", "pseudonym", nullable=False, headings=("Fine Number",)),
        Column("issued_date", "date", nullable=False, headings=("Date Issued",)),
        Column("paid_date", "date", headings=("Date Paid",)),
        Column("amount", "integer", nullable=False, minimum=0, maximum=1000, headings=("Amount",)),
        Column("lsoa_code", "lsoa", headings=("LSOA",)),
    ),
    example="fine_id,issued_date,paid_date,amount,lsoa_code\\nFPN-1,2024-05-01,2024-05-20,150,E01010955",
    keys=(Key(("fine_id",), "each fine number appears once"),),
    rules=(
        Rule("paid_before_issued", "t.paid_date < t.issued_date",
             f"{ROW_AT} || ': issued ' || t.issued_date || ', paid ' || t.paid_date", "no fine is paid before it was issued"),
    ),
)
'''

TOY_WRITER = '''\
"""The toy source's demo file: four fines in Calderdale, one number given twice and one paid before it was issued."""

from pathlib import Path

from pipeline.demo.world import DemoWorld


def write_toy_litter(world: DemoWorld, raw_dir: Path) -> list[Path]:
    lsoa = world.lsoas.filter(world.lsoas["in_partnership"])["lsoa11cd"][0]
    raw_dir.mkdir(parents=True, exist_ok=True)
    path = raw_dir / "fines-2024-25-Q1.csv"
    path.write_text(
        "Fine Number,Date Issued,Date Paid,Amount,LSOA\\n"
        f"FPN-1,2024-04-03,2024-04-20,150,{lsoa}\\n"
        f"FPN-2,2024-04-09,,150,{lsoa}\\n"
        f"FPN-2,2024-05-11,2024-05-12,100,{lsoa}\\n"
        f"FPN-4,2024-06-02,2024-05-30,150,{lsoa}\\n",
        encoding="utf-8",
    )
    return [path]
'''

IN_THE_COPY = '''\
import json, sys
import dagster as dg
from pipeline.cli import run_pipeline
from pipeline.definitions import defs
from pipeline.demo import WRITERS, build_world
from pipeline.workspace import STARTER_CONFIG, Workspace

ws = Workspace.at(sys.argv[1])
ws.scaffold(STARTER_CONFIG.format(name="toy"))
files = WRITERS["toy_litter"](build_world(), ws.raw / "toy_litter")
graph = defs.resolve_asset_graph()
node = lambda *key: graph.get(dg.AssetKey(list(key)))
key = dg.AssetKey(["raw", "toy_litter"])  # the asset, its checks, and the geography its placement check reads
built = run_pipeline(ws, dg.AssetSelection.assets(key, dg.AssetKey(["reference", "geography"]))
                     | dg.AssetSelection.checks_for_assets(key), show=False).success
print(json.dumps({
    "files": [str(p) for p in files],
    "built": built,
    "checks": sorted(c.name for c in node("raw", "toy_litter").check_keys),
    "placements_read": ["raw", "toy_litter"] in [k.path for k in node("conformed", "placements").parent_keys],
    "submissions_read": ["raw", "toy_litter"] in [k.path for k in node("conformed", "source_periods").parent_keys],
}))
'''


def run(args: list[str], cwd: Path, **env) -> subprocess.CompletedProcess:
    environ = {**os.environ, "PYTHONPATH": str(cwd), "CSP_PSEUDONYM_KEY": KEY, **env}
    return subprocess.run([sys.executable, *args], cwd=cwd, env=environ, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A copy of the project with the toy source's module and demo writer added: steps 1 and 2."""
    root = tmp_path_factory.mktemp("project")
    for name in COPIED:
        source = PROJECT_ROOT / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, root / name)
    (root / "pipeline" / "sources" / "toy_litter.py").write_text(TOY_SOURCE, encoding="utf-8")
    (root / "pipeline" / "demo" / "toy_litter.py").write_text(TOY_WRITER, encoding="utf-8")
    return root


def test_a_new_source_is_one_module_and_one_writer(project: Path, tmp_path: Path):
    before = {p: p.read_bytes() for p in project.rglob("*") if p.is_file() and "__pycache__" not in p.parts}

    generate = run(["-m", "pipeline.cli", "generate"], project)  # step 3
    assert generate.returncode == 0, generate.stdout + generate.stderr
    changed = sorted(str(p.relative_to(project)) for p in project.rglob("*")
                     if p.is_file() and "__pycache__" not in p.parts and before.get(p) != p.read_bytes())
    assert changed == ["docs/sources.md", "expectations/raw.toy_litter.json"]
    assert "## `toy_litter` — Litter fines" in (project / "docs" / "sources.md").read_text(encoding="utf-8")
    suite = json.loads((project / "expectations" / "raw.toy_litter.json").read_text(encoding="utf-8"))
    assert suite["meta"]["csp"]["asset"] == "raw/toy_litter"
    assert run(["-m", "pipeline.cli", "generate", "--check"], project).returncode == 0

    ws = tmp_path / "workspace"
    listed = run(["-c", IN_THE_COPY, str(ws)], project)
    assert listed.returncode == 0, listed.stderr
    found = json.loads(listed.stdout.splitlines()[-1])
    assert found["checks"] == ["freshness", "raw__toy_litter"]  # its generated suite, and the freshness check every source gets
    assert found["placements_read"] and found["submissions_read"]
    assert [Path(p).parent for p in found["files"]] == [ws / "raw" / "toy_litter"]
    assert not found["built"]  # the check fails, as it must: the file has a repeated fine number
    with duckdb.connect(str(ws / "warehouse" / "csp.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM raw.toy_litter").fetchone()[0] == 4
        failed = dict(con.execute(
            "SELECT column_name, examples FROM quality.results WHERE suite = 'raw.toy_litter' AND NOT success").fetchall())
    assert set(failed) == {"fine_id", "paid_before_issued"}  # the declared key and rule, and nothing else
    assert "fines-2024-25-Q1.csv line 5: issued 2024-06-02, paid 2024-05-30" in failed["paid_before_issued"]


def test_the_docs_describe_these_steps():
    text = (PROJECT_ROOT / "docs" / "extending.md").read_text(encoding="utf-8")
    section = text[text.index("## A new source"):text.index("## A new model")]
    for step in ("pipeline/sources/<name>.py", "write_<name>(world, folder)", "csp generate", "tests.integration.test_definitions"):
        assert step in section, step
    assert not (PROJECT_ROOT / "pipeline" / "sources" / "toy_litter.py").exists()  # the toy lives in the copy only
