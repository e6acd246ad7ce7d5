"""data.police.uk street-level crime and ASB files, read exactly as the forces publish them.

One file per force per month. Crime ID is blank on ASB rows; "No Location" rows have no coordinates
and no LSOA; rows outside the partnership are kept (force files cover several CSPs) and flagged later.
"""

from __future__ import annotations

from pipeline.sources.base import Column, Source

ASB = "Anti-social behaviour"
CURRENT_CRIME_TYPES = (  # the 13 crime types of current files, besides ASB
    "Bicycle theft",
    "Burglary",
    "Criminal damage and arson",
    "Drugs",
    "Other crime",
    "Other theft",
    "Possession of weapons",
    "Public order",
    "Robbery",
    "Shoplifting",
    "Theft from the person",
    "Vehicle crime",
    "Violence and sexual offences",
)
LEGACY_CRIME_TYPES = ("Violent crime", "Public disorder and weapons")  # files before 2013
CRIME_TYPES = frozenset({ASB, *CURRENT_CRIME_TYPES, *LEGACY_CRIME_TYPES})

OUTCOMES = frozenset(
    {
        "Investigation complete; no suspect identified",
        "Unable to prosecute suspect",
        "Under investigation",
        "Status update unavailable",
        "Awaiting court outcome",
        "Offender sent to prison",
        "Court result unavailable",
        "Local resolution",
        "Further investigation is not in the public interest",
        "Formal action is not in the public interest",
        "Further action is not in the public interest",
        "Action to be taken by another organisation",
        "Offender given a caution",
        "Offender given community sentence",
        "Offender fined",
        "Suspect charged as part of another case",
        "Suspect charged",
        "Offender given conditional discharge",
        "Defendant found not guilty",
        "Offender given penalty notice",
        "Offender given suspended prison sentence",
        "Offender ordered to pay compensation",
        "Offender given a drugs possession warning",
        "Defendant sent to Crown Court",
        "Offender otherwise dealt with",
        "Offender deprived of property",
        "Offender given absolute discharge",
        "Court case unable to proceed",
    }
)

SOURCE = Source(
    name="police_street",
    agency="police",
    title="data.police.uk street-level crime and ASB",
    period_column="month",
    issuer_column="reported_by",
    category_column="crime_type",
    cadence="monthly",
    lag_months=2,  # police.uk publishes a month during the following month or the one after
    exact_header=True,
    columns=(
        Column("crime_id", "code", headings=("Crime ID",), description="64 hex characters; blank on ASB rows"),
        Column("month", "month", nullable=False, headings=("Month",)),
        Column("reported_by", "text", nullable=False, headings=("Reported by",)),
        Column("falls_within", "text", headings=("Falls within",)),
        Column("longitude", "decimal", headings=("Longitude",), minimum=-180, maximum=180),
        Column("latitude", "decimal", headings=("Latitude",), minimum=-90, maximum=90),
        Column("location", "text", headings=("Location",)),
        Column("lsoa_code", "lsoa", headings=("LSOA code",), description="blank on No Location rows"),
        Column("lsoa_name", "text", headings=("LSOA name",)),
        Column("crime_type", "code", nullable=False, headings=("Crime type",), allowed=CRIME_TYPES),
        Column("outcome", "code", headings=("Last outcome category",), known=OUTCOMES),
        Column("context", "text", headings=("Context",)),
    ),
    notes="Header verbatim: Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,"
    "LSOA name,Crime type,Last outcome category,Context",
    hand_written_suites=True,  # expectations/raw.police_street.json and raw.police_street_volume.json
)
