"""Map a file's headings onto a source's canonical columns, type every value, and set aside what is wrong.

File-level faults (missing or misnamed columns, an unmapped column that looks like a person's details)
refuse the file. Row-level faults become rejects with the line, column, value and reason; a row with any
fault is not accepted. All of it is vectorised Polars, a chunk of records at a time (a large CSV arrives as a
`TextStream`), and the accepted rows and rejects wait in DuckDB temp tables (`Staging`) for landing's one
transaction, so that a ten-million-row force file is never held in memory whole.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Callable

import duckdb
import polars as pl

from pipeline.ingest.readers import FileRefused, TextStream, TextTable, listed
from pipeline.sources.base import Column, Source

MAX_TEXT = 4000
DUCK_TYPES = {  # the warehouse type of each column type
    "text": "VARCHAR", "code": "VARCHAR", "integer": "BIGINT", "decimal": "DOUBLE", "boolean": "BOOLEAN",
    "month": "DATE", "date": "DATE", "datetime": "TIMESTAMP", "time": "TIME", "lsoa": "VARCHAR",
    "pseudonym": "VARCHAR", "postcode": "VARCHAR",
}
IGNORE = "ignore"  # an alias target that drops a column at the door, unread
IDENTIFIER_HEADING = re.compile(
    r"(^|_)(name|names|forenames?|surnames?|firstname|lastname|fullname|givenname|familyname|maidenname|"
    r"first_name|last_name|given_name|family_name|dob|d_o_b|date_of_birth|dateofbirth|birth_date|birthdate|"
    r"address|addr|address_line|street_address|house|postcode|post_code|postal_code|zip|phone|telephone|tel|mobile|"
    r"email|e_mail|nhs|nhs_number|nhs_no|ni_number|ni_no|nino|national_insurance)\d*(_|$)"
)
# the name of a place or a thing, not of a person: "Ward Name", "LSOA name", "Force Name" are not personal details
_NOT_A_PERSON = re.compile(
    r"(^|_)(lsoa|msoa|oa|ward|lad|la|local_authority|authority|district|county|force|csp|partnership|site|area|"
    r"region|country|offence|crime|category|type|team|station|beat|neighbourhood|organisation|agency|school|"
    r"hospital|trust|practice|file|sheet|venue|premises|business|establishment)_name(s)?$"
)
SAFE_IDENTIFIER_TYPES = ("pseudonym", "postcode")  # column types that never keep a personal detail in clear
_FULL_POSTCODE_IN_TEXT = r"(?i)\b([A-Z]{1,2}[0-9][A-Z0-9]?) ?[0-9][A-Z]{2}\b"
_ALLOWED_LISTED = 12  # a closed list this long or shorter is spelled out in a reject's reason
_TRUE = ["y", "yes", "true", "t", "1"]
_FALSE = ["n", "no", "false", "f", "0"]
_POSTCODE_FULL = r"^[A-Z]{1,2}[0-9][A-Z0-9]?[0-9][A-Z]{2}$"
_POSTCODE_OUTWARD = r"^[A-Z]{1,2}[0-9][A-Z0-9]?$"
_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y")
_DATETIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M")
_TIME_FORMATS = ("%H:%M:%S", "%H:%M")


def normalise_heading(heading: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", heading.strip().lower()).strip("_")


def looks_personal(heading: str) -> bool:
    """Whether a heading names a person's details (name, date of birth, address, full postcode, phone, email, NHS no.)."""
    key = normalise_heading(heading)
    return bool(IDENTIFIER_HEADING.search(key)) and not _NOT_A_PERSON.search(key)


@dataclass(frozen=True)
class ParseContext:
    lsoa_codes: pl.DataFrame  # lsoa_code, in_2011, in_2021: every LSOA of England and Wales (either vintage is accepted)
    today: date
    pseudonymise: Callable[[pl.Series], pl.Series]
    references: dict[str, frozenset[str]] = field(default_factory=dict)  # named lists a column can be checked against


def distinct_headings(headings: list[str]) -> list[str]:
    """A heading that repeats (the Census tables' "Persons", "Persons") is told apart as "Persons#2", "Persons#3"."""
    seen: dict[str, int] = {}
    out = []
    for heading in headings:
        seen[heading] = seen.get(heading, 0) + 1
        out.append(heading if seen[heading] == 1 else f"{heading}#{seen[heading]}")
    return out


def map_headings(
    source: Source, table: TextTable, aliases: dict[str, str], path: Path, constants: dict[str, str] | None = None
) -> tuple[dict[str, str], list[str]]:
    """Return {canonical column: cN} and the warnings about headings that were left unread."""
    canonical = {c.name for c in source.read_columns}
    wanted: dict[str, str] = {}  # heading key -> canonical name (or IGNORE)
    key = (lambda h: h.strip()) if source.exact_header else normalise_heading
    for column in source.read_columns:
        for heading in (column.name, *column.headings) if not source.exact_header else column.headings or (column.name,):
            wanted[key(heading)] = column.name
    for heading, target in aliases.items():
        if target != IGNORE and target not in canonical:
            raise FileRefused(path, f"partnership.yaml maps heading {heading!r} to {target!r}, which is not a column of {source.name}; expected one of {', '.join(sorted(canonical))} or {IGNORE!r}")
        wanted[key(heading)] = target
    aliased = {key(h): t for h, t in aliases.items()}
    published = {normalise_heading(h) for c in source.read_columns for h in (c.name, *c.headings)}

    mapping: dict[str, str] = {}
    warnings: list[str] = []
    for index, heading in enumerate(distinct_headings(table.headings)):
        target = wanted.get(key(heading))
        if target == IGNORE:
            continue
        personal = looks_personal(heading)
        if target is None:
            if personal and normalise_heading(heading) not in published:  # "LSOA Name" for "LSOA name" is a misspelling
                safe = sorted(c.name for c in source.read_columns if c.type in SAFE_IDENTIFIER_TYPES)
                raise FileRefused(
                    path,
                    f"line 1, column {index + 1} {heading!r}: looks like a person's details (name, date of birth, "
                    f"address, full postcode, phone, email or NHS number), which must never enter the warehouse; "
                    f"expected no such column. Remove it, or map it in partnership.yaml (sources.{source.name}.aliases) "
                    f"to {IGNORE!r}" + (f" or to a column that is pseudonymised or cut at the door ({', '.join(safe)})" if safe else ""),
                )
            warnings.append(f"column {index + 1} {heading!r} is not a column of {source.name} and was not read")
            continue
        if personal and key(heading) in aliased and source.column(target).type not in SAFE_IDENTIFIER_TYPES:
            safe = sorted(c.name for c in source.read_columns if c.type in SAFE_IDENTIFIER_TYPES)
            raise FileRefused(
                path,
                f"line 1, column {index + 1} {heading!r}: looks like a person's details, and partnership.yaml maps it to "
                f"{target!r}, which would keep it in clear; expected it mapped to {IGNORE!r}"
                + (f" or to a column that is pseudonymised or cut at the door ({', '.join(safe)})" if safe else ""),
            )
        if target in mapping:
            raise FileRefused(path, f"line 1, column {index + 1} {heading!r}: maps to {target!r}, which an earlier column already gives; expected each column once")
        mapping[target] = f"c{index}"

    missing = [c for c in source.read_columns if c.required and c.name not in mapping and c.name not in (constants or {})]
    if missing:
        details = []
        for column in missing:
            expected = column.headings[0] if source.exact_header and column.headings else column.name
            near = [h for h in table.headings if normalise_heading(h) in {normalise_heading(x) for x in (column.name, *column.headings)}]
            hint = f" (found {near[0]!r}: headings must be exactly as published)" if near else ""
            details.append(f"{expected!r}{hint}")
        raise FileRefused(
            path,
            f"line 1: missing required column(s) {listed(details, quote=False)}; the headings found were {listed(table.headings)}. "
            f"If a partner names a column differently, map it in partnership.yaml under sources.{source.name}.aliases",
        )
    return mapping, warnings


class Staging:
    """Where a file's parsed rows wait, chunk by chunk, for their one transaction: temp tables on a DuckDB connection.

    `staged` holds the typed, accepted rows (the source's columns and `_line`), `staged_rejects` the rejects
    (line, column, value, reason), both in line order. Landing stages on the warehouse's connection (DuckDB
    spills a large file to its temp folder instead of holding it in memory); `parse_table` alone on its own.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, source: Source):
        self.con = con
        columns = ", ".join(f'"{c.name}" {DUCK_TYPES[c.type]}' for c in source.columns)
        con.execute(f"CREATE OR REPLACE TEMP TABLE staged ({columns}, _line BIGINT)")
        con.execute('CREATE OR REPLACE TEMP TABLE staged_rejects (line BIGINT, "column" VARCHAR, value VARCHAR, reason VARCHAR)')

    def add(self, rows: pl.DataFrame, rejects: pl.DataFrame) -> None:
        for table, frame in (("staged", rows), ("staged_rejects", rejects)):
            if frame.height:
                self.con.register("_chunk", frame.to_arrow())
                try:
                    self.con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _chunk")
                finally:
                    self.con.unregister("_chunk")

    def rows(self) -> pl.DataFrame:
        return pl.from_arrow(self.con.sql("SELECT * FROM staged ORDER BY _line").to_arrow_table())

    def rejects(self, limit: int | None = None) -> pl.DataFrame:
        return pl.from_arrow(self.con.sql("SELECT * FROM staged_rejects" + (f" LIMIT {int(limit)}" if limit else "")).to_arrow_table())

    def drop(self) -> None:
        self.con.execute("DROP TABLE IF EXISTS temp.staged; DROP TABLE IF EXISTS temp.staged_rejects")


@dataclass
class Parsed:
    staging: Staging  # the accepted rows (canonical, typed columns plus _line) and the rejects
    rows_read: int
    rows_accepted: int
    warnings: list[str] = field(default_factory=list)
    rows_repeated: int = 0  # accepted rows equal in every column to an earlier row of the file (exact_repeats)

    @property
    def rows(self) -> pl.DataFrame:
        return self.staging.rows()

    @property
    def rejects(self) -> pl.DataFrame:  # line, column, value, reason
        return self.staging.rejects()


def exact_repeats(con: duckdb.DuckDBPyConnection, table: str, columns: list[str]) -> tuple[int, tuple[int, int] | None]:
    """How many rows of `table` repeat an earlier row of the same file in every canonical column, and the first
    (line, first_line) of them.

    The one definition of an exact duplicate. Within a file is enough: two files of a source never hold the
    same period (and issuer), because the later one replaces it, so rows of different files always differ.
    Repeats are reported, not dropped: without an identity two equal rows may be two events (police.uk's
    anti-social behaviour at one anonymised map point); a record with an identity is counted once downstream.
    """
    quoted = ", ".join(f'"{c}"' for c in columns)
    n, line, first = con.execute(  # rows whose hash repeats, grouped by their values: one group of equal rows each
        f"""WITH hashed AS (SELECT hash({quoted}) AS h, * FROM {table}),
                twice AS (SELECT h FROM hashed GROUP BY h HAVING count(*) > 1)
            SELECT coalesce(sum(n - 1), 0), min(lines[2]) FILTER (n > 1), arg_min(lines[1], lines[2]) FILTER (n > 1)
            FROM (SELECT count(*) AS n, min(_line, 2) AS lines FROM hashed SEMI JOIN twice USING (h) GROUP BY {quoted})"""
    ).fetchall()[0]
    return int(n), (line, first) if n else None


def parse_table(
    source: Source, table: TextTable | TextStream, mapping: dict[str, str], ctx: ParseContext,
    constants: dict[str, str] | None = None, *, staging: Staging | None = None,
) -> Parsed:
    """Type and check every value of a file (one table, or a stream of chunks), staging the accepted rows and the
    rejects; without `staging`, in an in-memory DuckDB (`Parsed.rows` and `.rejects` read them back)."""
    staging = staging or Staging(duckdb.connect(), source)
    rows_read = rows_accepted = blank_lines = 0
    cut: dict[str, int] = {}
    unseen: dict[str, tuple[int, list[str]]] = {}
    for chunk in table.chunks():
        part = _parse_chunk(source, chunk, mapping, ctx, constants or {})
        staging.add(part.rows, part.rejects)
        rows_read += part.rows_read
        rows_accepted += part.rows.height
        blank_lines += chunk.blank_lines
        for name, n in part.cut.items():
            cut[name] = cut.get(name, 0) + n
        for name, (n, sample) in part.unseen.items():
            before = unseen.get(name, (0, []))
            unseen[name] = (before[0] + n, sorted(set(before[1]) | set(sample))[:3])

    warnings = []
    if blank_lines:
        warnings.append(f"{blank_lines:,} blank line(s) skipped")
    repeated, example = exact_repeats(staging.con, "staged", [c.name for c in source.columns])
    if repeated:
        warnings.append(
            f"{repeated:,} row(s) repeat an earlier row of this file exactly (e.g. line {example[0]} repeats line {example[1]}); "
            "kept, as two equal rows may be two events (see docs/bad-inputs.md)"
        )
    for name, n in cut.items():
        if n:
            warnings.append(f"{n:,} value(s) of {name} held a full postcode, cut to its outward code")
    for name, (n, sample) in sorted(unseen.items(), key=lambda item: [c.name for c in source.columns].index(item[0])):
        warnings.append(f"{n} row(s) have a {name} not seen before: {', '.join(map(repr, sample))} (kept)")
    return Parsed(staging, rows_read, rows_accepted, warnings, repeated)


@dataclass
class _Part:
    rows: pl.DataFrame  # accepted, typed, pseudonymised, with _line
    rejects: pl.DataFrame
    rows_read: int
    cut: dict[str, int]  # text column -> accepted values whose full postcode was cut
    unseen: dict[str, tuple[int, list[str]]]  # column -> (rows with a value not seen before, the first three values)


def _parse_chunk(source: Source, table: TextTable, mapping: dict[str, str], ctx: ParseContext, constants: dict[str, str]) -> _Part:
    # each column's raw text, then its value, then its reason, each step materialised once: an expression
    # referred to twice in one Polars step is computed twice
    raws = []
    for column in source.read_columns:
        raw = pl.col(mapping[column.name]).str.strip_chars() if column.name in mapping else pl.lit(constants.get(column.name), pl.String)
        raws.append(raw.replace("", None).alias(f"_raw_{column.name}"))
    frame = table.data.select(*raws, table.lines.alias("_line"))
    values, reasons = [], []
    for column in source.read_columns:
        raw = pl.col(f"_raw_{column.name}")
        value, reason = _typed(column, raw, ctx)
        if column.type == "text" and not source.exact_header:  # a partner's free text: no full postcode in clear
            value = _cut_postcodes(value)
        values.append(value.alias(column.name))
        reasons.append((column, reason))
    frame = frame.with_columns(values)
    why = []
    for column, reason in reasons:
        if column.reference:
            listed = sorted(ctx.references[column.reference])
            value = pl.col(column.name)
            reason = pl.when(value.is_not_null() & ~value.cast(pl.String).is_in(listed)).then(
                pl.lit(f"not in the reference list {column.reference}; expected a code listed there")
            ).otherwise(reason)
        if not column.nullable:
            reason = pl.when(pl.col(f"_raw_{column.name}").is_null()).then(pl.lit("blank, but a value is required")).otherwise(reason)
        why.append(reason.alias(f"_why_{column.name}"))

    # a line wrong as a whole (cut short, too many or too few fields): one reject for the line, not one per column
    if table.faults is not None and table.faults.len() == frame.height:
        fault = table.faults.cast(pl.String).clone().alias("_fault")
    else:
        fault = pl.repeat(None, frame.height, dtype=pl.String, eager=True).alias("_fault")
    if table.truncated_last_line and frame.height:
        fault = fault.scatter(frame.height - 1, "the file ends part-way through this line (truncated); expected the whole line")
    typed = frame.with_columns(*why, fault)
    read_fault = pl.any_horizontal([pl.col(f"_why_{c.name}").is_not_null() for c in source.read_columns] + [pl.col("_fault").is_not_null()])
    for column in source.columns:
        if column.derive is not None:
            derived = column.derive()
            # a derived value is only missing for want of a good value read from the row: name that one alone
            why = (pl.when(derived.is_null() & ~read_fault).then(pl.lit(f"{column.name} cannot be worked out from this row")) if not column.nullable else pl.lit(None, pl.String))
            typed = typed.with_columns(
                derived.alias(column.name),
                pl.lit(None, pl.String).alias(f"_raw_{column.name}"),
                why.alias(f"_why_{column.name}"),
            )

    bad = pl.any_horizontal([pl.col(f"_why_{c.name}").is_not_null() for c in source.columns] + [pl.col("_fault").is_not_null()])
    typed = typed.with_columns(bad.alias("_bad"))
    wide = typed.filter(pl.col("_bad")).lazy()  # rejects come from the few bad rows, not the whole wide frame
    long = pl.concat(
        [
            wide.filter(pl.col(f"_why_{c.name}").is_not_null() & pl.col("_fault").is_null()).select(
                pl.col("_line").alias("line"),
                pl.lit(_heading(c, mapping, table)).alias("column"),
                _reject_value(c, pl.col(f"_raw_{c.name}")).alias("value"),
                pl.col(f"_why_{c.name}").alias("reason"),
            )
            for c in source.columns
        ]
        + [
            wide.filter(pl.col("_fault").is_not_null()).select(
                pl.col("_line").alias("line"),
                pl.lit("(whole line)").alias("column"),
                pl.lit(None, pl.String).alias("value"),
                pl.col("_fault").alias("reason"),
            )
        ],
        how="vertical",
    ).collect()
    ids = {_heading(c, mapping, table) for c in source.columns if c.type == "pseudonym"}
    if ids and long.height:
        hidden = long.filter(pl.col("column").is_in(sorted(ids)) & pl.col("value").is_not_null())
        if hidden.height:  # an identifier never lands in clear, not even in a reject
            long = pl.concat([
                long.filter(~(pl.col("column").is_in(sorted(ids)) & pl.col("value").is_not_null())),
                hidden.with_columns(("pseudonym " + ctx.pseudonymise(hidden["value"])).alias("value")),
            ])
    long = long.sort("line", maintain_order=True)
    good = typed.filter(~pl.col("_bad"))
    rows = good.select([c.name for c in source.columns] + ["_line"])

    cut = {}
    for column in source.read_columns:
        if column.type == "text" and column.name in mapping and not source.exact_header:
            cut[column.name] = good.select((pl.col(column.name) != pl.col(f"_raw_{column.name}")).sum()).item()
    unseen = {}
    for column in source.columns:
        if column.known and column.name in mapping:
            new = rows.filter(pl.col(column.name).is_not_null() & ~pl.col(column.name).is_in(sorted(column.known)))
            if new.height:
                unseen[column.name] = (new.height, new[column.name].unique().sort().head(3).to_list())
    return _Part(_pseudonymise(source, rows, ctx), long, frame.height, cut, unseen)


def _reject_value(column: Column, raw: pl.Expr) -> pl.Expr:
    """What a reject shows of a bad value: at most 200 characters, with no full postcode in clear."""
    if column.type == "postcode":  # a bad postcode may still be most of one, or an address: keep its start only
        return pl.when(raw.str.len_chars() > 4).then(raw.str.slice(0, 4) + "…").otherwise(raw)
    shown = raw.str.slice(0, 200)
    return _cut_postcodes(shown) if column.type == "text" else shown


def _cut_postcodes(text: pl.Expr) -> pl.Expr:
    return text.str.replace_all(_FULL_POSTCODE_IN_TEXT, "${1}")


def _heading(column: Column, mapping: dict[str, str], table: TextTable) -> str:
    index = mapping.get(column.name)
    return distinct_headings(table.headings)[int(index[1:])] if index else column.name


def _pseudonymise(source: Source, rows: pl.DataFrame, ctx: ParseContext) -> pl.DataFrame:
    ids = [c.name for c in source.columns if c.type == "pseudonym"]
    return rows.with_columns(ctx.pseudonymise(rows[name]).alias(name) for name in ids) if ids else rows


def _first_parse(raw: pl.Expr, dtype, formats: tuple[str, ...]) -> pl.Expr:
    return pl.coalesce([raw.str.strptime(dtype, f, strict=False) for f in formats])


def _typed(column: Column, raw: pl.Expr, ctx: ParseContext) -> tuple[pl.Expr, pl.Expr]:
    """The typed value and the reason it is wrong (null when it is fine) for one column.

    The reason reads the value from the column of its name (`_parse_chunk` works the values out first).
    """
    typed = pl.col(column.name)
    none = pl.lit(None, pl.String)
    kind = column.type
    if kind in ("text", "code", "pseudonym"):
        reason = pl.when(raw.str.len_chars() > MAX_TEXT).then(
            pl.lit(f"longer than {MAX_TEXT:,} characters; expected at most {MAX_TEXT:,}")
        ).otherwise(none)
        if column.allowed:
            allowed = sorted(column.allowed)
            listed = ", ".join(map(repr, allowed)) if len(allowed) <= _ALLOWED_LISTED else "one of them (see docs/sources.md)"
            reason = pl.when(raw.is_not_null() & ~raw.is_in(allowed)).then(
                pl.lit(f"not one of the {len(allowed)} values allowed for {column.name}; expected {listed}")
            ).otherwise(reason)
        return raw, reason
    if kind in ("integer", "decimal"):
        text = raw.str.replace_all(",", "")
        pattern = r"^[+-]?\d+$" if kind == "integer" else r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
        dtype = pl.Int64 if kind == "integer" else pl.Float64
        ok = text.str.contains(pattern)
        value = pl.when(ok).then(text).otherwise(None).cast(dtype, strict=False)
        noun = "a whole number" if kind == "integer" else "a number"
        if column.minimum is not None and column.maximum is not None:
            expected = f"{noun} from {column.minimum:g} to {column.maximum:g}"
        elif column.minimum is not None:
            expected = f"{noun} of at least {column.minimum:g}"
        elif column.maximum is not None:
            expected = f"{noun} of at most {column.maximum:g}"
        else:
            expected = noun
        wrong = typed.is_null() | (typed.is_infinite() if kind == "decimal" else pl.lit(False))  # null unless it matched; "1e999" is no number
        reason = pl.when(raw.is_not_null() & wrong).then(pl.lit(f"not a number; expected {noun}"))
        if column.minimum is not None:
            reason = reason.when(typed < column.minimum).then(pl.lit(f"below the minimum of {column.minimum:g}; expected {expected}"))
        if column.maximum is not None:
            reason = reason.when(typed > column.maximum).then(pl.lit(f"above the maximum of {column.maximum:g}; expected {expected}"))
        return value, reason.otherwise(none)
    if kind == "boolean":
        lower = raw.str.to_lowercase()
        value = pl.when(lower.is_in(_TRUE)).then(True).when(lower.is_in(_FALSE)).then(False).otherwise(None)
        reason = pl.when(raw.is_not_null() & typed.is_null()).then(pl.lit("not yes/no; expected Y/N, yes/no, true/false or 1/0")).otherwise(none)
        return value, reason
    if kind in ("month", "date", "datetime", "time"):
        if kind == "month":
            value = pl.when(raw.str.contains(r"^\d{4}-\d{2}$")).then(raw + "-01").otherwise(None).str.strptime(pl.Date, "%Y-%m-%d", strict=False)
            expected, latest = "a month written YYYY-MM", date(ctx.today.year, ctx.today.month, 1)
        elif kind == "date":
            value, expected, latest = _first_parse(raw, pl.Date, _DATE_FORMATS), "a date written YYYY-MM-DD or DD/MM/YYYY", ctx.today
        elif kind == "datetime":
            value, expected, latest = _first_parse(raw, pl.Datetime("us"), _DATETIME_FORMATS), "a date and time written YYYY-MM-DD HH:MM[:SS]", None
        else:
            value, expected, latest = _first_parse(raw, pl.Time, _TIME_FORMATS), "a time written HH:MM[:SS]", None
        reason = pl.when(raw.is_not_null() & typed.is_null()).then(pl.lit(f"not {expected}"))
        if latest is not None:
            last = f"{latest:%Y-%m}" if kind == "month" else f"{latest:%Y-%m-%d}"
            reason = reason.when(typed > pl.lit(latest)).then(pl.lit(f"in the future (after {latest:%Y-%m-%d}); expected {last} or earlier"))
        elif kind == "datetime":
            reason = reason.when(typed.dt.date() > pl.lit(ctx.today)).then(pl.lit(f"in the future (after {ctx.today:%Y-%m-%d}); expected {ctx.today:%Y-%m-%d} or earlier"))
        return value, reason.otherwise(none)
    if kind == "lsoa":
        # Either vintage is accepted as written; conformed.placements converts the other one (pipeline/placement.py).
        code = raw.str.to_uppercase()
        reason = (
            pl.when(raw.is_null()).then(none)
            .when(~typed.str.contains(r"^[EW]01\d{6}$")).then(pl.lit("not an LSOA code; expected E01 or W01 and six digits"))
            .when(typed.is_in(ctx.lsoa_codes["lsoa_code"].implode())).then(none)
            .otherwise(pl.lit("unknown LSOA code: not in the ONS lists of LSOA 2011 and 2021 codes; expected an LSOA code of England or Wales"))
        )
        return code, reason
    if kind == "postcode":
        compact = raw.str.to_uppercase().str.replace_all(r"\s+", "")
        full = compact.str.contains(_POSTCODE_FULL)
        outward = pl.when(full).then(compact.str.slice(0, compact.str.len_chars() - 3)).when(compact.str.contains(_POSTCODE_OUTWARD)).then(compact).otherwise(None)
        reason = pl.when(raw.is_not_null() & typed.is_null()).then(pl.lit("not a postcode or outward code; expected e.g. HX1 or HX1 2AB")).otherwise(none)
        return outward, reason
    raise ValueError(f"column {column.name}: unknown type {kind!r}")
