"""Ambulance call-outs to assaults, alcohol and overdoses (information-sharing duty), by outward postcode or LSOA."""

from pipeline.sources.base import Column, Key, Source

SOURCE = Source(
    name="health_ambulance",
    agency="health",
    title="Ambulance call-outs",
    period_column="call_datetime",
    category_column="category",
    columns=(
        Column("incident_id", "pseudonym", nullable=False, headings=("Incident ID", "CAD Number")),
        Column("call_datetime", "datetime", nullable=False, headings=("Call Date Time", "Time of Call")),
        Column("category", "code", nullable=False, allowed=frozenset({"assault", "alcohol", "overdose", "self-harm", "stabbing", "shooting"}), headings=("Category", "Call Category")),
        Column("lsoa_code", "lsoa", required=False, headings=("LSOA", "LSOA Code")),
        Column("outward_postcode", "postcode", required=False, headings=("Postcode District", "Outward Postcode")),
    ),
    example="incident_id,call_datetime,category,lsoa_code,outward_postcode\nYAS-24-551820,2024-12-14 23:05,alcohol,E01010955,HX1",
    keys=(Key(("incident_id",), "each CAD incident number appears once"),),
    volume_checked=True,
)
