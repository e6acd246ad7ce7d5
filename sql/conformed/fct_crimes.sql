-- Police recorded crimes (the force extract), one row per crime and partnership it is placed in
-- (conformed.placements), in the shared vocabulary: partnership, ward, LSOA, month recorded, financial year
-- and quarter, record kind, offence group; occurred_date and occurred_time (NULL when unknown) say when it was
-- committed, for time profiles. A crime reference sent twice counts once.
-- partitioned by quarter
WITH crimes AS (
    SELECT * FROM staging.stg_police_crimes
    QUALIFY is_first_of(crime_ref, month, file_id, line)
)
SELECT
    'police_crimes' AS source,
    c.record_id,
    p.partnership_id,
    p.ward_code,
    p.lsoa_code,
    c.month,
    financial_year(c.month) AS financial_year,
    fy_quarter(c.month) AS fy_quarter,
    'crime' AS record_kind,
    c.offence_group,
    c.offence_subgroup,
    c.offence_code,
    c.offence_description,
    c.police_uk_category,
    c.domestic_abuse,
    c.hate_strand,
    c.knife,
    c.firearm,
    c.alcohol,
    c.night_time_economy,
    c.victim_id,
    c.offender_id,
    c.victim_age_band,
    c.victim_sex,
    c.committed_date AS occurred_date,
    c.committed_time AS occurred_time,
    c.outcome
FROM crimes AS c
JOIN conformed.placements AS p ON p.source = 'police_crimes' AND p.file_id = c.file_id AND p.line = c.line
WHERE p.partnership_id IS NOT NULL
