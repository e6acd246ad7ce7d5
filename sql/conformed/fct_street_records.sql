-- Each police.uk record placed in its partnership(s) and ward. Records outside every partnership (force
-- files cover several CSPs) and "No Location" records are kept with partnership_id NULL and say why.
SELECT
    s.record_id,
    s.file_id,
    s.line,
    s.month,
    s.record_kind,
    s.crime_type,
    s.lsoa_code,
    s.is_duplicate,
    g.partnership_id,
    g.ward_code,
    g.ward_name,
    CASE
        WHEN NOT s.has_location THEN 'no location'
        WHEN g.partnership_id IS NULL THEN 'outside the partnership area'
    END AS unplaced_reason
FROM staging.stg_police_street AS s
LEFT JOIN conformed.dim_geography AS g ON g.lsoa_code = s.lsoa_code
