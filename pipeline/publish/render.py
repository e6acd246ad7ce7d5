"""Render a Quarto document (.qmd) to one self-contained HTML file and a tagged PDF.

With the `quarto` CLI on PATH this is `quarto render`. Quarto cannot be installed on our machines, so
otherwise the module drives the engines Quarto drives: jupytext reads the .qmd, nbclient runs its cells in
a Jupyter kernel, Pandoc writes the HTML and the Typst source, and Typst writes the PDF. That path supports
the subset of Quarto listed in docs/rendering.md and raises RenderError on anything else, so that nothing
a template asks for disappears without a word.

Every render runs in a temporary folder of its own and moves finished files into place only when every
format succeeded: a failed render leaves the previous files where they were.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import json
import keyword
import logging
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import yaml

from pipeline.paths import PROJECT_ROOT, REPORTS_DIR
from pipeline.publish.figures import FORMAT_ENV, PLOTLY_JS, raw_block, typst_string

log = logging.getLogger(__name__)

FORMATS = ("html", "pdf")
ASSETS_DIR = REPORTS_DIR / "assets"
CSS = ASSETS_DIR / "csp.css"
TYPST_TEMPLATE = ASSETS_DIR / "csp.typ"
CELL_TIMEOUT = 900  # seconds one cell may run before the render fails
KERNEL_NAME = "csp-render"
CALLOUTS = ("note", "tip", "warning", "important", "caution")
FRONT_MATTER = ("title", "subtitle", "date", "author", "lang", "params", "toc", "execute", "jupyter", "csp")
CELL_OPTIONS: dict[str, tuple[type, ...]] = {
    "label": (str,), "echo": (bool,), "eval": (bool,), "include": (bool,), "output": (bool, str),
    "warning": (bool,), "error": (bool,), "fig-cap": (str,), "fig-alt": (str,), "tags": (list,),
}
EXECUTE_DEFAULTS = {"echo": False, "eval": True, "include": True, "output": True, "warning": False, "error": False}
# Which representation of a displayed object each format takes, best first.
MIME_ORDER = {
    "html": ("text/html", "text/markdown", "image/svg+xml", "image/png", "image/jpeg", "text/plain"),
    "pdf": ("text/markdown", "image/svg+xml", "image/png", "image/jpeg", "text/plain"),
}
IMAGE_EXT = {"image/svg+xml": "svg", "image/png": "png", "image/jpeg": "jpg"}
RAW_FORMATS = ("html", "typst")
# Quarto's own layout classes and attributes, which plain Pandoc would silently ignore.
QUARTO_CLASS = re.compile(
    r"^(panel-.*|column-.*|content-(visible|hidden)|callout|cell(-.*)?|grid|g-col-.*|page-.*|aside)$"
)
BUILD = "_csp_build"  # our own files inside the render folder, apart from what cells write

_FRONT = re.compile(r"\A---[ \t]*\n(.*?\n)?---[ \t]*(\n|\Z)", re.S)
_FENCE = re.compile(r"^(?P<indent> {0,3})(?P<marks>`{3,}|~{3,})(?P<info>.*)$")
_INCLUDE = re.compile(r"^\s*\{\{<\s*include\s+(?P<path>\S+?)\s*>\}\}\s*$")
_SHORTCODE = re.compile(r"(?<!\{)\{\{<\s*(?P<name>[^\s>]+)(?P<args>.*?)>\}\}(?!\})")
_ENGINE = re.compile(r"^\{\s*(?P<engine>[A-Za-z][\w-]*)\s*,?(?P<rest>.*)\}$")
_CELL_LINE = re.compile(r"Cell In\[\d+\], line (\d+)")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_INLINE = re.compile(r"(?<!`)`\{python\}\s+([^`]+?)\s*`(?!`)")
_INLINE_OTHER = re.compile(r"(?<!`)`\{(?!python\})([A-Za-z][\w-]*)\}\s+[^`]+`")


class RenderError(Exception):
    """A document did not render; the message names the document, the cell or line, and the cause."""


def render_document(
    source: Path,
    out_dir: Path,
    params: dict[str, object],
    formats: Sequence[str] = ("html", "pdf"),
    stem: str | None = None,
    marking: str | None = None,
) -> dict[str, Path]:
    """Render `source` to `out_dir/<stem>.html` and `.pdf`; returns {"html": path, "pdf": path}.

    `marking` (e.g. "OFFICIAL-SENSITIVE", or a synthetic-data notice) is printed on every PDF page and at the
    top and bottom of the HTML: a publishing decision, so the caller makes it, not the template.

    Renders in a fresh temporary folder of its own (never shared with another render), then moves each
    finished file into out_dir atomically (write to a temp name in out_dir, then os.replace), so a failed
    render leaves out_dir's previous files untouched.
    """
    source = Path(source).resolve()
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
            built = _render_with_quarto(quarto, source, work, params, formats)
        else:
            built = _render_with_engines(source, work, params, formats, marking)
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
    staged: list[tuple[Path, Path]] = []
    try:
        for fmt, path in built.items():
            target = out_dir / f"{stem}.{fmt}"
            part = out_dir / f".{target.name}.{uuid.uuid4().hex}.part"
            shutil.copyfile(path, part)
            staged.append((part, target))
        for part, target in staged:
            os.replace(part, target)
    finally:
        for part, _ in staged:
            part.unlink(missing_ok=True)
    return {fmt: out_dir / f"{stem}.{fmt}" for fmt in built}


# --- Quarto ---------------------------------------------------------------------------------------------


def _render_with_quarto(quarto: str, source: Path, work: Path, params: dict[str, object],
                        formats: tuple[str, ...]) -> dict[str, Path]:
    """`quarto render` on a copy of the document's folder, so that parallel renders share no files."""
    copy = work / "src"
    shutil.copytree(source.parent, copy, ignore=shutil.ignore_patterns(".*", "__pycache__", "*_files", "_freeze"))
    env = {**os.environ, "QUARTO_PYTHON": sys.executable, "PYTHONPATH": _pythonpath()}
    built = {}
    for fmt in formats:
        to = "html" if fmt == "html" else "typst"
        out = work / f"out-{fmt}"
        cmd = [quarto, "render", str(copy / source.name), "--to", to, "--output-dir", str(out)]
        for key, value in params.items():
            cmd += ["-P", f"{key}:{str(value).lower() if isinstance(value, bool) else value}"]
        done = subprocess.run(cmd, cwd=copy, env={**env, FORMAT_ENV: fmt}, capture_output=True, text=True)
        produced = out / f"{source.stem}.{fmt}"
        if done.returncode or not produced.is_file():
            raise RenderError(f"{source.name}: quarto render --to {to} failed:\n{(done.stderr or done.stdout)[-6000:]}")
        built[fmt] = produced
    return built


def _pythonpath() -> str:
    """The project first, so the kernel imports `pipeline` even where the package is not installed."""
    return os.pathsep.join(p for p in (str(PROJECT_ROOT), os.environ.get("PYTHONPATH", "")) if p)


# --- reading the document -------------------------------------------------------------------------------


@dataclass
class _Chunk:
    number: int  # 1-based, in document order
    path: Path  # the file the chunk is written in (the document or a partial)
    line: int  # line of its opening fence in that file
    options: dict[str, Any]
    source: str  # the cell's code, with its #| lines (so traceback line numbers match the file)
    images: int = 0

    @property
    def code(self) -> str:
        return "\n".join(line for line in self.source.splitlines() if not line.startswith("#|")).strip("\n")

    def describe(self, doc: "_Document") -> str:
        name = f"cell '{self.options['label']}'" if self.options.get("label") else f"cell {self.number}"
        return f"{name} (line {self.line} of {doc.relative(self.path)})"


@dataclass
class _Document:
    source: Path
    meta: dict[str, Any]
    body: str  # after the front matter, with includes expanded
    chunks: list[_Chunk]
    defaults: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.source.name

    @property
    def toc(self) -> bool:
        return self.meta.get("toc") is not False

    def relative(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.source.parent))
        except ValueError:
            return str(path)


def _read_document(source: Path) -> _Document:
    text = source.read_text(encoding="utf-8")
    front = _FRONT.match(text)
    try:
        meta = (yaml.safe_load(front.group(1) or "") if front else None) or {}
    except yaml.YAMLError as exc:
        raise RenderError(f"{source.name}: the front matter is not valid YAML: {exc}") from None
    if not isinstance(meta, dict):
        raise RenderError(f"{source.name}: the front matter must be a YAML mapping")
    _check_meta(source, meta)
    first = text[: front.end()].count("\n") + 1 if front else 1
    lines = _expand(source, text[front.end():] if front else text, first, (source,), source)
    chunks = _scan(source, lines)
    project = _project_settings(source)
    defaults = {
        **EXECUTE_DEFAULTS,
        **_check_options(source.name, "_quarto.yml execute:", project.get("execute") or {}, EXECUTE_DEFAULTS),
        **_check_options(source.name, "execute:", meta.get("execute") or {}, EXECUTE_DEFAULTS),
    }
    for key in ("lang", "toc"):
        meta.setdefault(key, project.get(key))
    body = "\n".join(line for line, _, _ in lines) + "\n"
    return _Document(source, meta, body, chunks, defaults)


def _project_settings(source: Path) -> dict[str, Any]:
    """The document-wide settings of the Quarto project the document belongs to (lang, toc, execute)."""
    project = _quarto_project(source)
    path = project / "_quarto.yml"
    if not path.is_file():
        return {}
    try:
        settings = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise RenderError(f"{source.name}: {path} is not valid YAML: {exc}") from None
    return {key: settings[key] for key in ("lang", "toc", "execute") if key in settings}


def _check_meta(source: Path, meta: dict[str, Any]) -> None:
    unknown = sorted(set(meta) - set(FRONT_MATTER))
    if "format" in unknown:
        raise RenderError(f"{source.name}: front matter 'format:' is not read without Quarto: format options "
                          "live in reports/_quarto.yml and reports/assets (see docs/rendering.md)")
    if unknown:
        raise RenderError(f"{source.name}: front matter key(s) {', '.join(unknown)} not supported; "
                          f"supported: {', '.join(FRONT_MATTER)} (see docs/rendering.md)")
    if not isinstance(meta.get("title"), str) or not meta["title"].strip():
        raise RenderError(f"{source.name}: front matter needs a title (the page title and the PDF's title)")
    engine = meta.get("jupyter")
    if engine is not None and "python" not in json.dumps(engine):
        raise RenderError(f"{source.name}: jupyter: {engine!r}: only Python documents render here")
    if "toc" in meta and not isinstance(meta["toc"], bool):
        raise RenderError(f"{source.name}: front matter toc: must be true or false")
    if "params" in meta and not isinstance(meta["params"], dict):
        raise RenderError(f"{source.name}: front matter params: must be a mapping of names to defaults")


def _quarto_project(path: Path) -> Path:
    for folder in path.parents:
        if (folder / "_quarto.yml").is_file():
            return folder
    return path.parent


def _expand(path: Path, text: str, first: int, stack: tuple[Path, ...], source: Path) -> list[tuple[str, Path, int]]:
    """Lines with the file and line each came from, `{{< include >}}` replaced by the partial's lines."""
    out: list[tuple[str, Path, int]] = []
    fence: tuple[str, int] | None = None
    for offset, line in enumerate(text.splitlines()):
        number = first + offset
        if fence is None:
            opening = _opening(line)
            if opening:
                fence = opening
            elif match := _INCLUDE.match(line):
                target = match.group("path")
                resolved = (_quarto_project(source) / target.lstrip("/") if target.startswith("/")
                            else path.parent / target).resolve()
                where = f"{source.name}: line {number} of {path.name}"
                if not resolved.is_file():
                    raise RenderError(f"{where}: include {target!r}: no such file ({resolved})")
                if resolved in stack:
                    raise RenderError(f"{where}: include {target!r} includes itself")
                included = resolved.read_text(encoding="utf-8")
                if _FRONT.match(included):
                    raise RenderError(f"{where}: include {target!r} has front matter; a partial must not")
                out.extend(_expand(resolved, included, 1, (*stack, resolved), source))
                continue
            elif re.search(r"\{\{<\s*include\b", line):
                raise RenderError(f"{source.name}: line {number} of {path.name}: "
                                  "{{< include >}} must stand alone on its line")
        elif _closes(line, fence):
            fence = None
        out.append((line, path, number))
    return out


def _opening(line: str) -> tuple[str, int] | None:
    match = _FENCE.match(line)
    if not match or (match["marks"][0] == "`" and "`" in match["info"]):
        return None
    return match["marks"][0], len(match["marks"])


def _closes(line: str, fence: tuple[str, int]) -> bool:
    stripped = line.strip()
    indent = len(line) - len(line.lstrip(" "))
    return bool(stripped) and set(stripped) == {fence[0]} and len(stripped) >= fence[1] and indent <= 3


def _scan(source: Path, lines: list[tuple[str, Path, int]]) -> list[_Chunk]:
    """Find the ```{python} chunks; refuse other engines, chunk-header options and unknown shortcodes."""
    chunks: list[_Chunk] = []
    fence: tuple[str, int] | None = None
    start = 0
    is_chunk = False
    for index, (line, path, number) in enumerate(lines):
        where = f"{source.name}: line {number} of {path.name}"
        if fence is None:
            opening = _opening(line)
            if not opening:
                _check_shortcodes(where, line, allow_pagebreak=True)
                continue
            fence, start, is_chunk = opening, index, False
            info = _FENCE.match(line)["info"].strip()
            if info.startswith("{="):
                fmt = info[2:-1].strip()
                if fmt not in RAW_FORMATS:
                    raise RenderError(f"{where}: raw {{={fmt}}} blocks are not supported, only {RAW_FORMATS}")
            elif engine := _ENGINE.match(info):
                if engine["engine"] != "python":
                    raise RenderError(f"{where}: ```{{{engine['engine']}}} chunks are not supported: "
                                      "only ```{python} runs here")
                if engine["rest"].strip():
                    raise RenderError(f"{where}: chunk options go in '#| key: value' lines, not in "
                                      f"the header ({info})")
                if _FENCE.match(line)["indent"]:
                    raise RenderError(f"{where}: a ```{{python}} chunk must start at the beginning of its line")
                is_chunk = True
        elif _closes(line, fence):
            if is_chunk:
                _, path0, line0 = lines[start]
                body = [text for text, _, _ in lines[start + 1:index]]
                chunk = _Chunk(len(chunks) + 1, path0, line0, {}, "\n".join(body))
                chunk.options = _cell_options(source, chunk, body)
                chunks.append(chunk)
            fence = None
    if fence is not None:
        _, path0, line0 = lines[start]
        raise RenderError(f"{source.name}: line {line0} of {path0.name}: this fenced block is never closed")
    labels = [c.options["label"] for c in chunks if c.options.get("label")]
    if len(labels) != len(set(labels)):
        raise RenderError(f"{source.name}: cell labels must be unique: {sorted(labels)}")
    return chunks


def _cell_options(source: Path, chunk: _Chunk, body: list[str]) -> dict[str, Any]:
    option_lines = []
    for line in body:
        if not line.startswith("#|"):
            break
        option_lines.append(line[2:])
    where = f"{source.name}: cell {chunk.number} (line {chunk.line} of {chunk.path.name})"
    try:
        options = yaml.safe_load("\n".join(option_lines)) if option_lines else {}
    except yaml.YAMLError as exc:
        raise RenderError(f"{where}: the '#|' options are not valid YAML: {exc}") from None
    if not isinstance(options, dict):
        raise RenderError(f"{where}: '#|' lines must be 'key: value' options")
    return _check_options(source.name, where, options, CELL_OPTIONS)


def _check_options(doc: str, where: str, options: dict[str, Any], allowed: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(options, dict):
        raise RenderError(f"{doc}: {where} must be a mapping of options")
    for key, value in options.items():
        if key not in allowed:
            raise RenderError(f"{doc}: {where}: option {key!r} is not supported; supported: {', '.join(allowed)}")
        types = CELL_OPTIONS[key]
        if key == "error" and value is not False:
            raise RenderError(f"{doc}: {where}: error: {value!r} is not supported: an error always fails the render")
        if not isinstance(value, types) or (key == "output" and isinstance(value, str) and value != "asis"):
            allowed_values = "true, false or asis" if key == "output" else " or ".join(t.__name__ for t in types)
            raise RenderError(f"{doc}: {where}: option {key}: {value!r} is not allowed ({allowed_values})")
    return options


def _check_shortcodes(where: str, text: str, *, allow_pagebreak: bool) -> None:
    for match in _SHORTCODE.finditer(text):
        if match["name"] == "pagebreak" and allow_pagebreak and text.strip() == match.group(0):
            continue
        hint = " ({{< pagebreak >}} must stand alone on its line)" if match["name"] == "pagebreak" else ""
        raise RenderError(f"{where}: shortcode {match.group(0)} is not supported{hint}; "
                          "supported: include, pagebreak (see docs/rendering.md)")


# --- the notebook ---------------------------------------------------------------------------------------


@dataclass
class _Cell:
    kind: str  # markdown | chunk | inline | setup | params | finish
    text: str = ""
    chunk: _Chunk | None = None

    def describe(self, doc: _Document) -> str:
        if self.chunk:
            return self.chunk.describe(doc)
        if self.kind == "inline":
            return f"the inline expression(s) {self.text}"
        return {"setup": "the renderer's setup cell", "params": "the injected parameters cell",
                "finish": "the renderer's closing cell (static images of the charts)"}[self.kind]


def _notebook(doc: _Document, params: dict[str, object], formats: tuple[str, ...],
              work: Path) -> tuple[Any, list[_Cell]]:
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
             f"_csp_figures.configure(formats={list(formats)!r}, out_dir={str(work)!r})")
    cells = [nbformat.v4.new_code_cell(setup)]
    plan = [_Cell("setup")]
    chunks = iter(doc.chunks)
    injected = False
    for cell in parsed.cells:
        if cell.cell_type == "markdown":
            if bad := _INLINE_OTHER.search(cell.source):
                raise RenderError(f"{doc.name}: inline `{{{bad.group(1)}}} ...` expressions are not supported, "
                                  "only `{python} ...`")
            if expressions := _INLINE.findall(cell.source):
                cells.append(nbformat.v4.new_code_cell(_inline_cell(expressions)))
                plan.append(_Cell("inline", ", ".join(f"`{e}`" for e in expressions)))
            cells.append(nbformat.v4.new_markdown_cell(cell.source))
            plan.append(_Cell("markdown", cell.source))
        elif cell.cell_type == "code" and "language" in cell.metadata:  # a ```{=html} raw block
            text = raw_block(cell.metadata["language"].lstrip("="), cell.source)
            cells.append(nbformat.v4.new_markdown_cell(text))
            plan.append(_Cell("markdown", text))
        elif cell.cell_type == "code":
            chunk = next(chunks)
            run = {**doc.defaults, **chunk.options}["eval"]
            cells.append(nbformat.v4.new_code_cell(chunk.source if run else ""))
            plan.append(_Cell("chunk", chunk=chunk))
            if "parameters" in (chunk.options.get("tags") or []) and params and not injected:
                _check_param_names(doc, chunk, params)
                assigns = "\n".join(f"{key} = {value!r}" for key, value in params.items())
                cells.append(nbformat.v4.new_code_cell("# Injected parameters\n" + assigns))
                plan.append(_Cell("params"))
                injected = True
        else:
            raise RenderError(f"{doc.name}: unexpected {cell.cell_type} cell: {cell.source[:80]!r}")
    if params and not injected:
        raise RenderError(f"{doc.name}: parameters {sorted(params)} were given but no cell has "
                          "'#| tags: [parameters]'")
    cells.append(nbformat.v4.new_code_cell("_csp_figures.finish()"))
    plan.append(_Cell("finish"))
    return nbformat.v4.new_notebook(cells=cells), plan


def _inline_cell(expressions: list[str]) -> str:
    """Evaluates a markdown cell's `{python} expr` in order; prints their text as one JSON list."""
    items = ", ".join(f"({e})" for e in expressions)
    return ("import json as _csp_json\n"
            "print('\\x1eCSP-INLINE' + _csp_json.dumps([_v._repr_markdown_() if hasattr(_v, '_repr_markdown_') "
            f"else str(_v) for _v in [{items}]]))")


def _check_param_names(doc: _Document, chunk: _Chunk, params: dict[str, object]) -> None:
    """A misspelt parameter would be injected and never read: refuse names the document does not declare."""
    declared = set(doc.meta.get("params") or {}) or set(re.findall(r"^(\w+)\s*=", chunk.code, re.M))
    unknown = sorted(set(params) - declared)
    if unknown:
        raise RenderError(f"{doc.name}: unknown parameter(s) {unknown}; the document declares {sorted(declared)}")


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
        "env": {"PYTHONPATH": _pythonpath(), "IPYTHONDIR": str(work / BUILD / "ipython"),
                "PYDEVD_DISABLE_FILE_VALIDATION": "1"},
    }))
    return folder


def _execute(doc: _Document, nb: Any, plan: list[_Cell], work: Path) -> None:
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


def _failure(doc: _Document, planned: _Cell, cell: Any) -> str:
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


# --- executed notebook to Pandoc Markdown ---------------------------------------------------------------


def _markdown(doc: _Document, nb: Any, plan: list[_Cell], fmt: str, work: Path) -> str:
    blocks = [_metadata_block(doc)]
    values: list[str] = []
    for cell, planned in zip(nb.cells, plan):
        if planned.kind == "inline":
            text = "".join(o.text for o in cell.outputs if o.output_type == "stream" and o.name == "stdout")
            values = json.loads(text.split("\x1eCSP-INLINE", 1)[1])
        elif planned.kind == "markdown":
            text = _INLINE.sub(lambda _: values.pop(0), planned.text) if values else planned.text
            blocks.append(_shortcodes(doc, "text", text, fmt))
        elif planned.kind == "chunk":
            blocks.extend(_chunk_markdown(doc, cell, planned.chunk, fmt, work))
    return "\n\n".join(b for b in blocks if b.strip()) + "\n"


def _metadata_block(doc: _Document) -> str:
    meta: dict[str, Any] = {"title": doc.meta["title"], "lang": doc.meta.get("lang") or "en-GB"}
    for key in ("subtitle", "author"):
        if doc.meta.get(key):
            meta[key] = doc.meta[key]
    date = doc.meta.get("date")
    if date in ("today", "now", "last-modified"):
        date = dt.date.today()
    if isinstance(date, (dt.date, dt.datetime)):
        date = f"{date.day} {date:%B %Y}"
    if date:
        meta["date"] = str(date)
    return "---\n" + yaml.safe_dump(meta, allow_unicode=True, sort_keys=False) + "---"


def _log_stderr(doc: _Document, planned: _Cell, cell: Any) -> None:
    """Warnings stay out of a published report (unless #| warning: true) but reach the log."""
    for out in cell.get("outputs", []):
        if out.output_type == "stream" and out.name == "stderr" and out.text.strip():
            log.warning("%s: %s wrote to stderr: %s", doc.name, planned.describe(doc), out.text.strip()[:2000])


def _chunk_markdown(doc: _Document, cell: Any, chunk: _Chunk, fmt: str, work: Path) -> list[str]:
    options = {**doc.defaults, **chunk.options}
    where = chunk.describe(doc)
    if not options["include"]:
        return []
    blocks: list[str] = []
    if options["echo"] and chunk.code.strip():
        blocks.append(_code_block(chunk.code, "python"))
    if options["output"] is False:
        return blocks
    asis = options["output"] == "asis"
    stdout: list[str] = []

    def flush() -> None:
        if stdout:
            text = "".join(stdout)
            blocks.append(_shortcodes(doc, where, text, fmt) if asis else _code_block(text.rstrip("\n"), ""))
            stdout.clear()

    chunk.images = 0
    for index, out in enumerate(cell.outputs):
        if out.output_type == "stream" and out.name == "stdout":
            stdout.append(out.text)
            continue
        flush()
        if out.output_type == "stream":  # stderr: logged by _execute
            if options["warning"]:
                blocks.append(_code_block(out.text.rstrip("\n"), "", "warning"))
        elif out.output_type in ("display_data", "execute_result"):
            blocks.append(_display(doc, chunk, out.data, fmt, work, index))
    flush()
    if (options.get("fig-cap") or options.get("fig-alt")) and not chunk.images:
        raise RenderError(f"{doc.name}: {where}: fig-cap/fig-alt describe an image the cell displays, and it "
                          "displays none; show_chart takes the chart's text as alt= and its title in the figure")
    return blocks


def _code_block(text: str, language: str, css_class: str = "") -> str:
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    classes = " ".join(f".{c}" for c in (language, css_class) if c)
    return f"{fence}{{{classes}}}\n{text}\n{fence}" if classes else f"{fence}\n{text}\n{fence}"


def _display(doc: _Document, chunk: _Chunk, data: dict[str, Any], fmt: str, work: Path, index: int) -> str:
    where = f"{doc.name}: {chunk.describe(doc)}"
    if "application/vnd.plotly.v1+json" in data:
        raise RenderError(f"{where}: displays a Plotly figure directly; call show_chart(fig, alt=..., name=...)")
    mime = next((m for m in MIME_ORDER[fmt] if m in data), None)
    if mime is None:
        raise RenderError(f"{where}: displays {sorted(data)}, none of which the {fmt} output can show")
    value = data[mime]
    if mime == "text/html":
        return raw_block("html", value)
    if mime == "text/markdown":
        return _shortcodes(doc, chunk.describe(doc), value, fmt)
    if mime == "text/plain":
        return _code_block(value, "")
    return _cell_image(doc, chunk, mime, value, fmt, work, index)


def _cell_image(doc: _Document, chunk: _Chunk, mime: str, value: Any, fmt: str, work: Path, index: int) -> str:
    """An image a cell displays (matplotlib, say): it needs #| fig-alt, for the HTML and the tagged PDF."""
    alt, caption = chunk.options.get("fig-alt"), chunk.options.get("fig-cap")
    if not alt:
        raise RenderError(f"{doc.name}: {chunk.describe(doc)}: displays an image; give it '#| fig-alt: ...' "
                          "(its text alternative)")
    chunk.images += 1
    name = f"cell-{chunk.number}-{index}.{IMAGE_EXT[mime]}"
    folder = work / BUILD / "images"
    folder.mkdir(parents=True, exist_ok=True)
    data = value.encode("utf-8") if mime == "image/svg+xml" else base64.b64decode(value)
    (folder / name).write_bytes(data)
    return raw_block("html" if fmt == "html" else "typst", _figure(f"{BUILD}/images/{name}", alt, caption, fmt))


def _figure(src: str, alt: str, caption: str | None, fmt: str, width: str | None = None) -> str:
    """A figure as raw HTML or raw Typst: Pandoc's Typst writer drops an image's alt text."""
    import html

    if fmt == "html":
        cap = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
        style = f' style="width: {html.escape(width)}"' if width else ""
        img = f'<img src="{html.escape(src)}" alt="{html.escape(alt)}"{style}>'
        return f'<figure class="csp-figure">{img}{cap}</figure>'
    cap = typst_string(caption) if caption else "none"
    size = f", width: {_typst_length(width)}" if width else ""
    return f'#figure(image("{src}"{size}, alt: {typst_string(alt)}), caption: {cap})'


def _typst_length(width: str) -> str:
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(px|pt|cm|mm|in|%)?\s*", width)
    if not match:
        raise RenderError(f"image width {width!r}: use a number with px, pt, cm, mm, in or %")
    number, unit = float(match.group(1)), match.group(2) or "px"
    return f"{number * 0.75:g}pt" if unit == "px" else f"{number:g}{unit}"


def _shortcodes(doc: _Document, where: str, text: str, fmt: str) -> str:
    """Markdown outside code blocks: {{< pagebreak >}} becomes a page break, any other shortcode fails."""
    out = []
    fence: tuple[str, int] | None = None
    for line in text.splitlines():
        if fence is not None:
            fence = None if _closes(line, fence) else fence
        elif opening := _opening(line):
            fence = opening
        elif re.fullmatch(r"\s*\{\{<\s*pagebreak\s*>\}\}\s*", line):
            line = (raw_block("html", '<div class="page-break" aria-hidden="true"></div>') if fmt == "html"
                    else raw_block("typst", "#pagebreak()"))
        else:
            _check_shortcodes(f"{doc.name}: {where}", line, allow_pagebreak=False)
        out.append(line)
    return "\n".join(out)


# --- Pandoc ---------------------------------------------------------------------------------------------


def _pandoc_ast(doc: _Document, markdown: str, fmt: str, work: Path) -> dict[str, Any]:
    import pypandoc

    try:
        ast = json.loads(pypandoc.convert_text(markdown, "json", format="markdown"))
    except RuntimeError as exc:
        raise RenderError(f"{doc.name}: Pandoc could not read the document: {exc}") from None
    ast["blocks"] = _Filter(doc, fmt, work).walk(ast["blocks"])
    return ast


def _stringify(value: Any) -> str:
    if isinstance(value, list):
        return "".join(_stringify(v) for v in value)
    if isinstance(value, dict):
        kind = value.get("t")
        if kind == "Str":
            return value["c"]
        if kind in ("Space", "SoftBreak", "LineBreak"):
            return " "
        if kind in ("Code", "Math"):
            return value["c"][1]
        if kind in ("RawInline", "Note"):
            return ""
        if kind in ("Span", "Link", "Image"):
            return _stringify(value["c"][1])
        if kind == "Quoted":
            return "\u2018" + _stringify(value["c"][1]) + "\u2019"
        return _stringify(value.get("c", []))
    return ""


def _raw(kind: str, fmt: str, text: str) -> dict[str, Any]:
    return {"t": kind, "c": [fmt, text]}


class _Filter:
    """Turns the Quarto constructs Pandoc does not know into HTML or Typst, and refuses the rest."""

    def __init__(self, doc: _Document, fmt: str, work: Path) -> None:
        self.doc, self.fmt, self.work = doc, fmt, work
        self.images = 0

    def fail(self, message: str) -> RenderError:
        return RenderError(f"{self.doc.name}: {message} (see docs/rendering.md)")

    def walk(self, value: Any) -> Any:
        if isinstance(value, list):
            out: list[Any] = []
            for item in value:
                result = self.visit(item) if isinstance(item, dict) and "t" in item else self.walk(item)
                out.extend(result) if isinstance(item, dict) and isinstance(result, list) else out.append(result)
            return out
        if isinstance(value, dict) and "t" in value:
            return self.visit(value)
        return value

    def visit(self, node: dict[str, Any]) -> Any:
        handler = getattr(self, f"on_{node['t']}", None)
        if handler:
            return handler(node)
        return {**node, "c": self.walk(node["c"])} if "c" in node else node

    def check_attr(self, attr: list[Any], element: str) -> None:
        _, classes, pairs = attr
        for cls in classes:
            if QUARTO_CLASS.match(cls):
                raise self.fail(f"the Quarto class .{cls} on a {element} is not supported")
        for key, _ in pairs:
            if key.startswith("layout"):
                raise self.fail(f"the Quarto layout attribute {key}= is not supported")

    def on_Div(self, node: dict[str, Any]) -> Any:
        attr, blocks = node["c"]
        kinds = [c[len("callout-"):] for c in attr[1] if c.startswith("callout-")]
        if kinds:
            if kinds[0] not in CALLOUTS:
                raise self.fail(f".callout-{kinds[0]} is not a callout; use one of {', '.join(CALLOUTS)}")
            return self.callout(kinds[0], attr, self.walk(blocks))
        self.check_attr(attr, "div")
        return {"t": "Div", "c": [attr, self.walk(blocks)]}

    def callout(self, kind: str, attr: list[Any], blocks: list[Any]) -> Any:
        pairs = dict(attr[2])
        if set(pairs) - {"title"}:
            raise self.fail(f"callout attribute(s) {', '.join(sorted(set(pairs) - {'title'}))} not supported; "
                            "only title=")
        title_inlines = None
        if "title" in pairs:
            title = pairs["title"]
        elif blocks and blocks[0]["t"] == "Header":
            title_inlines = blocks[0]["c"][2]
            title, blocks = _stringify(title_inlines), blocks[1:]
        else:
            title = kind.capitalize()
        if self.fmt == "html":
            heading = {"t": "Div", "c": [["", ["callout-title"], []],
                                         [{"t": "Plain", "c": title_inlines or [{"t": "Str", "c": title}]}]]}
            body = {"t": "Div", "c": [["", ["callout-body"], []], blocks]}
            box = [attr[0], ["callout", f"callout-{kind}"], [["role", "note"], ["aria-label", title]]]
            return {"t": "Div", "c": [box, [heading, body]]}
        return [_raw("RawBlock", "typst", f'#callout(kind: "{kind}", title: {typst_string(title)})['),
                *blocks, _raw("RawBlock", "typst", "]")]

    def on_Span(self, node: dict[str, Any]) -> Any:
        self.check_attr(node["c"][0], "span")
        return {"t": "Span", "c": [node["c"][0], self.walk(node["c"][1])]}

    def on_Cite(self, node: dict[str, Any]) -> Any:
        key = node["c"][0][0]["citationId"]
        raise self.fail(f"@{key}: citations and cross-references (@fig-..., @tbl-...) are not supported")

    def on_RawBlock(self, node: dict[str, Any]) -> Any:
        if node["c"][0] not in RAW_FORMATS:
            raise self.fail(f"raw {node['c'][0]} ({node['c'][1][:60]!r}) is not supported; only {RAW_FORMATS}")
        return node

    def on_RawInline(self, node: dict[str, Any]) -> Any:
        if node["c"][0] not in RAW_FORMATS:
            raise self.fail(f"raw {node['c'][0]} {node['c'][1][:60]!r} is not supported (write \\\\ for a backslash)")
        return node

    def on_Figure(self, node: dict[str, Any]) -> Any:
        attr, caption, blocks = node["c"]
        only = blocks[0]["c"] if len(blocks) == 1 and blocks[0]["t"] in ("Plain", "Para") else []
        if len(only) != 1 or only[0]["t"] != "Image":
            self.check_attr(attr, "figure")
            return {**node, "c": [attr, self.walk(caption), self.walk(blocks)]}
        image = only[0]
        caption_text = _stringify(caption[1])
        pairs = dict(attr[2]) | dict(image["c"][0][2])
        alt = pairs.get("fig-alt") or pairs.get("alt") or caption_text
        if not alt.strip():
            raise self.fail(f"image {image['c'][2][0]}: give the figure a caption or {{fig-alt=\"...\"}}")
        self.image_width(pairs)
        return _raw("RawBlock", "html" if self.fmt == "html" else "typst",
                    _figure(self.local(image["c"][2][0]), alt, caption_text or None, self.fmt, pairs.get("width")))

    def image_width(self, pairs: dict[str, str]) -> None:
        unknown = set(pairs) - {"fig-alt", "alt", "width"}
        if unknown:
            raise self.fail(f"image attribute(s) {', '.join(sorted(unknown))} not supported; fig-alt, alt, width")
        if pairs.get("width"):
            _typst_length(pairs["width"])

    def on_Image(self, node: dict[str, Any]) -> Any:
        import html

        attr, description, (src, _) = node["c"]
        pairs = dict(attr[2])
        alt = pairs.get("fig-alt") or pairs.get("alt") or _stringify(description)
        if not alt.strip():
            raise self.fail(f"image {src}: give it alt text (![alt text]({src}) or {{fig-alt=\"...\"}})")
        self.image_width(pairs)
        path, width = self.local(src), pairs.get("width")
        if self.fmt == "html":
            style = f' style="width: {html.escape(width)}"' if width else ""
            return _raw("RawInline", "html", f'<img src="{html.escape(path)}" alt="{html.escape(alt)}"{style}>')
        size = f", width: {_typst_length(width)}" if width else ""
        return _raw("RawInline", "typst", f'#box(image("{path}"{size}, alt: {typst_string(alt)}))')

    def local(self, src: str) -> str:
        """Copy an image the text refers to into the render folder (the PDF can only read inside it)."""
        if re.match(r"^[a-zA-Z][\w+.-]*:", src):
            raise self.fail(f"image {src}: only local image files can be embedded (the files work offline)")
        path = (self.doc.source.parent / src).resolve()
        if not path.is_file():
            raise self.fail(f"image {src}: no such file ({path})")
        self.images += 1
        folder = self.work / BUILD / "images"
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"text-{self.images}-{path.name}"
        shutil.copyfile(path, target)
        return f"{BUILD}/images/{target.name}"


# --- HTML and PDF ---------------------------------------------------------------------------------------


def _write_html(doc: _Document, ast: dict[str, Any], work: Path, marking: str | None = None) -> Path:
    import pypandoc

    build = work / BUILD
    template = build / "template.html"
    template.write_text(_html_template(), encoding="utf-8")
    banner = f'<p class="csp-marking" role="note">{html.escape(marking)}</p>\n' if marking else ""
    skip = build / "skip-link.html"
    skip.write_text(banner + '<a class="skip-link" href="#main">Skip to main content</a>\n', encoding="utf-8")
    after = build / "after-body.html"
    after.write_text(banner, encoding="utf-8")
    head = build / "head.html"  # plotly.js once, if a chart put it beside the page; Pandoc inlines it
    chart_js = (work / PLOTLY_JS).is_file()
    head.write_text(f'<script src="{PLOTLY_JS}" charset="utf-8"></script>\n' if chart_js else "", encoding="utf-8")
    out = build / "document.html"
    args = [
        "--standalone", f"--template={template}", "--embed-resources", f"--css={CSS}",
        f"--include-in-header={head}", f"--include-before-body={skip}", f"--include-after-body={after}",
        *(["--toc"] if doc.toc else []), "--toc-depth=2", "-M", "toc-title=Contents",
        "--section-divs", "--wrap=none", "--syntax-highlighting=monochrome",
        f"--resource-path={work}{os.pathsep}{doc.source.parent}",
    ]
    try:
        pypandoc.convert_text(json.dumps(ast), "html5", format="json", extra_args=args, outputfile=str(out),
                              cworkdir=str(work))
    except RuntimeError as exc:
        raise RenderError(f"{doc.name}: Pandoc could not write the HTML: {exc}") from None
    return out


def _html_template() -> str:
    """Pandoc's own HTML template with the body in a <main> landmark (the skip link's target)."""
    import pypandoc

    default = subprocess.run([pypandoc.get_pandoc_path(), "-D", "html5"], capture_output=True, text=True,
                             check=True).stdout
    if default.count("$body$") != 1:
        raise RenderError("Pandoc's default HTML template has changed: expected one $body$")
    return default.replace("$body$", '<main id="main">\n$body$\n</main>')


def _headers(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, list):
        return [h for v in value for h in _headers(v)]
    if isinstance(value, dict) and value.get("t") in ("Div", "BlockQuote", "Header"):
        return [value] if value["t"] == "Header" else _headers(value["c"][-1])
    return []


def _write_pdf(doc: _Document, ast: dict[str, Any], work: Path, marking: str | None = None) -> Path:
    import pypandoc
    import typst

    build = work / BUILD
    shutil.copyfile(TYPST_TEMPLATE, work / "csp.typ")
    (work / "marking.typ").write_text(f"#let marking = {json.dumps(marking or '')}\n", encoding="utf-8")
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
                              cworkdir=str(work))
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


def _render_with_engines(source: Path, work: Path, params: dict[str, object],
                         formats: tuple[str, ...], marking: str | None = None) -> dict[str, Path]:
    doc = _read_document(source)
    (work / BUILD).mkdir()
    nb, plan = _notebook(doc, params, formats, work)
    # The text alone through Pandoc and the filter first: an unsupported construct fails in a second,
    # not after the cells have run.
    _pandoc_ast(doc, "\n\n".join([_metadata_block(doc)] + [c.text for c in plan if c.kind == "markdown"]),
                "html", work)
    _execute(doc, nb, plan, work)
    built = {}
    for fmt in formats:
        ast = _pandoc_ast(doc, _markdown(doc, nb, plan, fmt, work), fmt, work)
        built[fmt] = _write_html(doc, ast, work, marking) if fmt == "html" else _write_pdf(doc, ast, work, marking)
    return built
