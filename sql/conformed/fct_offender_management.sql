-- Offender management in the shared vocabulary: the IOM cohort (one row per person and cohort month, from
-- probation; no area, so the workspace's only partnership) and MoJ proven reoffending cohorts (aggregates by
-- local authority, mapped to partnerships by conformed.dim_partnership). Counts are in `people`, `offences`
-- (reoffences, or IOM offences in the 12 months after joining, which end in
-- `followed_up_to`) and `offences_before`.
-- partitioned by quarter
WITH sole AS (
    SELECT DISTINCT partnership_id FROM conformed.dim_partnership WHERE partnerships_in_workspace = 1
),
iom AS (
    SELECT * FROM raw.probation_iom QUALIFY is_first_of(person_id || cohort_month, _period, _file_id, _line)
)
SELECT
    'probation_iom' AS source,
    i._file_id || ':' || i._line AS record_id,
    s.partnership_id,
    NULL::VARCHAR AS ward_code,
    NULL::VARCHAR AS lsoa_code,
    i._period AS month,
    financial_year(i._period) AS financial_year,
    fy_quarter(i._period) AS fy_quarter,
    'iom cohort member' AS record_kind,
    NULL::VARCHAR AS offence_group,
    i.cohort,
    i.offence_type,
    1 AS people,
    (i.offences_after IS NOT NULL)::INTEGER AS people_followed_up,
    i.offences_before,
    i.offences_after AS offences,
    NULL::INTEGER AS reoffenders,
    i.treatment_retention_weeks,
    (i._period + INTERVAL 12 MONTH)::DATE AS followed_up_to
FROM iom AS i CROSS JOIN sole AS s
UNION ALL
SELECT
    'probation_reoffending',
    r._file_id || ':' || r._line,
    d.partnership_id,
    NULL,
    NULL,
    r._period,
    financial_year(r._period),
    fy_quarter(r._period),
    'reoffending cohort',
    NULL,
    r.cohort_type,
    NULL,
    r.cohort_size,
    r.cohort_size,
    NULL,
    r.reoffences,
    r.reoffenders,
    NULL,
    NULL
FROM raw.probation_reoffending AS r
JOIN conformed.dim_partnership AS d ON d.lad_code = r.area_code
