-- Harm beside volume: police recorded crimes (the force extract) weighted by reference.harm_weights, per
-- partnership, financial year and offence group (and 'All offences'), per 1,000 residents, with each group's
-- share of the partnership's harm and of its volume. Crimes whose code has no weight count in volume but not in
-- harm (unweighted_offences says how many). weights_source names the weights; weights_illustrative is true
-- for the shipped default, which is not the ONS Crime Severity Score. Record-level partner data: restricted.
WITH crimes AS (
    SELECT c.partnership_id, c.financial_year, coalesce(c.offence_group, 'Unknown offence code') AS offence_group,
           w.weight
    FROM conformed.fct_crimes AS c
    LEFT JOIN reference.harm_weights AS w USING (offence_code)
),
grouped AS (
    SELECT partnership_id, financial_year, coalesce(offence_group, 'All offences') AS offence_group,
           count(*) AS offences, coalesce(sum(weight), 0) AS harm, count(*) FILTER (WHERE weight IS NULL) AS unweighted_offences
    FROM crimes
    GROUP BY GROUPING SETS ((partnership_id, financial_year, offence_group), (partnership_id, financial_year))
),
source AS (SELECT any_value(weights_source) AS weights_source, bool_or(weights_illustrative) AS weights_illustrative FROM reference.harm_weights)
SELECT
    g.partnership_id, g.financial_year AS period, g.offence_group, g.offences, g.harm, g.unweighted_offences,
    p.value AS residents, p.year AS denominator_year,
    1000.0 * g.offences / p.value AS offences_per_1000,
    1000.0 * g.harm / p.value AS harm_per_1000,
    100.0 * g.harm / nullif(sum(g.harm) FILTER (WHERE g.offence_group <> 'All offences') OVER w, 0) AS harm_share,
    100.0 * g.offences / nullif(sum(g.offences) FILTER (WHERE g.offence_group <> 'All offences') OVER w, 0) AS volume_share,
    s.weights_source, s.weights_illustrative,
    'restricted' AS disclosure_class
FROM grouped AS g
CROSS JOIN source AS s
LEFT JOIN conformed.period_population AS p
    ON p.period_type = 'financial_year' AND p.period = g.financial_year AND p.area_type = 'partnership'
   AND p.area_code = g.partnership_id AND p.partnership_id = g.partnership_id AND p.denominator = 'residents'
WINDOW w AS (PARTITION BY g.partnership_id, g.financial_year)
ORDER BY g.partnership_id, g.financial_year, g.offence_group = 'All offences' DESC, g.harm DESC
