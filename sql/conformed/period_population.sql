-- The denominator every rate of a period uses, defined once: per period (conformed.dim_period), area and
-- denominator, the population of the year nearest the period's middle (the later year on a tie), with that
-- year, its source and how far it lies from the period (`years_from_period`; the suite warns beyond 5).
WITH periods AS (
    SELECT DISTINCT period_type, period, mid_year FROM conformed.dim_period
)
SELECT p.period_type, p.period, p.mid_year AS period_mid_year,
       a.area_type, a.area_code, a.partnership_id, a.denominator, a.year, a.value, a.source,
       abs(a.year - p.mid_year) AS years_from_period
FROM periods AS p
CROSS JOIN conformed.area_population AS a
QUALIFY row_number() OVER (
    PARTITION BY p.period_type, p.period, a.area_type, a.area_code, a.partnership_id, a.denominator
    ORDER BY abs(a.year - p.mid_year), a.year DESC) = 1
