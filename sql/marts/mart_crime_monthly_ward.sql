-- Police.uk crimes and ASB by partnership, month, crime type and ward, over the reporting period.
-- Duplicated Crime IDs count once; records outside the partnership or with no location are not counted.
-- Police.uk's open data: public.
SELECT
    r.partnership_id,
    m.month,
    m.month_label,
    m.financial_year,
    m.fy_quarter,
    r.record_kind,
    r.crime_type,
    r.ward_code,
    r.ward_name,
    count(*) AS records,
    'public' AS disclosure_class
FROM conformed.fct_street_records AS r
JOIN conformed.dim_month AS m ON m.month = r.month
WHERE r.partnership_id IS NOT NULL AND NOT r.is_duplicate
GROUP BY ALL
ORDER BY ALL
