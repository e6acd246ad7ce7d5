"""Substance misuse treatment (NDTMS-style monthly aggregates by substance group)."""

from pipeline.sources.base import AREA_INSIDE, ROW_AT, Column, Key, Rule, Source

SOURCE = Source(
    name="health_treatment",
    agency="health",
    title="Substance misuse treatment",
    period_column="month",
    issuer_column="area_code",
    columns=(
        Column("month", "month", nullable=False, headings=("Month", "Period")),
        Column("area_code", "code", nullable=False, headings=("Area Code", "LA Code")),
        Column("substance", "code", nullable=False, allowed=frozenset({"opiate", "non-opiate only", "alcohol only", "non-opiate and alcohol"}), headings=("Substance Group", "Substance")),
        Column("in_treatment", "integer", nullable=False, minimum=0, headings=("Number in Treatment", "In Treatment")),
        Column("new_presentations", "integer", nullable=False, minimum=0, headings=("New Presentations",)),
        Column("retained_12_weeks", "integer", nullable=False, minimum=0, headings=("Retained 12 Weeks", "12 Week Retention")),
        Column("successful_completions", "integer", nullable=False, minimum=0, headings=("Successful Completions",)),
    ),
    example="month,area_code,substance,in_treatment,new_presentations,retained_12_weeks,successful_completions\n2024-06,E08000033,opiate,812,21,18,9",
    keys=(Key(("month", "area_code", "substance"), "one row per month, area and substance group"),),
    rules=(
        Rule("retained_over_in_treatment", "t.retained_12_weeks > t.in_treatment",
             f"{ROW_AT} || ': retained ' || t.retained_12_weeks || ' of ' || t.in_treatment || ' in treatment'",
             "those retained 12 weeks are no more than those in treatment"),
        Rule("completions_over_in_treatment", "t.successful_completions > t.in_treatment",
             f"{ROW_AT} || ': ' || t.successful_completions || ' completions of ' || t.in_treatment || ' in treatment'",
             "successful completions are no more than those in treatment"),
        AREA_INSIDE,
    ),
)
