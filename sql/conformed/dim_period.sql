-- The periods indicators are reported for, and the months each covers: month, quarter and financial year
-- (April to March), and rolling 12 months ending at the period's last month and every third month before it.
-- `complete` says whether every month of the period lies in the reporting period.
WITH months AS (
    SELECT month FROM conformed.dim_month
),
periods AS (
    SELECT 'month' AS period_type, strftime(month, '%Y-%m') AS period, month AS period_start, month AS period_end, month
    FROM months
    UNION ALL
    SELECT 'quarter', fy_quarter_label(month), date_trunc('quarter', month)::DATE,
           (date_trunc('quarter', month) + INTERVAL 2 MONTH)::DATE, month
    FROM months
    UNION ALL
    SELECT 'financial_year', financial_year(month), make_date(fy_start(month), 4, 1), make_date(fy_start(month) + 1, 3, 1), month
    FROM months
    UNION ALL
    SELECT 'rolling_12', '12 months to ' || strftime(e.month, '%Y-%m'), rolling_12_start(e.month), e.month, m.month
    FROM months AS e
    JOIN months AS m ON m.month BETWEEN rolling_12_start(e.month) AND e.month
    WHERE datediff('month', e.month, getvariable('period_end')::DATE) % 3 = 0
      AND rolling_12_start(e.month) >= getvariable('period_start')::DATE
)
SELECT
    period_type,
    period,
    period_start,
    period_end,
    month,
    datediff('month', period_start, period_end) + 1 AS period_months,
    count(*) OVER (PARTITION BY period_type, period) = datediff('month', period_start, period_end) + 1 AS complete,
    mid_year_of(period_start, last_day(period_end)) AS mid_year
FROM periods
