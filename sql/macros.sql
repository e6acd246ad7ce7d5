-- The calendar and the rules every model shares, defined once. pipeline/workspace.py creates these macros
-- (temporary, per connection) whenever the warehouse is opened, so models, suites and the engine can call them.

-- Financial years run April to March: fy_start is the calendar year the financial year starts in (2024 for 2024/25).
CREATE OR REPLACE TEMP MACRO fy_start(d) AS year(d) - CASE WHEN month(d) < 4 THEN 1 ELSE 0 END;
CREATE OR REPLACE TEMP MACRO financial_year(d) AS
    fy_start(d)::VARCHAR || '/' || lpad(((fy_start(d) + 1) % 100)::VARCHAR, 2, '0');
-- Quarter of the financial year: April-June is Q1, January-March Q4.
CREATE OR REPLACE TEMP MACRO fy_quarter(d) AS ((month(d) + 8) % 12) // 3 + 1;
CREATE OR REPLACE TEMP MACRO fy_quarter_label(d) AS financial_year(d) || ' Q' || fy_quarter(d);
-- The first month of the 12 months that end with month m (m included).
CREATE OR REPLACE TEMP MACRO rolling_12_start(m) AS (date_trunc('month', m) - INTERVAL 11 MONTH)::DATE;
-- Deduplication: true for the first row of each identifier, by month, then file, then line; a repeat of an
-- identifier already seen (a record sent twice, or again in a later extract) is false. A NULL identifier is
-- never a repeat. The earliest month wins, so a later month's extract never changes which row of an earlier
-- month counts (a month's partition can be rebuilt alone: pipeline/partitions.py).
CREATE OR REPLACE TEMP MACRO is_first_of(id, month, file_id, line) AS
    id IS NULL OR row_number() OVER (PARTITION BY id ORDER BY month, file_id, line) = 1;
-- The mid-year (30 June) a period's population should describe: the calendar year of the period's middle.
CREATE OR REPLACE TEMP MACRO mid_year_of(period_start, period_end) AS
    year(period_start::DATE + ((period_end::DATE - period_start::DATE) // 2)::INTEGER);
