"""The files written from the source declarations: the expectation suites (pipeline/quality/templates.py) and
docs/sources.md (pipeline/sources/catalogue.py). They are committed so that they can be read and reviewed;
`csp generate` rewrites them and `csp generate --check` (and a test) fails while any is stale.

A generated suite says so in its notes; one whose source is gone is removed, so that no check outlives its
declaration.
"""

from __future__ import annotations

import json
from pathlib import Path

from pipeline.paths import PROJECT_ROOT

GENERATED_MARK = "Generated "  # how a generated suite's notes begin (templates.raw_suite, templates.volume_suite)


def expected(root: Path = PROJECT_ROOT) -> dict[Path, str]:
    """Every generated file under `root` and the text it must have."""
    from pipeline.quality import templates
    from pipeline.sources import catalogue

    files = {root / "expectations" / name: templates.render(suite) for name, suite in templates.generated().items()}
    files[root / "docs" / "sources.md"] = catalogue.render()
    return files


def orphans(root: Path = PROJECT_ROOT) -> list[Path]:
    """Generated suites in expectations/ that no declaration writes any more (a source removed or renamed)."""
    wanted = expected(root)
    found = []
    for path in sorted((root / "expectations").glob("*.json")):
        try:
            notes = json.loads(path.read_text(encoding="utf-8"))["meta"]["notes"]
        except (ValueError, KeyError, TypeError):
            continue  # a hand-written or broken suite is not ours to remove (its check reports it)
        if isinstance(notes, str) and notes.startswith(GENERATED_MARK) and path not in wanted:
            found.append(path)
    return found


def stale(root: Path = PROJECT_ROOT) -> list[Path]:
    """The generated files that are missing or differ from what the declarations say, and the orphans."""
    differing = [path for path, text in expected(root).items()
                 if not path.is_file() or path.read_text(encoding="utf-8") != text]
    return differing + orphans(root)


def write(root: Path = PROJECT_ROOT) -> list[str]:
    """Bring every generated file up to date; returns what was done, one line each."""
    done = []
    for path in orphans(root):
        path.unlink()
        done.append(f"removed {path.relative_to(root)} (no source declares it)")
    for path, text in expected(root).items():
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            done.append(f"wrote {path.relative_to(root)}")
    return done

