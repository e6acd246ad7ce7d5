"""The HTML stage: Pandoc writes one self-contained page (CSS, plotly.js and images inlined) with a skip
link, a <main> landmark and the edition's marking as a banner at the top and bottom.
"""

from __future__ import annotations

import base64
import functools
import html
import json
import mimetypes
import os
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.paths import REPORTS_DIR
from pipeline.publish.figures import PLOTLY_JS
from pipeline.publish.qmd import BUILD, Document, RenderError

if TYPE_CHECKING:
    from pipeline.publish.render import Look

ASSETS_DIR = REPORTS_DIR / "assets"
CSS = ASSETS_DIR / "csp.css"


# Plotly draws its charts as SVG whose text nodes a screen reader would read out tick by tick: the figure
# is named by its visible headline and alt text instead, so the drawing is hidden from assistive technology.
HIDE_SVG_SCRIPT = """<script>
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll(".csp-chart-plot .js-plotly-plot").forEach(function (plot) {
    var hide = function () {
      plot.querySelectorAll("svg").forEach(function (svg) {
        svg.setAttribute("aria-hidden", "true"); svg.setAttribute("focusable", "false");
      });
    };
    hide();
    if (plot.on) { plot.on("plotly_afterplot", hide); }
  });
  // A table wider than the page says so in words, above it, besides the shading at its edges.
  document.querySelectorAll(".csp-table-wrap").forEach(function (wrap) {
    if (wrap.scrollWidth > wrap.clientWidth + 1) {
      var hint = document.createElement("p");
      hint.className = "csp-scroll-hint";
      hint.textContent = "This table is wider than the screen: scroll it sideways to see every column.";
      wrap.parentNode.insertBefore(hint, wrap);
    }
  });
});
</script>
"""


def page_includes(look: Look, folder: Path, chart_js: bool) -> tuple[Path, Path, Path]:
    """The head, before-body and after-body snippets of every page (Pandoc's and Quarto's alike): plotly.js
    once, the accent colour, the marking banner at the top and bottom, the skip link and the branding."""
    head = folder / "head.html"
    parts = [f'<script src="{PLOTLY_JS}" charset="utf-8"></script>\n' if chart_js else "", HIDE_SVG_SCRIPT]
    if look.accent:
        parts.append(f"<style>:root {{ --csp-accent: {html.escape(look.accent)}; }}</style>\n")
    if look.marking:
        parts.append(f'<meta name="security-marking" content="{html.escape(look.marking)}">\n')
    head.write_text("".join(parts), encoding="utf-8")
    banner = f'<p class="csp-marking" role="note">{html.escape(look.marking)}</p>\n' if look.marking else ""
    brand = ""
    if look.organisation or look.logo:
        logo = ""
        if look.logo:
            mime = mimetypes.guess_type(look.logo.name)[0] or "image/png"
            data = base64.b64encode(look.logo.read_bytes()).decode()
            logo = f'<img class="csp-logo" src="data:{mime};base64,{data}" alt="{html.escape(look.organisation or "")} logo">'
        name = f'<span class="csp-org">{html.escape(look.organisation)}</span>' if look.organisation else ""
        brand = f'<header class="csp-brand">{logo}{name}</header>\n'
    before = folder / "before-body.html"
    before.write_text(banner + '<a class="skip-link" href="#main">Skip to main content</a>\n' + brand, encoding="utf-8")
    after = folder / "after-body.html"
    after.write_text(banner, encoding="utf-8")
    return head, before, after


def write_html(doc: Document, ast: dict[str, Any], work: Path, look: Look) -> Path:
    import pypandoc

    build = work / BUILD
    template = build / "template.html"
    template.write_text(_html_template(), encoding="utf-8")
    # plotly.js, if a chart put it beside the page: Pandoc inlines it
    head, before, after = page_includes(look, build, chart_js=(work / PLOTLY_JS).is_file())
    out = build / "document.html"
    args = [
        "--standalone", f"--template={template}", "--embed-resources", f"--css={CSS}",
        f"--include-in-header={head}", f"--include-before-body={before}", f"--include-after-body={after}",
        *(["--toc"] if doc.toc else []), "--toc-depth=2", "-M", "toc-title=Contents",
        "--section-divs", "--wrap=none", "--syntax-highlighting=monochrome",
        f"--resource-path={work}{os.pathsep}{doc.source.parent}",
    ]
    try:
        pypandoc.convert_text(json.dumps(ast), "html5", format="json", extra_args=args, outputfile=str(out),
                              cworkdir=str(work), verify_format=False)
    except RuntimeError as exc:
        raise RenderError(f"{doc.name}: Pandoc could not write the HTML: {exc}") from None
    return out


@functools.cache
def _html_template() -> str:
    """Pandoc's own HTML template with the body in a <main> landmark (the skip link's target)."""
    import pypandoc

    default = subprocess.run([pypandoc.get_pandoc_path(), "-D", "html5"], capture_output=True, text=True,
                             check=True).stdout
    if default.count("$body$") != 1:
        raise RenderError("Pandoc's default HTML template has changed: expected one $body$")
    return default.replace("$body$", '<main id="main">\n$body$\n</main>')
