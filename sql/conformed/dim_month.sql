-- Every month of the reporting period with its financial year (April to March) and quarters
-- (the rules are the macros of sql/macros.sql).
SELECT
    month::DATE AS month,
    strftime(month, '%Y-%m') AS month_label,
    fy_start(month) AS fy_start_year,
    financial_year(month) AS financial_year,
    fy_quarter(month) AS fy_quarter,
    quarter(month) AS calendar_quarter
FROM generate_series(getvariable('period_start')::DATE, getvariable('period_end')::DATE, INTERVAL 1 MONTH) AS g(month)
