"""The PDF stage: Pandoc writes Typst with reports/assets/csp.typ as its template, and Typst writes a
tagged PDF/UA-1 file whose every page carries the edition's marking in its header and footer.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.paths import REPORTS_DIR
from pipeline.publish.qmd import BUILD, Document, RenderError

if TYPE_CHECKING:
    from pipeline.publish.render import Look

TYPST_TEMPLATE = REPORTS_DIR / "assets" / "csp.typ"


def _headers(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, list):
        return [h for v in value for h in _headers(v)]
    if isinstance(value, dict) and value.get("t") in ("Div", "BlockQuote", "Header"):
        return [value] if value["t"] == "Header" else _headers(value["c"][-1])
    return []


def write_look(look: Look, folder: Path) -> Path:
    """The template and `csp-look.typ` (marking, organisation, accent, logo) it imports, into `folder`: the
    engines path and Quarto's Typst output read the same two files, so both carry the same markings."""
    shutil.copyfile(TYPST_TEMPLATE, folder / "csp.typ")
    logo = ""
    if look.logo:
        logo = f"csp-logo{look.logo.suffix.lower()}"
        shutil.copyfile(look.logo, folder / logo)
    values = {"marking": look.marking or "", "organisation": look.organisation or "",
              "accent": look.accent or "", "logo": logo}
    path = folder / "csp-look.typ"
    path.write_text("".join(f"#let {key} = {json.dumps(value, ensure_ascii=False)}\n" for key, value in values.items()),
                    encoding="utf-8")
    return path


def write_pdf(doc: Document, ast: dict[str, Any], work: Path, look: Look) -> Path:
    import pypandoc
    import typst

    build = work / BUILD
    write_look(look, work)
    source = work / "_csp_document.typ"
    # Quarto documents start their sections at ## under the title: in the PDF's outline they are level 1.
    headers = _headers(ast["blocks"])
    shift = min((h["c"][0] for h in headers), default=1) - 1
    for header in headers:
        header["c"][0] -= shift
    args = ["--standalone", "-V", "template=csp.typ", "-V", 'header-includes=#import "csp.typ": callout',
            *(["--toc"] if doc.toc else []), f"--toc-depth={max(1, 2 - shift)}", "--wrap=none",
            "--syntax-highlighting=monochrome"]
    try:
        pypandoc.convert_text(json.dumps(ast), "typst", format="json", extra_args=args, outputfile=str(source),
                              cworkdir=str(work), verify_format=False)
    except RuntimeError as exc:
        raise RenderError(f"{doc.name}: Pandoc could not write the Typst source: {exc}") from None
    out = build / "document.pdf"
    try:
        # The PDF's creation date and document ID come from the build epoch, so the same inputs give the same bytes.
        epoch = os.environ.get("SOURCE_DATE_EPOCH", "")
        typst.compile(str(source), output=str(out), root=str(work), pdf_standards=["ua-1"],
                      timestamp=int(epoch) if epoch.isdigit() else None)
    except Exception as exc:  # typst.TypstError: its diagnostic quotes the offending line of the Typst
        detail = getattr(exc, "diagnostic", None) or str(exc)
        raise RenderError(f"{doc.name}: Typst could not write the PDF (tagged, PDF/UA-1): {detail}") from None
    return out
