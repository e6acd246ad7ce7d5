-- Police.uk crimes and ASB per financial year, partnership and crime type, with the rate per 1,000 residents.
-- The residents are the financial year's own (conformed.period_population: the mid-year nearest the year's
-- middle), and the denominator and its year travel with every rate. Rates are not rounded here: documents
-- round what they show. Police.uk's open data: public.
WITH counts AS (
    SELECT partnership_id, financial_year, record_kind, crime_type, sum(records)::BIGINT AS records,
           count(DISTINCT month) AS months
    FROM marts.mart_crime_monthly_ward
    GROUP BY ALL
)
SELECT
    c.partnership_id,
    c.financial_year,
    c.record_kind,
    c.crime_type,
    c.records,
    c.months,
    p.value AS residents,
    p.year AS population_year,
    1000.0 * c.records / p.value AS rate_per_1000,
    'public' AS disclosure_class
FROM counts AS c
JOIN conformed.period_population AS p
    ON p.period_type = 'financial_year' AND p.period = c.financial_year AND p.area_type = 'partnership'
   AND p.area_code = c.partnership_id AND p.partnership_id = c.partnership_id AND p.denominator = 'residents'
ORDER BY ALL
