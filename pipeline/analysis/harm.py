"""Harm weights: how much each Home Office offence code weighs, for `marts.harm` (sql/marts/harm.sql).

The weights come from the file `partnership.yaml` names under `harm:` (a CSV with an offence-code column and a
weight column, the layout of the ONS Crime Severity Score data tool's weights saved as CSV). The shipped default,
data/reference/harm_weights_illustrative.csv, is NOT the ONS weights: it is an illustrative ordinal scale by
offence subgroup, and every row built on it says so (`weights_source`, `weights_illustrative`).
"""

from __future__ import annotations

import dagster as dg
import polars as pl

from pipeline.config import HarmWeights, resolve_file
from pipeline.reference import _replace_table
from pipeline.resources import WorkspaceResource

ILLUSTRATIVE_SOURCE = "illustrative default weights shipped with csp (not the ONS Crime Severity Score weights)"


def weights_frame(harm: HarmWeights, root) -> pl.DataFrame:
    """offence_code, weight, weights_source, weights_illustrative; a missing column, a weight that is not a
    non-negative number, or a code listed twice is refused, naming the file, the `harm` key and the row."""
    path = resolve_file(harm.file, root)
    raw = pl.read_csv(path, infer_schema=False)
    for key, column in (("code", harm.code), ("weight", harm.weight)):
        if column not in raw.columns:
            raise ValueError(f"{path.name}: no column {column!r} (partnership.yaml harm.{key}); columns are {', '.join(raw.columns)}")
    frame = raw.select(pl.col(harm.code).str.strip_chars().alias("offence_code"),
                       pl.col(harm.weight).str.strip_chars().str.replace_all(",", "").alias("_text"))
    frame = frame.filter(pl.col("offence_code").is_not_null() & (pl.col("offence_code") != ""))
    frame = frame.with_columns(pl.col("_text").cast(pl.Float64, strict=False).alias("weight"))
    bad = frame.with_row_index("row", offset=2).filter(pl.col("weight").is_null() | (pl.col("weight") < 0))
    if bad.height:
        raise ValueError(f"{path.name}: row {bad['row'][0]}, column {harm.weight!r}: {bad['_text'][0]!r} is not a non-negative number")
    twice = frame.filter(pl.col("offence_code").is_duplicated())
    if twice.height:
        raise ValueError(f"{path.name}: offence code {twice['offence_code'][0]!r} is listed twice (partnership.yaml harm.code = {harm.code!r})")
    source = ILLUSTRATIVE_SOURCE if harm.illustrative else (harm.source or path.name)
    return frame.select("offence_code", "weight").with_columns(
        pl.lit(source).alias("weights_source"), pl.lit(harm.illustrative).alias("weights_illustrative"))


@dg.asset(key=["reference", "harm_weights"], group_name="reference",
          description="Harm weight per Home Office offence code, from partnership.yaml harm.file (default: illustrative, not the ONS weights)")
def harm_weights(workspace: WorkspaceResource) -> dg.MaterializeResult:
    ws = workspace.get()
    frame = weights_frame(ws.config().harm, ws.root)
    rows = _replace_table(ws, "harm_weights", frame)
    return dg.MaterializeResult(metadata={"dagster/row_count": rows, "weights_source": frame["weights_source"][0]})


ASSETS = [harm_weights]
