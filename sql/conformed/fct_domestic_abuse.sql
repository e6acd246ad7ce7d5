-- MARAC cases and IDVA referrals in the shared vocabulary. Neither extract carries an area: their rows belong
-- to the workspace's partnership when it has only one (conformed.dim_partnership), and to none otherwise.
-- A MARAC case is a SafeLives repeat when the same victim was referred to MARAC within the 12 months before
-- (`repeat_safelives`, computed from every landed case, so a referral from before the reporting period counts);
-- the agency's own flag is kept as `repeat_flagged`. A case or referral id sent twice counts once.
-- partitioned by quarter
WITH sole AS (
    SELECT DISTINCT partnership_id FROM conformed.dim_partnership WHERE partnerships_in_workspace = 1
),
cases AS (
    SELECT *, lag(meeting_date) OVER (PARTITION BY victim_id ORDER BY meeting_date, _file_id, _line) AS previous_referral
    FROM raw.marac
    QUALIFY is_first_of(case_id, _period, _file_id, _line)
),
referrals AS (
    SELECT * FROM raw.idva_referrals QUALIFY is_first_of(referral_id, _period, _file_id, _line)
)
SELECT
    'marac' AS source,
    c._file_id || ':' || c._line AS record_id,
    s.partnership_id,
    NULL::VARCHAR AS ward_code,
    NULL::VARCHAR AS lsoa_code,
    c._period AS month,
    financial_year(c._period) AS financial_year,
    fy_quarter(c._period) AS fy_quarter,
    'marac case' AS record_kind,
    NULL::VARCHAR AS offence_group,
    c.victim_id,
    c.referring_agency AS referred_by,
    c.risk_level,
    c.victim_sex,
    c.repeat AS repeat_flagged,
    c.previous_referral IS NOT NULL AND c.meeting_date <= c.previous_referral + INTERVAL 12 MONTH AS repeat_safelives
FROM cases AS c CROSS JOIN sole AS s
UNION ALL
SELECT
    'idva_referrals',
    r._file_id || ':' || r._line,
    s.partnership_id,
    NULL,
    NULL,
    r._period,
    financial_year(r._period),
    fy_quarter(r._period),
    'idva referral',
    NULL,
    NULL,
    r.referral_source,
    r.risk_level,
    r.victim_sex,
    NULL,
    NULL
FROM referrals AS r CROSS JOIN sole AS s
