-- Council ASB cases in the shared vocabulary, one row per case and partnership; a case id sent twice counts once.
-- partitioned by quarter
WITH cases AS (
    SELECT * FROM raw.council_asb QUALIFY is_first_of(case_id, _period, _file_id, _line)
)
SELECT
    'council_asb' AS source,
    c._file_id || ':' || c._line AS record_id,
    p.partnership_id,
    p.ward_code,
    p.lsoa_code,
    c._period AS month,
    financial_year(c._period) AS financial_year,
    fy_quarter(c._period) AS fy_quarter,
    'asb' AS record_kind,
    NULL::VARCHAR AS offence_group,
    c.category,
    c.repeat_caller,
    c.action
FROM cases AS c
JOIN conformed.placements AS p ON p.source = 'council_asb' AND p.file_id = c._file_id AND p.line = c._line
WHERE p.partnership_id IS NOT NULL
