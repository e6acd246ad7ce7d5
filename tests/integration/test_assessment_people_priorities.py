"""People measures and the priority matrix on the demo: every mart row in the warehouse carries a disclosure
class, one theme rises and one falls significantly, and the matrix is built with its evidence."""

import polars as pl

from pipeline.analysis.priorities import THEMES
from pipeline.config import PRIORITY_FACTORS


def marts(ws) -> dict[str, pl.DataFrame]:
    with ws.connect(read_only=True) as con:
        names = [n for (n,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts' ORDER BY 1").fetchall()]
        return {n: pl.from_arrow(con.sql(f"SELECT * FROM marts.{n}").to_arrow_table()) for n in names}


def test_every_row_of_every_mart_carries_a_disclosure_class(demo_workspace):
    ws, _ = demo_workspace
    tables = marts(ws)
    assert {"people_measures", "priority_matrix", "priority_evidence", "mart_crime_monthly_ward", "mart_submissions"} <= set(tables)
    for name, frame in tables.items():
        assert "disclosure_class" in frame.columns, name
        assert frame["disclosure_class"].null_count() == 0, name
        assert set(frame["disclosure_class"].unique()) <= {"public", "restricted"}, name


def test_the_demo_has_a_theme_rising_and_a_theme_falling_significantly(demo_workspace):
    ws, _ = demo_workspace
    trends = pl.read_parquet(ws.marts / "indicator_comparisons.parquet").filter(
        pl.col("comparison") == "trend since baseline", pl.col("area_type") == "partnership")
    verdict = dict(trends.select("indicator_id", "verdict").iter_rows())
    assert verdict["shoplifting"] == "increase"  # acquisitive crime: shop theft rising, as nationally
    assert verdict["police_asb_incidents"] == "decrease"  # anti-social behaviour falling
    assert {"increase", "decrease"} <= set(trends["verdict"])


def test_the_demo_priority_matrix_ranks_every_theme_with_its_evidence(demo_workspace):
    ws, _ = demo_workspace
    matrix = pl.read_parquet(ws.marts / "priority_matrix.parquet")
    evidence = pl.read_parquet(ws.marts / "priority_evidence.parquet")
    assert sorted(matrix["theme"]) == sorted(THEMES)
    assert sorted(matrix["rank"]) == list(range(1, len(THEMES) + 1))
    assert matrix["recommended"].sum() == 5  # the default `priorities.recommend`
    for row in matrix.iter_rows(named=True):
        for factor in PRIORITY_FACTORS:
            rows = evidence.filter(pl.col("theme") == row["theme"], pl.col("factor") == factor)
            assert rows.height > 0, (row["theme"], factor)  # every score has evidence, and so has every gap
            if row[f"score_{factor}"] is None:
                assert factor in row["no_data"] and rows["note"].str.starts_with("no data").all()
    trend = evidence.filter(pl.col("factor") == "trend")
    assert {"worsening", "improving"} <= set(trend["note"])
    assert trend.filter(pl.col("note") != "not significant")["verdict"].is_in(["increase", "decrease"]).all()


def test_the_demo_people_measures_cover_repeats_reoffending_and_young_people(demo_workspace):
    ws, _ = demo_workspace
    people = pl.read_parquet(ws.marts / "people_measures.parquet")
    years = set(pl.read_parquet(ws.marts / "indicator_values.parquet").filter(pl.col("period_type") == "financial_year")["period"])
    marac = people.filter(pl.col("measure") == "marac_repeat_rate")
    assert set(marac["period"]) == years
    assert ((marac["lower"] <= marac["value"]) & (marac["value"] <= marac["upper"])).all()
    for measure in ("iom_offences_after_per_member", "proven_reoffending_rate", "young_crime_victims", "young_road_casualties",
                    "asb_repeat_caller_rate", "crime_victims"):
        assert people.filter(pl.col("measure") == measure).height > 0, measure
    assert set(people.filter(pl.col("measure") == "iom_members", pl.col("breakdown") == "cohort")["category"]) >= {"fixed", "flex", "free"}
    tested = people.filter(pl.col("measure") == "proven_reoffending_rate", pl.col("p_value").is_not_null())
    assert tested.height > 0 and (tested["compared_with"] == "the previous financial year's cohort").all()
