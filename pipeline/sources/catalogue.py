"""docs/sources.md, written from the registry so that the page can never drift from the code.

Refresh it with `csp generate` (which also writes the generated suites); a test fails when it is stale.
"""

from pipeline.sources.base import Column, Source

TYPE_NOTES = {
    "text": "text",
    "code": "code",
    "integer": "whole number",
    "decimal": "number",
    "boolean": "Y/N",
    "month": "YYYY-MM",
    "date": "YYYY-MM-DD or DD/MM/YYYY",
    "datetime": "YYYY-MM-DD HH:MM[:SS]",
    "time": "HH:MM[:SS]",
    "lsoa": "LSOA code (2011 or 2021)",
    "pseudonym": "identifier, pseudonymised on ingest",
    "postcode": "postcode, cut to outward code on ingest",
}

INTRO = """# Sources

Every extract a partnership receives, one section per source, written from the declarations in
`pipeline/sources/` by `csp generate` (a test fails when this page is stale).

How any source is read (pipeline/ingest):
- Drop files in `<workspace>/raw/<source>/`. CSV (UTF-8, UTF-8 with BOM or Windows-1252; LF or CRLF;
  quoted newlines), XLSX (named sheet, heading row) or Parquet, as each source allows. `csp` never changes them.
- Headings are matched to the canonical column names below, or to the headings agencies use (listed), ignoring
  case, spaces and punctuation — except public standards (police.uk), whose headings must be exactly as
  published. A partner's own headings are mapped in `partnership.yaml`:
  `sources.<source>.aliases: {"Their heading": canonical_column}`; a column can also be mapped to `ignore`.
  `sources.<source>.constants` supplies a column a partner's file lacks (e.g. `{year: "2011"}`).
- A heading that looks like a person's details (name, date of birth, address, full postcode, phone, email,
  NHS number) refuses the file unless mapped. Identifier columns are replaced by a keyed HMAC-SHA256
  pseudonym before anything is written; postcodes are cut to the outward code.
- Row faults (a value of the wrong type, out of range, outside its allowed set, an LSOA code in neither ONS
  list, a future date) go to `raw._rejects` with file, line, column, value and reason; the rest of
  the file loads. More than `max_reject_share` (default 5%) rejected refuses the file whole.
- File faults (missing columns, empty, header only, not text, wrong sheet, a folder) refuse the file with a
  message naming the file and what was expected (`raw._refusals`); nothing already loaded changes.
- A file is known by its SHA-256: the same content again, under any name, changes nothing. A file covering a
  period (per issuer, where the source has one) that an earlier file covered is a corrected re-issue: it
  replaces those rows, and `raw._supersessions` says which file superseded which.
- Unless it would lose data. A re-issue is **held, not applied** (the old rows stay; `raw._held` records it;
  `csp check` says what it would replace and by what) when, for any period it covers, it has more than
  `reissue_tolerance` (default 20%) fewer or more rows, fewer distinct LSOAs, or fewer distinct values of the
  source's category column (below) than the rows it would replace. `csp accept FILE --workspace DIR` applies
  it; `sources.<source>.accept_reissues: true` applies every re-issue of a source.
- Two files for one period are not a file and its correction when they share no row (every column equal):
  the second is held as "two files cover 2024-07". A correction keeps most rows as they were; two weekly
  extracts, or two sites' returns without an issuer column, share none. `csp accept FILE` then replaces the
  first file's rows with the second's; `csp accept FILE --add` keeps both.
- Rows of any month land, inside the reporting period or not; `csp check` names the months outside it
  (kept as history, e.g. for five-year averages; the documents' figures cover the period only).
- A source is expected, and tracked for submission, only when it is enabled in `partnership.yaml` or has files
  in its folder. Each quarter is due `lag` months after it ends (below; `sources.<source>.lag_months` overrides).
"""


def _column_row(column: Column) -> str:
    rules = []
    if not column.required:
        rules.append("optional column")
    if not column.nullable:
        rules.append("value required")
    if column.minimum is not None:
        rules.append(f"≥ {column.minimum:g}")
    if column.maximum is not None:
        rules.append(f"≤ {column.maximum:g}")
    if column.allowed:
        rules.append("one of: " + ", ".join(f"`{v}`" for v in sorted(column.allowed)))
    if column.known:
        rules.append(f"{len(column.known)} known values; a new one warns")
    if column.reference:
        rules.append(f"in reference list `{column.reference}`")
    if column.derive is not None:
        rules.append("derived, not read")
    headings = ", ".join(f"`{h}`" for h in column.headings) or "—"
    return f"| `{column.name}` | {TYPE_NOTES[column.type]} | {headings} | {'; '.join(rules) or '—'} | {column.description or ''} |"


def _arrival(source: Source) -> str:
    """How often the source arrives, when each quarter is due, and what a re-issue may not lose."""
    due = f"; each quarter due {source.lag_months} months after it ends" if source.cadence != "ad hoc" else ""
    kept = [f"fewer `{c}` values" for c in (source.lsoa_column, source.category_column) if c]
    held = f" A re-issue covering {' or '.join(kept)} than the rows it replaces is held." if kept else ""
    return f"Arrives: {source.cadence}{due}.{held}"


def _section(source: Source) -> str:
    lines = [
        f"## `{source.name}` — {source.title}",
        "",
        f"Agency: {source.agency}. Files: {', '.join(source.file_suffixes)}. Drop folder: `raw/{source.name}/`. "
        f"Period: `{source.period_column}` ({source.period_grain})"
        + (f", per `{source.issuer_column}`" if source.issuer_column else "")
        + ("; headings exactly as published" if source.exact_header else "")
        + ".",
        "",
        _arrival(source),
        "",
    ]
    if source.notes:
        lines += [source.notes, ""]
    lines += ["| column | type | headings accepted | rules | notes |", "|---|---|---|---|---|"]
    lines += [_column_row(c) for c in source.columns]
    if source.example:
        lines += ["", "Example:", "", "```csv", source.example, "```"]
    return "\n".join(lines) + "\n"


def render() -> str:
    from pipeline.sources import SOURCES  # the registry imports every module here, this one included

    return INTRO + "\n" + "\n".join(_section(s) for s in SOURCES.values())


if __name__ == "__main__":
    print(render(), end="")
