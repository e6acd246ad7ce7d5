"""Council anti-social behaviour cases: the council's side of ASB, with the tools used against it."""

from pipeline.sources.base import ROW_AT, Column, Key, Rule, Source, not_listed

ACTIONS = frozenset({"none", "advice", "warning letter", "ABC", "CPN warning", "CPN", "CBO", "injunction", "closure order", "mediation"})

SOURCE = Source(
    name="council_asb",
    agency="council",
    title="Council ASB cases",
    period_column="reported_date",
    category_column="category",
    columns=(
        Column("case_id", "pseudonym", nullable=False, headings=("Case ID", "Case Reference")),
        Column("reported_date", "date", nullable=False, headings=("Date Reported", "Reported Date")),
        Column("category", "code", nullable=False, headings=("Category", "ASB Category"), known=frozenset({"personal", "nuisance", "environmental", "noise", "youth nuisance", "neighbour dispute", "drugs"})),
        Column("lsoa_code", "lsoa", headings=("LSOA", "LSOA Code")),
        Column("ward_code", "code", required=False, headings=("Ward Code",)),
        Column("repeat_caller", "boolean", headings=("Repeat Caller", "Repeat")),
        Column("action", "code", headings=("Action Taken", "Action"), known=ACTIONS),
        Column("closed_date", "date", required=False, headings=("Date Closed", "Closed Date")),
    ),
    example="case_id,reported_date,category,lsoa_code,ward_code,repeat_caller,action,closed_date\n"
    "ASB/24/0456,2024-06-11,noise,E01010955,E05001385,Y,warning letter,2024-07-02",
    keys=(Key(("case_id",), "each ASB case id appears once"),),
    rules=(
        Rule("closed_before_reported", "t.closed_date < t.reported_date",
             f"{ROW_AT} || ': reported ' || t.reported_date || ', closed ' || t.closed_date",
             "no case is closed before it was reported (a data-entry slip that changes no count)", "warn"),
        Rule("ward_outside_partnership", not_listed("t.ward_code", "reference.geography", "ward_code"),
             "t.ward_code", "ward code, where given, is a ward of the partnership", "warn", 0.95),
    ),
    volume_checked=True,
)
