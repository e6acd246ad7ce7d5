-- Police.uk crimes and ASB per financial year and partnership, with the rate per 1,000 residents.
-- The denominator (residents) and the year it describes travel with every rate.
WITH counts AS (
    SELECT partnership_id, financial_year, record_kind, crime_type, sum(records)::BIGINT AS records,
           count(DISTINCT month) AS months
    FROM marts.mart_crime_monthly_ward
    GROUP BY ALL
),
population AS (
    SELECT partnership_id, sum(residents)::BIGINT AS residents, any_value(population_year) AS population_year
    FROM conformed.dim_geography
    GROUP BY ALL
)
SELECT
    c.partnership_id,
    c.financial_year,
    c.record_kind,
    c.crime_type,
    c.records,
    c.months,
    p.residents,
    p.population_year,
    round(1000.0 * c.records / p.residents, 2) AS rate_per_1000
FROM counts AS c
JOIN population AS p USING (partnership_id)
ORDER BY ALL
