"""Council environmental crime: fly-tipping, graffiti, abandoned vehicles and the like."""

from pipeline.sources.base import Column, Key, Source

CATEGORIES = frozenset({"fly-tipping", "graffiti", "abandoned vehicle", "littering", "dog fouling", "fly-posting", "other"})

SOURCE = Source(
    name="council_environment",
    agency="council",
    title="Council environmental crime",
    period_column="reported_date",
    category_column="category",
    columns=(
        Column("incident_id", "pseudonym", nullable=False, headings=("Incident ID", "Reference")),
        Column("reported_date", "date", nullable=False, headings=("Date Reported", "Reported Date")),
        Column("category", "code", nullable=False, allowed=CATEGORIES, headings=("Category", "Type")),
        Column("lsoa_code", "lsoa", headings=("LSOA", "LSOA Code")),
        Column("size", "code", required=False, headings=("Size",), known=frozenset({"single item", "car boot", "small van", "transit van", "tipper lorry", "significant"})),
        Column("action", "code", required=False, headings=("Action Taken", "Enforcement"), known=frozenset({"none", "cleared", "warning", "fixed penalty notice", "prosecution"})),
    ),
    example="incident_id,reported_date,category,lsoa_code,size,action\nENV-24-1102,2024-08-19,fly-tipping,E01010930,small van,cleared",
    keys=(Key(("incident_id",), "each incident id appears once"),),
    volume_checked=True,
)
