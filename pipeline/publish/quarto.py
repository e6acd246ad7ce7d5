"""`quarto render`, used when the Quarto CLI is on PATH: the same document, parameters and markings as the
engines path. The markings reach Quarto through directory metadata (`_metadata.yml`, which Quarto merges
into every document of the folder): the HTML gets the same head, banner and skip-link includes as the
engines path (publish/html.py), and the Typst output our template (csp.typ with csp-look.typ) through a
`typst-show.typ` template partial, so the PDF carries the marking in its header, footer and metadata.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from pipeline.publish.execute import pythonpath
from pipeline.publish.figures import FIGURES_JSON_ENV, FORMAT_ENV, MARKING_ENV
from pipeline.publish.html import page_includes
from pipeline.publish.pdf import write_look
from pipeline.publish.qmd import RenderError
from pipeline.publish.tables import FIGURES_JSON

if TYPE_CHECKING:
    from pipeline.publish.render import Look

INCLUDES = "_csp"  # our files inside the copied folder
# Quarto's Typst template calls this partial to apply the document's look: ours applies csp.typ's conf.
TYPST_SHOW = """#import "csp.typ": conf, callout
#show: doc => conf(
$if(title)$  title: [$title$],$endif$
$if(subtitle)$  subtitle: [$subtitle$],$endif$
$if(date)$  date: [$date$],$endif$
$if(lang)$  lang: "$lang$",$endif$
  doc,
)
"""


def quarto_commands(quarto: str, source: Path, work: Path, params: dict[str, object],
                    formats: tuple[str, ...], look: Look) -> list[tuple[str, list[str], dict[str, str]]]:
    """Copy the document's folder into `work` with the edition's includes and metadata beside it, and return
    (format, command line, environment) for each format: what render_with_quarto runs."""
    copy = work / "src"
    shutil.copytree(source.parent, copy, ignore=shutil.ignore_patterns(".*", "__pycache__", "*_files", "_freeze"))
    folder = copy / INCLUDES
    folder.mkdir()
    head, before, after = page_includes(look, folder, chart_js=False)  # under Quarto the first chart brings it
    write_look(look, copy)
    (copy / "typst-show.typ").write_text(TYPST_SHOW, encoding="utf-8")
    metadata = {"format": {
        "html": {"include-in-header": [f"{INCLUDES}/{head.name}"],
                 "include-before-body": [f"{INCLUDES}/{before.name}"],
                 "include-after-body": [f"{INCLUDES}/{after.name}"]},
        "typst": {"template-partials": ["typst-show.typ"], "keywords": [look.marking] if look.marking else []},
    }}
    (copy / "_metadata.yml").write_text(yaml.safe_dump(metadata, sort_keys=False), encoding="utf-8")
    env = {**os.environ, "QUARTO_PYTHON": sys.executable, "PYTHONPATH": pythonpath(),
           FIGURES_JSON_ENV: str(work / FIGURES_JSON), MARKING_ENV: look.marking or ""}
    commands = []
    for fmt in formats:
        to = "html" if fmt == "html" else "typst"
        cmd = [quarto, "render", str(copy / source.name), "--to", to, "--output-dir", str(work / f"out-{fmt}")]
        for key, value in params.items():
            cmd += ["-P", f"{key}:{str(value).lower() if isinstance(value, bool) else value}"]
        commands.append((fmt, cmd, {**env, FORMAT_ENV: fmt}))
    return commands


def render_with_quarto(quarto: str, source: Path, work: Path, params: dict[str, object],
                       formats: tuple[str, ...], look: Look) -> dict[str, Path]:
    """`quarto render` on a copy of the document's folder, so that parallel renders share no files."""
    built = {}
    for fmt, cmd, env in quarto_commands(quarto, source, work, params, formats, look):
        done = subprocess.run(cmd, cwd=work / "src", env=env, capture_output=True, text=True)
        produced = work / f"out-{fmt}" / f"{source.stem}.{fmt}"
        if done.returncode or not produced.is_file():
            raise RenderError(f"{source.name}: quarto render --to {cmd[4]} failed:\n{(done.stderr or done.stdout)[-6000:]}")
        built[fmt] = produced
    return built
