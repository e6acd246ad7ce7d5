"""One Dagster asset per registered source: land whatever is new in raw/<source>/ into raw.<source>."""


from datetime import date

import dagster as dg
from dagster import AssetExecutionContext

from pipeline.ingest.landing import Accept, LandingSummary, candidate_files, ensure_tables, land_source, parse_context
from pipeline.ingest.pseudonymise import load_key, pseudonymiser
from pipeline.resources import WorkspaceResource
from pipeline.sources import SOURCES, Source
from pipeline.workspace import Workspace


def land(ws: Workspace, source: Source, today: date | None = None, accept: Accept | None = None) -> LandingSummary:
    """Land one source's new files (or, with `accept`, the one file the analyst accepts); shared by the asset,
    `csp accept` and the tests."""
    config = ws.config()
    settings = config.source(source.name)
    key_cache: list = []

    def pseudonymise(values):
        if not key_cache:  # only sources with person ids need the key
            key_cache.append(pseudonymiser(load_key(ws.root)))
        return key_cache[0](values)

    ctx = parse_context(today or date.today(), pseudonymise)
    with ws.connect() as con:
        if settings.enabled is False:
            ensure_tables(con, source)
            return LandingSummary(source.name)
        files = [accept.path] if accept else candidate_files(ws.source_folder(config, source.name), source)
        return land_source(con, source, files, settings, ctx, root=ws.root, accept=accept)


def summary_metadata(summary: LandingSummary) -> dict:
    rows = [f"| {f.file_name} | {f.status} | {f.rows_accepted:,} | {f.rows_rejected:,} | {f.detail.replace('|', '/')} |" for f in summary.files]
    table = "| file | status | accepted | rejected | detail |\n|---|---|---|---|---|\n" + "\n".join(rows)
    return {
        "files_loaded": summary.count("loaded"),
        "files_already_loaded": summary.count("already loaded"),
        "files_refused": summary.count("refused"),
        **({"files_held": summary.count("held")} if summary.count("held") else {}),  # a re-issue waiting for `csp accept`
        "rows_accepted": sum(f.rows_accepted for f in summary.files),
        "rows_rejected": sum(f.rows_rejected for f in summary.files),
        "rows_repeated": sum(f.rows_repeated for f in summary.files),
        "files": dg.MetadataValue.md(table if rows else "no new files"),
    }


def source_asset(source: Source) -> dg.AssetsDefinition:
    @dg.asset(
        key=["raw", source.name],
        group_name="raw",
        description=f"{source.title}: files dropped in raw/{source.name}/, landed once each (see docs/sources.md)",
        kinds={"duckdb"},
        tags={"agency": source.agency},
    )
    def _asset(context: AssetExecutionContext, workspace: WorkspaceResource) -> dg.MaterializeResult:
        summary = land(workspace.get(), source)
        for outcome in summary.files:
            if outcome.status == "refused":
                context.log.warning(f"refused {outcome.file_name}: {outcome.detail}")
            elif outcome.status == "held":  # the detail says "held, not applied: ..."
                context.log.warning(f"{outcome.file_name}: {outcome.detail}")
        return dg.MaterializeResult(metadata=summary_metadata(summary))

    return _asset


ASSETS = [source_asset(source) for source in SOURCES.values()]
