-- The partnership's activity return, one row per measure and quarter: the value, its unit (count or %), for a
-- percentage the number it is a share of, and the partner who owns the measure.
SELECT
    _file_id || ':' || _line AS record_id,
    measure,
    quarter_start,
    value,
    coalesce(unit, 'count') AS unit,
    denominator,
    owner,
    comment
FROM raw.partnership_activity
