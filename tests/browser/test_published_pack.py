"""The demo's published scrutiny pack as a reader gets it: Chromium draws the chart offline, axe finds no
serious accessibility fault, and every PDF page carries the synthetic-data marking."""

import subprocess
from pathlib import Path

import pytest

from tests.helpers import edition_folder
from pipeline.publish.assets import SYNTHETIC_MARKING
from tests.browser.test_render_browser import ARGS, CHROMIUM

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def pack(demo_workspace) -> dict[str, Path]:
    ws, _ = demo_workspace
    folder = edition_folder(ws)
    return {"html": folder / "scrutiny_pack.html", "pdf": folder / "scrutiny_pack.pdf"}


@pytest.fixture(scope="module")
def page(pack):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(offline=True, viewport={"width": 1200, "height": 900})
        page = context.new_page()
        page.goto(pack["html"].as_uri())
        page.wait_for_selector(".js-plotly-plot .main-svg", timeout=30_000)
        yield page
        browser.close()


def test_the_monthly_chart_draws_both_series_for_every_month(page):
    assert page.locator(".js-plotly-plot .scatterlayer .trace").count() == 2
    assert page.locator(".js-plotly-plot .scatterlayer .trace .point").count() == 2 * 60
    assert page.locator(".js-plotly-plot .legendtext").all_text_contents() == ["Recorded crime", "Anti-social behaviour"]


def test_the_marking_is_shown_at_the_top_and_bottom(page):
    banners = page.locator(".csp-marking")
    assert banners.count() == 2 and banners.first.inner_text() == SYNTHETIC_MARKING
    assert banners.first.is_visible()


def test_axe_finds_no_serious_violations(page):
    from axe_playwright_python.sync_playwright import Axe

    violations = Axe().run(page).response["violations"]
    serious = [(v["id"], [n["html"][:120] for n in v["nodes"][:2]]) for v in violations if v["impact"] in ("serious", "critical")]
    assert serious == []


def test_every_pdf_page_says_the_data_are_synthetic(pack, tmp_path: Path):
    pages = int(next(line.split()[-1] for line in subprocess.run(
        ["pdfinfo", str(pack["pdf"])], capture_output=True, text=True, check=True).stdout.splitlines() if line.startswith("Pages:")))
    assert pages >= 2
    for number in range(1, pages + 1):
        text = subprocess.run(["pdftotext", "-f", str(number), "-l", str(number), str(pack["pdf"]), "-"],
                              capture_output=True, text=True, check=True).stdout
        assert SYNTHETIC_MARKING.split(":")[0] in text, f"page {number} lacks the marking"
    subprocess.run(["pdftoppm", "-png", "-r", "50", str(pack["pdf"]), str(tmp_path / "p")], check=True)
    assert len(list(tmp_path.glob("p*.png"))) == pages
