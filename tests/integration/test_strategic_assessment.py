"""The strategic assessment over the demo: both editions published, a chapter per theme citing its indicators with
their verdicts, and a public edition that passes the disclosure audit and withholds what is restricted."""

import csv
import re
from pathlib import Path

import polars as pl
import pytest
from bs4 import BeautifulSoup

from pipeline.analysis.catalogue import load_catalogue
from pipeline.publish.audit import audit_folder
from pipeline.publish.disclosure import PUBLIC_DIR

# The theme chapters the demo has data for (its synthetic world delivers every source), by section id.
CHAPTERS = ("domestic-abuse", "serious-violence", "anti-social-behaviour", "acquisitive-crime", "hate-and-extremism",
            "reoffending", "substance-misuse", "fire", "road-safety")
# A verdict against the previous 12 months, or (a source published a year in arrears, as proven reoffending) of the trend.
VERDICT_COLUMNS = ("Against the previous 12 months", "Trend since baseline")
FILES = ("report.html", "report.pdf", "figures.csv", "figures.xlsx", "manifest.json")


def _edition(ws, edition: str) -> Path:
    root = ws.published if edition == "public" else ws.restricted
    folders = sorted((root / "calderdale" / "strategic-assessment").glob("*"))
    assert len(folders) == 1, folders  # one financial year: the last complete one
    return folders[0]


@pytest.mark.parametrize("edition", ["public", "restricted"])
def test_both_editions_are_published_as_html_pdf_csv_and_xlsx(demo_workspace, edition):
    ws, output = demo_workspace
    folder = _edition(ws, edition)
    assert folder.name == "2024-25"
    for name in FILES:
        assert (folder / name).is_file() and (folder / name).stat().st_size > 0, name
    assert str(folder / "report.html") in output.replace("\n", "")


@pytest.mark.parametrize("edition", ["public", "restricted"])
def test_each_theme_chapter_cites_an_indicator_with_its_verdict(demo_workspace, edition):
    ws, _ = demo_workspace
    soup = BeautifulSoup((_edition(ws, edition) / "report.html").read_text(encoding="utf-8"), "html.parser")
    titles = {i.title for i in load_catalogue().values()}
    for chapter in CHAPTERS:
        section = soup.find("section", id=chapter)
        assert section is not None, f"no chapter {chapter!r}"
        cited = []
        for table in section.find_all("table"):
            header = [th.get_text(" ", strip=True) for th in table.find("thead").find_all("th")]
            if not set(VERDICT_COLUMNS) <= set(header):
                continue
            for tr in table.find("tbody").find_all("tr"):
                cells = [c.get_text(" ", strip=True) for c in tr.find_all(["th", "td"])]
                verdicts = [cells[header.index(c)] for c in VERDICT_COLUMNS]
                if cells[0] in titles and any(v == "no significant change" or v.startswith("significant ") for v in verdicts):
                    cited.append((cells[0], verdicts))
        assert cited, f"{edition} edition, chapter {chapter!r}: no indicator with a verdict"
        # the sentence under the chapter's key findings follows the same verdict
        text = section.get_text(" ", strip=True)
        assert cited[0][0] in text


def _cited(folder: Path) -> set[str]:
    """The indicators the document's tables of verdicts cite, by title."""
    soup = BeautifulSoup((folder / "report.html").read_text(encoding="utf-8"), "html.parser")
    titles = set()
    for table in soup.find_all("table"):
        header = [th.get_text(" ", strip=True) for th in table.find("thead").find_all("th")] if table.find("thead") else []
        if set(VERDICT_COLUMNS) <= set(header):
            titles |= {tr.find(["th", "td"]).get_text(" ", strip=True) for tr in table.find("tbody").find_all("tr")}
    return titles


def test_public_edition_passes_the_audit_and_withholds_restricted_indicators(demo_workspace):
    ws, _ = demo_workspace
    public, restricted = _edition(ws, "public"), _edition(ws, "restricted")
    assert audit_folder(public) == []
    withheld = {i.title for i in load_catalogue().values() if i.disclosure == "restricted"}
    assert withheld & _cited(restricted), "the restricted edition cites no restricted indicator"
    assert withheld & _cited(public) == set()


LSOA_CODE = re.compile(r"\b[EW]01\d{6}\b")  # an LSOA's GSS code (England E01, Wales W01)
LSOA_MAP = "overall-lsoas"


def _lsoa_rows(folder: Path) -> list[dict[str, str]]:
    with (folder / "figures.csv").open(encoding="utf-8") as handle:
        return [row for row in csv.DictReader(handle) if row["table"] == LSOA_MAP]


def test_the_restricted_edition_maps_every_lsoa_and_outlines_the_hotspots_the_mart_holds(demo_workspace):
    ws, _ = demo_workspace
    folder = _edition(ws, "restricted")
    rows = _lsoa_rows(folder)
    assert rows, "figures.csv records no LSOA map"
    indicator, period = rows[0]["indicator_id"], rows[0]["period"]
    with ws.connect(read_only=True) as con:
        lsoas = {c for (c,) in con.execute("SELECT DISTINCT lsoa_code FROM reference.geography WHERE partnership_id = 'calderdale'").fetchall()}
        hot = con.execute("SELECT area_code, hot, persistent FROM marts.hotspots WHERE partnership_id = 'calderdale' "
                          "AND area_type = 'lsoa' AND indicator_id = ? AND period = ?", [indicator, period]).fetchall()
    assert len(lsoas) > 100 and any(h for _, h, _ in hot), "the demo should have LSOAs and LSOA hotspots to map"
    soup = BeautifulSoup((folder / "report.html").read_text(encoding="utf-8"), "html.parser")
    figure = soup.find("figure", id=f"fig-{LSOA_MAP}")
    assert figure is not None and figure.find_parent("section", id="overall") is not None
    svg = figure.find("svg")
    assert svg["role"] == "img" and svg.find("title").get_text() and svg.find("desc").get_text()
    areas = [p["data-area"] for p in svg.find_all("path", attrs={"data-area": True}) if not p.get("class")]
    assert sorted(areas) == sorted(lsoas)  # one outline per LSOA of the partnership
    cue = lambda kind: {p["data-area"] for p in svg.find_all("path", class_=kind)}
    assert cue("csp-outlined") == {code for code, h, _ in hot if h}
    assert cue("csp-marked") == {code for code, _, p in hot if p}
    # its table alternative lists every LSOA, and figures.csv carries each rate with its indicator and sources
    table = figure.find("table", id=f"tbl-{LSOA_MAP}")
    assert len(table.find("tbody").find_all("tr")) == len(lsoas)
    assert {r["area"] for r in rows} == lsoas
    assert {(r["indicator_id"], r["sources"]) for r in rows} == {(indicator, "; ".join(load_catalogue()[indicator].sources))}


def test_the_public_edition_shows_nothing_below_ward_level_and_says_where_the_lsoa_map_is(demo_workspace):
    ws, _ = demo_workspace
    folder = _edition(ws, "public")
    text = (folder / "report.html").read_text(encoding="utf-8")
    assert LSOA_CODE.findall(text) == []
    assert LSOA_CODE.findall((folder / "figures.csv").read_text(encoding="utf-8")) == []
    soup = BeautifulSoup(text, "html.parser")
    assert soup.find("figure", id=f"fig-{LSOA_MAP}") is None and _lsoa_rows(folder) == []
    overall = soup.find("section", id="overall").get_text(" ", strip=True)
    assert "by LSOA, with its hotspots, is in the restricted edition" in overall
    # the public copy of the outlines keeps no LSOA's outline (pipeline/publish/disclosure.py)
    public = pl.read_parquet(ws.warehouse / PUBLIC_DIR / "mart_lsoa_shapes.parquet")
    assert public.height > 0 and public["wkt"].null_count() == public.height


def test_no_document_says_more_than_100_percent_of_anything(demo_workspace):
    """A share is at most 100%: catches a percentage multiplied by 100 twice (the deprivation sentence once said
    "3181.6% of it happened in the most deprived 20% of LSOAs")."""
    ws, _ = demo_workspace
    pages = sorted([*ws.published.rglob("report.html"), *ws.restricted.rglob("report.html")])
    assert len(pages) == 6
    for page in pages:
        text = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser").get_text(" ")
        shares = [float(n.replace(",", "")) for n in re.findall(r"(\d[\d,]*(?:\.\d+)?)% of\b", text)]
        assert shares, page  # every document states shares
        assert max(shares) <= 100, (page, sorted(shares)[-3:])
