"""The real Home Office recorded-crime table (by force, 2017/18) loads whole, negative adjustments and all."""

import csv
import shutil
from collections import Counter
from pathlib import Path

from pipeline.ingest.assets import land
from pipeline.sources import SOURCES
from tests.helpers import FIXTURES, make_workspace


def _loads_every_row_and_every_total(tmp_path: Path, source: Path) -> int:
    """Land the table and compare it with an independent reading; returns the rows read."""
    ws = make_workspace(tmp_path)
    (ws.raw / "police_prc").mkdir(parents=True)
    shutil.copy(source, ws.raw / "police_prc" / source.name)
    outcome = land(ws, SOURCES["police_prc"]).files[0]
    with source.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    expected = Counter()
    for row in rows:
        expected[(row["Force_Name"], int(row["Financial_Quarter"]))] += int(row["Number_of_Offences"])
    assert outcome.status == "loaded" and outcome.rows_accepted == len(rows) and outcome.rows_rejected == 0, outcome.detail
    with ws.connect(read_only=True) as con:
        got = {(f, q): n for f, q, n in con.execute(
            "SELECT force_name, financial_quarter, sum(offences) FROM raw.police_prc GROUP BY ALL").fetchall()}
        negative = con.execute("SELECT count(*) FROM raw.police_prc WHERE offences < 0").fetchone()[0]
        q1_start = con.execute("SELECT DISTINCT quarter_start FROM raw.police_prc WHERE financial_quarter = 1").fetchall()
    assert got == dict(expected)
    assert negative == sum(1 for r in rows if int(r["Number_of_Offences"]) < 0) > 0
    assert [str(d) for (d,) in q1_start] == ["2017-04-01"]
    return len(rows)


def test_prc_by_force_loads_every_row_and_every_total(tmp_path: Path):
    """The vendored cut: three forces' rows of the published table, bytes as published."""
    assert _loads_every_row_and_every_total(tmp_path, FIXTURES / "home_office" / "prc_by_force_2017-18.three-forces.csv") > 500


def test_whole_prc_table_loads(tmp_path: Path, shared_data: Path):
    """Optional: the whole table, every force (23,068 rows as published)."""
    assert _loads_every_row_and_every_total(tmp_path, shared_data / "reference" / "prc_by_force_2017-18.csv") == 23_068
