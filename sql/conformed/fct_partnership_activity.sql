-- The partnership's quarterly activity return in the shared vocabulary: one row per measure and quarter
-- (`month` is the quarter's first), for the workspace's only partnership. `numerator` is the value, or for a
-- percentage the number of the denominator it stands for.
-- partitioned by quarter
WITH sole AS (
    SELECT DISTINCT partnership_id FROM conformed.dim_partnership WHERE partnerships_in_workspace = 1
)
SELECT
    'partnership_activity' AS source,
    a.record_id,
    s.partnership_id,
    NULL::VARCHAR AS ward_code,
    NULL::VARCHAR AS lsoa_code,
    a.quarter_start AS month,
    financial_year(a.quarter_start) AS financial_year,
    fy_quarter(a.quarter_start) AS fy_quarter,
    'activity' AS record_kind,
    NULL::VARCHAR AS offence_group,
    a.measure,
    a.unit,
    a.value,
    a.denominator,
    CASE WHEN a.unit = '%' THEN round(a.value * a.denominator / 100) ELSE a.value END AS numerator,
    a.owner
FROM staging.stg_partnership_activity AS a CROSS JOIN sole AS s
