-- Data received from partners: per agency, source and quarter of the reporting period, whether the
-- quarter's data arrived, when, how many rows, how complete (months with rows or declared known gaps),
-- whether it is overdue, and how the source's checks went. Only the sources this workspace expects (enabled
-- in partnership.yaml, or with files in raw/) are tracked. A quarter is due `lag_months` after it ends: the
-- information-sharing duty (SI 2007/1831) asks partners to share within the following quarter (3 months);
-- published data comes with its publisher's lag (police.uk 2 months, MoJ proven reoffending 22).
-- Rows of extracts delivered, not counts of people or events: public.
WITH quarters AS (
    SELECT DISTINCT
        financial_year,
        fy_quarter,
        date_trunc('quarter', month)::DATE AS quarter_start,
        (date_trunc('quarter', month) + INTERVAL 3 MONTH - INTERVAL 1 DAY)::DATE AS quarter_end
    FROM conformed.dim_month
),
expected AS (
    SELECT s.source, s.agency, s.title, s.cadence, s.period_grain, s.lag_months, q.*,
           last_day(q.quarter_end + to_months(s.lag_months))::DATE AS due_by
    FROM reference.sources AS s CROSS JOIN quarters AS q
    WHERE s.expected AND s.cadence <> 'ad hoc'
),
gaps AS (  -- months partnership.yaml declares have no data (a force's system outage): they count as received
    SELECT source, date_trunc('quarter', month)::DATE AS quarter_start, count(*) AS months,
           string_agg(strftime(month, '%Y-%m'), ', ' ORDER BY month) AS labels
    FROM reference.known_gaps
    GROUP BY ALL
),
delivered AS (
    SELECT p.source, date_trunc('quarter', p.month)::DATE AS quarter_start,
           sum(p.rows)::BIGINT AS rows, count(DISTINCT p.month) AS months_with_rows,
           count(DISTINCT p.file_id) AS files, min(m.loaded_at) AS first_received_at
    FROM conformed.source_periods AS p
    JOIN raw._manifest AS m ON m.file_id = p.file_id AND m.source = p.source
    GROUP BY ALL
),
yearly AS (  -- an annual source (survey, population) is received for every quarter of a year it covers
    SELECT p.source, q.financial_year, sum(p.rows)::BIGINT AS rows, min(m.loaded_at) AS first_received_at,
           count(DISTINCT p.file_id) AS files
    FROM conformed.source_periods AS p
    JOIN raw._manifest AS m ON m.file_id = p.file_id AND m.source = p.source
    JOIN quarters AS q ON p.month BETWEEN q.quarter_start AND q.quarter_end
    GROUP BY ALL
),
checks AS (
    SELECT split_part(asset, '/', 2) AS source,
           count(*) FILTER (WHERE success) AS expectations_passed,
           count(*) FILTER (WHERE NOT success AND severity = 'warn') AS expectations_warned,
           count(*) FILTER (WHERE NOT success AND severity = 'error') AS expectations_failed
    FROM quality.results
    WHERE asset LIKE 'raw/%'
    GROUP BY ALL
)
SELECT
    e.agency,
    e.source,
    e.title,
    e.cadence,
    e.financial_year,
    e.fy_quarter,
    e.financial_year || ' Q' || e.fy_quarter AS quarter_label,
    e.quarter_start,
    e.quarter_end,
    e.due_by,
    coalesce(d.files, y.files, 0) AS files,
    coalesce(d.rows, 0) AS rows,
    CASE WHEN e.cadence = 'annual' THEN NULL ELSE coalesce(d.months_with_rows, 0) END AS months_with_rows,
    g.labels AS known_gaps,
    CASE WHEN e.cadence = 'annual' THEN NULL
         WHEN e.period_grain <> 'month' THEN CASE WHEN d.months_with_rows > 0 THEN 1.0 ELSE 0.0 END
         ELSE round(least(coalesce(d.months_with_rows, 0) + coalesce(g.months, 0), 3) / 3.0, 2) END AS completeness,
    coalesce(d.first_received_at, y.first_received_at) AS first_received_at,
    CASE
        WHEN e.cadence = 'annual' AND y.rows IS NOT NULL THEN 'received'
        WHEN coalesce(d.months_with_rows, 0) + coalesce(g.months, 0) >= 3 THEN 'received'
        WHEN e.period_grain <> 'month' AND d.months_with_rows > 0 THEN 'received'  -- one date per quarter or year
        WHEN d.months_with_rows > 0 THEN 'partial'
        WHEN e.due_by < getvariable('as_of')::DATE THEN 'overdue'
        ELSE 'not yet due'
    END AS status,
    c.source IS NOT NULL AS checked,
    c.expectations_passed,
    c.expectations_warned,
    c.expectations_failed,
    'public' AS disclosure_class
FROM expected AS e
LEFT JOIN delivered AS d ON d.source = e.source AND d.quarter_start = e.quarter_start
LEFT JOIN yearly AS y ON y.source = e.source AND y.financial_year = e.financial_year AND e.cadence = 'annual'
LEFT JOIN gaps AS g ON g.source = e.source AND g.quarter_start = e.quarter_start
LEFT JOIN checks AS c ON c.source = e.source
ORDER BY e.agency, e.source, e.quarter_start
