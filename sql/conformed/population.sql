-- The denominators of every rate, one row per LSOA, denominator and year: residents, households, females
-- aged 16 and over, residents aged 10-17 and 0-24. ONS mid-year estimates from raw.population where supplied;
-- for a year and LSOA they do not cover, the population file partnership.yaml names (geography.population,
-- usually Census 2011: residents and households only). `source` says which. Each period's rates use the year
-- nearest the period's middle (conformed.period_population).
WITH supplied AS (
    SELECT lsoa_code, year, 'raw.population' AS source,
           persons AS residents, households, adult_females AS females_16_plus, aged_10_17, aged_0_24
    FROM raw.population
),
configured AS (
    SELECT DISTINCT g.lsoa_code, g.population_year AS year, 'partnership.yaml geography.population' AS source,
           g.residents, g.households, NULL::BIGINT AS females_16_plus, NULL::BIGINT AS aged_10_17, NULL::BIGINT AS aged_0_24
    FROM reference.geography AS g
),
-- per LSOA, year and denominator: the supplied estimate, else the configured file's figure
stacked AS (
    SELECT lsoa_code, year, source, denominator, value
    FROM (UNPIVOT supplied ON residents, households, females_16_plus, aged_10_17, aged_0_24 INTO NAME denominator VALUE value)
    UNION ALL
    SELECT lsoa_code, year, source, denominator, value
    FROM (UNPIVOT configured ON residents, households, females_16_plus, aged_10_17, aged_0_24 INTO NAME denominator VALUE value)
),
chosen AS (
    SELECT * FROM stacked
    QUALIFY row_number() OVER (PARTITION BY lsoa_code, year, denominator ORDER BY source = 'raw.population' DESC) = 1
)
SELECT g.partnership_id, g.ward_code, c.lsoa_code, c.denominator, c.year, c.value::BIGINT AS value, c.source
FROM chosen AS c
JOIN conformed.dim_geography AS g USING (lsoa_code)
