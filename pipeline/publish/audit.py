"""The disclosure audit: every public output is read back, as a reader would get it, before it is released.

It looks at the HTML's tables and visible text, the chart data embedded in it (Plotly's JSON and the CSV
download links), `*.csv` and `*.xlsx` files and the PDF's text (pdftotext), and reports:

- a count from 1 to threshold-1 in a count column (a column headed like records, count, number, crimes...),
  or in a chart's whole-number series;
- a hidden cell that a published total gives away (a table with a total row and exactly one hidden cell
  in a column);
- anything shaped like a person identifier: a 32- or 64-hex pseudonym or police.uk Crime ID, a crime
  reference number, a full postcode, a date of birth, or any of the `forbidden` strings (e.g. names).

It is deliberately independent of how the edition was made: `csp audit DIR` runs it on any folder.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

HIDDEN = {"[c]", "[x]", ""}
COUNT_HEADING = re.compile(r"\b(records?|counts?|number|numerator|crimes|incidents|offences|cases|victims|people|persons|referrals|rows|total)\b", re.I)
NOT_COUNT_HEADING = re.compile(r"rate|per |per\b|%|percent|share|proportion|months?|year|interval|lower|upper|population|residents|households|ratio|change", re.I)
TOTAL_LABEL = re.compile(r"^\s*(total|all)\b", re.I)
IDENTIFIERS = {
    "a pseudonym or Crime ID (hex)": re.compile(r"(?<![0-9A-Za-z])[0-9a-fA-F]{32}(?:[0-9a-fA-F]{32})?(?![0-9A-Za-z])"),
    "a crime reference number": re.compile(r"\b(?:[A-Z]{2,4}-(?:19|20)\d{2}-\d{4,}|\d{2}/\d{5,7}/\d{2})\b"),
    "a full postcode": re.compile(r"\b(?:[A-Z]{1,2}\d[A-Z\d]?|GIR) ?\d[ABD-HJLNP-UW-Z]{2}\b"),
    "a date of birth": re.compile(r"(?:birth|\bDOB\b|\bD\.O\.B\b)\W{0,20}\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}", re.I),
}
OLD_DATE = re.compile(r"\b(?:(?:0?[1-9]|[12]\d|3[01])[/.-](?:0?[1-9]|1[0-2])[/.-](19\d{2})|(19\d{2})-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01]))\b")
WORKBOOK_FURNITURE = {"Cover", "Contents", "Notes"}  # gptables' own sheets: text about the tables, no counts
NOT_AUDITED = {"manifest.json"}  # provenance: SHA-256 of input files, not of people


@dataclass(frozen=True)
class Finding:
    file: str
    location: str
    what: str

    def __str__(self) -> str:
        return f"{self.file}: {self.location}: {self.what}"


@dataclass(frozen=True)
class Table:
    name: str
    columns: list[str]
    rows: list[list[str]]


def _number(text: str) -> float | None:
    cleaned = text.strip().replace(",", "")
    try:
        return float(cleaned)
    except ValueError:
        return None


def _is_count_column(heading: str) -> bool:
    return bool(COUNT_HEADING.search(heading.replace("_", " "))) and not NOT_COUNT_HEADING.search(heading.replace("_", " "))


def audit_table(file: str, table: Table, threshold: int) -> list[Finding]:
    """Small counts in count columns, and a lone hidden cell beside a total row."""
    findings = []
    status = next((table.columns.index(c) for c in ("disclosure_status", "status") if c in table.columns), None)
    totals = [i for i, row in enumerate(table.rows) if any(TOTAL_LABEL.match(c) for c in row[:2])]
    for j, heading in enumerate(table.columns):
        if not _is_count_column(heading):
            continue
        hidden = []
        for i, row in enumerate(table.rows):
            cell = row[j] if j < len(row) else ""
            value = _number(cell)
            if value is not None and value == int(value) and 0 < value < threshold:
                findings.append(Finding(file, f"{table.name}, row {i + 1}, column {heading!r}", f"count {cell.strip()} is below the threshold {threshold}"))
            if cell.strip() in HIDDEN and (status is None or row[status].strip()):
                hidden.append(i)
        if totals and len([i for i in hidden if i not in totals]) == 1:
            i = hidden[0]
            findings.append(Finding(file, f"{table.name}, row {i + 1}, column {heading!r}",
                                    "the only hidden cell beside a total row: it can be worked out by subtraction"))
    return findings


def audit_text(file: str, location: str, text: str, forbidden: tuple[str, ...] = ()) -> list[Finding]:
    """Anything shaped like a person identifier."""
    findings = [Finding(file, location, f"{what}: {match.group(0)[:70]!r}")
                for what, pattern in IDENTIFIERS.items() for match in pattern.finditer(text)]
    findings += [Finding(file, location, f"a date that may be a date of birth: {m.group(0)!r}") for m in OLD_DATE.finditer(text)]
    lowered = text.lower()
    findings += [Finding(file, location, f"a forbidden value (e.g. a name from a refused column): {word!r}")
                 for word in forbidden if word and word.lower() in lowered]
    return findings


def _csv_tables(where: str, text: str) -> list[Table]:
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    if not rows:
        return []
    header, body = rows[0], rows[1:]
    if {"table", "value", "unit"} <= set(header):  # figures.csv (tidy): a table's counts are its rows in a count unit
        k, v, u = header.index("table"), header.index("value"), header.index("unit")
        counts = [r for r in body if len(r) == len(header) and _is_count_column(r[u])]
        columns = [("count" if j == v else c) for j, c in enumerate(header)]
        return [Table(f"{where}table {t!r}", columns, [r for r in counts if r[k] == t]) for t in dict.fromkeys(r[k] for r in counts)]
    return [Table(f"{where}table", header, body)]


def _chart_findings(file: str, location: str, spec: dict, threshold: int) -> list[Finding]:
    """Whole-number series in a Plotly figure are counts; decode typed arrays (Plotly's "bdata") too."""
    import numpy as np

    findings = []
    for k, trace in enumerate(spec.get("data", [])):
        for axis in ("y", "x", "z", "values", "text"):
            values = trace.get(axis)
            if isinstance(values, dict) and "bdata" in values:
                values = np.frombuffer(base64.b64decode(values["bdata"]), dtype=np.dtype(values["dtype"])).tolist()
            if not isinstance(values, list):
                continue
            flat = [v for v in (x for row in values for x in (row if isinstance(row, list) else [row])) if isinstance(v, (int, float)) and not isinstance(v, bool)]
            if not flat or any(float(v) != int(v) for v in flat):
                continue  # a rate or percentage series, or not numbers
            small = [v for v in flat if 0 < v < threshold]
            if small:
                findings.append(Finding(file, f"{location}, trace {k + 1} ({trace.get('name') or trace.get('type')}) {axis}",
                                        f"count(s) below the threshold {threshold} in the chart data: {sorted(set(small))[:10]}"))
    return findings




def _plotly_specs(script: str) -> list[tuple[str, dict]]:
    """The data of each Plotly.newPlot call in a script (plotly.io.to_html writes data and layout as JSON)."""
    specs = []
    decoder = json.JSONDecoder()
    for match in re.finditer(r"Plotly\.newPlot\(\s*\"([^\"]+)\",\s*", script):
        try:
            data, _ = decoder.raw_decode(script, match.end())
        except json.JSONDecodeError:
            continue
        specs.append((match.group(1), {"data": data if isinstance(data, list) else []}))
    return specs


def audit_html(path: Path, name: str, threshold: int, forbidden: tuple[str, ...]) -> list[Finding]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
    findings = []
    for n, table in enumerate(soup.find_all("table"), start=1):
        rows = [[c.get_text(" ", strip=True) for c in tr.find_all(["th", "td"])] for tr in table.find_all("tr")]
        if rows:
            caption = table.find("caption")
            label = f"table {n}" + (f" ({caption.get_text(' ', strip=True)[:60]})" if caption else "")
            findings += audit_table(name, Table(label, rows[0], rows[1:]), threshold)
    for script in soup.find_all("script"):
        text = script.string or ""
        for chart, spec in _plotly_specs(text):
            findings += _chart_findings(name, f"chart {chart}", spec, threshold)
            findings += audit_text(name, f"chart {chart} data", json.dumps(spec), forbidden)
    for link in soup.find_all("a", href=re.compile(r"^data:text/csv")):
        header, _, payload = link["href"].partition(",")
        text = base64.b64decode(payload).decode("utf-8") if header.endswith(";base64") else payload
        where = f"download {link.get('download', 'csv')}"
        for table in _csv_tables(f"{where}, ", text):
            findings += audit_table(name, table, threshold)
        findings += audit_text(name, where, text, forbidden)
    for hidden in soup(["script", "style"]):
        hidden.decompose()
    findings += audit_text(name, "page text", soup.get_text(" "), forbidden)
    return findings


def audit_xlsx(path: Path, name: str, threshold: int, forbidden: tuple[str, ...]) -> list[Finding]:
    from openpyxl import load_workbook

    findings = []
    book = load_workbook(path, read_only=True, data_only=True)
    for sheet in book.worksheets:
        rows = [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)]
        rows = [r for r in rows if any(c.strip() for c in r)]
        # a sheet may open with notes (title, source); its table starts at the first row with a count heading
        start = next((i for i, r in enumerate(rows) if any(_is_count_column(c) for c in r) and sum(bool(c) for c in r) > 1), None)
        if start is not None and sheet.title not in WORKBOOK_FURNITURE:
            findings += audit_table(name, Table(f"sheet {sheet.title!r}", rows[start], rows[start + 1:]), threshold)
        findings += audit_text(name, f"sheet {sheet.title!r}", "\n".join("\t".join(r) for r in rows), forbidden)
    book.close()
    return findings


def pdf_text(path: Path) -> str:
    tool = shutil.which("pdftotext")
    if tool is None:
        raise RuntimeError("pdftotext (poppler-utils) is needed to audit a PDF: apt-get install poppler-utils")
    return subprocess.run([tool, "-layout", str(path), "-"], check=True, capture_output=True, text=True).stdout


def audit_folder(folder: Path, threshold: int = 5, forbidden: tuple[str, ...] = ()) -> list[Finding]:
    """Every finding in every output file under folder (HTML, CSV, XLSX, PDF, JSON, text)."""
    folder = Path(folder)
    findings: list[Finding] = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        name = str(path.relative_to(folder))
        suffix = path.suffix.lower()
        if path.name in NOT_AUDITED:
            continue
        if suffix in (".html", ".htm"):
            findings += audit_html(path, name, threshold, forbidden)
        elif suffix == ".csv":
            text = path.read_text(encoding="utf-8-sig")
            for table in _csv_tables("", text):
                findings += audit_table(name, table, threshold)
            findings += audit_text(name, "text", text, forbidden)
        elif suffix == ".xlsx":
            findings += audit_xlsx(path, name, threshold, forbidden)
        elif suffix == ".pdf":
            findings += audit_text(name, "PDF text", pdf_text(path), forbidden)
        elif suffix in (".json", ".txt", ".md"):
            findings += audit_text(name, "text", path.read_text(encoding="utf-8", errors="replace"), forbidden)
    return findings
