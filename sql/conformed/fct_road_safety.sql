-- Road traffic collisions and casualties (STATS19) in the shared vocabulary: one row per collision and one
-- per casualty, each placed by its collision (conformed.placements) and dated by the collision's month.
-- `ksi` is killed or seriously injured (a collision: its worst casualty); `speed_factor` says whether speed was
-- a contributory factor (blank when the extract has no contributory factors). A casualty whose collision has
-- not landed has no place and is left out.
SELECT
    'road_collisions' AS source,
    c.record_id,
    p.partnership_id,
    p.ward_code,
    p.lsoa_code,
    c.month,
    financial_year(c.month) AS financial_year,
    fy_quarter(c.month) AS fy_quarter,
    'road collision' AS record_kind,
    NULL::VARCHAR AS offence_group,
    c.severity,
    c.ksi_collision AS ksi,
    c.speed_factor,
    NULL::VARCHAR AS road_user,
    c.casualties
FROM staging.stg_road_collisions AS c
JOIN conformed.placements AS p ON p.source = 'road_collisions' AND p.file_id = c.file_id AND p.line = c.line
WHERE p.partnership_id IS NOT NULL
UNION ALL
SELECT
    'road_casualties',
    k.record_id,
    p.partnership_id,
    p.ward_code,
    p.lsoa_code,
    k.month,
    financial_year(k.month),
    fy_quarter(k.month),
    'road casualty',
    NULL,
    k.severity,
    k.ksi,
    k.speed_factor,
    k.road_user,
    1
FROM staging.stg_road_casualties AS k
JOIN conformed.placements AS p ON p.source = 'road_collisions' AND p.file_id = k.collision_file_id AND p.line = k.collision_line
WHERE p.partnership_id IS NOT NULL
