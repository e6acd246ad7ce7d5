-- Health events in the shared vocabulary: ambulance call-outs (placed by LSOA or, failing that, postcode
-- district) and A&E assault attendances (ISTV, placed by postcode district, so without ward or LSOA).
-- occurred_date and occurred_time: the ambulance call, the assault (ISTV). location_description: ISTV's free-text
-- place of the assault (a street or venue), for repeat locations. An ambulance incident id sent twice counts once;
-- ISTV rows carry no identifier.
-- partitioned by quarter
WITH ambulance AS (
    SELECT * FROM raw.health_ambulance QUALIFY is_first_of(incident_id, _period, _file_id, _line)
)
SELECT
    'health_ambulance' AS source,
    a._file_id || ':' || a._line AS record_id,
    p.partnership_id,
    p.ward_code,
    p.lsoa_code,
    a._period AS month,
    financial_year(a._period) AS financial_year,
    fy_quarter(a._period) AS fy_quarter,
    'ambulance call-out' AS record_kind,
    NULL::VARCHAR AS offence_group,
    a.category,
    NULL::VARCHAR AS location_type,
    NULL::VARCHAR AS location_description,
    a.call_datetime::DATE AS occurred_date,
    a.call_datetime::TIME AS occurred_time
FROM ambulance AS a
JOIN conformed.placements AS p ON p.source = 'health_ambulance' AND p.file_id = a._file_id AND p.line = a._line
WHERE p.partnership_id IS NOT NULL
UNION ALL
SELECT
    'health_istv',
    i._file_id || ':' || i._line,
    p.partnership_id,
    p.ward_code,
    NULL,
    i._period,
    financial_year(i._period),
    fy_quarter(i._period),
    'A&E assault attendance',
    NULL,
    i.assault_method,
    i.location_type,
    i.location_description,
    i.assault_datetime::DATE,
    i.assault_datetime::TIME
FROM raw.health_istv AS i
JOIN conformed.placements AS p ON p.source = 'health_istv' AND p.file_id = i._file_id AND p.line = i._line
WHERE p.partnership_id IS NOT NULL
