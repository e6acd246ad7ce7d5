"""MARAC cases (high-risk domestic abuse) and IDVA referrals. The victim's id is pseudonymised with the
same key as the police extract's victim id, so that MARAC cases can be matched to domestic-abuse crimes."""

from pipeline.sources.base import Column, Key, Source
from pipeline.sources.police_crimes import AGE_BANDS, SEXES

RISK = frozenset({"standard", "medium", "high"})
AGENCIES = frozenset({"police", "idva", "health", "children's services", "adult services", "housing", "probation", "voluntary sector", "education", "other"})

CASES = Source(
    name="marac",
    agency="marac",
    title="MARAC cases",
    period_column="meeting_date",
    columns=(
        Column("case_id", "pseudonym", nullable=False, headings=("Case ID", "MARAC Ref")),
        Column("victim_id", "pseudonym", nullable=False, headings=("Victim ID",), description="pseudonymised with the police key"),
        Column("perpetrator_id", "pseudonym", required=False, headings=("Perpetrator ID",)),
        Column("meeting_date", "date", nullable=False, headings=("Meeting Date", "MARAC Date")),
        Column("repeat", "boolean", nullable=False, headings=("Repeat", "Repeat Case"), description="SafeLives: a further incident within 12 months of the last referral"),
        Column("referring_agency", "code", nullable=False, allowed=AGENCIES, headings=("Referring Agency",)),
        Column("risk_level", "code", nullable=False, allowed=RISK, headings=("Risk Level",)),
        Column("victim_sex", "code", allowed=SEXES, headings=("Victim Sex", "Victim Gender")),
        Column("victim_age_band", "code", allowed=AGE_BANDS, headings=("Victim Age Band",)),
        Column("ethnicity", "code", headings=("Ethnicity", "Victim Ethnicity")),
        Column("disability", "boolean", headings=("Disability",)),
        Column("lgbt", "boolean", headings=("LGBT+", "LGBT")),
    ),
    example="case_id,victim_id,perpetrator_id,meeting_date,repeat,referring_agency,risk_level,victim_sex,victim_age_band,ethnicity,disability,lgbt\n"
    "M-24-0311,V-88213,O-10422,2024-06-13,N,police,high,F,25-34,White British,N,N",
    keys=(
        Key(("case_id", "meeting_date"), "each case is heard once per meeting"),
        Key(("case_id",), "each case id appears once (an area that keeps a case's reference for its repeat "
                          "referrals would see this warning)", "warn"),
    ),
    volume_checked=True,
)

IDVA = Source(
    name="idva_referrals",
    agency="marac",
    title="IDVA referrals",
    period_column="referral_date",
    columns=(
        Column("referral_id", "pseudonym", nullable=False, headings=("Referral ID",)),
        Column("referral_date", "date", nullable=False, headings=("Referral Date",)),
        Column("risk_level", "code", nullable=False, allowed=RISK, headings=("Risk Level",)),
        Column("victim_sex", "code", allowed=SEXES, headings=("Victim Sex", "Gender")),
        Column("referral_source", "code", nullable=False, allowed=AGENCIES | {"self"}, headings=("Referral Source", "Source")),
    ),
    example="referral_id,referral_date,risk_level,victim_sex,referral_source\nI-24-1102,2024-06-03,high,F,police",
    keys=(Key(("referral_id",), "each referral id appears once"),),
    volume_checked=True,
)

SOURCES = (CASES, IDVA)
