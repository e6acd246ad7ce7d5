-- Substance misuse treatment (NDTMS-style monthly aggregates by local authority) in the shared vocabulary,
-- mapped to partnerships by conformed.dim_partnership.
-- partitioned by quarter
SELECT
    'health_treatment' AS source,
    t._file_id || ':' || t._line AS record_id,
    d.partnership_id,
    NULL::VARCHAR AS ward_code,
    NULL::VARCHAR AS lsoa_code,
    t._period AS month,
    financial_year(t._period) AS financial_year,
    fy_quarter(t._period) AS fy_quarter,
    'treatment' AS record_kind,
    NULL::VARCHAR AS offence_group,
    t.substance,
    t.in_treatment,
    t.new_presentations,
    t.retained_12_weeks,
    t.successful_completions
FROM raw.health_treatment AS t
JOIN conformed.dim_partnership AS d ON d.lad_code = t.area_code
