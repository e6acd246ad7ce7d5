"""The force's own recorded-crime extract, richer than police.uk: Home Office offence code, when the crime
was committed, the flags partnerships ask for, and pseudonymised crime, victim and offender references."""

from pipeline.sources.base import ROW_AT, Column, Key, Rule, Source

HATE_STRANDS = frozenset({"race", "religion", "sexual orientation", "disability", "transgender", "alternative subculture", "sex or gender"})
AGE_BANDS = frozenset({"0-17", "18-24", "25-34", "35-44", "45-54", "55-64", "65+", "unknown"})
SEXES = frozenset({"F", "M", "other", "unknown"})

SOURCE = Source(
    name="police_crimes",
    agency="police",
    title="Police force recorded crime extract",
    period_column="recorded_date",
    columns=(
        Column("crime_ref", "pseudonym", nullable=False, headings=("Crime Reference", "CrimeRef", "URN"), description="the force's crime reference; pseudonymised on ingest"),
        Column("recorded_date", "date", nullable=False, headings=("Recorded Date", "Date Recorded")),
        Column("committed_date", "date", nullable=False, headings=("Committed Date", "Offence Date", "Date Committed")),
        Column("committed_time", "time", headings=("Committed Time", "Offence Time"), description="blank when unknown"),
        Column("offence_code", "code", nullable=False, reference="offence_codes", headings=("HO Offence Code", "Home Office Code", "HOCR Code"), description="Home Office offence code, e.g. 8N or 105A"),
        Column("lsoa_code", "lsoa", headings=("LSOA", "LSOA Code"), description="blank when the location is unknown"),
        Column("domestic_abuse", "boolean", nullable=False, headings=("DA Flag", "Domestic Abuse")),
        Column("hate_strand", "code", allowed=HATE_STRANDS, headings=("Hate Strand",), description="blank when not a hate crime"),
        Column("knife", "boolean", nullable=False, headings=("Knife Flag", "Knife or Sharp Instrument")),
        Column("firearm", "boolean", nullable=False, headings=("Firearm Flag",)),
        Column("alcohol", "boolean", nullable=False, headings=("Alcohol Flag", "Alcohol Related")),
        Column("night_time_economy", "boolean", nullable=False, headings=("NTE Flag", "Night Time Economy")),
        Column("victim_id", "pseudonym", headings=("Victim ID", "Victim URN"), description="pseudonymised on ingest"),
        Column("offender_id", "pseudonym", headings=("Offender ID", "Suspect ID"), description="pseudonymised on ingest"),
        Column("victim_age_band", "code", allowed=AGE_BANDS, headings=("Victim Age Band",)),
        Column("victim_sex", "code", allowed=SEXES, headings=("Victim Sex", "Victim Gender")),
        Column("outcome", "text", headings=("Outcome", "Outcome Type")),
    ),
    example="crime_ref,recorded_date,committed_date,committed_time,offence_code,lsoa_code,domestic_abuse,hate_strand,knife,firearm,alcohol,night_time_economy,victim_id,offender_id,victim_age_band,victim_sex,outcome\n"
    "WY-2024-000123,2024-05-04,2024-05-03,23:40,8N,E01010955,N,,N,N,Y,Y,V-88213,O-10422,18-24,M,Under investigation",
    keys=(Key(("crime_ref",), "each crime reference appears once"),),
    rules=(
        Rule("committed_after_recorded", "t.committed_date > t.recorded_date",
             f"{ROW_AT} || ': committed ' || t.committed_date || ', recorded ' || t.recorded_date",
             "no crime is committed after it was recorded (a warning: a force may record an ongoing offence's last date)", "warn"),
    ),
    volume_checked=True,
)
