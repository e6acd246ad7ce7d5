-- Each police.uk record placed in its partnership(s) and ward by conformed.placements, which says how
-- (placed_by: the LSOA as written, or converted from the other LSOA vintage). Records outside every
-- partnership (force files cover several CSPs) and "No Location" records are kept with partnership_id NULL and say why.
-- partitioned by quarter
SELECT
    s.record_id,
    s.file_id,
    s.line,
    s.month,
    s.record_kind,
    s.crime_type,
    p.lsoa_code,
    s.is_duplicate,
    p.partnership_id,
    p.ward_code,
    p.ward_name,
    p.placed_by,
    p.unplaced_reason
FROM staging.stg_police_street AS s
JOIN conformed.placements AS p ON p.source = 'police_street' AND p.file_id = s.file_id AND p.line = s.line
