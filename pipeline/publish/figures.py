"""What a report's cells call to show a chart or a table.

Each helper displays one bundle holding a representation per output format of the render: `text/html`
(an interactive chart, an accessible table) for the HTML file and `text/markdown` (a Typst figure of a
static image, a pipe table) for the PDF. The renderer picks the one it needs, so a document executes once
for both formats and the two files cannot disagree.

The renderer calls `configure()` in a cell of its own before the document's cells and `finish()` after
them: `finish()` writes every chart's static image with one browser (kaleido starts Chromium once, about
2 s, instead of once a chart). Under `quarto render` there is no closing cell: the format comes from
CSP_RENDER_FORMAT, read when a helper is first called, and each image is written at once.

Every number a helper shows is recorded as it is shown (figures.json, which publish/tables.py turns into
figures.csv and figures.xlsx), so the figures files hold every number of the document by construction.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import json
import math
import numbers
import os
import re
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

FORMATS = ("html", "pdf")
FORMAT_ENV = "CSP_RENDER_FORMAT"
MARKING_ENV = "CSP_RENDER_MARKING"  # under `quarto render`: the edition's marking, for downloads
FIGURES_JSON_ENV = "CSP_FIGURES_JSON"  # under `quarto render`: where to record the figures shown
FIGURES_JSON = "figures.json"
SUPPRESSED = "[c]"  # a cell withheld by disclosure control (GSS convention)
WITHHELD = "disclosure_status"  # the column a public mart marks its withheld rows in (pipeline/publish/disclosure.py)
# Marker shapes in palette order, so that no series is told apart by colour alone.
SYMBOLS = ("circle", "square", "diamond", "triangle-up", "x", "star")
# Analysis Function categorical palette, in order (no more than four categories where possible).
PALETTE = ("#12436D", "#28A197", "#801650", "#F46A25", "#3D3D3D", "#A285D1")
TEMPLATE = "csp"
PLOTLY_JS = "plotly.min.js"
FONT = "Arial, 'Liberation Sans', Helvetica, sans-serif"
# A static chart is drawn at this size (CSS pixels) and set at the text width of the PDF, about 0.7 scale.
STATIC_SIZE = (700, 340)
# No "share to Plotly Cloud" button (a published report must not offer to upload its data), no lasso.
CHART_CONFIG = {
    "displaylogo": False,
    "responsive": True,
    "showSendToCloud": False,
    "modeBarButtonsToRemove": ["sendChartToCloud", "sendDataToCloud", "select2d", "lasso2d", "autoScale2d",
                               "zoomIn2d", "zoomOut2d"],
    "toImageButtonOptions": {"format": "png", "scale": 2},
}
# The toolbar's icons: Plotly's default grey is 1.7:1 on white; these are 7.6:1 and 19:1 (WCAG 1.4.11).
MODEBAR = {"bgcolor": "rgba(255,255,255,0.9)", "color": "#505a5f", "activecolor": "#0b0c0c"}
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


@dataclass
class _Session:
    formats: tuple[str, ...]
    out_dir: Path
    # True when the renderer called configure(): static images wait for finish(), which writes them all
    # with one browser, and the renderer puts plotly.js in the page's head. False under `quarto render`.
    managed: bool
    names: set[str] = field(default_factory=set)
    pending: list[tuple[Any, Path, int, int]] = field(default_factory=list)
    plotly_js_written: bool = False
    keep_browser: bool = False  # a kept kernel (publish/pool.py): one browser draws every render's charts
    trace_types: set[str] = field(default_factory=set)
    tables: int = 0
    marking: str | None = None
    figures_json: Path | None = None
    shown: list[dict[str, Any]] = field(default_factory=list)  # every table of numbers, as shown
    area: str = ""
    period: str = ""


_session: _Session | None = None


def configure(*, formats: Sequence[str], out_dir: str | Path, marking: str | None = None,
              keep_browser: bool = False) -> None:
    """Called by the renderer before the document's cells: which formats to emit, where images go, the
    marking every download carries, and whether the browser that draws the charts outlives this document."""
    global _session
    formats = tuple(formats)
    unknown = [f for f in formats if f not in FORMATS]
    if not formats or unknown:
        raise ValueError(f"formats must be some of {FORMATS}, got {formats!r}")
    _session = _Session(formats, Path(out_dir), managed=True, marking=marking or None,
                        figures_json=Path(out_dir) / FIGURES_JSON, keep_browser=keep_browser)
    _use_template()


def defaults(*, area: str = "", period: str = "") -> None:
    """The area and period of every figure shown after this call, unless a helper's area=/period= says
    otherwise (a column name, or a value)."""
    session = _current()
    session.area, session.period = area, period


# plotly.js's "cartesian" partial bundle (1.5 MB against the full 4.8 MB), put beside the interpreter by
# `make install` from the npm registry; it draws these trace types, and the full bundle draws the rest.
PARTIAL_BUNDLE = "plotly-cartesian.min.js"
PARTIAL_TRACES = frozenset({"bar", "box", "contour", "heatmap", "histogram", "histogram2d", "histogram2dcontour",
                            "image", "pie", "scatter", "scatterternary", "violin"})


def plotly_bundle(trace_types: set[str]) -> Path:
    """The smallest plotly.js that draws every trace type the document uses."""
    import plotly

    partial = Path(sys.prefix) / "share" / "csp" / PARTIAL_BUNDLE
    if partial.is_file() and trace_types <= PARTIAL_TRACES:
        return partial
    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def finish() -> list[Path]:
    """Put plotly.js beside the page for the renderer to inline, and write the static images of every chart
    shown since configure(), all with one browser."""
    session = _session
    if session is not None and session.managed and session.trace_types and not session.plotly_js_written:
        shutil.copyfile(plotly_bundle(session.trace_types), session.out_dir / PLOTLY_JS)
        session.plotly_js_written = True
    if session is None or not session.pending:
        return []
    paths = _write_static(session.pending, session.keep_browser)
    session.pending.clear()
    return paths


def _write_static(charts: list[tuple[Any, Path, int, int]], keep_browser: bool = False) -> list[Path]:
    """Draw (figure, path, width, height) charts as SVG with one headless Chromium (kaleido), offline:
    plotly.js comes from the installed plotly and MathJax is off (through plotly.io, kaleido would ask a CDN
    for MathJax on every render; no chart here typesets LaTeX). With `keep_browser` the browser is kaleido's
    server, started by the first render and kept for the next ones (Chromium's start is most of the cost)."""
    import kaleido

    _browser_path()
    drawings = [{"fig": fig.to_dict(), "path": Path(path), "opts": {"format": "svg", "width": width, "height": height}}
                for fig, path, width, height in charts]
    if keep_browser:
        kaleido.start_sync_server(mathjax=False, silence_warnings=True)
        kaleido.write_fig_from_object_sync(drawings)
    else:
        kaleido.write_fig_from_object_sync(drawings, kopts={"mathjax": False})
    paths = [Path(path) for _, path, _, _ in charts]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise RuntimeError(f"kaleido wrote no image for: {', '.join(missing)}")
    return paths


def show_chart(fig: Any, *, title: str, subtitle: str, alt: str, name: str, data: Any,
               area: str | None = None, period: str | None = None, units: dict[str, str] | None = None,
               indicator: str | None = None, sources: Sequence[str] | None = None) -> None:
    """Show a Plotly figure: interactive in HTML, a vector image in the PDF, with its data table under it.

    `title` is the headline (what the chart shows, in words), `subtitle` the statistical detail (measure,
    period, source); both are set as text above the chart, so they wrap on a phone. `alt` describes the
    chart for someone who cannot see it; `name` (lower case, digits, - and _) names its image, anchor and
    CSV; `data` is the table behind the chart (pandas or polars), shown as a table under it (in a
    collapsible <details> in HTML) and recorded for figures.csv like any table (see show_table).
    """
    import plotly.graph_objects as go
    from IPython.display import display

    session = _current()
    _claim(session, name, "chart")
    for key, text in (("alt", alt), ("title", title), ("subtitle", subtitle)):
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"show_chart({name!r}): {key}= is required (alt= is the chart's text alternative, "
                             "title= its headline, subtitle= its measure, period and source)")
    fig = go.Figure(fig)  # a copy: the caller's figure is left as it was
    _apply_template(fig, session.marking)
    columns, rows, origin = _provenance(*_rows(data), indicator, sources)
    cells, numeric = _format_cells(columns, rows)
    caption = f"Data for the chart: {title.strip()}"
    _record(session, name, "chart", caption, columns, rows, cells, numeric, area, period, units, origin)
    csv = _to_csv(data, drop=[indicator, sources])
    bundle: dict[str, str] = {}
    if "html" in session.formats:
        table = _table_html(columns, cells, numeric, caption, f"tbl-{name}")
        bundle["text/html"] = _chart_html(session, fig, title.strip(), subtitle.strip(), alt.strip(), name, csv, table)
    if "pdf" in session.formats:
        bundle["text/markdown"] = (_chart_typst(session, fig, title.strip(), subtitle.strip(), alt.strip(), name)
                                   + "\n\n" + _table_markdown(columns, cells, numeric, caption))
    display(bundle, raw=True)


def show_table(df: Any, *, caption: str, name: str | None = None, area: str | None = None,
               period: str | None = None, units: dict[str, str] | str | None = None,
               indicator: str | None = None, sources: Sequence[str] | None = None) -> None:
    """Show a table: captioned, with header cells scoped, integers with thousands separators.

    Every number in it is recorded for figures.csv: its indicator is the row's other text cells and the
    column's heading; `area` and `period` name the columns that hold them (or give the value for the whole
    table; the defaults() otherwise); `units` maps a column to its unit ("count" for whole numbers when
    unsaid), or names a column holding each row's unit. The index of a pandas DataFrame is not shown: reset_index() first if it carries data.

    Provenance for figures.csv: `indicator` is the catalogue id of every number in the table, or the name
    of a column of ids (one per row; not shown); `sources` names the sources, as a list or as a column of
    names (not shown); by default the indicators' sources from the catalogue.
    """
    from IPython.display import display

    session = _current()
    if not isinstance(caption, str) or not caption.strip():
        raise ValueError("show_table: caption= is required (it names the table for screen readers)")
    session.tables += 1
    if name is not None:
        _claim(session, name, "table")
    table_id = f"tbl-{name}" if name else f"tbl-{session.tables}"
    columns, rows, origin = _provenance(*_rows(df), indicator, sources)
    cells, numeric = _format_cells(columns, rows)
    _record(session, name or f"table-{session.tables}", "table", caption.strip(), columns, rows, cells, numeric,
            area, period, units, origin)
    bundle: dict[str, str] = {}
    if "html" in session.formats:
        bundle["text/html"] = _table_html(columns, cells, numeric, caption.strip(), table_id)
    if "pdf" in session.formats:
        bundle["text/markdown"] = _table_markdown(columns, cells, numeric, caption.strip())
    display(bundle, raw=True)


def figure_value(text: str) -> str:
    """A number as figures.csv holds it: the text shown, without thousands separators."""
    return text.replace(",", "")


def _provenance(columns: list[str], rows: list[tuple[Any, ...]], indicator: str | None,
                sources: Sequence[str] | None) -> tuple[list[str], list[tuple[Any, ...]], list[tuple[str, str]]]:
    """Each row's indicator id and sources ("a; b"), and the table without a column of ids or sources.

    A public mart's `disclosure_status` column (pipeline/publish/disclosure.py) is not shown either: in a row
    it marks, each withheld (null) cell is shown as [c]."""
    if WITHHELD in columns:
        k = columns.index(WITHHELD)
        rows = [tuple(SUPPRESSED if r[k] is not None and _missing(v) else v for v in r[:k] + r[k + 1:]) for r in rows]
        columns = columns[:k] + columns[k + 1:]
    ids: list[str] = [indicator or ""] * len(rows)
    if indicator is not None and indicator in columns:
        k = columns.index(indicator)
        ids = [str(r[k] or "") for r in rows]
        columns, rows = columns[:k] + columns[k + 1:], [r[:k] + r[k + 1:] for r in rows]
    if isinstance(sources, str):  # a column of source names, one per row (not shown)
        if sources not in columns:
            raise ValueError(f"sources={sources!r}: no such column; give a list of source names or a column's name")
        k = columns.index(sources)
        named = [str(r[k] or "") for r in rows]
        columns, rows = columns[:k] + columns[k + 1:], [r[:k] + r[k + 1:] for r in rows]
        return columns, rows, list(zip(ids, named))
    if sources is not None:
        return columns, rows, [(i, "; ".join(sources)) for i in ids]
    from pipeline.analysis.catalogue import load_catalogue

    catalogue = load_catalogue()
    unknown = sorted({i for i in ids if i and i not in catalogue})
    if unknown:
        raise ValueError(f"indicator(s) {unknown} are not in the catalogue (indicators/*.yaml)")
    return columns, rows, [(i, "; ".join(catalogue[i].sources) if i else "") for i in ids]


def _record(session: _Session, name: str, kind: str, caption: str, columns: list[str], rows: list[tuple[Any, ...]],
            cells: list[list[str]], numeric: list[bool], area: str | None, period: str | None,
            units: dict[str, str] | str | None, origin: list[tuple[str, str]]) -> None:
    """Every number of a table as a tidy row (indicator, area, period, value, unit, status), then the whole
    record rewritten to figures.json, so that it is complete whether or not finish() runs."""
    unit_col = None
    if isinstance(units, str):  # a column holding each row's unit (a table of indicators in different units)
        if units not in columns:
            raise ValueError(f"{kind} {name!r}: units={units!r}: no such column; give a mapping or a column's name")
        unit_col, units = columns.index(units), {}
    units = units or {}
    unknown = sorted(set(units) - set(columns))
    for key, value in (("area", area), ("period", period)):
        if value is not None and not isinstance(value, str):
            raise ValueError(f"{kind} {name!r}: {key}= must be a column name or a text value")
    if unknown:
        raise ValueError(f"{kind} {name!r}: units= names column(s) {unknown} the table does not have")
    area_col = columns.index(area) if area in columns else None
    period_col = columns.index(period) if period in columns else None
    labels = [j for j, is_num in enumerate(numeric) if not is_num and j not in (area_col, period_col, unit_col)]
    records = []
    for row, texts, (indicator_id, sources) in zip(rows, cells, origin):
        label = [texts[j] for j in labels if texts[j]]
        for j, is_num in enumerate(numeric):
            if not is_num or texts[j] == "":
                continue
            integral = all(isinstance(r[j], numbers.Integral) for r in rows if _number(r[j]))
            records.append({
                "table": name,
                "indicator": ": ".join([*label, columns[j]]),
                "area": texts[area_col] if area_col is not None else (area if area is not None else session.area),
                "period": texts[period_col] if period_col is not None else (period if period is not None else session.period),
                "value": "" if texts[j] == SUPPRESSED else figure_value(texts[j]),
                "unit": texts[unit_col] if unit_col is not None else units.get(columns[j], "count" if integral else "number"),
                "status": "suppressed" if texts[j] == SUPPRESSED else "shown",
                "indicator_id": indicator_id,
                "sources": sources,
            })
    session.shown.append({"name": name, "kind": kind, "caption": caption, "columns": columns,
                          "numeric": numeric, "cells": cells, "records": records})
    if session.figures_json is not None:
        session.figures_json.write_text(json.dumps({"tables": session.shown}, ensure_ascii=False), encoding="utf-8")


# --- session --------------------------------------------------------------------------------------------


def _current() -> _Session:
    """The configured session, or (under `quarto render`) one for the format Quarto is rendering."""
    global _session
    if _session is None:
        fmt = os.environ.get(FORMAT_ENV, "html")
        if fmt not in FORMATS:
            raise ValueError(f"{FORMAT_ENV}={fmt!r}: expected one of {FORMATS}")
        record = os.environ.get(FIGURES_JSON_ENV)
        _session = _Session((fmt,), Path.cwd(), managed=False, marking=os.environ.get(MARKING_ENV) or None,
                            figures_json=Path(record) if record else None)
        _use_template()
    return _session


def _claim(session: _Session, name: str, kind: str) -> None:
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"{kind} name {name!r}: use lower-case letters, digits, '-' and '_' (it names files)")
    if name in session.names:
        raise ValueError(f"{kind} name {name!r} is used twice in this document")
    session.names.add(name)


def _browser_path() -> None:
    """Point kaleido at Debian's Chromium when nothing else is set (done per call, never at import)."""
    if not os.environ.get("BROWSER_PATH"):
        found = shutil.which("chromium") or shutil.which("chromium-browser")
        if found:
            os.environ["BROWSER_PATH"] = found


# --- charts ---------------------------------------------------------------------------------------------


def _template() -> Any:
    import plotly.graph_objects as go
    import plotly.io as pio

    template = go.layout.Template(pio.templates["plotly_white"])
    template.layout.update(
        colorway=list(PALETTE),
        font={"family": FONT, "size": 14, "color": "#0b0c0c"},
        title={"x": 0, "xanchor": "left", "font": {"size": 18}},
        paper_bgcolor="#ffffff",
        plot_bgcolor="#ffffff",
        separators=".,",
        xaxis={"showgrid": False, "showline": True, "linecolor": "#505a5f", "ticks": "outside", "tickcolor": "#505a5f"},
        yaxis={"gridcolor": "#d9d9d9", "zeroline": False, "rangemode": "tozero", "tickformat": ","},
        legend={"font": {"size": 13}},
        hoverlabel={"font": {"family": FONT}},
        margin={"l": 64, "r": 24, "t": 24, "b": 48},
        modebar=MODEBAR,
    )
    return template


def _use_template() -> None:
    import plotly.io as pio

    if TEMPLATE not in pio.templates:
        pio.templates[TEMPLATE] = _template()
    pio.templates.default = TEMPLATE


def _apply_template(fig: Any, marking: str | None) -> None:
    """Our look on any figure: the template (charts made before configure() or under Quarto carry plotly's
    stock one), a marker shape per series, month axes that never show clock times, and the edition's
    marking inside the figure, so that a PNG saved from the toolbar carries it."""
    import plotly.io as pio

    if fig.layout.template == pio.templates["plotly"]:
        fig.update_layout(template=pio.templates[TEMPLATE])
    fig.update_layout(title=None, modebar=MODEBAR)
    for index, trace in enumerate(fig.data):
        if trace.type == "scatter" and "markers" in (trace.mode or "lines+markers") and trace.marker.symbol is None:
            trace.marker.symbol = SYMBOLS[index % len(SYMBOLS)]
    _month_axis(fig)
    if marking:  # one line per part, so that it fits a phone's width
        lines = marking.split(" · ")
        fig.add_annotation(text="<br>".join(html.escape(line) for line in lines), xref="paper", yref="paper",
                           x=0, y=1.0, yanchor="bottom", xanchor="left", align="left", showarrow=False,
                           font={"size": 11, "color": "#0b0c0c"})
        fig.update_layout(margin={"t": max(16 + 15 * len(lines), (fig.layout.margin.t or 0))})


def _month_axis(fig: Any) -> None:
    """Dates on the x axis are months: labelled "Apr 2024", and a single month as a category, so Plotly
    does not fill one day's width with clock times."""
    months: set[str] = set()
    for trace in fig.data:
        for value in (trace.x if getattr(trace, "x", None) is not None else ()):
            if not isinstance(value, (dt.date, str)) or (isinstance(value, str) and not _ISO_DATE.match(value)):
                return
            months.add(str(value)[:7])
    if not months or fig.layout.xaxis.tickvals is not None:
        return
    if len(months) == 1:
        for trace in fig.data:
            trace.x = [_month_label(v) for v in trace.x]
        fig.update_xaxes(type="category")
    else:
        fig.update_xaxes(tickformat="%b %Y", hoverformat="%b %Y")


_ISO_DATE = re.compile(r"^\d{4}-\d{2}(-\d{2})?")


def _month_label(value: Any) -> str:
    day = value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10] if len(str(value)) >= 10 else f"{value}-01")
    return f"{day:%b %Y}"


def financial_year_axis(fig: Any, months: Sequence[dt.date]) -> None:
    """Tick a monthly x axis at each April, labelled with its financial year (2024-25), with a faint line at
    each year's start: for documents organised by financial year."""
    from pipeline.publish.periods import financial_year

    aprils = sorted({m for m in months if m.month == 4})
    fig.update_xaxes(tickvals=aprils, ticktext=[financial_year(m) for m in aprils], tickformat=None,
                     hoverformat="%b %Y", showgrid=True, gridcolor="#e5e5e5", ticklabelmode="instant")


def _chart_html(session: _Session, fig: Any, title: str, subtitle: str, alt: str, name: str, csv: str,
                table: str) -> str:
    import plotly
    import plotly.io as pio

    parts = []
    session.trace_types |= {trace.type for trace in fig.data}
    if not session.managed and not session.plotly_js_written:
        # A file beside the page, which Pandoc (or Quarto) inlines into the HTML once: far quicker than
        # passing 4.8 MB of script through Markdown. The renderer loads it in the page's head (so a chart
        # in a hidden cell cannot take the library with it); under Quarto it comes with the first chart.
        shutil.copyfile(Path(plotly.__file__).parent / "package_data" / "plotly.min.js", session.out_dir / PLOTLY_JS)
        session.plotly_js_written = True
        parts.append(f'<script src="{PLOTLY_JS}" charset="utf-8"></script>')
    height = int(fig.layout.height or 420)
    config = {**CHART_CONFIG, "toImageButtonOptions": {**CHART_CONFIG["toImageButtonOptions"], "filename": name}}
    plot = pio.to_html(
        fig, full_html=False, include_plotlyjs=False, div_id=f"chart-{name}",
        config=config, default_width="100%", default_height=f"{height}px",
    )
    # No role="img" around the plot: its mode bar holds real buttons, and controls must not sit inside an
    # image; the drawing itself is hidden from screen readers (html.py), the table below carries the numbers.
    parts.append(f'<div class="csp-chart-plot">{plot}</div>')
    return _figure_html(session, "csp-chart", name, title, subtitle, alt, "\n".join(parts), csv, table)


def _figure_html(session: _Session, kind: str, name: str, title: str, subtitle: str, alt: str, drawing: str,
                 csv: str, table: str) -> str:
    """A chart or map as a figure named by its visible headline and described by its visible alt text,
    with the data as CSV (its first line the edition's marking) and as a table that opens under it."""
    heading = f"{session.marking}\n" if session.marking else ""
    uri = "data:text/csv;charset=utf-8;base64," + base64.b64encode(("\ufeff" + heading + csv).encode("utf-8")).decode()
    return "\n".join([
        f'<figure class="{kind}" id="fig-{name}" aria-labelledby="fig-{name}-title" aria-describedby="fig-{name}-alt">',
        f'<p class="csp-chart-title" id="fig-{name}-title">{html.escape(title)}</p>',
        f'<p class="csp-chart-subtitle">{html.escape(subtitle)}</p>',
        drawing,
        f'<figcaption><p class="csp-chart-alt" id="fig-{name}-alt">{html.escape(alt)}</p>',
        f'<p class="csp-download"><a href="{uri}" download="{name}.csv" aria-describedby="fig-{name}-title">'
        "Download the data (CSV)</a></p>",
        f'<details class="csp-chart-data"><summary>Show the data table</summary>\n{table}\n</details>',
        "</figcaption></figure>",
    ])


def _chart_typst(session: _Session, fig: Any, title: str, subtitle: str, alt: str, name: str) -> str:
    width = int(fig.layout.width or STATIC_SIZE[0])
    height = int(fig.layout.height or STATIC_SIZE[1])
    path = session.out_dir / f"fig-{name}.svg"
    session.pending.append((fig, path, width, height))
    if not session.managed:  # under `quarto render` no closing cell comes: draw it now
        finish()
    return _figure_typst(path.name, title, subtitle, alt, name)


def _figure_typst(image: str, title: str, subtitle: str, alt: str, name: str) -> str:
    """A chart or map in the PDF: headline and subtitle above the vector image, kept on one page with it."""
    return raw_block("typst", (
        f"#block(breakable: false)[#strong({typst_string(title)})\\ #text(size: 9pt, {typst_string(subtitle)})\n"
        f'#figure(image("{image}", width: 100%, alt: {typst_string(alt)}), caption: {typst_string(alt)}) <fig-{name}>]'
    ))


def show_map(outlines: Any, data: Any, *, key: str, value: str, title: str, subtitle: str, alt: str, name: str,
             area: str | None = None, period: str | None = None, units: dict[str, str] | None = None,
             indicator: str | None = None, sources: Sequence[str] | None = None, label_values: bool = True,
             outline: str | None = None, marker: str | None = None) -> None:
    """Show a choropleth map of areas: `outlines` has a name column (`key`) and `wkt` (from a mart such as
    mart_ward_shapes or mart_lsoa_shapes); `data` is the table shown beside it (its text alternative, recorded for
    figures.csv), with the same `key` column and the `value` column the map colours. A vector SVG in both formats,
    an image named by the headline and described by the alt text.

    Colour is never the only cue: with `label_values` each area's value is written on it (turn it off for many
    small areas, whose values the table gives); `outline` and `marker` name columns of `data` (yes/no or true/false)
    whose "yes" areas are drawn with a heavy outline or a diamond, the column's heading naming the cue in the legend."""
    from IPython.display import display

    from pipeline.publish.choropleth import choropleth_svg

    session = _current()
    _claim(session, name, "map")
    for label, text in (("alt", alt), ("title", title), ("subtitle", subtitle)):
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"show_map({name!r}): {label}= is required")
    columns, rows, origin = _provenance(*_rows(data), indicator, sources)
    wanted = [c for c in (key, value, outline, marker) if c is not None]
    if not set(wanted) <= set(columns):
        raise ValueError(f"show_map({name!r}): data= needs the columns {wanted}; it has {columns}")
    cells, numeric = _format_cells(columns, rows)
    caption = f"Data for the map: {title.strip()}"
    _record(session, name, "map", caption, columns, rows, cells, numeric, area if area is not None else key,
            period, units, origin)
    k, v = columns.index(key), columns.index(value)
    values = {row[k]: (None if _missing(row[v]) or row[v] == SUPPRESSED else row[v]) for row in rows}
    texts = {row[k]: cell[v] for row, cell in zip(rows, cells)}

    def flagged(column: str | None) -> set[Any]:
        return set() if column is None else {row[k] for row in rows if row[columns.index(column)] in (True, "yes")}

    out_columns, out_rows = _rows(outlines)
    shapes = [(row[out_columns.index(key)], row[out_columns.index("wkt")]) for row in out_rows]
    svg = choropleth_svg(shapes, values, label=value, value_text=texts, title=title.strip(), description=alt.strip(),
                         ident=f"map-{name}", labelled=label_values, outlined=flagged(outline), outline_label=outline or "",
                         marked=flagged(marker), marker_label=marker or "")
    bundle: dict[str, str] = {}
    if "html" in session.formats:
        drawing = f'<div class="csp-map-drawing">{svg}</div>'
        table = _table_html(columns, cells, numeric, caption, f"tbl-{name}")
        bundle["text/html"] = _figure_html(session, "csp-map", name, title.strip(), subtitle.strip(), alt.strip(),
                                           drawing, _to_csv(data, drop=[indicator, sources]), table)
    if "pdf" in session.formats:
        path = session.out_dir / f"fig-{name}.svg"
        path.write_text(svg, encoding="utf-8")
        bundle["text/markdown"] = (_figure_typst(path.name, title.strip(), subtitle.strip(), alt.strip(), name)
                                   + "\n\n" + _table_markdown(columns, cells, numeric, caption))
    display(bundle, raw=True)


def _to_csv(data: Any, drop: Sequence[Any] = ()) -> str:
    """The chart's data as its CSV download (without the columns of indicator ids or sources, which
    figures.csv carries)."""
    drop = [c for c in drop if isinstance(c, str) and c in data.columns] if data is not None else []
    if data is None:
        raise TypeError("data= is required: the table behind the chart (every chart has its data table)")
    if hasattr(data, "write_csv"):  # polars
        return data.drop(drop).write_csv()
    if hasattr(data, "to_csv"):  # pandas
        return data.drop(columns=drop).to_csv(index=False)
    raise TypeError(f"data= must be a pandas or polars DataFrame, got {type(data).__name__}")


# --- tables ---------------------------------------------------------------------------------------------


def _rows(df: Any) -> tuple[list[str], list[tuple[Any, ...]]]:
    if hasattr(df, "rows") and hasattr(df, "schema"):  # polars
        return [str(c) for c in df.columns], df.rows()
    if hasattr(df, "itertuples"):  # pandas
        rows = [tuple(v.item() if hasattr(v, "item") and not isinstance(v, str) else v for v in row)
                for row in df.itertuples(index=False, name=None)]
        return [str(c) for c in df.columns], rows
    raise TypeError(f"show_table takes a pandas or polars DataFrame, got {type(df).__name__}")


def _missing(value: Any) -> bool:
    return (value is None or (isinstance(value, float) and math.isnan(value))
            or type(value).__name__ in ("NAType", "NaTType"))


def _number(value: Any) -> bool:
    return isinstance(value, numbers.Number) and not isinstance(value, bool)


def _decimals(value: Any) -> int:
    text = f"{float(value):.6f}".rstrip("0")
    return len(text.split(".")[1]) if "." in text else 0


def _format_cells(columns: list[str], rows: list[tuple[Any, ...]]) -> tuple[list[list[str]], list[bool]]:
    """Text for every cell; a column is numeric (right-aligned) when every value in it is a number."""
    numeric, places = [], []
    for j in range(len(columns)):
        values = [row[j] for row in rows if not _missing(row[j]) and row[j] != SUPPRESSED]
        is_num = bool(values) and all(_number(v) for v in values)
        numeric.append(is_num)
        fractions = [_decimals(v) for v in values if is_num and not isinstance(v, numbers.Integral)]
        places.append(min(max(fractions, default=0), 3))

    def text(value: Any, j: int) -> str:
        if _missing(value):
            return ""
        if value == SUPPRESSED:
            return SUPPRESSED
        if isinstance(value, numbers.Integral) and not isinstance(value, bool):
            return f"{int(value):,}"
        if _number(value):
            return f"{float(value):,.{places[j]}f}"
        if isinstance(value, (dt.date, dt.datetime)):
            return value.isoformat()
        return str(value)

    return [[text(v, j) for j, v in enumerate(row)] for row in rows], numeric


def _table_html(columns: list[str], cells: list[list[str]], numeric: list[bool], caption: str, table_id: str) -> str:
    row_header = bool(columns) and not numeric[0]

    def cls(j: int) -> str:
        return ' class="num"' if numeric[j] else ""

    head = "".join(f'<th scope="col"{cls(j)}>{html.escape(c)}</th>' for j, c in enumerate(columns))
    body = []
    for row in cells:
        tds = []
        for j, value in enumerate(row):
            if j == 0 and row_header:
                tds.append(f'<th scope="row">{html.escape(value)}</th>')
            else:
                tds.append(f"<td{cls(j)}>{html.escape(value)}</td>")
        body.append("<tr>" + "".join(tds) + "</tr>")
    return (
        f'<div class="csp-table-wrap" role="region" aria-labelledby="{table_id}-caption" tabindex="0">\n'
        f'<table class="csp-table" id="{table_id}">\n'
        f'<caption id="{table_id}-caption">{html.escape(caption)}</caption>\n'
        f"<thead><tr>{head}</tr></thead>\n<tbody>\n" + "\n".join(body) + "\n</tbody>\n</table>\n</div>"
    )


_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#~^$@{}])")


def _md_cell(text: str) -> str:
    return _MD_SPECIAL.sub(r"\\\1", text.replace("\n", " ")) or " "


def _table_markdown(columns: list[str], cells: list[list[str]], numeric: list[bool], caption: str) -> str:
    lines = ["| " + " | ".join(_md_cell(c) for c in columns) + " |",
             "|" + "|".join("--:" if n else ":--" for n in numeric) + "|"]
    lines += ["| " + " | ".join(_md_cell(v) for v in row) + " |" for row in cells]
    return "\n".join(lines) + "\n\n: " + _md_cell(caption) + "\n"


# --- small writers the renderer shares ------------------------------------------------------------------


def typst_string(text: str) -> str:
    """A Typst string literal (usable where Typst expects content, too)."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "")
    return f'"{escaped}"'


def raw_block(fmt: str, text: str) -> str:
    """A Pandoc raw block, fenced with more backticks than the text ever runs to."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{{={fmt}}}\n{text}\n{fence}"
