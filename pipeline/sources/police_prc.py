"""Home Office police recorded crime open data tables (by force or by CSP, quarterly): how a partnership
compares itself with its peers. Read as the Home Office publishes them, with or without underscores."""

import polars as pl

from pipeline.sources.base import ROW_AT, Column, Rule, Source, not_listed


def _quarter_start() -> pl.Expr:
    """Financial year 2017/18, quarter 1 (April–June) starts 2017-04-01; quarter 4 starts in January."""
    start_year = pl.col("financial_year").str.slice(0, 4).cast(pl.Int32, strict=False)
    quarter = pl.col("financial_quarter")
    year = pl.when(quarter == 4).then(start_year + 1).otherwise(start_year)
    month = pl.when(quarter == 4).then(1).otherwise(quarter * 3 + 1)
    return pl.date(year, month, 1)


def _scope() -> pl.Expr:
    return pl.concat_str([pl.col("force_name"), pl.col("csp_name")], separator="/", ignore_nulls=True)


SOURCE = Source(
    name="police_prc",
    agency="police",
    title="Home Office police recorded crime open data tables",
    period_column="quarter_start",
    issuer_column="publisher_scope",
    period_grain="quarter",
    lag_months=4,  # the Home Office tables come with ONS's quarterly crime bulletin, about four months after the quarter
    file_suffixes=(".csv", ".xlsx"),
    columns=(
        Column("financial_year", "code", nullable=False, headings=("Financial Year", "Financial_Year")),
        Column("financial_quarter", "integer", nullable=False, minimum=1, maximum=4, headings=("Financial Quarter", "Financial_Quarter")),
        Column("force_name", "text", nullable=False, headings=("Force Name", "Force_Name")),
        Column("csp_name", "text", required=False, headings=("CSP Name", "CSP_Name"), description="only in the tables by CSP"),
        Column("offence_description", "text", headings=("Offence Description", "Offence_Description")),
        Column("offence_group", "text", headings=("Offence Group", "Offence_Group")),
        Column("offence_subgroup", "text", headings=("Offence Subgroup", "Offence_Subgroup")),
        Column("offence_code", "code", nullable=False, headings=("Offence Code", "Offence_Code")),
        Column("offences", "integer", nullable=False, headings=("Number of Offences", "Number_of_Offences"),
               description="may be negative: the Home Office publishes adjustments (e.g. 2017/18, code 88C)"),
        Column("quarter_start", "date", nullable=False, derive=_quarter_start, description="derived: first day of the financial quarter"),
        Column("publisher_scope", "text", nullable=False, derive=_scope,
               description="derived: force, or force/CSP for the tables by CSP, so that the two never replace each other"),
    ),
    example="Financial Year,Financial Quarter,Force Name,Offence Description,Offence Group,Offence Subgroup,Offence Code,Number of Offences\n"
    "2017/18,1,West Yorkshire,Criminal damage to a dwelling,Criminal damage and arson,Criminal damage,58A,1234",
    notes="The published file's unnamed index column and its Policeuk_Cat column are ignored.",
    # no key: the Home Office table itself repeats rows (Homicide, 1/4.1/4.10/4.2, four times per force and
    # quarter), so a duplicate there is the publisher's layout, not a fault
    rules=(
        Rule("offence_code_not_in_reference",
             not_listed("t.offence_code", "reference.offence_codes", "offence_code"), "t.offence_code",
             "offence code is in the Home Office reference list (new codes are kept)", "warn"),
        Rule("financial_year_unlike_home_office", "NOT regexp_full_match(t.financial_year, '[0-9]{4}/[0-9]{2}')",
             f"{ROW_AT} || ': ' || t.financial_year", "financial year is written as the Home Office writes it (2017/18)", "warn"),
    ),
)
