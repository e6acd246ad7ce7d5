"""Hate incidents reported to the police, the council, or third-party reporting centres."""

from pipeline.sources.base import Column, Key, Source
from pipeline.sources.police_crimes import HATE_STRANDS

SOURCE = Source(
    name="hate_incidents",
    agency="council",
    title="Hate incidents (police, council and third-party reports)",
    period_column="incident_date",
    category_column="strand",
    columns=(
        Column("incident_id", "pseudonym", nullable=False, headings=("Incident ID", "Reference")),
        Column("incident_date", "date", nullable=False, headings=("Incident Date", "Date")),
        Column("strand", "code", nullable=False, allowed=HATE_STRANDS, headings=("Strand", "Hate Strand", "Motivation")),
        Column("route", "code", nullable=False, allowed=frozenset({"police", "council", "third party"}), headings=("Reporting Route", "Reported To")),
        Column("lsoa_code", "lsoa", headings=("LSOA", "LSOA Code")),
    ),
    example="incident_id,incident_date,strand,route,lsoa_code\nH-24-0092,2024-07-21,race,third party,E01010955",
    keys=(Key(("incident_id",), "each incident id appears once"),),
    volume_checked=True,
)
