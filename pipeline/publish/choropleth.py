"""A choropleth map of areas (wards, LSOAs) as an SVG we write ourselves from shapely geometry: a vector graphic
that the HTML inlines and Typst sets in the PDF, with no browser and no map tiles (it works offline).
"""

from __future__ import annotations

import html
import math
from collections.abc import Collection

# Analysis Function sequential palette, light to dark, with the text colour that reads on each.
SEQUENTIAL = (("#DCEAF7", "#0b0c0c"), ("#6BACE6", "#0b0c0c"), ("#2073BC", "#ffffff"), ("#12436D", "#ffffff"))
INK = "#0b0c0c"


def choropleth_svg(outlines: list[tuple[str, str]], values: dict[str, float | None], *, label: str,
                   value_text: dict[str, str], title: str, description: str, ident: str = "csp-map",
                   labelled: bool = True, outlined: Collection[str] = (), outline_label: str = "",
                   marked: Collection[str] = (), marker_label: str = "", width: int = 640) -> str:
    """An SVG map: each (name, WKT) outline filled by its value in four equal-count classes of the sequential
    palette, and a legend. Colour is never the only cue: with `labelled` each area's value is written on it
    (for a few large areas; many small ones are read from the table beside the map instead). Areas in `outlined`
    are drawn with a heavy outline (black on a white halo, seen on every fill), areas in `marked` carry a diamond;
    the legend names both. Names without a value are hatched grey ("no data"). The SVG is an image named by
    `title` and described by `description` (role="img", <title>, <desc>); `ident` prefixes its ids, unique in a
    page. Each area's path carries its name as `data-area`, and `class="csp-outlined"` / `"csp-marked"` on its cues."""
    import shapely
    from shapely import wkt as shapely_wkt

    geoms = [(name, shapely_wkt.loads(text)) for name, text in outlines]
    minx, miny, maxx, maxy = shapely.union_all([g for _, g in geoms]).bounds
    scale_x = math.cos(math.radians((miny + maxy) / 2))  # equirectangular, true to shape at this latitude
    cues = [(text, kind) for text, kind, areas in ((outline_label, "outline", outlined), (marker_label, "marker", marked)) if areas]
    legend_h = 56 + 22 * bool(cues)
    plot_w = width - 16
    k = plot_w / ((maxx - minx) * scale_x)
    plot_h = (maxy - miny) * k
    height = int(plot_h + legend_h + 16)

    def xy(x: float, y: float) -> tuple[float, float]:
        return 8 + (x - minx) * scale_x * k, 8 + (maxy - y) * k

    def path(geom) -> str:
        d = []
        for polygon in getattr(geom, "geoms", [geom]):
            for ring in [polygon.exterior, *polygon.interiors]:
                d.append("M" + " L".join("%.1f,%.1f" % xy(x, y) for x, y in list(ring.coords)[:-1]) + " Z")
        return " ".join(d)

    known = sorted(v for v in values.values() if v is not None)
    breaks = [known[min(len(known) - 1, int(len(known) * q / 4))] for q in (1, 2, 3)] if known else []

    def klass(value: float) -> int:
        return sum(value >= b for b in breaks)

    shapes, halos, lines, labels = [], [], [], []
    for name, geom in geoms:
        value = values.get(name)
        fill, ink = (f"url(#{ident}-nodata)", INK) if value is None else SEQUENTIAL[klass(value)]
        d = path(geom)
        area = html.escape(str(name), quote=True)
        shapes.append(f'<path data-area="{area}" d="{d}" fill="{fill}" stroke="#ffffff" stroke-width="{1.2 if labelled else 0.6}"/>')
        point = geom.representative_point()
        x, y = xy(point.x, point.y)
        if name in outlined:  # drawn after every area, so no neighbour covers it
            halos.append(f'<path d="{d}" fill="none" stroke="#ffffff" stroke-width="4.5" stroke-linejoin="round"/>')
            lines.append(f'<path class="csp-outlined" data-area="{area}" d="{d}" fill="none" stroke="{INK}" stroke-width="2" stroke-linejoin="round"/>')
        if name in marked:  # above the value written on the area, not over it
            labels.append(f'<path class="csp-marked" data-area="{area}" d="{_diamond(x, y - 13 if labelled else y)}" '
                          f'fill="#ffffff" stroke="{INK}" stroke-width="1.5"/>')
        if labelled:
            text = value_text.get(name, "no data")
            labels.append(f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="middle" dominant-baseline="middle" font-size="12" '
                          f'font-weight="bold" fill="{ink}" stroke="{INK if ink == "#ffffff" else "#ffffff"}" '
                          f'stroke-width="0.6" paint-order="stroke">{html.escape(text)}</text>')
    legend = [f'<text x="8" y="{plot_h + 28:.0f}" font-size="12" fill="{INK}">{html.escape(label)}</text>']
    lows = [known[0]] + breaks if known else []
    highs = breaks + [known[-1]] if known else []
    for i, (low, high) in enumerate(zip(lows, highs)):
        fill, _ = SEQUENTIAL[i]
        x0 = 8 + i * 155
        last = i == len(lows) - 1  # a break value belongs to the class above it
        legend.append(f'<rect x="{x0}" y="{plot_h + 36:.0f}" width="18" height="14" fill="{fill}" stroke="{INK}" stroke-width="0.5"/>')
        legend.append(f'<text x="{x0 + 24}" y="{plot_h + 47:.0f}" font-size="12" fill="{INK}">'
                      f'{_short(low)} to {"" if last else "under "}{_short(high)}</text>')
    for i, (text, kind) in enumerate(cues):
        x0, y0 = 8 + i * 310, plot_h + 58
        legend.append(f'<rect x="{x0 + 1}" y="{y0 + 1:.0f}" width="16" height="12" fill="#ffffff" stroke="{INK}" stroke-width="2"/>'
                      if kind == "outline" else
                      f'<path d="{_diamond(x0 + 9, y0 + 7)}" fill="#ffffff" stroke="{INK}" stroke-width="1.5"/>')
        legend.append(f'<text x="{x0 + 24}" y="{y0 + 11:.0f}" font-size="12" fill="{INK}">{html.escape(text)}</text>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
            f'role="img" aria-labelledby="{ident}-title" aria-describedby="{ident}-desc" '
            f'font-family="Arial, Liberation Sans, Helvetica, sans-serif">'
            f'<title id="{ident}-title">{html.escape(title)}</title><desc id="{ident}-desc">{html.escape(description)}</desc>'
            f'<defs><pattern id="{ident}-nodata" width="6" height="6" patternUnits="userSpaceOnUse">'
            '<rect width="6" height="6" fill="#f3f2f1"/><path d="M0 6 L6 0" stroke="#505a5f" stroke-width="1"/></pattern></defs>'
            + "".join(shapes) + "".join(halos) + "".join(lines) + "".join(labels) + "".join(legend) + "</svg>")


def _diamond(x: float, y: float, r: float = 4.0) -> str:
    return f"M{x:.1f},{y - r:.1f} L{x + r:.1f},{y:.1f} L{x:.1f},{y + r:.1f} L{x - r:.1f},{y:.1f} Z"


def _short(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() or abs(value) >= 100 else f"{value:,.1f}"
