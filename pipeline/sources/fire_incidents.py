"""Fire and rescue incidents: the deliberate-fire categories of the information-sharing duty."""

from pipeline.sources.base import Column, Key, Source

INCIDENT_TYPES = frozenset({"primary fire", "secondary fire", "chimney fire", "false alarm", "road traffic collision", "special service"})

SOURCE = Source(
    name="fire_incidents",
    agency="fire",
    title="Fire and rescue incidents",
    period_column="call_datetime",
    category_column="incident_type",
    columns=(
        Column("incident_id", "pseudonym", nullable=False, headings=("Incident Number", "Incident ID", "ID number")),
        Column("call_datetime", "datetime", nullable=False, headings=("Call Date Time", "Time of Call")),
        Column("incident_type", "code", nullable=False, allowed=INCIDENT_TYPES, headings=("Incident Type",)),
        Column("deliberate", "boolean", nullable=False, headings=("Deliberate", "Motive Deliberate")),
        Column("property_type", "text", headings=("Property Type", "property_type_detailed_d")),
        Column("lsoa_code", "lsoa", headings=("LSOA", "LSOA Code")),
        Column("casualties", "integer", minimum=0, headings=("Casualties", "Non-fatal Casualties")),
        Column("fatalities", "integer", minimum=0, headings=("Fatalities",)),
        Column("smoke_alarm", "code", required=False, headings=("Smoke Alarm", "Alarm"), allowed=frozenset({"present and operated", "present, did not operate", "absent", "unknown"})),
        Column("attack_on_crew", "boolean", required=False, headings=("Attack on Crew", "Violence Against Staff")),
    ),
    example="incident_id,call_datetime,incident_type,deliberate,property_type,lsoa_code,casualties,fatalities,smoke_alarm,attack_on_crew\n"
    "WYFRS-24-88812,2024-10-31 21:14,secondary fire,Y,Refuse/rubbish,E01010955,0,0,,N",
    keys=(Key(("incident_id",), "each incident number appears once"),),
    volume_checked=True,
)
