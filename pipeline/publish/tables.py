"""Every number a document showed, as `figures.csv` (tidy: one row a number) and `figures.xlsx` (GSS-style
accessible spreadsheet tables with ONS's gptables: a cover sheet, contents, notes, one table a sheet, [c]
for a suppressed cell). Both are written from figures.json, which show_table and show_chart fill as the
document runs (publish/figures.py), so neither can miss a number the document shows.
"""

from __future__ import annotations

import csv
import io
import json
import re
import warnings
from pathlib import Path

from pipeline.publish.manifest import epoch_datetime
from pipeline.publish.figures import FIGURES_JSON, SUPPRESSED, figure_value

__all__ = ["FIGURES_JSON", "CSV_COLUMNS", "write_figures"]

# indicator is the row's label as shown; indicator_id its catalogue entry (docs/indicators.md) and sources the
# partners' extracts it came from (manifest.json lists each extract file of those sources).
CSV_COLUMNS = ("table", "indicator", "area", "period", "value", "unit", "status", "indicator_id", "sources", "marking")


def write_figures(record: Path, folder: Path, marking: str | None) -> dict[str, Path]:
    """figures.csv and figures.xlsx in `folder` from the record, or nothing when the document showed no
    table or chart. Every row carries the edition's marking, so an extract of the CSV still says it."""
    if not record.is_file():
        return {}
    tables = json.loads(record.read_text(encoding="utf-8"))["tables"]
    folder.mkdir(parents=True, exist_ok=True)
    csv_path = folder / "figures.csv"
    csv_path.write_text(figures_csv(tables, marking), encoding="utf-8", newline="")
    xlsx_path = folder / "figures.xlsx"
    _write_xlsx(tables, xlsx_path, marking)
    return {"csv": csv_path, "xlsx": xlsx_path}


def figures_csv(tables: list[dict], marking: str | None) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for table in tables:
        for row in table["records"]:
            writer.writerow({**row, "marking": marking or ""})
    return out.getvalue()


def _sheet_name(caption: str, used: set[str]) -> str:
    """Excel sheet names: at most 31 characters, none of []:*?/\\, not starting or ending with an apostrophe (a
    ward called St Peter's, cut short), unique in the workbook."""
    base = re.sub(r"[\[\]:*?/\\]", "", caption)[:28].strip(" '") or "Table"
    name, n = base, 1
    while name.lower() in used:
        n += 1
        name = f"{base[:26]} {n}"
    used.add(name.lower())
    return name


def _write_xlsx(tables: list[dict], path: Path, marking: str | None) -> None:
    import gptables as gpt
    import pandas as pd

    sheets: dict[str, gpt.GPTable] = {}
    used: set[str] = set()
    suppressed_anywhere = False
    for number, table in enumerate(tables, start=1):
        columns = table["columns"]
        rows = []
        for cells in table["cells"]:
            row = []
            for text, is_num in zip(cells, table["numeric"]):
                if is_num and text not in ("", SUPPRESSED):
                    value = figure_value(text)
                    row.append(float(value) if "." in value else int(value))
                else:
                    row.append(text)
                suppressed_anywhere |= text == SUPPRESSED
            rows.append(row)
        frame = pd.DataFrame(rows, columns=columns)
        sheets[_sheet_name(f"{number} {table['caption']}", used)] = gpt.GPTable(
            table=frame,
            table_name=f"table_{number}",
            title=f"{table['caption']} $$note_1$$",  # gptables writes it as [note 1] and links the Notes sheet
            subtitles=[marking] if marking else [],
            instructions="This worksheet contains one table. A cell marked [c] is withheld; an empty cell has "
                         "nothing to show.",
            index_columns={2: 0} if columns and not table["numeric"][0] else None,
        )
    notes_table = pd.DataFrame({
        "Note number": ["note_1"],
        "Note text": ["Every number here is shown in the document, as shown there. "
                      + ("[c] marks a figure withheld to protect confidentiality (disclosure control)."
                         if suppressed_anywhere else "No figure in this workbook is withheld.")],
    })
    intro = ["Every number shown in the document's tables and charts, one table a sheet."]
    cover = gpt.Cover(title=tables[0]["caption"] if len(tables) == 1 else "Figures in this document",
                      intro=([marking] if marking else []) + intro,
                      about=["[c] marks a suppressed figure. The Notes sheet explains each [note]."])
    with warnings.catch_warnings():
        # gptables on pandas 3: deprecation notices about its own internals; and its reminder that empty
        # cells need a reason, which every sheet's instructions give.
        warnings.simplefilter("ignore", category=FutureWarning)
        warnings.simplefilter("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", message=r"\s*Empty or null cell found", category=UserWarning)
        book = gpt.produce_workbook(filename=str(path), sheets=sheets, cover=cover, contentsheet_label="Contents",
                                    notes_table=notes_table, auto_width=True)
    # xlsx stamps its creation date inside the file: the build epoch keeps two builds byte-identical.
    book.set_properties({"created": epoch_datetime(), "title": cover.title})
    book.close()
