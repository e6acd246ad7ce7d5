-- Prevent referrals and Channel cases (quarterly aggregates by type of concern) in the shared vocabulary; no
-- area, so the workspace's only partnership. `month` is the quarter's first month.
-- partitioned by quarter
WITH sole AS (
    SELECT DISTINCT partnership_id FROM conformed.dim_partnership WHERE partnerships_in_workspace = 1
)
SELECT
    'prevent' AS source,
    r._file_id || ':' || r._line AS record_id,
    s.partnership_id,
    NULL::VARCHAR AS ward_code,
    NULL::VARCHAR AS lsoa_code,
    r._period AS month,
    financial_year(r._period) AS financial_year,
    fy_quarter(r._period) AS fy_quarter,
    'prevent referrals' AS record_kind,
    NULL::VARCHAR AS offence_group,
    r.concern_type,
    r.referrals,
    r.channel_discussed,
    r.channel_adopted
FROM raw.prevent AS r CROSS JOIN sole AS s
