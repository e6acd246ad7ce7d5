"""The rendered files as readers get them: the HTML in headless Chromium (offline), the PDF as page images."""

import base64
import re
import subprocess
from pathlib import Path

import pytest

from pipeline.paths import PROJECT_ROOT
from pipeline.publish.render import render_document

MINI = PROJECT_ROOT / "tests" / "fixtures" / "reports" / "mini.qmd"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return render_document(MINI, tmp_path_factory.mktemp("out"), {"area": "Calderdale", "year": 2024})


@pytest.fixture(scope="module")
def page(rendered: dict[str, Path]):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(offline=True, viewport={"width": 1100, "height": 900})
        page = context.new_page()
        page.requests = []  # type: ignore[attr-defined]
        page.on("request", lambda r: page.requests.append(r.url))  # type: ignore[attr-defined]
        page.goto(rendered["html"].as_uri())
        page.wait_for_selector(".js-plotly-plot .main-svg", timeout=20_000)
        yield page
        browser.close()


def test_the_chart_draws_its_bars_offline(page) -> None:
    assert page.locator(".js-plotly-plot g.trace.bars").count() == 1
    assert page.locator(".js-plotly-plot g.trace.bars .point path").count() == 3
    ticks = page.locator(".js-plotly-plot .xtick text").all_text_contents()
    assert ticks == ["Alpha", "Bravo", "Charlie"]
    assert [u for u in page.requests if not u.startswith(("file:", "data:"))] == []


def test_the_chart_is_named_by_its_headline_and_described_by_its_alt_text(page) -> None:
    figure = page.locator("figure.csp-chart")
    assert figure.get_attribute("aria-labelledby") == "fig-records_by_ward-title"
    assert figure.get_attribute("aria-describedby") == "fig-records_by_ward-alt"
    assert page.locator("#fig-records_by_ward-alt").inner_text().startswith("Bar chart of records by ward")
    assert page.get_by_role("figure", name="Charlie has the most records of the three wards").count() == 1
    assert page.locator(".modebar-btn[data-title='Share chart...']").count() == 0
    # The drawing is hidden from screen readers (it would read out tick labels); its table is under it.
    assert figure.locator(".main-svg").count() >= 1
    assert figure.locator("svg:not([aria-hidden='true'])").count() == 0
    assert figure.locator("details.csp-chart-data table#tbl-records_by_ward").count() == 1


def test_the_toolbar_icons_reach_3_to_1(page) -> None:
    from pipeline.config import contrast_ratio

    page.hover("#chart-records_by_ward")
    fill = page.locator("#chart-records_by_ward .modebar-btn path").first.evaluate("p => getComputedStyle(p).fill")
    red, green, blue = (int(v) for v in re.findall(r"\d+", fill)[:3])
    assert contrast_ratio(f"#{red:02x}{green:02x}{blue:02x}") >= 3


def test_the_data_link_holds_the_chart_data_as_csv(page) -> None:
    href = page.get_by_role("link", name="Download the data (CSV)").get_attribute("href")
    csv = base64.b64decode(href.split(",", 1)[1]).decode("utf-8-sig")
    assert csv.splitlines()[0] == "Ward,Records,\"Rate per 1,000 residents\""
    assert "Charlie,8012,101.25" in csv


def test_the_table_is_announced_with_its_caption(page) -> None:
    table = page.get_by_role("table", name="Records by ward, Calderdale, 2024")
    assert table.get_by_role("columnheader").all_text_contents() == ["Ward", "Records", "Rate per 1,000 residents"]
    assert table.get_by_role("rowheader").all_text_contents() == ["Alpha", "Bravo", "Charlie"]


def test_axe_finds_no_serious_violations(page) -> None:
    from axe_playwright_python.sync_playwright import Axe

    violations = Axe().run(page).response["violations"]
    serious = [(v["id"], [n["html"][:120] for n in v["nodes"][:2]]) for v in violations
               if v["impact"] in ("serious", "critical")]
    assert serious == []


def test_the_pdf_first_page_becomes_an_image(rendered: dict[str, Path], tmp_path: Path) -> None:
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(rendered["pdf"]), str(tmp_path / "page")],
                   check=True)
    pngs = list(tmp_path.glob("page*.png"))
    assert len(pngs) == 1
    assert pngs[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and pngs[0].stat().st_size > 10_000
