-- Council environmental crime (fly-tipping, graffiti, ...) in the shared vocabulary; an incident id sent twice counts once.
-- partitioned by quarter
WITH incidents AS (
    SELECT * FROM raw.council_environment QUALIFY is_first_of(incident_id, _period, _file_id, _line)
)
SELECT
    'council_environment' AS source,
    i._file_id || ':' || i._line AS record_id,
    p.partnership_id,
    p.ward_code,
    p.lsoa_code,
    i._period AS month,
    financial_year(i._period) AS financial_year,
    fy_quarter(i._period) AS fy_quarter,
    'environmental crime' AS record_kind,
    NULL::VARCHAR AS offence_group,
    i.category,
    i.size,
    i.action
FROM incidents AS i
JOIN conformed.placements AS p ON p.source = 'council_environment' AND p.file_id = i._file_id AND p.line = i._line
WHERE p.partnership_id IS NOT NULL
