"""Prevent referrals and Channel cases, as quarterly counts by type of concern. The numbers are small,
which is exactly where disclosure control matters most."""

from pipeline.sources.base import ROW_AT, Column, Key, Rule, Source

SOURCE = Source(
    name="prevent",
    agency="council",
    title="Prevent referrals and Channel cases",
    period_column="quarter_start",
    period_grain="quarter",
    columns=(
        Column("quarter_start", "month", nullable=False, headings=("Quarter Start", "Quarter")),
        Column("concern_type", "code", nullable=False, allowed=frozenset({"extreme right-wing", "islamist", "mixed, unclear or unstable", "other"}), headings=("Type of Concern", "Concern")),
        Column("referrals", "integer", nullable=False, minimum=0, headings=("Referrals",)),
        Column("channel_discussed", "integer", nullable=False, minimum=0, headings=("Discussed at Channel",)),
        Column("channel_adopted", "integer", nullable=False, minimum=0, headings=("Adopted as Channel Cases", "Channel Cases")),
    ),
    example="quarter_start,concern_type,referrals,channel_discussed,channel_adopted\n2024-04,extreme right-wing,2,1,0",
    keys=(Key(("quarter_start", "concern_type"), "one row per quarter and type of concern"),),
    rules=(
        Rule("discussed_over_referrals", "t.channel_discussed > t.referrals",
             f"{ROW_AT} || ': ' || t.channel_discussed || ' discussed at Channel of ' || t.referrals || ' referrals'",
             "cases discussed at Channel are no more than the referrals (counted, as the Home Office counts them, for the quarter's referrals)"),
        Rule("adopted_over_referrals", "t.channel_adopted > t.referrals",
             f"{ROW_AT} || ': ' || t.channel_adopted || ' adopted of ' || t.referrals || ' referrals'",
             "Channel cases adopted are no more than the referrals (the quarter's referrals, as above)"),
        Rule("adopted_over_discussed", "t.channel_adopted > t.channel_discussed",
             f"{ROW_AT} || ': ' || t.channel_adopted || ' adopted of ' || t.channel_discussed || ' discussed'",
             "Channel cases adopted are no more than those discussed"),
    ),
)
