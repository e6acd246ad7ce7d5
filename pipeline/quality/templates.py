"""Suites written from the source declarations, so that a check can never drift from the code that lands the data.

For every registered source but those whose suites are written by hand (police_street), this writes
`expectations/raw.<source>.json`: the canonical and bookkeeping columns are present, required values present,
values in their declared sets (`allowed`: error; `known`: warn, new values are kept), within their declared
minimum and maximum, identifiers pseudonymised (32 lower-case hex characters, never a clear id), postcodes cut
to the outward code, LSOA codes well formed and mostly inside the partnership (warn; `Source.inside_share`), no
date after the run's day (`getvariable('as_of')`), offence codes in the reference list, ids unique
(`Source.keys`) and the rules between columns a declaration's columns cannot state (`Source.rules`: reoffenders
<= cohort size, committed before recorded, ...). For the sources declared `volume_checked` (events with a
monthly grain) it also writes `expectations/raw.<source>_volume.json`: rows per month of the reporting period
against a band learned from the source's own history.

The files are committed; a test checks they equal what this module writes. After changing a declaration:

    csp generate           # rewrite the generated suites and docs/sources.md
    csp generate --check   # exit 1 naming the stale files

A rule's computed column holds a readable label (file, line and the values) where the row breaks it and is
NULL where it holds, checked with expect_column_values_to_be_null: the failing examples then say where to look.
Only expectation types the SQL floor translates are used (pipeline/quality/sql_floor.py: SUPPORTED).
"""

from __future__ import annotations

import json

from pipeline.sources import SOURCES
from pipeline.sources.base import ROW_AT, Column, Rule, Source, not_listed

BOOKKEEPING = ("_file_id", "_line", "_issuer", "_period")
PSEUDONYM_REGEX = "^[0-9a-f]{32}$"  # pipeline.ingest.pseudonymise: HMAC-SHA256, first 32 hex characters
OUTWARD_POSTCODE_REGEX = "^[A-Z]{1,2}[0-9][0-9A-Z]?$"  # HX1, OL14, SW1A: what is left after the cut at the door
LSOA_REGEX = "^[EW]01[0-9]{6}$"
GSS_REGEX = "^[EW][0-9]{8}$"  # an ONS area code (E08000033); NDTMS and MoJ may report by county (E10) or region
REFERENCE_LISTS = {"offence_codes": ("reference.offence_codes", "offence_code")}
QUIET_MEDIAN = 10  # below this expected monthly count a month without rows is plausible, so only the band judges it
BAND_SIGMAS = 4  # half-width of the monthly band, in robust standard deviations (see volume_suite's notes)


# ----------------------------------------------------------------------------------------------- raw suites


def _expectation(kind: str, kwargs: dict, severity: str, description: str) -> dict:
    return {"type": kind, "kwargs": kwargs, "meta": {"severity": severity, "description": description}}


def _null_rule(rule: Rule) -> dict:
    kwargs = {"column": rule.column} | ({"mostly": rule.mostly} if rule.mostly is not None else {})
    return _expectation("expect_column_values_to_be_null", kwargs, rule.severity, rule.description)


def _future_rule(column: Column) -> Rule:
    day = f"t.{column.name}::DATE"
    shown = f"strftime(t.{column.name}, '%Y-%m')" if column.type == "month" else f"t.{column.name}::VARCHAR"
    return Rule(f"future_{column.name}", f"{day} > getvariable('as_of')::DATE", f"{ROW_AT} || ': ' || {shown}",
                f"no {_words(column.name)} after the day of the run")


def _reference_rule(column: Column) -> Rule:
    table, key = REFERENCE_LISTS[column.reference]
    return Rule(f"{column.name}_not_in_reference", not_listed(f"t.{column.name}", table, key),
                f"t.{column.name}", f"{_words(column.name)} is in the reference list {column.reference}")


def _placement(source: Source) -> tuple[str, str] | None:
    """The computed column saying where a located row lies: 'inside', else its LSOA or postcode district."""
    lsoa = next((c.name for c in source.columns if c.type == "lsoa"), None)
    postcode = next((c.name for c in source.columns if c.type == "postcode"), None)
    if source.inside_share is None or not (lsoa or postcode):
        return None  # a national file (ONS tables): an LSOA outside the partnership is expected there
    whens = []
    if lsoa:
        whens.append(f"WHEN t.{lsoa} IN (SELECT lsoa_code FROM reference.geography) THEN 'inside' WHEN t.{lsoa} IS NOT NULL THEN t.{lsoa}")
    if postcode:  # as pipeline/placement.py: by LSOA where there is one, else by postcode district
        whens.append(f"WHEN t.{postcode} IN (SELECT outward_postcode FROM reference.postcode_districts) THEN 'inside' "
                     f"WHEN t.{postcode} IS NOT NULL THEN t.{postcode}")
    by = " or ".join(name for name, column in (("LSOA", lsoa), ("postcode district", postcode)) if column)
    return f"CASE {' '.join(whens)} END AS placement", by


def raw_suite(source: Source) -> dict:
    rules = [_future_rule(c) for c in source.columns if c.type in ("date", "datetime", "month")]
    rules += [_reference_rule(c) for c in source.columns if c.reference]
    rules += source.rules
    placement = _placement(source)
    computed = [f"CASE WHEN {r.broken} THEN {r.label} END AS {r.column}" for r in rules]
    if placement:
        computed.append(placement[0])
    batch = [
        f"-- {source.title}, as landed: every row, where it came from (row_at, never NULL: a NULL label would read",
        "-- as a rule that holds), and the computed columns the rules read, each NULL where its rule holds.",
        "WITH t AS (",
        "    SELECT r.*, coalesce(m.file_name, r._file_id, 'a file not in the manifest') || ' line ' || coalesce(r._line::VARCHAR, '?') AS row_at",
        f"    FROM {source.table} AS r",
        f"    LEFT JOIN raw._manifest AS m ON m.file_id = r._file_id AND m.source = '{source.name}'",
        ")",
        "SELECT t.*" + ("," if computed else ""),
        *[f"    {c}," for c in computed[:-1]],
        *([f"    {computed[-1]}"] if computed else []),
        "FROM t",
    ]
    expectations = [
        _expectation(
            "expect_table_columns_to_match_set",
            {"column_set": [c.name for c in source.columns] + list(BOOKKEEPING), "exact_match": False},
            "error", "the canonical columns and the landing bookkeeping columns are present",
        )
    ]
    for c in source.columns:
        label = _words(c.name)
        if not c.nullable:
            expectations.append(_expectation("expect_column_values_to_not_be_null", {"column": c.name}, "error",
                                             f"{label} is present in every row"))
        if c.allowed:
            expectations.append(_expectation("expect_column_values_to_be_in_set", {"column": c.name, "value_set": sorted(c.allowed)},
                                             "error", f"{label}, where present, is one of the {len(c.allowed)} declared values"))
        if c.known:
            expectations.append(_expectation("expect_column_values_to_be_in_set", {"column": c.name, "value_set": sorted(c.known)},
                                             "warn", f"{label}, where present, is a value seen before (new ones are kept)"))
        if c.minimum is not None or c.maximum is not None:
            bounds = {k: _plain_number(v) for k, v in (("min_value", c.minimum), ("max_value", c.maximum)) if v is not None}
            wording = " and ".join(f"{'at least' if k == 'min_value' else 'at most'} {v}" for k, v in bounds.items())
            expectations.append(_expectation("expect_column_values_to_be_between", {"column": c.name, **bounds}, "error",
                                             f"{label}, where present, is {wording}"))
        if c.type == "pseudonym":
            expectations.append(_expectation("expect_column_values_to_match_regex", {"column": c.name, "regex": PSEUDONYM_REGEX},
                                             "error", f"{label}, where present, is a pseudonym (32 lower-case hex characters), never a clear id"))
        elif c.type == "postcode":
            expectations.append(_expectation("expect_column_values_to_match_regex", {"column": c.name, "regex": OUTWARD_POSTCODE_REGEX},
                                             "error", f"{label}, where present, is an outward code only (HX1), never a full postcode"))
        elif c.type == "lsoa":
            expectations.append(_expectation("expect_column_values_to_match_regex", {"column": c.name, "regex": LSOA_REGEX},
                                             "error", f"{label}, where present, is E01 or W01 and six digits"))
        elif c.name == "area_code":
            expectations.append(_expectation("expect_column_values_to_match_regex", {"column": c.name, "regex": GSS_REGEX},
                                             "error", "area code is an ONS area code (a letter and eight digits, E08000033)"))
    for key in source.keys:
        if len(key.columns) == 1:
            expectations.append(_expectation("expect_column_values_to_be_unique", {"column": key.columns[0]}, key.severity, key.description))
        else:
            expectations.append(_expectation("expect_compound_columns_to_be_unique", {"column_list": list(key.columns)},
                                             key.severity, key.description))
    expectations += [_null_rule(r) for r in rules]
    if placement:
        expectations.append(_expectation(
            "expect_column_values_to_be_in_set", {"column": "placement", "value_set": ["inside"], "mostly": source.inside_share}, "warn",
            f"at least {source.inside_share:.0%} of the located rows lie inside the partnership (by {placement[1]}); "
            "the failing examples are the places outside",
        ))
    return {
        "name": f"raw.{source.name}",
        "meta": {
            "csp": {"asset": f"raw/{source.name}", "batch": batch},
            "notes": (
                f"Generated from pipeline/sources (the {source.name} declaration) by pipeline/quality/templates.py; "
                "do not edit by hand: change the declaration or the templates and run `csp generate`. "
                "Landing already rejects malformed values row by row; this suite checks the table as a whole, after every "
                "file, re-issue and supersession, and the rules between columns and tables that a declaration cannot state."
                + (" The share inside the partnership is a warning: a service covering a wider area (fire, ambulance, a "
                   "force-wide extract) may send rows for its neighbours, which are kept and placed outside; fewer than "
                   f"{source.inside_share:.0%} inside usually means the extract was cut for the wrong area." if placement else "")
            ),
        },
        "expectations": expectations,
    }


def _words(name: str) -> str:
    return " ".join("LSOA" if w == "lsoa" else "CAD" if w == "cad" else w for w in name.split("_"))


def _sentence_case(title: str) -> str:
    """"Fire and rescue incidents" -> "fire and rescue incidents"; "MARAC cases" stays as it is."""
    return title if title[:2].isupper() else title[0].lower() + title[1:]


def _plain_number(value: float):
    return int(value) if float(value).is_integer() else value


# -------------------------------------------------------------------------------------------- volume suites


def volume_suite(source: Source) -> dict:
    table = source.table
    batch = [
        "-- One row per month of the reporting period: the rows landed for it (by the month of the source's period",
        f"-- column, {source.period_column}), the rows of its quarter, and the band learned from the source's own history.",
        "-- Counts are compared per average month (x 30.4375 / days in the month), so that February is not 'low';",
        f"-- band: median +/- {BAND_SIGMAS} sigma of the other landed months, sigma = max(1.4826 x MAD, sqrt(median)), from 6 months.",
        "WITH landed AS (",
        "    SELECT _period AS month, count(*) AS records,",
        "        count(*) * 30.4375 / dayofmonth(last_day(_period)) AS per_month",
        f"    FROM {table} GROUP BY _period",
        "), quarters AS (",
        f"    SELECT date_trunc('quarter', _period)::DATE AS quarter, count(*) AS records FROM {table} GROUP BY ALL",
        "), period AS (",
        "    SELECT g.m::DATE AS month, coalesce(l.records, 0) AS records, coalesce(q.records, 0) AS quarter_records,",
        "        dayofmonth(last_day(g.m::DATE)) / 30.4375 AS month_length,",
        f"        g.m::DATE IN (SELECT month FROM reference.known_gaps WHERE source = '{source.name}') AS known_gap",
        "    FROM generate_series(getvariable('period_start')::DATE, getvariable('period_end')::DATE, INTERVAL 1 MONTH) AS g(m)",
        "    LEFT JOIN landed AS l ON l.month = g.m::DATE",
        "    LEFT JOIN quarters AS q ON q.quarter = date_trunc('quarter', g.m)::DATE",
        "), centre AS (",
        "    SELECT p.month, median(h.per_month) AS median_per_month, count(h.per_month) AS history_months",
        "    FROM period AS p LEFT JOIN landed AS h ON h.month <> p.month",
        "    GROUP BY p.month",
        "), spread AS (",
        "    SELECT c.month, greatest(1.4826 * median(abs(h.per_month - c.median_per_month)), sqrt(c.median_per_month)) AS sigma",
        "    FROM centre AS c LEFT JOIN landed AS h ON h.month <> c.month",
        "    GROUP BY c.month, c.median_per_month",
        "), band AS (",
        "    SELECT c.month, c.history_months, c.median_per_month * p.month_length AS expected,",
        f"        CASE WHEN c.history_months >= 6 THEN greatest(0, c.median_per_month - {BAND_SIGMAS} * s.sigma) * p.month_length END AS expected_low,",
        f"        CASE WHEN c.history_months >= 6 THEN (c.median_per_month + {BAND_SIGMAS} * s.sigma) * p.month_length END AS expected_high",
        "    FROM centre AS c JOIN spread AS s USING (month) JOIN period AS p USING (month)",
        ")",
        "SELECT p.month, strftime(p.month, '%Y-%m') AS month_label, p.records, p.quarter_records, b.history_months,",
        "    round(b.expected)::BIGINT AS expected, round(b.expected_low)::BIGINT AS expected_low, round(b.expected_high)::BIGINT AS expected_high,",
        "    -- a month missing from a quarter that did arrive: a return cut short (unless the source is usually quiet)",
        "    -- (a month partnership.yaml declares a known gap is neither missing nor out of band)",
        f"    CASE WHEN p.records = 0 AND NOT p.known_gap AND p.quarter_records > 0 AND coalesce(b.expected, {QUIET_MEDIAN}) >= {QUIET_MEDIAN}",
        "        THEN strftime(p.month, '%Y-%m') END AS month_without_records,",
        "    -- a whole quarter with no rows: not received yet (mart_submissions says whether it is overdue); a source",
        "    -- with no rows at all (not used by this partnership, or never delivered) is left to submission tracking",
        f"    CASE WHEN p.quarter_records = 0 AND NOT p.known_gap AND EXISTS (SELECT 1 FROM {table})",
        "        THEN strftime(p.month, '%Y-%m') || ' (its quarter has no rows)' END AS quarter_without_records,",
        "    CASE WHEN p.quarter_records > 0 AND NOT p.known_gap AND (p.records < round(b.expected_low) OR p.records > round(b.expected_high))",
        "        THEN strftime(p.month, '%Y-%m') || ': ' || p.records || ' records, expected '",
        "             || round(b.expected_low)::BIGINT || ' to ' || round(b.expected_high)::BIGINT END AS month_outside_band",
        "FROM period AS p JOIN band AS b USING (month)",
        "ORDER BY p.month",
    ]
    return {
        "name": f"raw.{source.name}_volume",
        "meta": {
            "csp": {"asset": f"raw/{source.name}", "batch": batch},
            "notes": (
                "Generated by pipeline/quality/templates.py (volume_suite); do not edit by hand. Monthly volume of "
                f"{_sentence_case(source.title)} over the reporting period (getvariable period_start/period_end), "
                "in the style of raw.police_street_volume.json. A month with no rows inside a quarter that did arrive is an "
                "error (a return cut short), unless the source's expected month has fewer than "
                f"{QUIET_MEDIAN} rows (a quiet month is then plausible; for a Poisson mean of {QUIET_MEDIAN}, P(0) is under "
                "0.005%). A whole quarter without rows is a warning only: partners deliver quarterly, within the following "
                "quarter, and mart_submissions reports the quarter as not yet due or overdue without blocking the documents "
                "that do not read the source. A month declared a known gap (partnership.yaml sources.<name>.known_gaps, "
                "reference.known_gaps) is neither missing nor out of band. A month outside the band is a warning. The band: counts per average month "
                "(months differ in length by up to 10%), median of the source's other landed months +/- "
                f"{BAND_SIGMAS} sigma, sigma estimated robustly as 1.4826 x MAD (the MAD of normal data) with sqrt(median) "
                f"as a floor (Poisson noise, for small or flat counts), from at least 6 months of history. {BAND_SIGMAS} "
                "sigma rather than the police.uk suite's 4 x MAD (2.7 sigma): some ten sources x 60 months is 600 months a run, "
                f"and at 2.7 sigma about four clean months a run would warn; at {BAND_SIGMAS} sigma about one run in thirty "
                "would. The spread learned from all months includes the source's seasonality and trend (none is modelled), "
                "so the band catches a month that lost or doubled a large share of its rows in a steady source, not a "
                "small shortfall in a seasonal or small one."
            ),
        },
        "expectations": [
            _expectation("expect_table_row_count_to_be_between", {"min_value": 1}, "error",
                         "the reporting period has at least one month"),
            _expectation("expect_column_values_to_be_null", {"column": "month_without_records"}, "error",
                         "every month of a quarter that arrived has rows"),
            _expectation("expect_column_values_to_be_null", {"column": "quarter_without_records"}, "warn",
                         "every quarter of the reporting period has arrived"),
            _expectation("expect_column_values_to_be_null", {"column": "month_outside_band"}, "warn",
                         "each month's row count is within the band learned from the other months"),
        ],
    }


# ----------------------------------------------------------------------------------------------- writing


def generated() -> dict[str, dict]:
    """Every generated suite by file name (written by pipeline/generated.py: `csp generate`)."""
    suites = {}
    for source in SOURCES.values():
        if source.hand_written_suites:
            continue
        suites[f"raw.{source.name}.json"] = raw_suite(source)
        if source.volume_checked:
            suites[f"raw.{source.name}_volume.json"] = volume_suite(source)
    return suites


def render(suite: dict) -> str:
    """The suite as JSON, one expectation's kwargs and meta per line, so that a file reads like the hand-written ones."""
    head = json.dumps({k: v for k, v in suite.items() if k != "expectations"}, indent=2, ensure_ascii=False)
    items = []
    for e in suite["expectations"]:
        fields = [f'"{k}": {json.dumps(v, ensure_ascii=False)}' for k, v in e.items()]
        items.append("    {\n      " + ",\n      ".join(fields) + "\n    }")
    return head[:-2] + ',\n  "expectations": [\n' + ",\n".join(items) + "\n  ]\n}\n"
