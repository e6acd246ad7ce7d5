-- Every month of the reporting period with its financial year (April to March) and quarters.
SELECT
    month::DATE AS month,
    strftime(month, '%Y-%m') AS month_label,
    CASE WHEN month(month) >= 4 THEN year(month) ELSE year(month) - 1 END AS fy_start_year,
    CASE WHEN month(month) >= 4 THEN year(month) ELSE year(month) - 1 END || '/'
        || lpad(((CASE WHEN month(month) >= 4 THEN year(month) ELSE year(month) - 1 END + 1) % 100)::VARCHAR, 2, '0') AS financial_year,
    ((month(month) + 8) % 12) // 3 + 1 AS fy_quarter,
    quarter(month) AS calendar_quarter
FROM generate_series(getvariable('period_start')::DATE, getvariable('period_end')::DATE, INTERVAL 1 MONTH) AS g(month)
