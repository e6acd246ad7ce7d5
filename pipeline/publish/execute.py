"""Running a parsed document: a Jupyter notebook of its chunks, with the parameters injected, run in a
fresh kernel of our own. A failing cell is reported by its label and line in the .qmd, not the notebook.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.paths import PROJECT_ROOT
from pipeline.publish.figures import FIGURES_JSON, raw_block
from pipeline.publish.qmd import BUILD, Chunk, Document, RenderError

log = logging.getLogger(__name__)

CELL_TIMEOUT = 900  # seconds one cell may run before the render fails
KERNEL_NAME = "csp-render"
_CELL_LINE = re.compile(r"Cell In\[\d+\], line (\d+)")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
INLINE = re.compile(r"(?<!`)`\{python\}\s+([^`]+?)\s*`(?!`)")
_INLINE_OTHER = re.compile(r"(?<!`)`\{(?!python\})([A-Za-z][\w-]*)\}\s+[^`]+`")


@dataclass
class Cell:
    kind: str  # markdown | chunk | inline | setup | params | finish
    text: str = ""
    chunk: Chunk | None = None

    def describe(self, doc: Document) -> str:
        if self.chunk:
            return self.chunk.describe(doc)
        if self.kind == "inline":
            return f"the inline expression(s) {self.text}"
        return {"setup": "the renderer's setup cell", "params": "the injected parameters cell",
                "finish": "the renderer's closing cell (static images of the charts, figures.csv and figures.xlsx)"}[self.kind]


def notebook(doc: Document, params: dict[str, object], formats: tuple[str, ...],
              work: Path, marking: str | None = None) -> tuple[Any, list[Cell]]:
    """jupytext's notebook of the document, with the renderer's cells and the parameters injected."""
    import jupytext
    import nbformat

    parsed = jupytext.reads(doc.body, fmt="Rmd")
    python = [c for c in parsed.cells if c.cell_type == "code" and "language" not in c.metadata]
    if len(python) != len(doc.chunks) or any(
        c.source.strip() != k.source.strip() for c, k in zip(python, doc.chunks)
    ):
        raise RenderError(f"{doc.name}: jupytext found {len(python)} python cells where the chunk scan found "
                          f"{len(doc.chunks)}: check the fences around the chunks")
    setup = (f"import pipeline.publish.figures as _csp_figures\n"
             f"_csp_figures.configure(formats={list(formats)!r}, out_dir={str(work)!r}, marking={marking!r})")
    cells = [nbformat.v4.new_code_cell(setup)]
    plan = [Cell("setup")]
    chunks = iter(doc.chunks)
    injected = False
    for cell in parsed.cells:
        if cell.cell_type == "markdown":
            if bad := _INLINE_OTHER.search(cell.source):
                raise RenderError(f"{doc.name}: inline `{{{bad.group(1)}}} ...` expressions are not supported, "
                                  "only `{python} ...`")
            if expressions := INLINE.findall(cell.source):
                cells.append(nbformat.v4.new_code_cell(_inline_cell(expressions)))
                plan.append(Cell("inline", ", ".join(f"`{e}`" for e in expressions)))
            cells.append(nbformat.v4.new_markdown_cell(cell.source))
            plan.append(Cell("markdown", cell.source))
        elif cell.cell_type == "code" and "language" in cell.metadata:  # a ```{=html} raw block
            text = raw_block(cell.metadata["language"].lstrip("="), cell.source)
            cells.append(nbformat.v4.new_markdown_cell(text))
            plan.append(Cell("markdown", text))
        elif cell.cell_type == "code":
            chunk = next(chunks)
            run = {**doc.defaults, **chunk.options}["eval"]
            cells.append(nbformat.v4.new_code_cell(chunk.source if run else ""))
            plan.append(Cell("chunk", chunk=chunk))
            if "parameters" in (chunk.options.get("tags") or []) and params and not injected:
                _check_param_names(doc, chunk, params)
                assigns = "\n".join(f"{key} = {value!r}" for key, value in params.items())
                cells.append(nbformat.v4.new_code_cell("# Injected parameters\n" + assigns))
                plan.append(Cell("params"))
                injected = True
        else:
            raise RenderError(f"{doc.name}: unexpected {cell.cell_type} cell: {cell.source[:80]!r}")
    if params and not injected:
        raise RenderError(f"{doc.name}: parameters {sorted(params)} were given but no cell has "
                          "'#| tags: [parameters]'")
    # figures.csv and figures.xlsx too, here in the kernel: a process of its own, so editions rendering side by
    # side write their workbooks in parallel rather than in turn under the renderer's interpreter lock.
    cells.append(nbformat.v4.new_code_cell(
        "_csp_figures.finish()\n"
        "from pathlib import Path as _csp_Path\n"
        "from pipeline.publish.tables import write_figures as _csp_write_figures\n"
        f"_csp_write_figures(_csp_Path({str(work / FIGURES_JSON)!r}), _csp_Path({str(work / BUILD)!r}), {marking!r})"))
    plan.append(Cell("finish"))
    return nbformat.v4.new_notebook(cells=cells), plan


def _inline_cell(expressions: list[str]) -> str:
    """Evaluates a markdown cell's `{python} expr` in order; prints their text as one JSON list."""
    items = ", ".join(f"({e})" for e in expressions)
    return ("import json as _csp_json\n"
            "print('\\x1eCSP-INLINE' + _csp_json.dumps([_v._repr_markdown_() if hasattr(_v, '_repr_markdown_') "
            f"else str(_v) for _v in [{items}]]))")


def _check_param_names(doc: Document, chunk: Chunk, params: dict[str, object]) -> None:
    """A misspelt parameter would be injected and never read: refuse names the document does not declare."""
    declared = set(doc.meta.get("params") or {}) or set(re.findall(r"^(\w+)\s*=", chunk.code, re.M))
    unknown = sorted(set(params) - declared)
    if unknown:
        raise RenderError(f"{doc.name}: unknown parameter(s) {unknown}; the document declares {sorted(declared)}")


def pythonpath() -> str:
    """The project first, so the kernel imports `pipeline` even where the package is not installed."""
    return os.pathsep.join(p for p in (str(PROJECT_ROOT), os.environ.get("PYTHONPATH", "")) if p)


def _kernel_spec(work: Path) -> Path:
    """A kernel spec of our own: this interpreter, the project on PYTHONPATH, no user profile or history."""
    folder = work / BUILD / "kernels"
    spec = folder / KERNEL_NAME
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}",
                 "--HistoryManager.hist_file=:memory:"],
        "display_name": "Python (report render)",
        "language": "python",
        "env": {"PYTHONPATH": pythonpath(), "IPYTHONDIR": str(work / BUILD / "ipython"),
                "PYDEVD_DISABLE_FILE_VALIDATION": "1"},
    }))
    return folder


def execute(doc: Document, nb: Any, plan: list[Cell], work: Path) -> None:
    """Run every cell in one fresh kernel, stopping at the first error."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    # IPC sockets inside the render folder: no TCP port to race for, nothing reachable from the network.
    km = AsyncKernelManager(kernel_name=KERNEL_NAME, transport="ipc", ip=str(work / BUILD / "k"),
                            kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(_kernel_spec(work))]))
    client = NotebookClient(nb, km=km, timeout=CELL_TIMEOUT, startup_timeout=120, allow_errors=False,
                            shutdown_kernel="immediate", resources={"metadata": {"path": str(work)}})
    try:
        with client.setup_kernel(cleanup_kc=True):
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code" or not cell.source.strip():
                    continue
                try:
                    client.execute_cell(cell, index)
                    _log_stderr(doc, plan[index], cell)
                except CellExecutionError:
                    raise RenderError(_failure(doc, plan[index], cell)) from None
                except (CellTimeoutError, DeadKernelError) as exc:
                    raise RenderError(f"{doc.name}: {plan[index].describe(doc)}: {exc}") from None
    except RenderError:
        raise
    except Exception as exc:  # the kernel would not start, or died between cells
        raise RenderError(f"{doc.name}: the Jupyter kernel failed: {type(exc).__name__}: {exc}") from exc


def _failure(doc: Document, planned: Cell, cell: Any) -> str:
    error = next((o for o in cell.outputs if o.output_type == "error"), None)
    cause = f"{error.ename}: {error.evalue}" if error else "the cell failed"
    trace = _ANSI.sub("", "\n".join(error.traceback)) if error else ""
    message = f"{doc.name}: {planned.describe(doc)} failed: {cause}"
    at = _CELL_LINE.search(trace)
    if planned.chunk and at:
        line_in_cell = int(at.group(1))
        lines = planned.chunk.source.splitlines()
        text = lines[line_in_cell - 1].strip() if 0 < line_in_cell <= len(lines) else ""
        message += (f"\n  at line {planned.chunk.line + line_in_cell} of {doc.relative(planned.chunk.path)}: {text}")
    return f"{message}\n\n{trace}"


def _log_stderr(doc: Document, planned: Cell, cell: Any) -> None:
    """Warnings stay out of a published report (unless #| warning: true) but reach the log."""
    for out in cell.get("outputs", []):
        if out.output_type == "stream" and out.name == "stderr" and out.text.strip():
            log.warning("%s: %s wrote to stderr: %s", doc.name, planned.describe(doc), out.text.strip()[:2000])
