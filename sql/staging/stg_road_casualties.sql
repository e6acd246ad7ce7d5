-- Road casualties (STATS19), one row per person hurt, placed and dated by their collision: severity, killed or
-- seriously injured (KSI; `ksi_adjusted` is DfT's severity-adjusted probability of KSI where the file gives it),
-- who they were (pedestrian, cyclist, ...), and whether speed was a contributory factor in their collision.
-- `collision_found` is false for a casualty whose collision has not landed: it has no month or place. lsoa_code
-- is the collision's as written; conformed.placements places the collision (collision_file_id, collision_line).
SELECT
    k._file_id || ':' || k._line AS record_id,
    k.collision_index,
    c.collision_index IS NOT NULL AS collision_found,
    c._file_id AS collision_file_id,
    c._line AS collision_line,
    c.collision_date,
    date_trunc('month', c.collision_date)::DATE AS month,
    c.lsoa_code,
    c.longitude,
    c.latitude,
    CASE k.casualty_severity WHEN '1' THEN 'fatal' WHEN '2' THEN 'serious' WHEN '3' THEN 'slight' END AS severity,
    k.casualty_severity IN ('1', '2') AS ksi,
    CASE WHEN k.casualty_severity = '1' THEN 1.0 ELSE k.adjusted_serious END AS ksi_adjusted,
    CASE k.casualty_class WHEN '1' THEN 'driver or rider' WHEN '2' THEN 'passenger' WHEN '3' THEN 'pedestrian' END AS casualty_class,
    CASE WHEN k.casualty_type = '0' THEN 'pedestrian'
         WHEN k.casualty_type = '1' THEN 'cyclist'
         WHEN k.casualty_type IN ('2', '3', '4', '5', '23', '97', '103', '104', '105', '106') THEN 'motorcyclist'
         WHEN k.casualty_type IN ('8', '9', '108', '109') THEN 'car occupant'
         WHEN k.casualty_type IS NOT NULL THEN 'other vehicle occupant'
    END AS road_user,
    CASE k.sex_of_casualty WHEN '1' THEN 'M' WHEN '2' THEN 'F' END AS sex,
    k.age_of_casualty AS age,
    c.speed_factor
FROM raw.road_casualties AS k
LEFT JOIN raw.road_collisions AS c USING (collision_index)
