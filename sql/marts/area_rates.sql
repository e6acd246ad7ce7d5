-- Ward and LSOA rates with 95% intervals for every indicator whose catalogue entry allows the geography, by
-- financial year, beside the partnership's own figure (marts.indicator_values holds both: nothing is recomputed
-- here). significance compares the area's interval with the partnership's value: 'above' when the whole
-- interval lies above it, 'below' when wholly below, else 'similar' (the Fingertips comparison with a
-- benchmark). disclosure_class is the indicator's catalogue class.
WITH areas AS (
    SELECT * FROM marts.indicator_values
    WHERE area_type IN ('ward', 'lsoa') AND period_type = 'financial_year'
),
partnership AS (
    SELECT indicator_id, partnership_id, period, value, lower, upper
    FROM marts.indicator_values
    WHERE area_type = 'partnership' AND period_type = 'financial_year'
)
SELECT
    a.indicator_id, a.title, a.theme, a.kind, a.partnership_id, a.area_type, a.area_code, a.area_name,
    a.period, a.period_start, a.complete, a.numerator, a.denominator, a.denominator_year,
    a.value, a.lower, a.upper, a.multiplier, a.unit, a.polarity,
    p.value AS partnership_value, p.lower AS partnership_lower, p.upper AS partnership_upper,
    CASE WHEN a.value IS NULL OR p.value IS NULL THEN NULL
         WHEN a.lower > p.value THEN 'above'
         WHEN a.upper < p.value THEN 'below'
         ELSE 'similar' END AS significance,
    a.disclosure_class
FROM areas AS a
JOIN partnership AS p USING (indicator_id, partnership_id, period)
ORDER BY a.indicator_id, a.partnership_id, a.area_type, a.area_code, a.period_start
