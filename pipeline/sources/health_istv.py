"""A&E assault attendances: the Information Sharing to Tackle Violence minimum data set (SCCI1594).
Depersonalised by design: no patient identifiers; location at most an outward postcode."""

from pipeline.sources.base import ROW_AT, Column, Rule, Source

METHODS = frozenset({"body part", "blunt object", "knife or sharp object", "firearm", "glass or bottle", "other", "unknown"})
LOCATIONS = frozenset({"home", "street", "pub or club", "school", "workplace", "public transport", "other", "unknown"})

SOURCE = Source(
    name="health_istv",
    agency="health",
    title="A&E assault attendances (ISTV)",
    period_column="arrival_datetime",
    issuer_column="site_code",
    columns=(
        Column("site_code", "code", nullable=False, headings=("Site Code", "Site of Treatment")),
        Column("period_start", "date", nullable=False, headings=("Reporting Period Start Date", "Period Start")),
        Column("period_end", "date", nullable=False, headings=("Reporting Period End Date", "Period End")),
        Column("arrival_datetime", "datetime", nullable=False, headings=("Arrival Date Time", "Arrival at ED")),
        Column("assault_datetime", "datetime", nullable=False, headings=("Assault Date Time", "Date and Time of Assault")),
        Column("assault_method", "code", nullable=False, allowed=METHODS, headings=("Assault Method", "Weapon")),
        Column("method_other", "text", required=False, headings=("Assault Method Other", "Other Method")),
        Column("location_type", "code", nullable=False, allowed=LOCATIONS, headings=("Assault Location Type", "Location Type")),
        Column("location_description", "text", required=False, headings=("Assault Location Description", "Location Description")),
        Column("outward_postcode", "postcode", required=False, headings=("Postcode District", "Outward Postcode"), description="cut to the outward code on ingest"),
    ),
    example="site_code,period_start,period_end,arrival_datetime,assault_datetime,assault_method,method_other,location_type,location_description,outward_postcode\n"
    "RWY01,2024-05-01,2024-05-31,2024-05-05 01:22,2024-05-05 00:50,body part,,street,Commercial Street,HX1",
    rules=(
        Rule("period_reversed", "t.period_start > t.period_end",
             f"{ROW_AT} || ': period ' || t.period_start || ' to ' || t.period_end",
             "each return's reporting period starts no later than it ends"),
        Rule("arrival_outside_return", "t.arrival_datetime::DATE NOT BETWEEN t.period_start AND t.period_end",
             f"{ROW_AT} || ': arrival ' || t.arrival_datetime || ' outside ' || t.period_start || ' to ' || t.period_end",
             "each attendance arrived within its return's reporting period"),
        Rule("assault_after_arrival", "t.assault_datetime > t.arrival_datetime",
             f"{ROW_AT} || ': assault ' || t.assault_datetime || ', arrival ' || t.arrival_datetime",
             "no assault is dated after the patient arrived at the emergency department (a data-entry slip that changes no count)", "warn"),
    ),
    volume_checked=True,
)
