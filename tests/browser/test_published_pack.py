"""The demo's published documents as readers get them, in both editions: Chromium at desktop (1280 px) and
phone (390 px) widths, the PDF as page images and as positioned text, and the figures files against the
tables the HTML shows. One demo build serves every test (tests/conftest.py `demo_workspace`)."""

import csv
import re
import subprocess
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from pipeline.publish.assets import RESTRICTED_MARKING, SYNTHETIC_MARKING
from pipeline.publish.figures import SUPPRESSED, figure_value
from tests.browser.test_render_browser import ARGS, CHROMIUM

pytestmark = pytest.mark.browser

WIDTHS = (1280, 390)
MAX_HTML_BYTES = 3 * 1024 * 1024
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
PT_PER_CM = 72 / 2.54
BOTTOM_MARGIN = 2.4 * PT_PER_CM  # reports/assets/csp.typ: the footer lives below this line


@pytest.fixture(scope="module")
def editions(demo_workspace) -> dict[str, list[Path]]:
    """Every edition folder of the demo, by edition: <partnership>/<report>/<period>/."""
    ws, _ = demo_workspace
    found = {"public": sorted(p.parent for p in ws.published.glob("*/*/*/report.html")),
             "restricted": sorted(p.parent for p in ws.restricted.glob("*/*/*/report.html"))}
    assert found["public"] and found["restricted"], found
    return found


def _folders(editions) -> list[tuple[str, Path]]:
    return [(edition, folder) for edition, folders in editions.items() for folder in folders]


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


def _open(browser, path: Path, width: int):
    context = browser.new_context(offline=True, viewport={"width": width, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    charts = page.locator("figure.csp-chart").count()
    if charts:
        page.wait_for_function(f"document.querySelectorAll('.csp-chart-plot .main-svg').length >= {charts}",
                               timeout=30_000)
    return context, page, errors


# JavaScript: elements whose box runs past the right edge of the viewport with no scrolling box around them.
OVERFLOWING = """() => {
  const width = document.documentElement.clientWidth;
  const scrolls = el => { for (let a = el.parentElement; a; a = a.parentElement) {
    const o = getComputedStyle(a).overflowX; if (o === 'auto' || o === 'scroll' || o === 'hidden') return true; }
    return false; };
  return [...document.body.querySelectorAll('*')]
    .filter(el => { const r = el.getBoundingClientRect(); return r.width > 0 && r.right > width + 1; })
    .filter(el => !scrolls(el))
    .map(el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + '.' + [...el.classList].join('.'));
}"""


@pytest.mark.parametrize("width", WIDTHS)
def test_every_page_loads_draws_and_passes_axe(browser, editions, width) -> None:
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    for edition, folder in _folders(editions):
        context, page, errors = _open(browser, folder / "report.html", width)
        where = f"{folder} at {width}px"
        try:
            assert errors == [], where
            charts = page.locator("figure.csp-chart")
            assert charts.count() >= 1, where
            for i in range(charts.count()):  # every chart drew its traces, and has a data table
                chart = charts.nth(i)
                assert chart.locator(".main-svg g.trace").count() >= 1, where
                assert chart.locator("details.csp-chart-data table").count() == 1, where
            assert page.evaluate(OVERFLOWING) == [], where
            assert page.evaluate("document.documentElement.scrollWidth") <= width, where
            result = axe.run(page, options={"runOnly": {"type": "tag", "values": AXE_TAGS}})
            serious = [(v["id"], [n["html"][:120] for n in v["nodes"][:2]]) for v in result.response["violations"]
                       if v["impact"] in ("serious", "critical")]
            assert serious == [], where
        finally:
            context.close()


def test_the_monthly_chart_draws_both_series_for_every_month(browser, editions) -> None:
    folder = next(f for f in editions["public"] if f.parent.name == "scrutiny-pack")
    context, page, _ = _open(browser, folder / "report.html", 1280)
    try:
        plot = page.locator("#chart-crime_asb_by_month")
        months = page.locator("#tbl-crime_asb_by_month tbody tr").count()
        assert months >= 12
        assert plot.locator(".scatterlayer .trace").count() == 2
        assert plot.locator(".scatterlayer .trace .point").count() == 2 * months
        ticks = plot.locator(".xtick text").all_text_contents()
        assert ticks and all(re.fullmatch(r"\d{4}-\d{2}", t) for t in ticks)  # financial years, never clock times
        # The drawing is hidden from screen readers; the figure is named by its visible headline.
        assert plot.locator("svg:not([aria-hidden='true'])").count() == 0
        title = page.locator("#fig-crime_asb_by_month-title").inner_text()
        assert page.get_by_role("figure", name=title).count() == 1
    finally:
        context.close()


def test_the_marking_is_shown_at_the_top_and_bottom_and_in_the_downloads(browser, editions) -> None:
    import base64

    for edition, folder in _folders(editions):
        context, page, _ = _open(browser, folder / "report.html", 390)
        try:
            banners = page.locator(".csp-marking")
            assert banners.count() == 2 and banners.first.is_visible()
            text = banners.first.inner_text()
            assert SYNTHETIC_MARKING in text and ((RESTRICTED_MARKING in text) == (edition == "restricted"))
            href = page.get_by_role("link", name="Download the data (CSV)").first.get_attribute("href")
            csv_text = base64.b64decode(href.split(",", 1)[1]).decode("utf-8-sig")
            assert csv_text.splitlines()[0] == text  # the first line of every chart's CSV is the marking
        finally:
            context.close()
        with (folder / "figures.csv").open(encoding="utf-8") as handle:
            assert {row["marking"] for row in csv.DictReader(handle)} == {text}


def test_every_html_is_at_most_3_mb(editions) -> None:
    sizes = {str(f): (f / "report.html").stat().st_size for _, f in _folders(editions)}
    assert max(sizes.values()) <= MAX_HTML_BYTES, sizes


class _Tables(HTMLParser):
    """The numeric cells of every show_table/show_chart table in a page, by table id."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: dict[str, list[str]] = {}
        self.table: str | None = None
        self.cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and "csp-table" in (attrs.get("class") or ""):
            self.table = attrs["id"].removeprefix("tbl-")
            self.cells.setdefault(self.table, [])
        elif tag == "td" and self.table and "num" in (attrs.get("class") or ""):
            self.cell = []

    def handle_endtag(self, tag):
        if tag == "td" and self.cell is not None:
            self.cells[self.table].append("".join(self.cell).strip())
            self.cell = None
        elif tag == "table":
            self.table = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def test_every_number_in_the_html_tables_is_in_figures_csv_and_the_reverse(editions) -> None:
    for _, folder in _folders(editions):
        parser = _Tables()
        parser.feed((folder / "report.html").read_text(encoding="utf-8"))
        shown = {name: Counter(SUPPRESSED if v == SUPPRESSED else figure_value(v) for v in values if v)
                 for name, values in parser.cells.items()}
        with (folder / "figures.csv").open(encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        recorded: dict[str, Counter] = {}
        for row in rows:
            value = SUPPRESSED if row["status"] == "suppressed" else row["value"]
            recorded.setdefault(row["table"], Counter())[value] += 1
        names = {n for n, c in shown.items() if c}
        assert names == set(recorded), folder
        for name in names:
            assert shown[name] == recorded[name], (folder, name)
        assert all(row["indicator"] and row["unit"] and row["area"] for row in rows), folder


def test_figures_xlsx_has_a_cover_contents_notes_and_a_sheet_per_table(editions) -> None:
    from openpyxl import load_workbook

    for _, folder in _folders(editions):
        book = load_workbook(folder / "figures.xlsx", read_only=True)
        with (folder / "figures.csv").open(encoding="utf-8") as handle:
            tables = {row["table"] for row in csv.DictReader(handle)}
        assert book.sheetnames[:3] == ["Cover", "Contents", "Notes"]
        assert len(book.sheetnames) == 3 + len(tables)


def _pages(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    return int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))


def _pgm(path: Path) -> np.ndarray:
    """A binary PGM (pdftoppm -gray) as an array: header 'P5 width height maxval' then the bytes."""
    data = path.read_bytes()
    fields = re.match(rb"P5\s+(\d+)\s+(\d+)\s+(\d+)\s", data)
    width, height = int(fields.group(1)), int(fields.group(2))
    return np.frombuffer(data[fields.end():fields.end() + width * height], dtype=np.uint8).reshape(height, width)


def test_every_pdf_page_renders_and_none_is_blank_or_nearly_blank(editions, tmp_path: Path) -> None:
    for _, folder in _folders(editions):
        pdf = folder / "report.pdf"
        pages = _pages(pdf)
        assert pages >= 2
        prefix = tmp_path / folder.parent.name / folder.parent.parent.parent.name
        prefix.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["pdftoppm", "-gray", "-r", "40", str(pdf), str(prefix)], check=True)
        images = sorted(prefix.parent.glob(f"{prefix.name}-*.pgm"))
        assert len(images) == pages, folder
        for number, image in enumerate(images, start=1):
            pixels = _pgm(image)
            height = pixels.shape[0]
            margin = int(height * BOTTOM_MARGIN / 842)  # A4 is 842 pt high
            body = pixels[margin:height - margin]
            inked_rows = (body < 200).any(axis=1).mean()
            assert inked_rows > 0.08, f"{pdf} page {number}: only {inked_rows:.0%} of its lines hold anything"


def _words(pdf: Path) -> list[list[tuple[float, float, float, str]]]:
    """Per page, each word's (yMin, yMax, page height, text) from pdftotext -bbox."""
    out = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    pages = []
    for page in re.findall(r"<page width=\"[\d.]+\" height=\"([\d.]+)\">(.*?)</page>", out, re.S):
        height = float(page[0])
        pages.append([(float(a), float(b), height, w) for a, b, w in
                      re.findall(r'yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)">([^<]*)</word>', page[1])])
    return pages


def test_no_text_runs_into_the_footer(editions, demo_workspace) -> None:
    ws, _ = demo_workspace
    organisation = ws.config().partnerships[0].branding.name or ws.config().partnerships[0].name
    for edition, folder in _folders(editions):
        footer_words = set(f"{SYNTHETIC_MARKING} {RESTRICTED_MARKING} · {organisation} Page of".split())
        for number, words in enumerate(_words(folder / "report.pdf"), start=1):
            for y_min, y_max, height, text in words:
                limit = height - BOTTOM_MARGIN
                if y_max <= limit:
                    continue
                assert y_min >= limit and (text in footer_words or text.isdigit()), (
                    f"{folder / 'report.pdf'} page {number}: {text!r} at y {y_min:.0f}-{y_max:.0f} runs into the footer")


def test_no_table_caption_is_left_alone_at_the_foot_of_a_page(editions) -> None:
    """A table's caption (above it) and its first rows share a page: below the last caption that starts on a
    page there is room for more than the caption itself (a caption wraps to at most three 12 pt lines)."""
    for edition, folder in _folders(editions):
        for number, words in enumerate(_words(folder / "report.pdf"), start=1):
            body = [(y_min, text) for y_min, y_max, height, text in words if y_max <= height - BOTTOM_MARGIN]  # reading order
            starts = [y for (y, text), (_, following) in zip(body, body[1:] + [(0, "")])
                      if text == "Table" and re.fullmatch(r"\d+:", following)]
            if starts:
                below = max(y for y, _ in body) - starts[-1]
                assert below >= 40, (f"{folder / 'report.pdf'} page {number}: a table caption ends the page "
                                     f"({below:.0f} pt of text under it); its table starts on the next")


def test_the_restricted_marking_is_on_every_restricted_page_and_in_the_metadata(editions) -> None:
    for edition, folder in _folders(editions):
        pdf = folder / "report.pdf"
        info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
        assert ((RESTRICTED_MARKING in re.search(r"^Keywords:(.*)$", info, re.M).group(1)) == (edition == "restricted"))
        assert re.search(r"Tagged:\s+yes", info)
        for number in range(1, _pages(pdf) + 1):
            text = subprocess.run(["pdftotext", "-f", str(number), "-l", str(number), str(pdf), "-"],
                                  capture_output=True, text=True, check=True).stdout
            assert SYNTHETIC_MARKING.split(":")[0] in text, f"{pdf} page {number} lacks the synthetic-data marking"
            if edition == "restricted":
                assert text.count(RESTRICTED_MARKING) >= 2, f"{pdf} page {number}: marking not in header and footer"
            else:
                assert RESTRICTED_MARKING not in text


def test_each_partnership_has_an_index_of_its_editions(editions, demo_workspace) -> None:
    ws, _ = demo_workspace
    for edition, folders in editions.items():
        for folder in folders:
            index = folder.parent.parent / "index.html"
            page = index.read_text(encoding="utf-8")
            assert f'href="{folder.parent.name}/{folder.name}/report.html"' in page
            assert f'href="{folder.parent.name}/{folder.name}/figures.xlsx"' in page
            assert (RESTRICTED_MARKING in page) == (edition == "restricted")
