"""The strategic assessment over the demo: both editions published, a chapter per theme citing its indicators with
their verdicts, and a public edition that passes the disclosure audit and withholds what is restricted."""

from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from pipeline.analysis.catalogue import load_catalogue
from pipeline.publish.audit import audit_folder

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
