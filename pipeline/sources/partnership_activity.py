"""The partnership's own activity return: the strategy measures no agency extract holds (interventions
delivered, people trained, campaign reach, training participants reporting better understanding), one value
per measure and quarter, from the partner who owns it.

One row per measure per quarter. `measure` is a short name that stays the same from quarter to quarter (the
strategy in partnership.yaml refers to it); a share is given as a percentage with `unit` `%`, and, where
known, the number it is a share of in `denominator` (so that an interval can be put on it). Each owner's
return replaces that owner's earlier return for the same quarter.
"""

from pipeline.sources.base import ROW_AT, Column, Key, Rule, Source

SOURCE = Source(
    name="partnership_activity",
    agency="partnership",
    title="Partnership activity return",
    period_column="quarter_start",
    period_grain="quarter",
    issuer_column="owner",
    columns=(
        Column("measure", "code", nullable=False, headings=("Measure", "Indicator", "Measure Name")),
        Column("quarter_start", "month", nullable=False, headings=("Period", "Quarter", "Quarter Start"),
               description="the quarter's first month: 2024-04 for 2024/25 Q1"),
        Column("value", "decimal", nullable=False, minimum=0, headings=("Value", "Result", "Actual")),
        Column("unit", "code", required=False, allowed=frozenset({"count", "%"}), headings=("Unit",),
               description="count (when blank) or %"),
        Column("denominator", "integer", required=False, minimum=0, headings=("Denominator", "Out Of", "Base"),
               description="for a %: how many it is a share of (e.g. participants asked)"),
        Column("owner", "text", nullable=False, headings=("Owner", "Lead", "Lead Partner", "Responsible")),
        Column("comment", "text", required=False, headings=("Comment", "Notes", "Commentary")),
    ),
    example="measure,quarter_start,value,unit,denominator,owner,comment\n"
    "people_trained,2024-04,86,count,,Community Safety Team,two sessions for licensed premises staff\n"
    "hate_training_better_understanding,2024-04,74.5,%,51,Hate Crime Partnership,",
    keys=(Key(("measure", "quarter_start"), "one value per measure and quarter"),),
    rules=(
        Rule("percent_over_100", "t.unit = '%' AND t.value > 100", f"{ROW_AT} || ': ' || t.measure || ' ' || t.value || '%'",
             "a percentage is at most 100"),
        Rule("percent_without_denominator", "t.unit = '%' AND t.denominator IS NULL", f"{ROW_AT} || ': ' || t.measure",
             "a percentage says how many it is a share of (without it no interval can be put on it)", "warn"),
    ),
)
