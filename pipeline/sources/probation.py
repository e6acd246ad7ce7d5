"""Probation: the Integrated Offender Management cohort (person level, pseudonymised) and the Ministry of
Justice's proven reoffending aggregates. Two layouts, so two sources."""

from pipeline.sources.base import AREA_INSIDE, ROW_AT, Column, Key, Rule, Source

IOM = Source(
    name="probation_iom",
    agency="probation",
    title="IOM cohort (probation)",
    period_column="cohort_month",
    columns=(
        Column("cohort_month", "month", nullable=False, headings=("Cohort Month", "Cohort Period")),
        Column("person_id", "pseudonym", nullable=False, headings=("Person ID", "CRN", "Nomis ID"), description="pseudonymised on ingest"),
        Column("cohort", "code", nullable=False, allowed=frozenset({"fixed", "flex", "free", "youth"}), headings=("Cohort", "IOM Cohort")),
        Column("offences_before", "integer", nullable=False, minimum=0, headings=("Offences Before", "Offences 12m Before")),
        Column("offences_after", "integer", minimum=0, headings=("Offences After", "Offences 12m After"), description="blank until 12 months have passed"),
        Column("offence_type", "text", headings=("Main Offence Type", "Offence Type")),
        Column("treatment_retention_weeks", "integer", required=False, minimum=0, headings=("Treatment Retention Weeks",)),
    ),
    example="cohort_month,person_id,cohort,offences_before,offences_after,offence_type,treatment_retention_weeks\n2023-04,X123456,fixed,9,3,burglary,14",
    keys=(Key(("person_id", "cohort_month"), "each person appears once per cohort month"),),
    rules=(
        Rule("outcome_missing_after_12_months",
             "t.offences_after IS NULL AND t.cohort_month <= (SELECT max(cohort_month) FROM raw.probation_iom) - INTERVAL 12 MONTH",
             f"{ROW_AT} || ': cohort ' || strftime(t.cohort_month, '%Y-%m')",
             "offences after are given once 12 months have passed (counted from the latest cohort month landed)", "warn"),
    ),
)

REOFFENDING = Source(
    name="probation_reoffending",
    agency="probation",
    title="MoJ proven reoffending (aggregates)",
    period_column="cohort_quarter",
    issuer_column="area_code",
    # 12 months' follow-up and 6 for convictions to be recorded, then MoJ's quarterly publication: a cohort quarter
    # appears about 22 months after it ends (the April 2025 publication ends with the April to June 2023 cohort)
    lag_months=22,
    period_grain="quarter",
    columns=(
        Column("cohort_quarter", "month", nullable=False, headings=("Cohort Quarter", "Quarter Start")),
        Column("area_code", "code", nullable=False, headings=("Area Code", "LA Code")),
        Column("cohort_type", "code", nullable=False, allowed=frozenset({"adult", "juvenile"}), headings=("Cohort Type",)),
        Column("cohort_size", "integer", nullable=False, minimum=0, headings=("Offenders in Cohort", "Cohort Size")),
        Column("reoffenders", "integer", nullable=False, minimum=0, headings=("Reoffenders",)),
        Column("reoffences", "integer", nullable=False, minimum=0, headings=("Reoffences",)),
    ),
    example="cohort_quarter,area_code,cohort_type,cohort_size,reoffenders,reoffences\n2022-04,E08000033,adult,412,109,381",
    keys=(Key(("cohort_quarter", "area_code", "cohort_type"), "one row per cohort quarter, area and cohort type"),),
    rules=(
        Rule("reoffenders_over_cohort", "t.reoffenders > t.cohort_size",
             f"{ROW_AT} || ': ' || t.reoffenders || ' reoffenders in a cohort of ' || t.cohort_size",
             "reoffenders are no more than the cohort"),
        Rule("reoffences_under_reoffenders", "t.reoffences < t.reoffenders",
             f"{ROW_AT} || ': ' || t.reoffences || ' reoffences by ' || t.reoffenders || ' reoffenders'",
             "every reoffender committed at least one reoffence"),
        AREA_INSIDE,
    ),
)

SOURCES = (IOM, REOFFENDING)
