-- Fire and rescue incidents in the shared vocabulary, occurred_date and occurred_time being the time of the call;
-- an incident number sent twice counts once.
-- partitioned by quarter
WITH incidents AS (
    SELECT * FROM raw.fire_incidents QUALIFY is_first_of(incident_id, _period, _file_id, _line)
)
SELECT
    'fire_incidents' AS source,
    i._file_id || ':' || i._line AS record_id,
    p.partnership_id,
    p.ward_code,
    p.lsoa_code,
    i._period AS month,
    financial_year(i._period) AS financial_year,
    fy_quarter(i._period) AS fy_quarter,
    'fire incident' AS record_kind,
    NULL::VARCHAR AS offence_group,
    i.incident_type,
    i.deliberate,
    i.property_type,
    i.casualties,
    i.fatalities,
    i.smoke_alarm,
    i.attack_on_crew,
    i.call_datetime::DATE AS occurred_date,
    i.call_datetime::TIME AS occurred_time
FROM incidents AS i
JOIN conformed.placements AS p ON p.source = 'fire_incidents' AND p.file_id = i._file_id AND p.line = i._line
WHERE p.partnership_id IS NOT NULL
