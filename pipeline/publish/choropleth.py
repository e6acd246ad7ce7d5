"""A choropleth map of wards as an SVG we write ourselves from shapely geometry: a vector graphic that the
HTML inlines and Typst sets in the PDF, with no browser and no map tiles (it works offline).
"""

from __future__ import annotations

import html
import math

# Analysis Function sequential palette, light to dark, with the text colour that reads on each.
SEQUENTIAL = (("#DCEAF7", "#0b0c0c"), ("#6BACE6", "#0b0c0c"), ("#2073BC", "#ffffff"), ("#12436D", "#ffffff"))


def choropleth_svg(outlines: list[tuple[str, str]], values: dict[str, float | None], *, label: str,
                   value_text: dict[str, str], width: int = 640) -> str:
    """An SVG map: each (name, WKT) outline filled by its value in four equal-count classes of the sequential
    palette, with its value written on it (colour is never the only cue), and a legend. Names without a
    value are hatched grey and labelled "no data"."""
    import shapely
    from shapely import wkt as shapely_wkt

    geoms = [(name, shapely_wkt.loads(text)) for name, text in outlines]
    minx, miny, maxx, maxy = shapely.union_all([g for _, g in geoms]).bounds
    scale_x = math.cos(math.radians((miny + maxy) / 2))  # equirectangular, true to shape at this latitude
    legend_h = 56
    plot_w = width - 16
    k = plot_w / ((maxx - minx) * scale_x)
    plot_h = (maxy - miny) * k
    height = int(plot_h + legend_h + 16)

    def xy(x: float, y: float) -> str:
        return f"{8 + (x - minx) * scale_x * k:.1f},{8 + (maxy - y) * k:.1f}"

    def path(geom) -> str:
        polygons = getattr(geom, "geoms", [geom])
        d = []
        for polygon in polygons:
            for ring in [polygon.exterior, *polygon.interiors]:
                points = list(ring.coords)
                d.append("M" + " L".join(xy(x, y) for x, y in points[:-1]) + " Z")
        return " ".join(d)

    known = sorted(v for v in values.values() if v is not None)
    breaks = [known[min(len(known) - 1, int(len(known) * q / 4))] for q in (1, 2, 3)] if known else []

    def klass(value: float) -> int:
        return sum(value >= b for b in breaks)

    shapes, labels = [], []
    for name, geom in geoms:
        value = values.get(name)
        fill, ink = ("url(#csp-nodata)", "#0b0c0c") if value is None else SEQUENTIAL[klass(value)]
        shapes.append(f'<path d="{path(geom)}" fill="{fill}" stroke="#ffffff" stroke-width="1.2"/>')
        point = geom.representative_point()
        x, y = xy(point.x, point.y).split(",")
        text = value_text.get(name, "no data")
        labels.append(f'<text x="{x}" y="{y}" text-anchor="middle" dominant-baseline="middle" font-size="12" '
                      f'font-weight="bold" fill="{ink}" stroke="{"#0b0c0c" if ink == "#ffffff" else "#ffffff"}" '
                      f'stroke-width="0.6" paint-order="stroke">{html.escape(text)}</text>')
    legend = [f'<text x="8" y="{plot_h + 28:.0f}" font-size="12" fill="#0b0c0c">{html.escape(label)}</text>']
    lows = [known[0]] + breaks if known else []
    highs = breaks + [known[-1]] if known else []
    for i, (low, high) in enumerate(zip(lows, highs)):
        fill, _ = SEQUENTIAL[i]
        x0 = 8 + i * 155
        last = i == len(lows) - 1  # a break value belongs to the class above it
        legend.append(f'<rect x="{x0}" y="{plot_h + 36:.0f}" width="18" height="14" fill="{fill}" stroke="#0b0c0c" stroke-width="0.5"/>')
        legend.append(f'<text x="{x0 + 24}" y="{plot_h + 47:.0f}" font-size="12" fill="#0b0c0c">'
                      f'{_short(low)} to {"" if last else "under "}{_short(high)}</text>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
            f'font-family="Arial, Liberation Sans, Helvetica, sans-serif">'
            '<defs><pattern id="csp-nodata" width="6" height="6" patternUnits="userSpaceOnUse">'
            '<rect width="6" height="6" fill="#f3f2f1"/><path d="M0 6 L6 0" stroke="#505a5f" stroke-width="1"/></pattern></defs>'
            + "".join(shapes) + "".join(labels) + "".join(legend) + "</svg>")


def _short(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() or abs(value) >= 100 else f"{value:,.1f}"
