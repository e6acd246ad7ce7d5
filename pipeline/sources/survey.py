"""The community safety survey: how safe residents feel and what they want prioritised (the views the
2007 Regulations require the partnership to seek)."""

from pipeline.sources.base import Column, Key, Rule, Source, not_listed
from pipeline.sources.police_crimes import AGE_BANDS, SEXES

THEMES = ("asb", "violence", "drugs", "burglary", "vehicle_crime", "domestic_abuse", "road_safety")


def _rating(name: str, heading: str) -> Column:
    return Column(name, "integer", minimum=1, maximum=5, headings=(heading,), description="1 (low) to 5 (high)")


SOURCE = Source(
    name="survey",
    agency="survey",
    title="Community safety survey",
    cadence="annual",
    period_column="response_date",
    file_suffixes=(".csv", ".xlsx"),
    columns=(
        Column("respondent_id", "pseudonym", nullable=False, headings=("Respondent ID", "Response ID")),
        Column("response_date", "date", nullable=False, headings=("Response Date", "Date")),
        Column("ward_code", "code", headings=("Ward Code", "Ward")),
        Column("age_band", "code", allowed=AGE_BANDS - {"0-17"} | {"16-17"}, headings=("Age Band", "Age")),
        Column("sex", "code", allowed=SEXES, headings=("Sex", "Gender")),
        _rating("safe_day", "Feel Safe Day"),
        _rating("safe_after_dark", "Feel Safe After Dark"),
        *(_rating(f"priority_{theme}", f"Priority {theme.replace('_', ' ').title()}") for theme in THEMES),
        Column("concern", "text", required=False, headings=("Main Concern", "Comments")),
    ),
    example="respondent_id,response_date,ward_code,age_band,sex,safe_day,safe_after_dark,priority_asb,priority_violence,priority_drugs,priority_burglary,priority_vehicle_crime,priority_domestic_abuse,priority_road_safety,concern\n"
    "R-0192,2024-09-14,E05001385,35-44,F,5,2,4,4,5,3,2,4,3,Drug dealing near the bus station",
    keys=(
        Key(("respondent_id", "_file_id"), "each respondent answers once per survey file"),
        Key(("respondent_id",), "each respondent id appears once across the survey waves (a panel, or a supplier "
                                "that restarts its numbering, would see this warning)", "warn"),
    ),
    rules=(
        Rule("ward_outside_partnership", not_listed("t.ward_code", "reference.geography", "ward_code"),
             "t.ward_code", "ward code, where given, is a ward of the partnership", "warn", 0.95),
    ),
)
