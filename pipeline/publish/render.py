"""Render a Quarto document (.qmd) to one self-contained HTML file, a tagged PDF and its figures as CSV and XLSX.

With the `quarto` CLI on PATH this is `quarto render` (publish/quarto.py). Quarto cannot be installed on
our machines, so otherwise the renderer drives the engines Quarto drives, one stage per module:

    qmd.py       read the .qmd: front matter, partials, chunks; refuse what is not supported
    execute.py   run the chunks in a Jupyter kernel, parameters injected
    markdown.py  the executed cells as Pandoc Markdown for one format, through our Pandoc filter
    html.py      Pandoc writes the self-contained HTML
    pdf.py       Pandoc writes Typst, Typst writes the PDF (tagged, PDF/UA-1)
    tables.py    every number the document showed, as figures.csv and figures.xlsx

Every render runs in a temporary folder of its own and moves finished files into place only when every
format succeeded: a failed render leaves the previous files where they were.
"""

from __future__ import annotations

import keyword
import math
import os
import shutil
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from pipeline.publish.execute import KeptKernel, execute, notebook
from pipeline.publish.html import write_html
from pipeline.publish.markdown import markdown, metadata_block, pandoc_ast
from pipeline.publish.pdf import write_pdf
from pipeline.publish.qmd import BUILD, RenderError, read_document
from pipeline.publish.quarto import render_with_quarto
from pipeline.publish.tables import FIGURES_JSON, write_figures

__all__ = ["FORMATS", "Look", "RenderError", "render_document"]

FORMATS = ("html", "pdf")
# What each output is called in the folder: the document under its stem, its figures under fixed names.
FIGURE_FILES = {"csv": "figures.csv", "xlsx": "figures.xlsx"}


@dataclass(frozen=True)
class Look:
    """How an edition presents itself: its marking on every page, and the partnership's branding.

    `marking` (e.g. "OFFICIAL-SENSITIVE", or a synthetic-data notice) is printed on every PDF page, in the
    PDF's metadata, at the top and bottom of the HTML and in every download: a publishing decision, so the
    caller makes it, not the template. `accent` must reach 3:1 against white (pipeline/config.py checks).
    """

    marking: str | None = None
    organisation: str | None = None
    accent: str | None = None
    logo: Path | None = None


def render_document(
    source: Path,
    out_dir: Path,
    params: dict[str, object],
    formats: Sequence[str] = ("html", "pdf"),
    stem: str | None = None,
    marking: str | None = None,
    look: Look | None = None,
    kernel: KeptKernel | None = None,
) -> dict[str, Path]:
    """Render `source` to `out_dir/<stem>.html` and `.pdf`, with `figures.csv` and `figures.xlsx` beside them
    when the document showed any table or chart; returns {"html": path, "pdf": path, "csv": ..., "xlsx": ...}.

    Renders in a fresh temporary folder of its own (never shared with another render), then moves each
    finished file into out_dir atomically (write to a temp name in out_dir, then os.replace), so a failed
    render leaves out_dir's previous files untouched. `kernel`: a worker's kept kernel (publish/pool.py) to run
    the cells in, rather than a fresh one.
    """
    source = Path(source).resolve()
    look = look or Look(marking=marking)
    formats = tuple(dict.fromkeys(formats))
    if not formats or any(f not in FORMATS for f in formats):
        raise RenderError(f"{source.name}: formats must be some of {FORMATS}, got {formats!r}")
    if not source.is_file():
        raise RenderError(f"{source}: no such document")
    _check_params(source, params)
    stem = stem or source.stem
    work = Path(tempfile.mkdtemp(prefix=f"csp-render-{stem}-"))
    try:
        quarto = shutil.which("quarto")
        if quarto:
            built = render_with_quarto(quarto, source, work, params, formats, look)
            built.update(write_figures(work / FIGURES_JSON, work / BUILD, look.marking))
        else:  # the kernel's closing cell wrote the figures files (publish/execute.py)
            built = _render_with_engines(source, work, params, formats, look, kernel)
            built.update({kind: work / BUILD / name for kind, name in FIGURE_FILES.items() if (work / BUILD / name).is_file()})
        return _publish(built, Path(out_dir), stem)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _check_params(source: Path, params: dict[str, object]) -> None:
    for key, value in params.items():
        if not isinstance(key, str) or not key.isidentifier() or keyword.iskeyword(key):
            raise RenderError(f"{source.name}: parameter name {key!r} is not a Python identifier")
        if type(value) not in (str, int, float, bool):
            raise RenderError(f"{source.name}: parameter {key}={value!r}: only str, int, float and bool are passed")
        if isinstance(value, float) and not math.isfinite(value):
            raise RenderError(f"{source.name}: parameter {key}={value!r} is not a finite number")


def _publish(built: dict[str, Path], out_dir: Path, stem: str) -> dict[str, Path]:
    """Copy every file beside its destination under a temporary name, then rename each into place."""
    out_dir.mkdir(parents=True, exist_ok=True)
    targets = {kind: out_dir / FIGURE_FILES.get(kind, f"{stem}.{kind}") for kind in built}
    staged: list[tuple[Path, Path]] = []
    try:
        for kind, path in built.items():
            part = out_dir / f".{targets[kind].name}.{uuid.uuid4().hex}.part"
            shutil.copyfile(path, part)
            staged.append((part, targets[kind]))
        for part, target in staged:
            os.replace(part, target)
    finally:
        for part, _ in staged:
            part.unlink(missing_ok=True)
    return targets


def _render_with_engines(source: Path, work: Path, params: dict[str, object],
                         formats: tuple[str, ...], look: Look, kernel: KeptKernel | None) -> dict[str, Path]:
    doc = read_document(source)
    (work / BUILD).mkdir()
    nb, plan = notebook(doc, params, formats, work, look.marking, keep_browser=kernel is not None)
    # The text alone through Pandoc and the filter first: an unsupported construct fails in a second,
    # not after the cells have run.
    pandoc_ast(doc, "\n\n".join([metadata_block(doc)] + [c.text for c in plan if c.kind == "markdown"]),
               "html", work)
    execute(doc, nb, plan, work, kernel)
    built = {}
    for fmt in formats:
        ast = pandoc_ast(doc, markdown(doc, nb, plan, fmt, work), fmt, work)
        built[fmt] = write_html(doc, ast, work, look) if fmt == "html" else write_pdf(doc, ast, work, look)
    return built
