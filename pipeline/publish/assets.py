"""One factory turns each `reports/<name>.qmd` into the asset `reports/<name>`.

A report's front matter says which marts it reads (`csp: reads: [...]`): that is its only statement of
dependencies, and the only data it may touch. It is rendered once per partnership and edition, each in
its own temporary folder, and moved into place only when the render succeeded.
"""

import re
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import yaml
from dagster import AssetExecutionContext

from pipeline.paths import REPORTS_DIR
from pipeline.resources import WorkspaceResource
from pipeline.workspace import Workspace

_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.S)
EDITIONS = ("public",)  # the disclosure-control issue adds "restricted"
SYNTHETIC_MARKING = "SYNTHETIC DATA: demonstration figures, not real crime or people"
RESTRICTED_MARKING = "OFFICIAL-SENSITIVE"


def marking(edition: str, synthetic: bool) -> str | None:
    """What every page must say: the security marking of a restricted edition, and that demo data are synthetic."""
    parts = ([RESTRICTED_MARKING] if edition == "restricted" else []) + ([SYNTHETIC_MARKING] if synthetic else [])
    return " · ".join(parts) or None


@dataclass(frozen=True)
class Report:
    name: str
    path: Path
    title: str
    reads: tuple[str, ...]
    formats: tuple[str, ...]


def read_report(path: Path) -> Report:
    match = _FRONT_MATTER.match(path.read_text(encoding="utf-8"))
    meta = yaml.safe_load(match.group(1)) if match else None
    csp = (meta or {}).get("csp") or {}
    reads = tuple(csp.get("reads") or ())
    if not reads or any(not r.startswith("marts/") for r in reads):
        raise ValueError(f"{path}: front matter must list csp: reads: [marts/<name>, ...]; reports read marts only")
    return Report(path.stem, path, str(meta.get("title", path.stem)), reads, tuple(csp.get("formats") or ("html", "pdf")))


def discover(reports_dir: Path = REPORTS_DIR) -> list[Report]:
    return [read_report(p) for p in sorted(reports_dir.glob("*.qmd"))]


def output_folder(ws: Workspace, edition: str, partnership_id: str) -> Path:
    return (ws.published if edition == "public" else ws.restricted) / partnership_id


def publish(ws: Workspace, report: Report, formats: tuple[str, ...] | None = None) -> list[Path]:
    """Render the report for every partnership and edition; returns the files published."""
    from pipeline.publish.render import render_document  # Jupyter, Pandoc and Typst load only to render

    config = ws.config()
    written: list[Path] = []
    for partnership in config.partnerships:
        for edition in EDITIONS:
            params = {
                "marts_dir": str(ws.marts),
                "partnership": partnership.id,
                "partnership_name": partnership.name,
                "edition": edition,
                "synthetic": config.workspace.synthetic,
            }
            outputs = render_document(
                report.path, output_folder(ws, edition, partnership.id), params,
                formats=formats or report.formats, stem=report.name,
                marking=marking(edition, config.workspace.synthetic),
            )
            written.extend(outputs.values())
    return written


def report_asset(report: Report) -> dg.AssetsDefinition:
    @dg.asset(
        key=["reports", report.name],
        deps=[dg.AssetKey(r.split("/")) for r in report.reads],
        group_name="reports",
        description=f"{report.title}: rendered from reports/{report.path.name} for every partnership",
        kinds={"quarto", "html", "pdf"},
    )
    def _asset(context: AssetExecutionContext, workspace: WorkspaceResource) -> dg.MaterializeResult:
        ws = workspace.get()
        paths = publish(ws, report)
        return dg.MaterializeResult(
            metadata={"files": dg.MetadataValue.md("\n".join(f"- {p.relative_to(ws.root)}" for p in paths))}
        )

    return _asset


ASSETS = [report_asset(r) for r in discover()]
