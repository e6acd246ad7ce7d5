-- Denominators per area (partnership, ward, LSOA), denominator and year, summed from conformed.population,
-- only where every LSOA of the area has a figure for that year (a partial year would understate the rate).
WITH areas AS (
    SELECT 'partnership' AS area_type, partnership_id AS area_code, partnership_id, lsoa_code FROM conformed.dim_geography
    UNION ALL
    SELECT 'ward', ward_code, partnership_id, lsoa_code FROM conformed.dim_geography
    UNION ALL
    SELECT 'lsoa', lsoa_code, partnership_id, lsoa_code FROM conformed.dim_geography
),
sized AS (
    SELECT area_type, area_code, partnership_id, count(*) AS lsoas FROM areas GROUP BY ALL
)
SELECT a.area_type, a.area_code, a.partnership_id, p.denominator, p.year,
       sum(p.value)::BIGINT AS value,
       string_agg(DISTINCT p.source, '; ' ORDER BY p.source) AS source
FROM areas AS a
JOIN conformed.population AS p ON p.lsoa_code = a.lsoa_code AND p.partnership_id = a.partnership_id
JOIN sized AS s ON s.area_type = a.area_type AND s.area_code = a.area_code AND s.partnership_id = a.partnership_id
GROUP BY a.area_type, a.area_code, a.partnership_id, p.denominator, p.year, s.lsoas
HAVING count(*) = s.lsoas
