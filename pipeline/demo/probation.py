"""Probation's two extracts, both measured from the world's offenders (the suspects of the police's crimes):

- The Integrated Offender Management cohort: each month the most prolific offenders of the past 12 months
  (at least `IOM_THRESHOLD` crimes as the suspect; acquisitive crime ranks higher) join, up to `IOM_INTAKE` a
  month, unless they joined in the past two years. In the first year the world's history is shorter than 12
  months: the threshold is pro-rated and the months before April 2020 are filled in at `UNSEEN_PER_MONTH`. The person id is the police's offender id (IOM is run jointly, and the cohort list
  carries the police nominal id), so it pseudonymises to the same value as in the force's crime extract.
  Offences before and after are the person's crimes in the 12 months before and after joining (after: blank
  until 12 months have passed by March 2025). Quarterly files by cohort month, the latest re-issue of each.
- The Ministry of Justice's proven reoffending aggregates: offenders whose crime was proven (a conviction,
  caution or other formal outcome) in a quarter form its cohort; a reoffender is proven to have offended
  again within 12 months. Published with the MoJ's lag: cohorts April 2020 to June 2023 (the April 2025
  publication), one file per cohort quarter.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from pipeline.demo.delivery import demo_quarters, financial_quarter, quarter_start, source_rng, write_csv, write_quarterly
from pipeline.demo.echoes import partnership_crimes
from pipeline.demo.geography import CALDERDALE
from pipeline.demo.timeline import DEMO_END, DEMO_START
from pipeline.demo.world import DemoWorld

IOM = "probation_iom"
REOFFENDING = "probation_reoffending"
IOM_THRESHOLD = 5  # crimes as the suspect in the past 12 months
IOM_INTAKE = 6  # at most this many join a month
IOM_REJOIN_MONTHS = 24
UNSEEN_PER_MONTH = 0.55  # offences a month before April 2020 (outside the world) of those who join in 2020/21
ACQUISITIVE_WEIGHT = 3.0  # IOM prioritises neighbourhood (acquisitive) crime: it counts this much in the ranking
YOUTH_SHARE = 0.06  # of offenders, under 18 (the world does not age its offenders: drawn here)
TREATMENT_SHARE = 0.4  # of acquisitive IOM cases, in drug treatment with a retention count
# The IOM tracker's offence type for a police.uk category; domestic abuse first, whatever the category.
OFFENCE_TYPES = {
    "Burglary": "burglary",
    "Vehicle crime": "vehicle crime",
    "Shoplifting": "shoplifting",
    "Other theft": "theft",
    "Theft from the person": "theft",
    "Bicycle theft": "theft",
    "Robbery": "robbery",
    "Violence and sexual offences": "violence",
    "Criminal damage and arson": "criminal damage",
    "Public order": "public order",
    "Drugs": "drugs",
    "Possession of weapons": "weapons",
    "Other crime": "other",
}
ACQUISITIVE = ("burglary", "vehicle crime", "shoplifting", "theft", "robbery")
COHORTS = {  # by offence type: fixed (acquisitive, the neighbourhood crime cohort), flex (violence, DA), free
    "acquisitive": {"fixed": 0.75, "flex": 0.15, "free": 0.10},
    "violent": {"fixed": 0.10, "flex": 0.75, "free": 0.15},
    "other": {"fixed": 0.20, "flex": 0.35, "free": 0.45},
}
# Outcomes that prove an offence (a conviction, caution or other formal disposal), for the MoJ measure.
PROVEN = (
    "Offender sent to prison", "Offender given community sentence", "Offender fined", "Offender given suspended prison sentence",
    "Offender given conditional discharge", "Offender given absolute discharge", "Offender ordered to pay compensation",
    "Offender deprived of property", "Offender otherwise dealt with", "Offender given a caution",
    "Offender given a drugs possession warning", "Offender given penalty notice",
)
FOLLOW_UP_DAYS = 365
LAST_PUBLISHED_COHORT = "2023-24-Q1"  # April–June 2023: the MoJ's April 2025 publication
IOM_HEADINGS = {
    "cohort_month": "Cohort Month",
    "person_id": "Person ID",
    "cohort": "IOM Cohort",
    "offences_before": "Offences 12m Before",
    "offences_after": "Offences 12m After",
    "offence_type": "Main Offence Type",
    "treatment_retention_weeks": "Treatment Retention Weeks",
}
REOFFENDING_HEADINGS = {
    "cohort_quarter": "Cohort Quarter",
    "area_code": "LA Code",
    "cohort_type": "Cohort Type",
    "cohort_size": "Offenders in Cohort",
    "reoffenders": "Reoffenders",
    "reoffences": "Reoffences",
}


def _offender_crimes(world: DemoWorld) -> pl.DataFrame:
    crimes = partnership_crimes(world).filter(pl.col("offender_id").is_not_null())
    kind = pl.when(pl.col("domestic_abuse")).then(pl.lit("domestic abuse")).otherwise(
        pl.col("police_uk_category").replace_strict(OFFENCE_TYPES, return_dtype=pl.String)
    )
    return crimes.select("offender_id", pl.col("committed_at").dt.date().alias("day"), kind.alias("offence_type"), "outcome", "recorded_date", "committed_at")


def _youth(ids: pl.Series, rng: np.random.Generator) -> pl.Series:
    """Whether each offender (of a sorted list of ids) is under 18."""
    return pl.Series(rng.random(ids.len()) < YOUTH_SHARE)


def iom_rows(world: DemoWorld) -> pl.DataFrame:
    """Every IOM cohort entry of the period, in cohort-month order, in the canonical columns."""
    rng = source_rng(world.seed, IOM)
    crimes = _offender_crimes(world)
    people = crimes["offender_id"].unique().sort()
    youth = _youth(people, rng).to_numpy()
    index = crimes["offender_id"].replace_strict(people.to_list(), list(range(people.len())), return_dtype=pl.Int64).to_numpy()
    day = crimes["day"].to_numpy().astype("datetime64[D]")
    weight = np.where(crimes["offence_type"].is_in(ACQUISITIVE).to_numpy(), ACQUISITIVE_WEIGHT, 1.0)
    months = np.arange(np.datetime64(DEMO_START, "M"), np.datetime64(DEMO_END, "M") + 1)
    last_joined = np.full(people.len(), np.datetime64("1900-01", "M"))
    entries = []
    for seen, month in enumerate(months):  # `seen`: months of the world before this one (it starts April 2020)
        if seen == 0:
            continue
        start = month.astype("datetime64[D]")
        window = (day >= (month - 12).astype("datetime64[D]")) & (day < start)
        count = np.bincount(index[window], minlength=people.len())
        score = np.bincount(index[window], weights=weight[window], minlength=people.len())
        needed = IOM_THRESHOLD if seen >= 12 else max(2, int(np.ceil(IOM_THRESHOLD * seen / 12)))
        eligible = (count >= needed) & (last_joined <= month - IOM_REJOIN_MONTHS)
        candidates = np.flatnonzero(eligible)
        order = np.lexsort((rng.random(candidates.size), -score[candidates]))
        chosen = candidates[order[:IOM_INTAKE]]
        last_joined[chosen] = month
        # the tracker knows offences from before April 2020 too: the months the world lacks, at an IOM nominal's rate
        unseen = rng.poisson(UNSEEN_PER_MONTH * (12 - seen), chosen.size) if seen < 12 else np.zeros(chosen.size, dtype=np.int64)
        entries += [(month, person, count[person] + extra) for person, extra in zip(chosen.tolist(), unseen.tolist())]
    month_of = np.array([e[0] for e in entries], dtype="datetime64[M]")
    person = np.array([e[1] for e in entries], dtype=np.int64)
    before = np.array([e[2] for e in entries], dtype=np.int64)
    start = month_of.astype("datetime64[D]")
    end = (month_of + 12).astype("datetime64[D]")
    key = np.sort(index * 100_000 + day.astype(np.int64))  # one person's crimes together, in day order
    base = person * 100_000
    after = np.searchsorted(key, base + end.astype(np.int64)) - np.searchsorted(key, base + start.astype(np.int64))
    complete = end <= np.datetime64(DEMO_END, "D") + 1

    # the main offence type of the 12 months before
    window_crimes = pl.DataFrame({"person": index, "day": day, "offence_type": crimes["offence_type"]})
    joined = pl.DataFrame({"person": person, "start": start, "entry": np.arange(person.size)})
    main = (
        joined.join(window_crimes, on="person", how="left", maintain_order="left")
        .filter((pl.col("day") < pl.col("start")) & (pl.col("day") >= pl.col("start").dt.offset_by("-12mo")))
        .group_by("entry", "offence_type").len()
        .with_columns(pl.when(pl.col("offence_type").is_in(ACQUISITIVE)).then(pl.col("len") * ACQUISITIVE_WEIGHT).otherwise(pl.col("len")).alias("len"))
        .sort("entry", "len", "offence_type", descending=[False, True, False])
        .group_by("entry", maintain_order=True).first()
        .sort("entry")
    )["offence_type"].to_numpy()
    group = np.where(np.isin(main, ACQUISITIVE), "acquisitive", np.where(np.isin(main, ("violence", "domestic abuse", "weapons", "robbery")), "violent", "other"))
    cohort = np.empty(person.size, dtype=object)
    for name, shares in COHORTS.items():
        rows = np.flatnonzero(group == name)
        labels, p = np.array(list(shares)), np.array(list(shares.values()))
        cohort[rows] = labels[rng.choice(labels.size, rows.size, p=p)]
    cohort = np.where(youth[person], "youth", cohort)
    treated = np.isin(main, ACQUISITIVE) & (rng.random(person.size) < TREATMENT_SHARE)
    weeks = rng.integers(0, 53, person.size)
    return pl.DataFrame({
        "cohort_month": month_of.astype("datetime64[D]"),
        "person_id": people.to_numpy()[person],
        "cohort": cohort.tolist(),
        "offences_before": before,
        "offences_after": np.where(complete, after, -1),
        "offence_type": main,
        "treatment_retention_weeks": np.where(treated, weeks, -1),
    }, schema_overrides={"cohort_month": pl.Date, "cohort": pl.String, "person_id": pl.String, "offence_type": pl.String}).with_columns(
        pl.when(pl.col(c) >= 0).then(pl.col(c)).alias(c) for c in ("offences_after", "treatment_retention_weeks")
    )


def write_probation_iom(world: DemoWorld, raw_dir: Path) -> list[Path]:
    """One file per financial quarter of the cohort month; return the paths in quarter order."""
    return write_quarterly(
        iom_rows(world), "cohort_month", raw_dir,
        lambda part, path: write_csv(part.rename(IOM_HEADINGS), path, date_format="%Y-%m"),
    )


def reoffending_rows(world: DemoWorld) -> pl.DataFrame:
    """Proven reoffending by cohort quarter and cohort type (adult, juvenile) for the published quarters."""
    rng = source_rng(world.seed, REOFFENDING)
    crimes = _offender_crimes(world).filter(pl.col("outcome").is_in(PROVEN))
    people = crimes["offender_id"].unique().sort()
    juvenile = pl.DataFrame({"offender_id": people, "juvenile": _youth(people, rng)})
    index_offence = (
        crimes.with_columns(financial_quarter(pl.col("recorded_date")).alias("quarter"))
        .sort("committed_at", "offender_id")
        .group_by("quarter", "offender_id", maintain_order=True).agg(pl.col("committed_at").first().alias("index_at"))
    )
    later = index_offence.join(crimes.select("offender_id", "committed_at"), on="offender_id", how="inner", maintain_order="left").filter(
        (pl.col("committed_at") > pl.col("index_at")) & (pl.col("committed_at") <= pl.col("index_at") + pl.duration(days=FOLLOW_UP_DAYS))
    ).group_by("quarter", "offender_id").len("reoffences")
    published = [q for q in demo_quarters() if q <= LAST_PUBLISHED_COHORT]
    cohort = (
        index_offence.filter(pl.col("quarter").is_in(published))
        .join(later, on=["quarter", "offender_id"], how="left", maintain_order="left")
        .join(juvenile, on="offender_id", how="left", maintain_order="left")
        .group_by("quarter", "juvenile")
        .agg(pl.len().alias("cohort_size"), pl.col("reoffences").is_not_null().sum().alias("reoffenders"), pl.col("reoffences").sum().fill_null(0).alias("reoffences"))
    )
    grid = pl.DataFrame({"quarter": published}).join(pl.DataFrame({"juvenile": [False, True]}), how="cross", maintain_order="left_right")
    return grid.join(cohort, on=["quarter", "juvenile"], how="left", maintain_order="left").select(
        pl.col("quarter").map_elements(quarter_start, return_dtype=pl.Date).alias("cohort_quarter"),
        pl.lit(CALDERDALE).alias("area_code"),
        pl.when(pl.col("juvenile")).then(pl.lit("juvenile")).otherwise(pl.lit("adult")).alias("cohort_type"),
        *(pl.col(c).fill_null(0).cast(pl.Int64) for c in ("cohort_size", "reoffenders", "reoffences")),
    )


def write_probation_reoffending(world: DemoWorld, raw_dir: Path) -> list[Path]:
    """One file per published cohort quarter; return the paths in quarter order."""
    return write_quarterly(
        reoffending_rows(world), "cohort_quarter", raw_dir,
        lambda part, path: write_csv(part.rename(REOFFENDING_HEADINGS), path, date_format="%Y-%m"),
    )
