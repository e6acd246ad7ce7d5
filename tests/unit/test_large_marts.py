"""What lets a national warehouse build on one machine: a mart written batch by batch is the same table and
Parquet file as the mart written whole, and DuckDB's memory ceiling comes from the environment, with a clear
error when it cannot be read."""

import polars as pl
import pytest

from pipeline.analysis.engine import write_mart
from pipeline.config import ConfigError
from pipeline.workspace import MEMORY_LIMIT_ENV, Workspace


def frames():
    return [pl.DataFrame({"area_code": [f"E0{b}{i}" for i in range(3)], "value": [b + i / 10 for i in range(3)],
                          "note": [None, "x", None]}, schema_overrides={"note": pl.String}) for b in range(4)]


def test_a_mart_written_in_batches_equals_the_mart_written_whole(tmp_path):
    whole, batched = Workspace.at(tmp_path / "whole"), Workspace.at(tmp_path / "batched")
    for ws, given in ((whole, pl.concat(frames())), (batched, iter(frames()))):
        with ws.connect() as con:
            assert write_mart(con, ws, "values", given) == 12
    with whole.connect(read_only=True) as a, batched.connect(read_only=True) as b:
        assert pl.from_arrow(a.sql("SELECT * FROM marts.values").to_arrow_table()).equals(
            pl.from_arrow(b.sql("SELECT * FROM marts.values").to_arrow_table()))
    assert pl.read_parquet(whole.marts / "values.parquet").equals(pl.read_parquet(batched.marts / "values.parquet"))
    assert [p.name for p in batched.marts.iterdir()] == ["values.parquet"]  # the staging file is gone


def test_a_mart_with_no_batch_is_refused_and_the_old_one_kept(tmp_path):
    ws = Workspace.at(tmp_path)
    with ws.connect() as con:
        write_mart(con, ws, "values", pl.concat(frames()))
        with pytest.raises(ValueError, match="marts.values: no rows"):
            write_mart(con, ws, "values", iter([]))
        assert con.execute("SELECT count(*) FROM marts.values").fetchall() == [(12,)]


def test_duckdbs_memory_ceiling_comes_from_the_environment(tmp_path, monkeypatch):
    ws = Workspace.at(tmp_path)
    monkeypatch.setenv(MEMORY_LIMIT_ENV, "1GB")
    with ws.connect() as con:
        assert con.execute("SELECT current_setting('memory_limit')").fetchall() == [("953.6 MiB",)]
    monkeypatch.setenv(MEMORY_LIMIT_ENV, "plenty")
    with pytest.raises(ConfigError, match=f"{MEMORY_LIMIT_ENV}='plenty' is not a memory size"):
        with ws.connect():
            pass
