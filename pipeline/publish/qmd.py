"""Reading a Quarto document: front matter, `{{< include >}}` partials expanded, ```{python} chunks found.

The first stage of a render, and the one that refuses what the renderer does not support, before any cell
runs. RenderError and the build-folder name live here because every later stage uses them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pipeline.publish.figures import raw_block

FRONT_MATTER = ("title", "subtitle", "date", "author", "lang", "params", "toc", "execute", "jupyter", "csp")
CELL_OPTIONS: dict[str, tuple[type, ...]] = {
    "label": (str,), "echo": (bool,), "eval": (bool,), "include": (bool,), "output": (bool, str),
    "warning": (bool,), "error": (bool,), "fig-cap": (str,), "fig-alt": (str,), "tags": (list,),
}
EXECUTE_DEFAULTS = {"echo": False, "eval": True, "include": True, "output": True, "warning": False, "error": False}
RAW_FORMATS = ("html", "typst")
BUILD = "_csp_build"  # our own files inside the render folder, apart from what cells write
_FRONT = re.compile(r"\A---[ \t]*\n(.*?\n)?---[ \t]*(\n|\Z)", re.S)
_FENCE = re.compile(r"^(?P<indent> {0,3})(?P<marks>`{3,}|~{3,})(?P<info>.*)$")
_INCLUDE = re.compile(r"^\s*\{\{<\s*include\s+(?P<path>\S+?)\s*>\}\}\s*$")
_SHORTCODE = re.compile(r"(?<!\{)\{\{<\s*(?P<name>[^\s>]+)(?P<args>.*?)>\}\}(?!\})")
_ENGINE = re.compile(r"^\{\s*(?P<engine>[A-Za-z][\w-]*)\s*,?(?P<rest>.*)\}$")


class RenderError(Exception):
    """A document did not render; the message names the document, the cell or line, and the cause."""


@dataclass
class Chunk:
    number: int  # 1-based, in document order
    path: Path  # the file the chunk is written in (the document or a partial)
    line: int  # line of its opening fence in that file
    options: dict[str, Any]
    source: str  # the cell's code, with its #| lines (so traceback line numbers match the file)
    images: int = 0

    @property
    def code(self) -> str:
        return "\n".join(line for line in self.source.splitlines() if not line.startswith("#|")).strip("\n")

    def describe(self, doc: "Document") -> str:
        name = f"cell '{self.options['label']}'" if self.options.get("label") else f"cell {self.number}"
        return f"{name} (line {self.line} of {doc.relative(self.path)})"


@dataclass
class Document:
    source: Path
    meta: dict[str, Any]
    body: str  # after the front matter, with includes expanded
    chunks: list[Chunk]
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


def read_document(source: Path) -> Document:
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
    return Document(source, meta, body, chunks, defaults)


def _project_settings(source: Path) -> dict[str, Any]:
    """The document-wide settings of the Quarto project the document belongs to (lang, toc, execute)."""
    project = quarto_project(source)
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


def quarto_project(path: Path) -> Path:
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
            opening = fence_opening(line)
            if opening:
                fence = opening
            elif match := _INCLUDE.match(line):
                target = match.group("path")
                resolved = (quarto_project(source) / target.lstrip("/") if target.startswith("/")
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
        elif fence_closes(line, fence):
            fence = None
        out.append((line, path, number))
    return out


def fence_opening(line: str) -> tuple[str, int] | None:
    match = _FENCE.match(line)
    if not match or (match["marks"][0] == "`" and "`" in match["info"]):
        return None
    return match["marks"][0], len(match["marks"])


def fence_closes(line: str, fence: tuple[str, int]) -> bool:
    stripped = line.strip()
    indent = len(line) - len(line.lstrip(" "))
    return bool(stripped) and set(stripped) == {fence[0]} and len(stripped) >= fence[1] and indent <= 3


def _scan(source: Path, lines: list[tuple[str, Path, int]]) -> list[Chunk]:
    """Find the ```{python} chunks; refuse other engines, chunk-header options and unknown shortcodes."""
    chunks: list[Chunk] = []
    fence: tuple[str, int] | None = None
    start = 0
    is_chunk = False
    for index, (line, path, number) in enumerate(lines):
        where = f"{source.name}: line {number} of {path.name}"
        if fence is None:
            opening = fence_opening(line)
            if not opening:
                check_shortcodes(where, line, allow_pagebreak=True)
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
        elif fence_closes(line, fence):
            if is_chunk:
                _, path0, line0 = lines[start]
                body = [text for text, _, _ in lines[start + 1:index]]
                chunk = Chunk(len(chunks) + 1, path0, line0, {}, "\n".join(body))
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


def _cell_options(source: Path, chunk: Chunk, body: list[str]) -> dict[str, Any]:
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


def check_shortcodes(where: str, text: str, *, allow_pagebreak: bool) -> None:
    for match in _SHORTCODE.finditer(text):
        if match["name"] == "pagebreak" and allow_pagebreak and text.strip() == match.group(0):
            continue
        hint = " ({{< pagebreak >}} must stand alone on its line)" if match["name"] == "pagebreak" else ""
        raise RenderError(f"{where}: shortcode {match.group(0)} is not supported{hint}; "
                          "supported: include, pagebreak (see docs/rendering.md)")


def shortcodes(doc: Document, where: str, text: str, fmt: str) -> str:
    """Markdown outside code blocks: {{< pagebreak >}} becomes a page break, any other shortcode fails."""
    out = []
    fence: tuple[str, int] | None = None
    for line in text.splitlines():
        if fence is not None:
            fence = None if fence_closes(line, fence) else fence
        elif opening := fence_opening(line):
            fence = opening
        elif re.fullmatch(r"\s*\{\{<\s*pagebreak\s*>\}\}\s*", line):
            line = (raw_block("html", '<div class="page-break" aria-hidden="true"></div>') if fmt == "html"
                    else raw_block("typst", "#pagebreak()"))
        else:
            check_shortcodes(f"{doc.name}: {where}", line, allow_pagebreak=False)
        out.append(line)
    return "\n".join(out)
