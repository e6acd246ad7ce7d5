-- The force's crime extract with each Home Office offence code mapped to its offence group, subgroup and
-- police.uk category, and when it was committed (the date, and the time when the force knows it).
-- partitioned by quarter
SELECT
    c._file_id || ':' || c._line AS record_id,
    c._file_id AS file_id,
    c._line AS line,
    c.crime_ref,
    c.recorded_date,
    date_trunc('month', c.recorded_date)::DATE AS month,
    c.committed_date,
    c.committed_time,
    c.offence_code,
    o.offence_description,
    o.offence_group,
    o.offence_subgroup,
    o.police_uk_category,
    c.lsoa_code,
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
    c.outcome
FROM raw.police_crimes AS c
LEFT JOIN reference.offence_codes AS o USING (offence_code)
