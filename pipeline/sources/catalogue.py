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
