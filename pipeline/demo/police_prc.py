"""Home Office police recorded crime open data tables by force, for West Yorkshire and its peers, in the
published layout (`prc_by_force_2017-18.csv`: an unnamed index column, underscored headings, a final
`Policeuk_Cat`), one file per financial year, `prc-pfa-2020-21.csv` … `prc-pfa-2024-25.csv`.

West Yorkshire's counts are Calderdale's own (the world's crimes in its LSOAs by recorded quarter and offence
code) plus the rest of the force; the rest of the force, and the peers, are the forces' real 2017/18 counts
for the same code and quarter scaled by a synthetic trend for the offence subgroup, with Poisson noise.
The 2017/18 counts (`prc_baseline_2017-18.csv` beside this module) are the six forces' rows of the Home
Office's open data table (Open Government Licence v3.0), fraud excluded.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from pipeline.demo.delivery import LF, financial_quarter, source_rng, write_csv
from pipeline.demo.echoes import partnership_crimes
from pipeline.demo.timeline import DEMO_END, DEMO_START
from pipeline.demo.world import DemoWorld
from pipeline.paths import REFERENCE_DIR

SOURCE = "police_prc"
BASELINE = Path(__file__).with_name("prc_baseline_2017-18.csv")
FORCE = "West Yorkshire"
# The Home Office's most similar forces to West Yorkshire, more or less.
PEERS = ("Greater Manchester", "South Yorkshire", "Merseyside", "Northumbria", "Lancashire")
CALDERDALE_SHARE_OF_FORCE = 0.08  # of West Yorkshire's 2017/18 crime, taken out before Calderdale's own is added
COVID_Q1_2020 = 0.8  # April–June 2020 relative to normal (drugs: 1.3, as in the world)
# Level in each financial year 2020/21 … 2024/25 relative to 2017/18, by offence subgroup (synthetic, shaped
# like England and Wales: violence without injury, stalking and sexual offences up, burglary and vehicle
# crime down, shoplifting up sharply from 2022/23).
SUBGROUP_TREND = {
    "Violence with injury": (0.95, 1.08, 1.12, 1.08, 1.05),
    "Violence without injury": (1.25, 1.45, 1.50, 1.45, 1.40),
    "Stalking and harassment": (1.90, 2.30, 2.40, 2.10, 1.80),
    "Homicide": (1.0, 1.0, 1.0, 1.0, 1.0),
    "Rape offences": (1.15, 1.40, 1.45, 1.40, 1.40),
    "Other sexual offences": (1.10, 1.35, 1.40, 1.38, 1.40),
    "Robbery of business property": (0.60, 0.75, 0.90, 1.00, 1.00),
    "Robbery of personal property": (0.75, 0.85, 0.95, 1.00, 1.00),
    "Domestic burglary": (0.60, 0.55, 0.55, 0.52, 0.48),
    "Non-domestic burglary": (0.60, 0.55, 0.55, 0.55, 0.50),
    "Theft from a vehicle": (0.65, 0.65, 0.75, 0.75, 0.70),
    "Theft of a motor vehicle": (0.80, 0.80, 0.90, 0.90, 0.85),
    "Vehicle interference": (0.90, 0.90, 0.95, 0.95, 0.90),
    "Theft from the person": (0.55, 0.70, 0.85, 0.95, 1.00),
    "Bicycle theft": (0.90, 0.80, 0.70, 0.70, 0.65),
    "Shoplifting": (0.70, 0.75, 0.90, 1.15, 1.35),
    "Other theft offences": (0.70, 0.80, 0.85, 0.85, 0.80),
    "Criminal damage": (0.85, 0.90, 0.90, 0.85, 0.80),
    "Arson": (0.90, 0.95, 0.95, 0.90, 0.85),
    "Trafficking of drugs": (1.20, 1.10, 1.00, 1.00, 1.05),
    "Possession of drugs": (1.30, 1.15, 1.00, 1.00, 1.05),
    "Possession of weapons offences": (1.25, 1.35, 1.45, 1.50, 1.50),
    "Public order offences": (1.30, 1.50, 1.40, 1.30, 1.20),
    "Miscellaneous crimes": (1.10, 1.20, 1.20, 1.20, 1.20),
}
HEADER = ("", "Financial_Year", "Financial_Quarter", "Force_Name", "Offence_Description", "Offence_Group",
          "Offence_Subgroup", "Offence_Code", "Number_of_Offences", "Policeuk_Cat")


def _baseline() -> pl.DataFrame:
    """2017/18 offences by force, quarter and code for West Yorkshire and the peers (fraud excluded)."""
    table = pl.read_csv(BASELINE, infer_schema=False)
    return table.filter(pl.col("Force_Name").is_in((FORCE, *PEERS))).select(
        pl.col("Force_Name").alias("force"),
        pl.col("Financial_Quarter").cast(pl.Int32).alias("quarter"),
        pl.col("Offence_Code").alias("code"),
        pl.col("Number_of_Offences").cast(pl.Int64).fill_null(0).clip(0).alias("base"),  # the real table has a few negative adjustments
    )


def _codes() -> pl.DataFrame:
    lookup = pl.read_csv(REFERENCE_DIR / "ho_offence_codes_to_policeuk.csv", infer_schema=False)
    return lookup.select(
        pl.col("Offence_Code").alias("code"), "Offence_Description", "Offence_Group", "Offence_Subgroup",
        pl.col("Police.uk_Cat").alias("Policeuk_Cat"),
    )


def prc_rows(world: DemoWorld) -> pl.DataFrame:
    """Every force, financial year, quarter and offence code of the demo period, with its count."""
    rng = source_rng(world.seed, SOURCE)
    years = list(range(DEMO_START.year, DEMO_END.year))
    grid = _baseline().join(_codes(), on="code", how="inner", maintain_order="left").join(
        pl.DataFrame({"fy": years, "year_index": list(range(len(years)))}), how="cross", maintain_order="left_right"
    )
    trend = pl.col("Offence_Subgroup").replace_strict({k: list(v) for k, v in SUBGROUP_TREND.items()}, default=[1.0] * 5,
                                                       return_dtype=pl.List(pl.Float64)).list.get(pl.col("year_index"))
    covid = pl.when((pl.col("fy") == DEMO_START.year) & (pl.col("quarter") == 1)).then(
        pl.when(pl.col("Offence_Group") == "Drug offences").then(1.3).otherwise(COVID_Q1_2020)
    ).otherwise(1.0)
    share = pl.when(pl.col("force") == FORCE).then(1 - CALDERDALE_SHARE_OF_FORCE).otherwise(1.0)
    grid = grid.with_columns((pl.col("base") * trend * covid * share).alias("expected")).sort("force", "fy", "quarter", "code", "base")
    counts = rng.poisson(grid["expected"].to_numpy())

    crimes = partnership_crimes(world).filter(pl.col("lsoa11cd").is_not_null())
    label = financial_quarter(pl.col("recorded_date"))
    calderdale = crimes.group_by(
        label.str.slice(0, 4).cast(pl.Int32).alias("fy"), label.str.slice(-1).cast(pl.Int32).alias("quarter"),
        pl.col("offence_code").alias("code"),
    ).len("own").with_columns(pl.lit(FORCE).alias("force"))
    grid = grid.with_columns(pl.Series("rest", counts)).join(calderdale, on=["force", "fy", "quarter", "code"], how="left", maintain_order="left")
    # the table repeats a few codes (homicide: four rows); Calderdale's own crimes are counted in the first
    first = pl.int_range(pl.len()).over("force", "fy", "quarter", "code") == 0
    grid = grid.with_columns(pl.when(first).then(pl.col("own")).alias("own"))
    return grid.select(
        pl.format("{}/{}", pl.col("fy"), ((pl.col("fy") + 1) % 100).cast(pl.String).str.zfill(2)).alias("Financial_Year"),
        pl.col("quarter").alias("Financial_Quarter"),
        pl.col("force").alias("Force_Name"),
        "Offence_Description", "Offence_Group", "Offence_Subgroup",
        pl.col("code").alias("Offence_Code"),
        (pl.col("rest") + pl.col("own").fill_null(0)).alias("Number_of_Offences"),
        "Policeuk_Cat",
    )


def write_police_prc(world: DemoWorld, raw_dir: Path) -> list[Path]:
    """One file per financial year, as the Home Office publishes the tables; return the paths in year order."""
    rows = prc_rows(world)
    written = []
    for year in rows["Financial_Year"].unique().sort().to_list():
        part = rows.filter(pl.col("Financial_Year") == year).sort("Financial_Quarter", "Force_Name", "Offence_Description", maintain_order=True)
        part = part.with_row_index("").with_columns(pl.col("").cast(pl.Int64))
        written.append(write_csv(part.select(HEADER), raw_dir / f"prc-pfa-{year.replace('/', '-')}.csv", line_end=LF))
    return written
