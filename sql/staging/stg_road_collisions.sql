-- Road traffic collisions (STATS19), one row per collision: when and where, its severity (that of its worst
-- casualty), its casualties counted from the casualty file (all, killed, killed or seriously injured), and
-- whether speed was a contributory factor (blank when the extract carries no contributory factors). lsoa_code
-- is as written (either vintage); conformed.placements places the row (by file_id and line).
WITH casualties AS (
    SELECT collision_index,
           count(*) AS casualties,
           count(*) FILTER (WHERE casualty_severity = '1') AS killed,
           count(*) FILTER (WHERE casualty_severity IN ('1', '2')) AS ksi
    FROM raw.road_casualties
    GROUP BY ALL
)
SELECT
    c._file_id || ':' || c._line AS record_id,
    c._file_id AS file_id,
    c._line AS line,
    c.collision_index,
    c.collision_date,
    date_trunc('month', c.collision_date)::DATE AS month,
    c.collision_time,
    c.lsoa_code,
    c.longitude,
    c.latitude,
    CASE c.collision_severity WHEN '1' THEN 'fatal' WHEN '2' THEN 'serious' WHEN '3' THEN 'slight' END AS severity,
    c.collision_severity IN ('1', '2') AS ksi_collision,
    c.speed_limit,
    c.speed_factor,
    c.number_of_vehicles AS vehicles,
    c.number_of_casualties AS casualties_recorded,
    coalesce(k.casualties, 0) AS casualties,
    coalesce(k.killed, 0) AS killed,
    coalesce(k.ksi, 0) AS ksi
FROM raw.road_collisions AS c
LEFT JOIN casualties AS k USING (collision_index)
