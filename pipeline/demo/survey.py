"""The annual community safety survey: about a thousand residents each autumn say how safe they feel by day
and after dark, and how much each theme should be a priority (1 low to 5 high).

Answers follow the world: feeling safe after dark falls with the ward's crime rate (lowest in the Halifax
town-centre wards, Town and Park), and is lower for women and the over-65s; the priority given to ASB,
drugs, violence and burglary rises with the ward's own rates of them, road safety is a priority in the
upland wards. One workbook a year, `community-safety-survey-2024.xlsx` (sheet `Responses`), as the
council's survey team exports it; fieldwork mid-September to November.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from pipeline.demo.delivery import source_rng, write_xlsx
from pipeline.demo.echoes import partnership_crimes
from pipeline.demo.hotspots import WARD_LEVEL
from pipeline.demo.records import draw_labels
from pipeline.demo.timeline import DEMO_END, DEMO_START
from pipeline.demo.world import DemoWorld

SOURCE = "survey"
SHEET = "Responses"
RESPONSES_PER_YEAR = 1000  # Poisson mean
FIELDWORK = ((9, 15), (11, 30))  # (month, day) the survey opens and closes
AGE_BANDS = {"16-17": 0.03, "18-24": 0.09, "25-34": 0.15, "35-44": 0.16, "45-54": 0.18, "55-64": 0.18, "65+": 0.19, "unknown": 0.02}
SEXES = {"F": 0.53, "M": 0.45, "other": 0.005, "unknown": 0.015}
# Latent means on the 1–5 scale, and how strongly the ward's own rate (log of its ratio to the median ward) moves them.
SAFE_DAY = 4.3
SAFE_AFTER_DARK = 3.3
AFTER_DARK_PER_LOG_RATE = -0.9
FEMALE_AFTER_DARK = -0.4
OLDER_AFTER_DARK = -0.25
NOISE = 0.9  # standard deviation of a respondent's own view
PRIORITIES = {  # theme: (mean, police.uk categories whose ward rate moves it, strength)
    "asb": (3.5, ("Anti-social behaviour",), 0.6),
    "violence": (3.3, ("Violence and sexual offences",), 0.5),
    "drugs": (3.4, ("Drugs",), 0.6),
    "burglary": (3.3, ("Burglary",), 0.4),
    "vehicle_crime": (3.0, ("Vehicle crime",), 0.3),
    "domestic_abuse": (3.6, (), 0.0),
    "road_safety": (3.2, (), 0.0),
}
ROAD_SAFETY_UPLAND = 0.5  # road safety priority, per log of the ward's quietness (1 / ward level)
CONCERN_SHARE = 0.3  # respondents who write something in the free-text box
CONCERNS = {
    "centre": {"Drug dealing near the bus station": 0.25, "Street drinking in the town centre": 0.2,
               "Groups of young people at night": 0.2, "Not enough police on the streets": 0.15,
               "Shoplifting in the town centre": 0.1, "Litter and fly-tipping": 0.1},
    "other": {"Speeding on the main road": 0.25, "Anti-social driving and off-road bikes": 0.15,
              "Young people gathering in the park": 0.15, "Burglaries in the area": 0.1, "Litter and fly-tipping": 0.15,
              "Not enough police on the streets": 0.1, "Nothing in particular": 0.1},
}
CENTRAL_WARDS = ("Town", "Park")
HEADINGS = {
    "respondent_id": "Response ID",
    "response_date": "Response Date",
    "ward_code": "Ward",
    "age_band": "Age Band",
    "sex": "Gender",
    "safe_day": "Feel Safe Day",
    "safe_after_dark": "Feel Safe After Dark",
    "priority_asb": "Priority ASB",
    "priority_violence": "Priority Violence",
    "priority_drugs": "Priority Drugs",
    "priority_burglary": "Priority Burglary",
    "priority_vehicle_crime": "Priority Vehicle Crime",
    "priority_domestic_abuse": "Priority Domestic Abuse",
    "priority_road_safety": "Priority Road Safety",
    "concern": "Main Concern",
}


def _wards(world: DemoWorld) -> pl.DataFrame:
    """Each ward's residents and its rates (per resident) of crime, ASB and some crime types, as log ratios to
    the median ward."""
    lsoas = world.lsoas.filter("in_partnership").select("lsoa11cd", "ward_cd", "ward_nm", "residents")
    events = pl.concat([
        partnership_crimes(world).select("lsoa11cd", pl.col("police_uk_category").alias("kind")),
        world.asb.select("lsoa11cd", pl.lit("Anti-social behaviour").alias("kind")),
    ]).join(lsoas, on="lsoa11cd", how="inner", maintain_order="left")
    kinds = sorted({k for _, ks, _ in PRIORITIES.values() for k in ks})
    wards = lsoas.group_by("ward_cd", "ward_nm").agg(pl.col("residents").sum()).sort("ward_cd")
    counts = events.group_by("ward_cd").agg(
        (pl.col("kind") != "Anti-social behaviour").sum().alias("crime"), *((pl.col("kind") == k).sum().alias(k) for k in kinds)
    )
    wards = wards.join(counts, on="ward_cd", how="left", maintain_order="left")
    rate = lambda c: (pl.col(c).fill_null(0) + 1) / pl.col("residents")  # noqa: E731
    return wards.with_columns(
        *((rate(c) / rate(c).median()).log().alias(f"log_{c}") for c in ("crime", *kinds)),
        (1 / pl.col("ward_nm").replace_strict(WARD_LEVEL, default=1.0, return_dtype=pl.Float64)).log().alias("log_quiet"),
    )


def _scale(latent: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(latent), 1, 5).astype(np.int64)


def response_rows(world: DemoWorld) -> pl.DataFrame:
    """Every response of the period's five surveys, in date order, in the canonical columns."""
    rng = source_rng(world.seed, SOURCE)
    wards = _wards(world)
    share = wards["residents"].to_numpy() / wards["residents"].sum()
    parts = []
    for year in range(DEMO_START.year, DEMO_END.year):
        n = int(rng.poisson(RESPONSES_PER_YEAR))
        (m1, d1), (m2, d2) = FIELDWORK
        opens, closes = np.datetime64(date(year, m1, d1)), np.datetime64(date(year, m2, d2))
        span = (closes - opens).astype(np.int64) + 1
        days = opens + np.minimum(np.floor(rng.exponential(span / 2.5, n)), span - 1).astype("timedelta64[D]")  # most reply early
        ward = rng.choice(wards.height, n, p=share)
        age = draw_labels(AGE_BANDS, n, rng).astype(str)
        sex = draw_labels(SEXES, n, rng).astype(str)
        person = rng.normal(0, 0.5, n)  # a respondent's general unease, shared by both safety questions
        w = wards[ward]
        after_dark = (SAFE_AFTER_DARK + AFTER_DARK_PER_LOG_RATE * w["log_crime"].to_numpy() + FEMALE_AFTER_DARK * (sex == "F")
                      + OLDER_AFTER_DARK * (age == "65+") - person + rng.normal(0, NOISE, n))
        day_time = SAFE_DAY + 0.35 * AFTER_DARK_PER_LOG_RATE * w["log_crime"].to_numpy() - 0.5 * person + rng.normal(0, 0.6, n)
        columns = {
            "response_date": days,
            "ward_code": w["ward_cd"].to_numpy(),
            "age_band": age,
            "sex": sex,
            "safe_day": _scale(day_time),
            "safe_after_dark": _scale(after_dark),
        }
        for theme, (mean, kinds, strength) in PRIORITIES.items():
            pull = sum(w[f"log_{k}"].to_numpy() for k in kinds) / max(len(kinds), 1) * strength
            if theme == "road_safety":
                pull = ROAD_SAFETY_UPLAND * w["log_quiet"].to_numpy()
            columns[f"priority_{theme}"] = _scale(mean + pull + 0.3 * person + rng.normal(0, NOISE, n))
        central = np.isin(w["ward_nm"].to_numpy(), CENTRAL_WARDS)
        concern = np.where(central, draw_labels(CONCERNS["centre"], n, rng), draw_labels(CONCERNS["other"], n, rng))
        columns["concern"] = np.where(rng.random(n) < CONCERN_SHARE, concern, None).tolist()
        columns["tiebreak"] = rng.random(n)
        frame = pl.DataFrame(columns, schema_overrides={"response_date": pl.Date, "concern": pl.String}).sort("response_date", "tiebreak")
        parts.append(frame.with_columns(
            pl.format("CSS{}-{}", pl.lit(year), (pl.int_range(1, pl.len() + 1)).cast(pl.String).str.zfill(4)).alias("respondent_id")
        ))
    return pl.concat(parts).select(list(HEADINGS))


def write_survey(world: DemoWorld, raw_dir: Path) -> list[Path]:
    """One workbook per year's survey; return the paths in year order."""
    rows = response_rows(world)
    written = []
    for year in rows["response_date"].dt.year().unique().sort().to_list():
        part = rows.filter(pl.col("response_date").dt.year() == year).rename(HEADINGS)
        path = raw_dir / f"community-safety-survey-{year}.xlsx"
        written.append(write_xlsx(part, path, SHEET, title=f"Calderdale community safety survey {year} (synthetic)"))
    return written
