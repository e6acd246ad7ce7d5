"""The executed notebook as Pandoc Markdown for one format, and the Pandoc filter that turns Quarto's own
constructs (callouts, figures with alt text, local images) into HTML or Typst and refuses the rest.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import shutil
from pathlib import Path
from typing import Any

import yaml

from pipeline.publish.execute import INLINE, Cell
from pipeline.publish.figures import raw_block, typst_string
from pipeline.publish.qmd import BUILD, RAW_FORMATS, Chunk, Document, RenderError, shortcodes

CALLOUTS = ("note", "tip", "warning", "important", "caution")


# Which representation of a displayed object each format takes, best first.
MIME_ORDER = {
    "html": ("text/html", "text/markdown", "image/svg+xml", "image/png", "image/jpeg", "text/plain"),
    "pdf": ("text/markdown", "image/svg+xml", "image/png", "image/jpeg", "text/plain"),
}
IMAGE_EXT = {"image/svg+xml": "svg", "image/png": "png", "image/jpeg": "jpg"}


# Quarto's own layout classes and attributes, which plain Pandoc would silently ignore.
QUARTO_CLASS = re.compile(
    r"^(panel-.*|column-.*|content-(visible|hidden)|callout|cell(-.*)?|grid|g-col-.*|page-.*|aside)$"
)


def markdown(doc: Document, nb: Any, plan: list[Cell], fmt: str, work: Path) -> str:
    blocks = [metadata_block(doc)]
    values: list[str] = []
    for cell, planned in zip(nb.cells, plan):
        if planned.kind == "inline":
            text = "".join(o.text for o in cell.outputs if o.output_type == "stream" and o.name == "stdout")
            values = json.loads(text.split("\x1eCSP-INLINE", 1)[1])
        elif planned.kind == "markdown":
            text = INLINE.sub(lambda _: values.pop(0), planned.text) if values else planned.text
            blocks.append(shortcodes(doc, "text", text, fmt))
        elif planned.kind == "chunk":
            blocks.extend(_chunk_markdown(doc, cell, planned.chunk, fmt, work))
    return "\n\n".join(b for b in blocks if b.strip()) + "\n"


def metadata_block(doc: Document) -> str:
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


def _chunk_markdown(doc: Document, cell: Any, chunk: Chunk, fmt: str, work: Path) -> list[str]:
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
            blocks.append(shortcodes(doc, where, text, fmt) if asis else _code_block(text.rstrip("\n"), ""))
            stdout.clear()

    chunk.images = 0
    for index, out in enumerate(cell.outputs):
        if out.output_type == "stream" and out.name == "stdout":
            stdout.append(out.text)
            continue
        flush()
        if out.output_type == "stream":  # stderr: logged by execute
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


def _display(doc: Document, chunk: Chunk, data: dict[str, Any], fmt: str, work: Path, index: int) -> str:
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
        return shortcodes(doc, chunk.describe(doc), value, fmt)
    if mime == "text/plain":
        return _code_block(value, "")
    return _cell_image(doc, chunk, mime, value, fmt, work, index)


def _cell_image(doc: Document, chunk: Chunk, mime: str, value: Any, fmt: str, work: Path, index: int) -> str:
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
    size = f", width: {typst_length(width)}" if width else ""
    return f'#figure(image("{src}"{size}, alt: {typst_string(alt)}), caption: {cap})'


def typst_length(width: str) -> str:
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(px|pt|cm|mm|in|%)?\s*", width)
    if not match:
        raise RenderError(f"image width {width!r}: use a number with px, pt, cm, mm, in or %")
    number, unit = float(match.group(1)), match.group(2) or "px"
    return f"{number * 0.75:g}pt" if unit == "px" else f"{number:g}{unit}"


def pandoc_ast(doc: Document, markdown: str, fmt: str, work: Path) -> dict[str, Any]:
    import pypandoc

    try:
        # verify_format=False: else pypandoc runs Pandoc twice more to list its formats, on every conversion
        ast = json.loads(pypandoc.convert_text(markdown, "json", format="markdown", verify_format=False))
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

    def __init__(self, doc: Document, fmt: str, work: Path) -> None:
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
            typst_length(pairs["width"])

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
        size = f", width: {typst_length(width)}" if width else ""
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
