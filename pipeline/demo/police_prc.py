"""Home Office police recorded crime open data tables, in the published layout (`prc_by_force_2017-18.csv`:
an unnamed index column, underscored headings, a final `Policeuk_Cat`), one file per financial year: by force
for West Yorkshire and its peers, `prc-pfa-2020-21.csv` … `prc-pfa-2024-25.csv`, and by CSP for Calderdale
and its 15 most similar partnerships (`PEER_CSPS`), `prc-csp-2020-21.csv` … `prc-csp-2024-25.csv`.

West Yorkshire's counts are Calderdale's own (the world's crimes in its LSOAs by recorded quarter and offence
code) plus the rest of the force; the rest of the force, and the peers, are the forces' real 2017/18 counts
for the same code and quarter scaled by a synthetic trend for the offence subgroup, with Poisson noise.
The 2017/18 counts (`prc_baseline_2017-18.csv` beside this module) are the six forces' rows of the Home
Office's open data table (Open Government Licence v3.0), fraud excluded.

By CSP: Calderdale's rows are its own crimes again; each peer's are Calderdale's count for the same quarter and
code, scaled to the peer's residents and by a synthetic level for the peer and for the peer and offence group,
with Poisson noise: similar partnerships, some a little above Calderdale and some below.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
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
CSP_HEADER = (*HEADER[:4], "CSP_Name", *HEADER[4:])
CSP = "Calderdale"
CSP_POPULATION = 206_600  # Calderdale's residents, Census 2021 (rounded), the year of the peers' populations
FORCE_POPULATION = 2_351_600  # West Yorkshire's residents, Census 2021 (rounded)
# Calderdale's demo peer group: 15 metropolitan districts of the north of England like it in size and make-up,
# chosen for the demo (not the Home Office's published group), with their Census 2021 residents (rounded).
PEER_CSPS = (
    ("Greater Manchester", "Bolton", 296_000),
    ("Greater Manchester", "Bury", 193_800),
    ("Greater Manchester", "Oldham", 242_100),
    ("Greater Manchester", "Rochdale", 223_800),
    ("Greater Manchester", "Tameside", 231_100),
    ("Greater Manchester", "Wigan", 329_300),
    ("South Yorkshire", "Barnsley", 244_600),
    ("South Yorkshire", "Doncaster", 308_100),
    ("South Yorkshire", "Rotherham", 265_800),
    ("West Yorkshire", "Wakefield", 353_300),
    ("Northumbria", "Gateshead", 196_100),
    ("Northumbria", "North Tyneside", 209_000),
    ("Merseyside", "St Helens", 183_200),
    ("Merseyside", "Sefton", 279_300),
    ("Lancashire", "Blackburn with Darwen", 154_800),
)
PEERS_YEAR = 2021  # the year of the populations above


def peers_config() -> str:
    """The demo partnership's `peers:` block of partnership.yaml, indented to sit in partnerships[0]."""
    lines = [
        "    peers:  # the partnership's most similar CSPs, as the Home Office tables by CSP spell them (docs/methods.md)",
        f"      csp_name: {CSP}",
        f"      population: {CSP_POPULATION}",
        f"      population_year: {PEERS_YEAR}",
        f"      force: {{name: {FORCE}, population: {FORCE_POPULATION}}}",
        "      csps:",
        *(f"        - {{name: {name}, population: {population}}}" for _, name, population in PEER_CSPS),
    ]
    return "\n".join(lines) + "\n"


PEER_LEVEL_SD = 0.15  # spread (log scale) of a peer's crime level around Calderdale's
PEER_GROUP_SD = 0.12  # and of its level for one offence group around that
# The peers' level for an offence group relative to Calderdale's, where it is not 1: Calderdale records more
# violence than its peers and less theft, so that the demo's comparison has something to say.
PEER_GROUP_SHIFT = {"Violence against the person": 0.75, "Theft offences": 1.3}


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


def _calderdale_counts(world: DemoWorld) -> pl.DataFrame:
    """Calderdale's own crimes by financial year, recorded quarter and offence code (column `own`)."""
    crimes = partnership_crimes(world).filter(pl.col("lsoa11cd").is_not_null())
    label = financial_quarter(pl.col("recorded_date"))
    return crimes.group_by(
        label.str.slice(0, 4).cast(pl.Int32).alias("fy"), label.str.slice(-1).cast(pl.Int32).alias("quarter"),
        pl.col("offence_code").alias("code"),
    ).len("own").sort("fy", "quarter", "code")


def _financial_year(fy: pl.Expr) -> pl.Expr:
    return pl.format("{}/{}", fy, ((fy + 1) % 100).cast(pl.String).str.zfill(2))


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

    calderdale = _calderdale_counts(world).with_columns(pl.lit(FORCE).alias("force"))
    grid = grid.with_columns(pl.Series("rest", counts)).join(calderdale, on=["force", "fy", "quarter", "code"], how="left", maintain_order="left")
    # the table repeats a few codes (homicide: four rows); Calderdale's own crimes are counted in the first
    first = pl.int_range(pl.len()).over("force", "fy", "quarter", "code") == 0
    grid = grid.with_columns(pl.when(first).then(pl.col("own")).alias("own"))
    return grid.select(
        _financial_year(pl.col("fy")).alias("Financial_Year"),
        pl.col("quarter").alias("Financial_Quarter"),
        pl.col("force").alias("Force_Name"),
        "Offence_Description", "Offence_Group", "Offence_Subgroup",
        pl.col("code").alias("Offence_Code"),
        (pl.col("rest") + pl.col("own").fill_null(0)).alias("Number_of_Offences"),
        "Policeuk_Cat",
    )


def csp_rows(world: DemoWorld) -> pl.DataFrame:
    """Calderdale and its peers by financial year, quarter and offence code (the codes Calderdale records)."""
    rng = source_rng(world.seed, f"{SOURCE}/csp")
    own = _calderdale_counts(world).filter(pl.col("fy").is_between(DEMO_START.year, DEMO_END.year - 1))
    codes = _codes()
    years = own.select("fy", "quarter").unique().sort("fy", "quarter")
    grid = years.join(own.select("code").unique().sort("code"), how="cross").join(own, on=["fy", "quarter", "code"], how="left")
    grid = grid.with_columns(pl.col("own").fill_null(0)).join(codes, on="code", how="inner", maintain_order="left")
    groups = sorted(set(grid["Offence_Group"].to_list()))
    peers = pl.DataFrame(
        {"Force_Name": [f for f, _, _ in PEER_CSPS], "CSP_Name": [c for _, c, _ in PEER_CSPS],
         "scale": [p / CSP_POPULATION * float(rng.lognormal(0, PEER_LEVEL_SD)) for _, _, p in PEER_CSPS]}
    )
    levels = pl.DataFrame(
        {"CSP_Name": [c for _, c, _ in PEER_CSPS for _ in groups], "Offence_Group": groups * len(PEER_CSPS),
         "group_level": rng.lognormal(0, PEER_GROUP_SD, len(PEER_CSPS) * len(groups))
         * np.array([PEER_GROUP_SHIFT.get(g, 1.0) for _ in PEER_CSPS for g in groups])}
    )
    expected = grid.join(peers, how="cross", maintain_order="left_right").join(levels, on=["CSP_Name", "Offence_Group"], how="left", maintain_order="left")
    expected = expected.with_columns(((pl.col("own") + 0.5) * pl.col("scale") * pl.col("group_level")).alias("expected"))
    peer_rows = expected.with_columns(pl.Series("Number_of_Offences", rng.poisson(expected["expected"].to_numpy())))
    ours = grid.with_columns(pl.lit(FORCE).alias("Force_Name"), pl.lit(CSP).alias("CSP_Name"), pl.col("own").alias("Number_of_Offences"))
    columns = [_financial_year(pl.col("fy")).alias("Financial_Year"), pl.col("quarter").alias("Financial_Quarter"), "Force_Name", "CSP_Name",
               "Offence_Description", "Offence_Group", "Offence_Subgroup", pl.col("code").alias("Offence_Code"),
               pl.col("Number_of_Offences").cast(pl.Int64), "Policeuk_Cat"]
    return pl.concat([ours.select(columns), peer_rows.select(columns)])


def _write_yearly(rows: pl.DataFrame, raw_dir: Path, prefix: str, header: tuple[str, ...], order: list[str]) -> list[Path]:
    written = []
    for year in rows["Financial_Year"].unique().sort().to_list():
        part = rows.filter(pl.col("Financial_Year") == year).sort(order, maintain_order=True)
        part = part.with_row_index("").with_columns(pl.col("").cast(pl.Int64))
        written.append(write_csv(part.select(header), raw_dir / f"{prefix}-{year.replace('/', '-')}.csv", line_end=LF))
    return written


def write_police_prc(world: DemoWorld, raw_dir: Path) -> list[Path]:
    """One file per financial year and table, as the Home Office publishes them: the force tables in year order,
    then the CSP tables."""
    by_force = _write_yearly(prc_rows(world), raw_dir, "prc-pfa", HEADER, ["Financial_Quarter", "Force_Name", "Offence_Description"])
    by_csp = _write_yearly(csp_rows(world), raw_dir, "prc-csp", CSP_HEADER, ["Financial_Quarter", "Force_Name", "CSP_Name", "Offence_Description"])
    return by_force + by_csp
