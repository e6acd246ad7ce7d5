"""Each render reads its partnership's rows of the marts from a folder of its own (pipeline/publish/slices.py)."""

from datetime import date

import polars as pl
from polars.testing import assert_frame_equal

from pipeline.publish.slices import partnership_slices


def test_each_partnership_gets_its_rows_in_order_and_a_mart_without_partnerships_whole(tmp_path):
    marts = tmp_path / "marts"
    marts.mkdir()
    values = pl.DataFrame({"partnership_id": ["b", "a", "b", "c", "a"], "month": [date(2024, m, 1) for m in (5, 4, 4, 4, 6)],
                           "value": [3.0, 1.0, None, 7.0, 2.0]})
    values.write_parquet(marts / "indicator_values.parquet")
    submissions = pl.DataFrame({"source": ["police_crimes", "asb_council"], "rows": [10, 0]})
    submissions.write_parquet(marts / "mart_submissions.parquet")

    folders = partnership_slices(marts, tmp_path / "sliced", ["marts/indicator_values", "mart_submissions"], ["a", "b", "z"])

    assert set(folders) == {"a", "b", "z"}
    for partnership, folder in folders.items():
        got = pl.read_parquet(folder / "indicator_values.parquet")
        assert got.schema == values.schema
        assert got["partnership_id"].to_list() == [partnership] * {"a": 2, "b": 2, "z": 0}[partnership]
        assert_frame_equal(got, values.filter(pl.col("partnership_id") == partnership))
        assert_frame_equal(pl.read_parquet(folder / "mart_submissions.parquet"), submissions)
    # "c" was not asked for: no folder, and its row in nobody's
    assert not (tmp_path / "sliced" / "c").exists()
    assert pl.read_parquet(folders["b"] / "indicator_values.parquet")["month"].to_list() == [date(2024, 5, 1), date(2024, 4, 1)]
