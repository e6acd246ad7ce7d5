"""The renderer with its real engines (Jupyter kernel, Pandoc, Typst, kaleido): no Quarto, no mocks.

One render of the mini document makes both files (its cells execute once for the two formats); the
failure cases write small documents of their own.
"""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from pipeline.paths import PROJECT_ROOT
from pipeline.publish.render import RenderError, render_document

MINI = PROJECT_ROOT / "tests" / "fixtures" / "reports" / "mini.qmd"
PARAMS = {"area": "Calderdale", "year": 2024}

pytestmark = pytest.mark.skipif(shutil.which("quarto") is not None, reason="these tests cover the path without Quarto")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return render_document(MINI, tmp_path_factory.mktemp("out"), PARAMS)


def write(folder: Path, name: str, body: str) -> Path:
    path = folder / name
    path.write_text("---\ntitle: Test document\n---\n\n" + body, encoding="utf-8")
    return path


def test_returns_one_file_per_format(rendered: dict[str, Path]) -> None:
    assert set(rendered) == {"html", "pdf", "csv", "xlsx"}
    assert rendered["html"].name == "mini.html" and rendered["pdf"].name == "mini.pdf"
    assert rendered["csv"].name == "figures.csv" and rendered["xlsx"].name == "figures.xlsx"
    assert not list(rendered["html"].parent.glob(".*.part"))


def test_html_is_self_contained(rendered: dict[str, Path]) -> None:
    page = rendered["html"].read_text(encoding="utf-8")
    external = re.findall(r"""<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)=["']?(?:https?:)?//""", page)
    assert external == []
    assert "<script src=" not in page and 'rel="stylesheet"' not in page  # all inlined
    assert page.count("Plotly.newPlot") == 1
    banners = list(re.finditer(r"\* plotly\.js (\(cartesian - minified\) )?v\d", page))
    assert len(banners) == 1  # the library once (the partial bundle where make installed it), in the head
    assert banners[0].start() < page.index("<body")
    assert 'lang="en-GB"' in page and "<title>Mini report for the renderer tests</title>" in page


def test_html_shows_parameters_chart_table_callout_and_partial(rendered: dict[str, Path]) -> None:
    page = rendered["html"].read_text(encoding="utf-8")
    assert "This text is written for <strong>Calderdale</strong>, year 2024." in page  # inline expression
    assert "This pack covers Calderdale for 2024." in page  # output: asis
    assert 'class="plotly-graph-div"' in page and 'id="chart-records_by_ward"' in page
    assert "Charlie has the most, 8,012.</p>" in page  # the alt text stays visible
    assert 'download="records_by_ward.csv"' in page and "data:text/csv;charset=utf-8;base64," in page
    assert "<caption" in page and '<th scope="col"' in page and '<th scope="row">Alpha</th>' in page
    for number in ("4,321", "2,567", "8,012", "101.25"):
        assert f">{number}</td>" in page
    assert 'class="callout callout-note" role="note"' in page and "About these numbers" in page
    assert "Included partial for Calderdale." in page
    assert '<main id="main">' in page and 'href="#main"' in page


def test_pdf_is_tagged_and_holds_the_text(rendered: dict[str, Path]) -> None:
    pdf = rendered["pdf"]
    assert pdf.read_bytes().startswith(b"%PDF")
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "Mini report for the renderer tests" in text
    for expected in ("4,321", "2,567", "8,012", "101.25", "This pack covers Calderdale for 2024.",
                     "About these numbers", "Included partial for Calderdale."):
        assert expected in text
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True).stdout
    assert re.search(r"Tagged:\s+yes", info) and "Title:           Mini report for the renderer tests" in info


@pytest.fixture(scope="module")
def failed(tmp_path_factory: pytest.TempPathFactory) -> tuple[RenderError, Path]:
    """A render whose third cell raises, into a folder that already holds the previous edition."""
    folder = tmp_path_factory.mktemp("failing")
    source = write(folder, "pack.qmd", (
        "## Heading\n\n```{python}\nx = 1\n```\n\nText.\n\n"
        "```{python}\n#| label: ward-totals\ntotals = {'Alpha': 1}\n"
        "def total(ward):\n    return totals[ward]\ntotal('Zulu')\n```\n"
    ))
    out = folder / "published"
    out.mkdir()
    (out / "pack.html").write_text("previous edition", encoding="utf-8")
    with pytest.raises(RenderError) as caught:
        render_document(source, out, {}, formats=("html",))
    return caught.value, out


def test_a_failing_cell_names_the_document_the_cell_and_the_line(failed: tuple[RenderError, Path]) -> None:
    message = str(failed[0])
    assert message.startswith("pack.qmd: cell 'ward-totals' (line 13 of pack.qmd) failed: KeyError: 'Zulu'")
    assert "at line 18 of pack.qmd: total('Zulu')" in message
    assert "Traceback" in message and "return totals[ward]" in message


def test_a_failed_render_leaves_the_previous_files(failed: tuple[RenderError, Path]) -> None:
    out = failed[1]
    assert (out / "pack.html").read_text(encoding="utf-8") == "previous edition"
    assert sorted(p.name for p in out.iterdir()) == ["pack.html"]


@pytest.mark.parametrize("body, expected", [
    ("Text {{< meta title >}}\n", r"line 5 of bad\.qmd: shortcode \{\{< meta title >\}\} is not supported"),
    ("{{< include _partials/missing.qmd >}}\n", r"include '_partials/missing\.qmd': no such file"),
    ("```{r}\n1 + 1\n```\n", r"```\{r\} chunks are not supported"),
    ("```{python echo=FALSE}\n1\n```\n", r"chunk options go in '#\| key: value' lines"),
    ("```{python}\n#| fig-width: 4\n1\n```\n", r"option 'fig-width' is not supported"),
    ("```{python}\n#| output: hidden\n1\n```\n", r"option output: 'hidden' is not allowed"),
    ("::: {.panel-tabset}\nA\n:::\n", r"the Quarto class \.panel-tabset on a div is not supported"),
    ("::: {.callout-danger}\nA\n:::\n", r"\.callout-danger is not a callout"),
    ("See @fig-chart.\n", r"@fig-chart: citations and cross-references"),
    ("Text `{r} 1 + 1`.\n", r"inline `\{r\} \.\.\.` expressions are not supported"),
    ("![A logo](https://example.org/logo.png)\n", r"only local image files can be embedded"),
    ("![](logo.png)\n", r"give it alt text"),
])
def test_unsupported_quarto_fails_before_any_cell_runs(tmp_path: Path, body: str, expected: str) -> None:
    source = write(tmp_path, "bad.qmd", body)
    with pytest.raises(RenderError, match=expected):
        render_document(source, tmp_path / "out", {}, formats=("html",))
    assert not (tmp_path / "out").exists()


def test_front_matter_outside_the_subset_fails(tmp_path: Path) -> None:
    source = tmp_path / "fm.qmd"
    source.write_text("---\ntitle: T\nformat: html\n---\n\nText\n", encoding="utf-8")
    with pytest.raises(RenderError, match="format options live in reports/_quarto.yml"):
        render_document(source, tmp_path / "out", {})


def test_parameters_are_checked(tmp_path: Path) -> None:
    with pytest.raises(RenderError, match="only str, int, float and bool"):
        render_document(MINI, tmp_path, {"area": ["a", "b"]})
    with pytest.raises(RenderError, match=r"unknown parameter\(s\) \['arae'\]"):
        render_document(MINI, tmp_path, {"arae": "Calderdale"})
    no_cell = write(tmp_path, "nocell.qmd", "Text\n")
    with pytest.raises(RenderError, match="no cell has '#| tags: \\[parameters\\]'"):
        render_document(no_cell, tmp_path, {"area": "x"})


def test_the_smallest_plotly_bundle_that_draws_the_charts_is_chosen() -> None:
    from pipeline.publish.figures import PARTIAL_BUNDLE, plotly_bundle

    assert plotly_bundle({"scatter", "bar"}).name == PARTIAL_BUNDLE  # `make install` puts it beside the venv
    assert plotly_bundle({"scatter", "choroplethmap"}).name == "plotly.min.js"  # a map needs the full library


def test_a_workbook_takes_any_caption_as_a_sheet_name(tmp_path: Path) -> None:
    """Found nationally: a map's caption cut to 28 characters ended in "St Peter'", which Excel (and xlsxwriter)
    refuses as a sheet name; so were a caption's [ ] : * ? / \\ and a repeat."""
    import json

    import openpyxl

    from pipeline.publish.tables import write_figures

    captions = ["Data for the map St Peter's ward, 2024/25", "'Quoted' [rates]: per 1,000? a/b\\c*",
                "Data for the map St Peter's ward, 2024/25"]
    tables = [{"caption": c, "columns": ["Ward", "Crimes"], "numeric": [False, True], "cells": [["St Peter's", "12"]]}
              | {"records": []} for c in captions]
    record = tmp_path / "record.json"
    record.write_text(json.dumps({"tables": tables}), encoding="utf-8")
    written = write_figures(record, tmp_path / "out", marking=None)
    names = [n for n in openpyxl.load_workbook(written["xlsx"]).sheetnames if n[0].isdigit()]  # not Cover, Contents, Notes
    assert len(names) == 3 and len({n.lower() for n in names}) == 3
    assert all(len(n) <= 31 and n[0] != "'" and n[-1] != "'" and not set(n) & set("[]:*?/\\") for n in names)
    assert names[0].startswith("1 Data for the map St Peter")
