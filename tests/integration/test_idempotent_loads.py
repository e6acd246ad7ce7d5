"""The same extract loaded twice is never counted twice: landing again, renamed copies, re-saved copies.

Real police.uk files (tests/fixtures) and small partner extracts written here are landed, then landed again
with every file still in place, then with copies under new names. Every table's row count (and content)
must stay as it was. A copy re-saved with other line endings or a BOM is different bytes but the same rows:
it replaces the month it covers (a re-issue), so the data tables still hold each row once.
"""

from __future__ import annotations

import csv
import hashlib
import shutil
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from pipeline.ingest.assets import land
from pipeline.sources import SOURCES
from pipeline.workspace import STARTER_CONFIG
from tests.helpers import POLICE_UK_FILES, make_workspace, table_counts

TODAY = date(2024, 1, 15)
KEY = "5a" * 32
PARTNER_SOURCES = ("police_crimes", "prevent", "health_istv", "survey")
DATA_TABLES = ("raw.police_street", *(f"raw.{s}" for s in PARTNER_SOURCES))

CONFIG_SOURCES = """\
sources:
  police_street:
    max_reject_share: 0.05
  survey:
    sheet: Responses
"""


def _config() -> str:
    return STARTER_CONFIG.format(name="idempotent").split("\nsources:\n")[0] + "\n" + CONFIG_SOURCES


def _crimes(month: str) -> bytes:
    header = (
        "crime_ref,recorded_date,committed_date,committed_time,offence_code,lsoa_code,domestic_abuse,hate_strand,"
        "knife,firearm,alcohol,night_time_economy,victim_id,offender_id,victim_age_band,victim_sex,outcome"
    )
    rows = [
        f"WY-{month}-{i:04d},{month}-{1 + i % 28:02d},{month}-{1 + i % 28:02d},22:15,105A,E01010955,N,,N,N,N,Y,"
        f"V-{i},O-{i},25-34,F,Under investigation"
        for i in range(30)
    ]
    return ("\r\n".join([header, *rows]) + "\r\n").encode()


def _prevent() -> bytes:
    rows = [f"2023-{m:02d},islamist,{m % 3},0,0" for m in range(4, 13)]
    return ("\n".join(["quarter_start,concern_type,referrals,channel_discussed,channel_adopted", *rows]) + "\n").encode()


def _istv() -> bytes:
    header = ("site_code,period_start,period_end,arrival_datetime,assault_datetime,assault_method,method_other,"
              "location_type,location_description,outward_postcode")
    rows = [f"RWY01,2023-10-01,2023-10-31,2023-10-{1 + i:02d} 01:22,2023-10-{1 + i:02d} 00:50,body part,,street,Bull Green,HX1"
            for i in range(12)]
    return ("\n".join([header, *rows]) + "\n").encode()


def _survey(path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    ws = book.active
    ws.title = "Responses"
    ws.append(["respondent_id", "response_date", "ward_code", "age_band", "sex", "safe_day", "safe_after_dark",
               "priority_asb", "priority_violence", "priority_drugs", "priority_burglary", "priority_vehicle_crime",
               "priority_domestic_abuse", "priority_road_safety", "concern"])
    for i in range(15):
        ws.append([f"R-{i:03d}", date(2023, 9, 1 + i), "E05001385", "45-54", "M", 4, 3, 5, 4, 4, 3, 2, 5, 3, "Speeding"])
    book.save(path)


def _land_all(ws) -> dict[str, list]:
    return {name: land(ws, SOURCES[name], today=TODAY).files for name in ("police_street", *PARTNER_SOURCES)}


def _contents(ws) -> dict[str, Counter]:
    """Every table's rows (without landing times, which say when, not what)."""
    out = {}
    with ws.connect(read_only=True) as con:
        for schema, table in con.execute("SELECT schema_name, table_name FROM duckdb_tables() ORDER BY ALL").fetchall():
            cursor = con.execute(f'SELECT * FROM "{schema}"."{table}"')
            names = [d[0] for d in cursor.description]
            keep = [i for i, n in enumerate(names) if n not in ("loaded_at", "seen_at", "superseded_at")]
            out[f"{schema}.{table}"] = Counter(repr(tuple(row[i] for i in keep)) for row in cursor.fetchall())
    return out


@pytest.fixture
def loaded(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("CSP_PSEUDONYM_KEY", KEY)
    ws = make_workspace(tmp_path / "ws", _config())
    street = ws.raw / "police_street"
    street.mkdir(parents=True)
    originals = list(POLICE_UK_FILES)
    for path in originals:
        shutil.copy(path, street / path.name)
    for name in PARTNER_SOURCES:
        (ws.raw / name).mkdir()
    (ws.raw / "police_crimes" / "crimes-2023-10.csv").write_bytes(_crimes("2023-10"))
    (ws.raw / "police_crimes" / "crimes-2023-11.csv").write_bytes(_crimes("2023-11"))
    (ws.raw / "prevent" / "prevent-2023.csv").write_bytes(_prevent())
    (ws.raw / "health_istv" / "istv-2023-10.csv").write_bytes(_istv())
    _survey(ws.raw / "survey" / "survey-2023.xlsx")
    first = _land_all(ws)
    for name, outcomes in first.items():
        assert outcomes and all(o.status == "loaded" for o in outcomes), (name, [(o.file_name, o.detail) for o in outcomes])
    return ws, originals


def test_landing_again_changes_nothing(loaded):
    ws, originals = loaded
    counts, contents = table_counts(ws), _contents(ws)
    assert all(counts[t] > 0 for t in DATA_TABLES)
    assert counts["raw.police_street"] == sum(len(list(csv.reader(p.open(newline="", encoding="utf-8")))) - 1 for p in originals)
    again = _land_all(ws)
    assert {o.status for outcomes in again.values() for o in outcomes} == {"already loaded"}
    assert table_counts(ws) == counts
    assert _contents(ws) == contents


def test_renamed_copies_change_nothing(loaded):
    ws, originals = loaded
    counts, contents = table_counts(ws), _contents(ws)
    for path in originals:
        shutil.copy(path, ws.raw / "police_street" / f"copy of {path.name}")
    for name in PARTNER_SOURCES:
        for path in list((ws.raw / name).iterdir()):
            shutil.copy(path, path.with_name(f"resent-{path.name}"))
    again = _land_all(ws)
    copies = [o for outcomes in again.values() for o in outcomes if "copy of" in o.file_name or "resent-" in o.file_name]
    assert len(copies) == len(originals) + 5
    assert {o.status for outcomes in again.values() for o in outcomes} == {"already loaded"}
    assert table_counts(ws) == counts
    assert _contents(ws) == contents
    _land_all(ws)  # and a third time
    assert table_counts(ws) == counts


def test_resaved_copy_replaces_its_month_instead_of_adding_it(loaded):
    ws, originals = loaded
    counts = table_counts(ws)
    before = ws.connect(read_only=True)
    with before as con:
        street = Counter(con.execute("SELECT * EXCLUDE (_file_id) FROM raw.police_street").fetchall())
    july = next(p for p in originals if p.name.startswith("2017-07"))
    resaved = july.read_bytes().replace(b"\r\n", b"\n")  # the same rows, saved with LF line ends and a BOM
    (ws.raw / "police_street" / "2017-07-resaved.csv").write_bytes(b"\xef\xbb\xbf" + resaved)
    outcome = next(o for o in land(ws, SOURCES["police_street"], today=TODAY).files if o.file_name.endswith("resaved.csv"))
    assert outcome.status == "loaded" and outcome.superseded == [hashlib.sha256(july.read_bytes()).hexdigest()]
    after = table_counts(ws)
    assert {t: after[t] for t in DATA_TABLES} == {t: counts[t] for t in DATA_TABLES}  # each row still once
    assert after["raw._manifest"] == counts["raw._manifest"] + 1
    assert after["raw._supersessions"] == counts["raw._supersessions"] + 1
    with ws.connect(read_only=True) as con:
        assert Counter(con.execute("SELECT * EXCLUDE (_file_id) FROM raw.police_street").fetchall()) == street
    again = land(ws, SOURCES["police_street"], today=TODAY).files
    assert {o.status for o in again} == {"already loaded"}
    assert table_counts(ws) == after


def test_a_refused_file_seen_again_is_recorded_once(loaded):
    ws, _ = loaded
    (ws.raw / "police_street" / "empty.csv").write_bytes(b"")
    (ws.raw / "prevent" / "header-only.csv").write_bytes(b"quarter_start,concern_type,referrals,channel_discussed,channel_adopted\n")
    _land_all(ws)
    counts, contents = table_counts(ws), _contents(ws)
    assert counts["raw._refusals"] == 2
    for _ in range(2):
        outcomes = _land_all(ws)
        assert sorted(o.file_name for v in outcomes.values() for o in v if o.status == "refused") == [
            "raw/police_street/empty.csv", "raw/prevent/header-only.csv"
        ]
        assert table_counts(ws) == counts
        assert _contents(ws) == contents
