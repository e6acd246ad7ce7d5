-- Community safety survey responses in the shared vocabulary, placed by the ward the respondent gave (a
-- response without a ward belongs to the workspace's only partnership, with no ward); a respondent id sent
-- twice counts once. Ratings are 1 (low) to 5 (high).
-- partitioned by quarter
WITH responses AS (
    SELECT * FROM raw.survey QUALIFY is_first_of(respondent_id, _period, _file_id, _line)
),
wards AS (
    SELECT DISTINCT partnership_id, ward_code FROM conformed.dim_geography
),
sole AS (
    SELECT DISTINCT partnership_id FROM conformed.dim_partnership WHERE partnerships_in_workspace = 1
)
SELECT
    'survey' AS source,
    r._file_id || ':' || r._line AS record_id,
    coalesce(w.partnership_id, s.partnership_id) AS partnership_id,
    w.ward_code,
    NULL::VARCHAR AS lsoa_code,
    r._period AS month,
    financial_year(r._period) AS financial_year,
    fy_quarter(r._period) AS fy_quarter,
    'survey response' AS record_kind,
    NULL::VARCHAR AS offence_group,
    r.age_band,
    r.sex,
    r.safe_day,
    r.safe_after_dark,
    r.priority_asb,
    r.priority_violence,
    r.priority_drugs,
    r.priority_burglary,
    r.priority_vehicle_crime,
    r.priority_domestic_abuse,
    r.priority_road_safety
FROM responses AS r
LEFT JOIN wards AS w ON w.ward_code = r.ward_code
LEFT JOIN sole AS s ON w.ward_code IS NULL
WHERE coalesce(w.partnership_id, s.partnership_id) IS NOT NULL
