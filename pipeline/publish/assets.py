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
EDITIONS = ("public", "restricted")
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


def output_folder(ws: Workspace, edition: str, partnership_id: str, report: str) -> Path:
    """published/<partnership>/<report>/<period>/ (restricted/... for the restricted edition)."""
    period = f"{ws.config().period.start}_to_{ws.config().period.end}"
    return (ws.published if edition == "public" else ws.restricted) / partnership_id / report / period


def publish(ws: Workspace, report: Report, formats: tuple[str, ...] | None = None) -> list[Path]:
    """Render the report for every partnership and edition; returns the files published."""
    from pipeline.publish.render import render_document  # Jupyter, Pandoc and Typst load only to render

    config = ws.config()
    # --- disclosure-control seam (pipeline/publish/{disclosure,audit,release,manifest}.py) -----------------
    # The public edition reads disclosure-controlled copies of the marts; each edition is built in a
    # temporary folder, given its manifest, audited (public) and swapped into place by release().
    from pipeline.publish import audit, disclosure, manifest, release

    marts_for = {"restricted": ws.marts,
                 "public": disclosure.public_marts(ws.marts, ws.warehouse / disclosure.PUBLIC_DIR, report.reads, config.disclosure)}
    written: list[Path] = []
    with manifest.epoch(ws):
        for partnership in config.partnerships:
            for edition in EDITIONS:
                final = output_folder(ws, edition, partnership.id, report.name)
                building = release.staging_folder(final)
                params = {
                    "marts_dir": str(marts_for[edition]),
                    "partnership": partnership.id,
                    "partnership_name": partnership.name,
                    "edition": edition,
                    "synthetic": config.workspace.synthetic,
                    "disclosure_rule": disclosure.rule_text(config.disclosure),
                }
                render_document(
                    report.path, building, params, formats=formats or report.formats, stem=report.name,
                    marking=marking(edition, config.workspace.synthetic),
                )
                public = edition == "public"
                manifest.write_manifest(building, ws, report=report.name, reads=report.reads, partnership=partnership.id, edition=edition,
                                        disclosure=disclosure.rule_text(config.disclosure) if public else None)
                check = (lambda folder: audit.audit_folder(folder, config.disclosure.threshold)) if public else None
                done = release.release(building, final, audit=check, restricted=not public, public_root=ws.published)
                written.extend(sorted(p for p in done.iterdir() if p.is_file()))
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
