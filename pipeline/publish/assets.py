"""One factory turns each `reports/<name>.qmd` into the asset `reports/<name>`.

A report's front matter says which marts it reads (`csp: reads: [...]`): that is its only statement of
dependencies, and the only data it may touch; and which period it covers (`csp: period: financial-year` or
`quarter`). It is rendered once per partnership and edition, each in a temporary folder of its own, and
released into `published/<partnership>/<report>/<period>/` (public) or `restricted/...` only when the
render succeeded. Each partnership's `index.html` lists every edition on disk.
"""

import html
import os
import re
import shutil
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import yaml
from dagster import AssetExecutionContext

from pipeline.config import Config, Partnership, resolve_file
from pipeline.paths import REPORTS_DIR
from pipeline.publish.periods import KINDS, last_complete
from pipeline.resources import WorkspaceResource
from pipeline.workspace import Workspace

_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.S)
EDITIONS = ("public", "restricted")
SYNTHETIC_MARKING = "SYNTHETIC DATA: demonstration figures, not real crime or people"
RESTRICTED_MARKING = "OFFICIAL-SENSITIVE"
# The published name of each document, from its .qmd stem (underscores become hyphens otherwise).
REPORT_NAMES = {"strategic_assessment": "strategic-assessment", "strategy_review": "strategy-review",
                "scrutiny_pack": "scrutiny-pack"}
DOCUMENT = "report"  # report.html and report.pdf in each edition's folder
INDEX = "index.html"


def marking(edition: str, synthetic: bool) -> str | None:
    """What every page must say: the security marking of a restricted edition, and that demo data are synthetic."""
    parts = ([RESTRICTED_MARKING] if edition == "restricted" else []) + ([SYNTHETIC_MARKING] if synthetic else [])
    return " · ".join(parts) or None


@dataclass(frozen=True)
class Report:
    name: str  # the .qmd stem, and the asset's name
    path: Path
    title: str
    reads: tuple[str, ...]
    formats: tuple[str, ...]
    period_kind: str  # financial-year or quarter
    params: tuple[str, ...] = ()  # the parameters its front matter declares: publish() passes only these

    @property
    def slug(self) -> str:
        """The document's name in published paths: scrutiny-pack, strategic-assessment, strategy-review."""
        return REPORT_NAMES.get(self.name, self.name.replace("_", "-"))


def read_report(path: Path) -> Report:
    match = _FRONT_MATTER.match(path.read_text(encoding="utf-8"))
    meta = yaml.safe_load(match.group(1)) if match else None
    csp = (meta or {}).get("csp") or {}
    reads = tuple(csp.get("reads") or ())
    if not reads or any(not r.startswith("marts/") for r in reads):
        raise ValueError(f"{path}: front matter must list csp: reads: [marts/<name>, ...]; reports read marts only")
    period = csp.get("period", "financial-year")
    if period not in KINDS:
        raise ValueError(f"{path}: front matter csp: period: {period!r}; expected one of {', '.join(KINDS)}")
    return Report(path.stem, path, str(meta.get("title", path.stem)), reads,
                  tuple(csp.get("formats") or ("html", "pdf")), period, tuple(meta.get("params") or ()))


def discover(reports_dir: Path = REPORTS_DIR) -> list[Report]:
    return [read_report(p) for p in sorted(reports_dir.glob("*.qmd"))]


def edition_root(ws: Workspace, edition: str, partnership_id: str) -> Path:
    """published/<partnership>/ for the public edition, restricted/<partnership>/ for the restricted one."""
    return (ws.published if edition == "public" else ws.restricted) / partnership_id


def output_folder(ws: Workspace, edition: str, partnership_id: str, report: Report, period: str) -> Path:
    """published/<partnership>/<report>/<period>/ (restricted/... for the restricted edition)."""
    return edition_root(ws, edition, partnership_id) / report.slug / period


def look(config: Config, partnership: Partnership, edition: str, root: Path):
    from pipeline.publish.render import Look

    brand = partnership.branding
    return Look(marking=marking(edition, config.workspace.synthetic), organisation=brand.name or partnership.name,
                accent=brand.accent, logo=resolve_file(brand.logo, root) if brand.logo else None)


def document_json(section) -> str:
    """A section of partnership.yaml (scrutiny questions, the strategy) as JSON for a document's parameter ("" when
    absent): documents read marts, and the configuration only through their parameters."""
    return section.model_dump_json() if section is not None else ""


@dataclass(frozen=True)
class Edition:
    """One render: a partnership's public or restricted edition of a report, built in its own folder."""

    partnership: Partnership
    edition: str
    final: Path
    building: Path
    params: dict
    look: object  # publish.render.Look: its marking and branding

    @property
    def public(self) -> bool:
        return self.edition == "public"


def publish(ws: Workspace, report: Report, formats: tuple[str, ...] | None = None,
            editions: tuple[str, ...] = EDITIONS) -> list[Path]:
    """Render the report for every partnership in each of `editions`; returns the files published.

    Each edition is built — rendered, given its manifest, audited if public — by the render pool's worker
    processes, side by side (publish/pool.py); the releases then run here, one edition after another in a fixed
    order, so the first failure reported is always the same one.
    """
    # Public editions read disclosure-controlled copies of the marts (pipeline/publish/disclosure.py, the one
    # place suppression happens); each edition is built in a temporary folder, given its manifest, audited
    # (public) and swapped into place by release(), so a refused or failed build leaves the previous one whole.
    from pipeline.publish import disclosure, manifest, pool, release, slices

    unknown = [e for e in editions if e not in EDITIONS]
    if unknown or not editions:
        raise ValueError(f"editions {editions!r}: expected some of {EDITIONS}")
    config = ws.config()
    period = last_complete(report.period_kind, config.period.end)
    rule = disclosure.rule_text(config.disclosure)
    written: list[Path] = []
    ids = [p.id for p in config.partnerships]
    # each render reads only its partnership's rows of the marts, from a folder that lasts this step
    with manifest.epoch(ws) as epoch, tempfile.TemporaryDirectory(dir=ws.warehouse, prefix=".slices-") as sliced:
        marts_dir = {"restricted": ws.marts}
        if "public" in editions:  # a run narrowed to one partnership controls its rows alone, in its own folder
            marts_dir["public"] = disclosure.public_marts(
                ws.marts, Path(sliced) / disclosure.PUBLIC_DIR if ws.partnership else ws.warehouse / disclosure.PUBLIC_DIR,
                report.reads, config.disclosure, partnerships=ids if ws.partnership else None)
        shared = manifest.shared_facts(ws, report.reads)
        folders = {edition: slices.partnership_slices(marts_dir[edition], Path(sliced) / edition, report.reads, ids)
                   for edition in editions}
        jobs, builds = [], []
        for partnership in config.partnerships:
            for edition in editions:
                final = output_folder(ws, edition, partnership.id, report, period)
                params = {
                    "marts_dir": str(folders[edition][partnership.id]),
                    "partnership": partnership.id,
                    "partnership_name": partnership.name,
                    "contact": partnership.branding.contact or "",
                    "edition": edition,
                    "period": period,
                    "synthetic": config.workspace.synthetic,
                    "disclosure_rule": rule,
                    # the analyst's text for this document (pipeline/publish/findings.py commentary())
                    "commentary_dir": str(ws.commentary / report.slug),
                    "scrutiny": document_json(config.scrutiny),
                    "strategy": document_json(config.strategy),
                }
                params = {k: v for k, v in params.items() if k in report.params} if report.params else params
                job = Edition(partnership, edition, final, release.staging_folder(final), params,
                              look(config, partnership, edition, ws.root))
                jobs.append(job)
                builds.append(pool.Build(
                    report.path, job.building, params, formats or report.formats, DOCUMENT, job.look,
                    manifest={"shared": shared, "report": report.slug, "partnership": partnership.id,
                              "edition": edition, "disclosure": rule if job.public else None},
                    audit_threshold=config.disclosure.threshold if job.public else None, epoch=str(epoch)))
        try:
            found = pool.build_all(builds)
            for job, findings in zip(jobs, found):
                done = release.release(job.building, job.final, audit=(lambda _folder, f=findings: f) if job.public else None,
                                       restricted=not job.public, public_root=ws.published)
                written.extend(sorted(p for p in done.iterdir() if p.is_file()))
                written.append(write_index(ws, config, job.partnership, job.edition))
        finally:
            for job in jobs:  # whatever was not released (release() removes its own folder on refusal)
                shutil.rmtree(job.building, ignore_errors=True)
    return written


def write_index(ws: Workspace, config: Config, partnership: Partnership, edition: str) -> Path:
    """`<partnership>/index.html`: every edition on disk, newest period first, so its address never changes."""
    root = edition_root(ws, edition, partnership.id)
    titles = {r.slug: r.title for r in discover()}
    rows = []
    for folder in sorted(root.glob(f"*/*/{DOCUMENT}.html"), key=lambda p: (p.parent.parent.name, p.parent.name)):
        report, period = folder.parent.parent.name, folder.parent.name
        files = [f'<a href="{report}/{period}/{name}">{label}</a>' for name, label in
                 ((f"{DOCUMENT}.html", "HTML"), (f"{DOCUMENT}.pdf", "PDF"), ("figures.csv", "CSV"), ("figures.xlsx", "XLSX"))
                 if (folder.parent / name).is_file()]
        rows.append((report, period, f"<tr><th scope=\"row\">{html.escape(titles.get(report, report))}</th>"
                                     f"<td>{html.escape(period)}</td><td>{' · '.join(files)}</td></tr>"))
    rows.sort(key=lambda r: r[1], reverse=True)  # newest period first (labels sort as they run)...
    rows.sort(key=lambda r: r[0])  # ...within each document
    mark = marking(edition, config.workspace.synthetic)
    banner = f'<p class="csp-marking" role="note">{html.escape(mark)}</p>' if mark else ""
    kind = "Public" if edition == "public" else "Restricted"
    name = partnership.branding.name or partnership.name
    page = f"""<!DOCTYPE html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(name)}: {kind.lower()} documents</title>
<style>
body {{ font-family: Arial, "Liberation Sans", Helvetica, sans-serif; color: #0b0c0c; max-width: 60rem;
       margin: 0 auto; padding: 1rem; line-height: 1.5; }}
h1 {{ color: {partnership.branding.accent}; }}
.csp-marking {{ background: #0b0c0c; color: #fff; font-weight: bold; text-align: center; padding: .4rem; }}
.wrap {{ overflow-x: auto; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ text-align: left; padding: .4rem .6rem; border-bottom: 1px solid #b1b4b6; vertical-align: top; }}
a {{ color: #1d70b8; }}
</style>
</head>
<body>
{banner}
<main>
<h1>{html.escape(name)}</h1>
<p>{kind} editions of the partnership's documents: each as a web page (HTML), a PDF, and its figures as CSV
and as a spreadsheet (XLSX).</p>
<div class="wrap" role="region" aria-label="Documents" tabindex="0">
<table>
<caption>Documents by period</caption>
<thead><tr><th scope="col">Document</th><th scope="col">Period</th><th scope="col">Files</th></tr></thead>
<tbody>
{chr(10).join(r[2] for r in rows)}
</tbody>
</table>
</div>
</main>
{banner}
</body>
</html>
"""
    index = root / INDEX
    part = root / f".{INDEX}.{uuid.uuid4().hex}.part"
    part.write_text(page, encoding="utf-8")
    part.chmod(0o644 if edition == "public" else 0o600)  # the run's umask makes files owner-only
    os.replace(part, index)
    return index


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
