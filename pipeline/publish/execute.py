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
from pipeline.publish.manifest import EPOCH_ENV
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
             work: Path, marking: str | None = None, keep_browser: bool = False) -> tuple[Any, list[Cell]]:
    """jupytext's notebook of the document, with the renderer's cells and the parameters injected.

    `keep_browser` for a kept kernel: the setup cell first clears what the last document left and points the
    kernel at this render's folder and build epoch; charts are drawn by the kernel's one browser."""
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
             f"_csp_figures.configure(formats={list(formats)!r}, out_dir={str(work)!r}, marking={marking!r}, "
             f"keep_browser={keep_browser!r})")
    if keep_browser:  # a kept kernel (KeptKernel): last document's names gone, this render's folder and epoch
        # chdir before reset (reset reads the working folder: the last render's, removed by now); os again after it
        setup = (f"import os as _csp_os\n_csp_os.chdir({str(work)!r})\nget_ipython().reset(new_session=True)\n"
                 f"import os as _csp_os\n_csp_os.environ.pop({EPOCH_ENV!r}, None)\n"
                 + (f"_csp_os.environ[{EPOCH_ENV!r}] = {epoch!r}\n" if (epoch := os.environ.get(EPOCH_ENV)) else "")
                 + setup)
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


def _kernel_spec(folder: Path) -> Path:
    """A kernel spec of our own: this interpreter, the project on PYTHONPATH, no user profile or history."""
    specs = folder / "kernels"
    spec = specs / KERNEL_NAME
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}",
                 "--HistoryManager.hist_file=:memory:"],
        "display_name": "Python (report render)",
        "language": "python",
        "env": {"PYTHONPATH": pythonpath(), "IPYTHONDIR": str(folder / "ipython"),
                "PYDEVD_DISABLE_FILE_VALIDATION": "1"},
    }))
    return specs


def _kernel_manager(folder: Path) -> Any:
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager

    # IPC sockets inside the folder: no TCP port to race for, nothing reachable from the network.
    return AsyncKernelManager(kernel_name=KERNEL_NAME, transport="ipc", ip=str(folder / "k"),
                              kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(_kernel_spec(folder))]))


class KeptKernel:
    """One Jupyter kernel kept for every render of a worker process (publish/pool.py): started once, so its
    imports (pandas, polars, plotly: about 4 s) and its headless browser (kaleido's Chromium: 2 s and more) are
    paid once, not once a render. Each document's setup cell resets the namespace (notebook(keep_browser=True));
    a kernel that died or timed out is replaced by a fresh one at the next render."""

    def __init__(self) -> None:
        self.folder: Path | None = None
        self.km: Any = None
        self.kc: Any = None

    def adopt(self, client: Any) -> None:
        self.km, self.kc = client.km, client.kc

    def close(self) -> None:
        """Stop the browser, then the kernel (politely: its Chromium goes with it), and remove its folder."""
        import shutil

        from jupyter_core.utils import run_sync

        if self.kc is not None:
            try:
                run_sync(self.kc.execute_interactive)("import kaleido; kaleido.stop_sync_server(silence_warnings=True)",
                                                       silent=True, store_history=False, timeout=60)
                run_sync(self.km.shutdown_kernel)(now=False)
            except Exception as exc:  # noqa: BLE001 - a dead kernel needs no stopping
                log.warning("stopping a kept render kernel: %s", exc)
            finally:
                self.kc.stop_channels()
                run_sync(self.km.cleanup_resources)()
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
        self.folder = self.km = self.kc = None


def execute(doc: Document, nb: Any, plan: list[Cell], work: Path, kept: KeptKernel | None = None) -> None:
    """Run every cell in one kernel, stopping at the first error: a fresh kernel, or the worker's kept one."""
    import tempfile

    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    if kept is not None and kept.km is None:
        kept.folder = Path(tempfile.mkdtemp(prefix="csp-kernel-"))
        kept.km = _kernel_manager(kept.folder)
    km = kept.km if kept is not None else _kernel_manager(work / BUILD)
    start_in = kept.folder if kept is not None else work  # a kept kernel moves to each render's folder itself
    client = NotebookClient(nb, km=km, timeout=CELL_TIMEOUT, startup_timeout=120, allow_errors=False,
                            shutdown_kernel="immediate", resources={"metadata": {"path": str(start_in)}})
    client.kc = kept.kc if kept is not None else None
    healthy = False
    try:
        with client.setup_kernel(cleanup_kc=kept is None):
            if kept is not None:
                kept.adopt(client)
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code" or not cell.source.strip():
                    continue
                try:
                    client.execute_cell(cell, index)
                    _log_stderr(doc, plan[index], cell)
                except CellExecutionError:
                    healthy = True  # the document failed, not the kernel: the next render resets it
                    raise RenderError(_failure(doc, plan[index], cell)) from None
                except (CellTimeoutError, DeadKernelError) as exc:
                    raise RenderError(f"{doc.name}: {plan[index].describe(doc)}: {exc}") from None
            healthy = True
    except RenderError:
        raise
    except Exception as exc:  # the kernel would not start, or died between cells
        raise RenderError(f"{doc.name}: the Jupyter kernel failed: {type(exc).__name__}: {exc}") from exc
    finally:
        if kept is not None and not healthy:
            kept.close()


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
