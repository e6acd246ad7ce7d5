-- Hate incidents reported to the police, the council and third parties, in the shared vocabulary; an
-- incident id sent twice counts once. The log is the partnership's own, so an incident with no location
-- (third-party reports often have none) belongs to the workspace's only partnership, with no ward.
-- partitioned by quarter
WITH incidents AS (
    SELECT * FROM raw.hate_incidents QUALIFY is_first_of(incident_id, _period, _file_id, _line)
),
sole AS (
    SELECT DISTINCT partnership_id FROM conformed.dim_partnership WHERE partnerships_in_workspace = 1
)
SELECT
    'hate_incidents' AS source,
    i._file_id || ':' || i._line AS record_id,
    coalesce(p.partnership_id, s.partnership_id) AS partnership_id,
    p.ward_code,
    p.lsoa_code,
    i._period AS month,
    financial_year(i._period) AS financial_year,
    fy_quarter(i._period) AS fy_quarter,
    'hate incident' AS record_kind,
    NULL::VARCHAR AS offence_group,
    i.strand,
    i.route
FROM incidents AS i
JOIN conformed.placements AS p ON p.source = 'hate_incidents' AND p.file_id = i._file_id AND p.line = i._line
LEFT JOIN sole AS s ON p.unplaced_reason = 'no location'
WHERE coalesce(p.partnership_id, s.partnership_id) IS NOT NULL
