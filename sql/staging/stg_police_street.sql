-- data.police.uk street-level records as landed, one row each, with what later layers need to know:
-- crime or ASB, whether the row repeats an earlier row's Crime ID (a true duplicate), whether it has a location.
-- partitioned by quarter
SELECT
    _file_id || ':' || _line AS record_id,
    _file_id AS file_id,
    _line AS line,
    month,
    crime_type,
    CASE WHEN crime_type = 'Anti-social behaviour' THEN 'asb' ELSE 'crime' END AS record_kind,
    NULLIF(crime_id, '') AS crime_id,
    reported_by AS force,
    lsoa_code,
    lsoa_code IS NOT NULL AS has_location,
    longitude,
    latitude,
    outcome,
    crime_id IS NOT NULL
        AND row_number() OVER (PARTITION BY crime_id ORDER BY month, _file_id, _line) > 1 AS is_duplicate
FROM raw.police_street
