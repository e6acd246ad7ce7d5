"""One Dagster asset per registered source: land whatever is new in raw/<source>/ into raw.<source>.

Each is partitioned by quarter (pipeline/partitions.py), but for the ad hoc ones (population estimates): a run
covering some quarters lands the new files whose rows fall in them (pipeline/ingest/plan.py chose the quarters
from those files), and leaves a file holding other months for the run that covers them.
"""


from datetime import date

import dagster as dg
from dagster import AssetExecutionContext

from pipeline import partitions
from pipeline.ingest.landing import (Accept, FileOutcome, LandingSummary, candidate_files, content_id, ensure_tables, land_source,
                                    parse_context)
from pipeline.ingest.plan import file_months, known_files
from pipeline.ingest.pseudonymise import load_key, pseudonymiser
from pipeline.resources import WorkspaceResource
from pipeline.sources import SOURCES, Source
from pipeline.workspace import Workspace


def land(ws: Workspace, source: Source, today: date | None = None, accept: Accept | None = None,
         months: tuple[date, date] | None = None) -> LandingSummary:
    """Land one source's new files (or, with `accept`, the one file the analyst accepts); shared by the asset,
    `csp accept` and the tests. With `months` ([first day, day after]), a file holding rows of other months
    is left `waiting` for the run that covers them."""
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
        known = {file_id for name, file_id in known_files(con) if name == source.name} if months else set()
        waiting = [p for p in files if months and not _within(p, source, settings, months, known)]
        summary = land_source(con, source, [p for p in files if p not in waiting], settings, ctx, root=ws.root, accept=accept)
    label = partitions.window_label(months) if months else ""
    summary.files += [FileOutcome(p.name, "waiting", f"holds rows outside this run's months ({label}); "
                                  "landed by the run that covers them") for p in waiting]
    return summary


def _within(path, source: Source, settings, months: tuple[date, date], known: set[str]) -> bool:
    """Whether a new file's rows all fall in the run's months (a file landed before, or one that cannot be read
    and will be refused, is for landing to deal with)."""
    if not path.is_file() or content_id(path) in known:
        return True
    found = file_months(path, source, settings)
    return not found or all(months[0] <= month < months[1] for month in found)


def summary_metadata(summary: LandingSummary) -> dict:
    rows = [f"| {f.file_name} | {f.status} | {f.rows_accepted:,} | {f.rows_rejected:,} | {f.detail.replace('|', '/')} |" for f in summary.files]
    table = "| file | status | accepted | rejected | detail |\n|---|---|---|---|---|\n" + "\n".join(rows)
    return {
        "files_loaded": summary.count("loaded"),
        "files_already_loaded": summary.count("already loaded"),
        "files_refused": summary.count("refused"),
        **({"files_held": summary.count("held")} if summary.count("held") else {}),  # a re-issue waiting for `csp accept`
        **({"files_waiting": summary.count("waiting")} if summary.count("waiting") else {}),  # for another run's months
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
        partitions_def=partitions.QUARTERS if source.partitioned else None,
        backfill_policy=partitions.SINGLE_RUN if source.partitioned else None,
    )
    def _asset(context: AssetExecutionContext, workspace: WorkspaceResource) -> dg.MaterializeResult:
        span = partitions.window(context) if source.partitioned else None
        summary = land(workspace.get(), source, months=span)
        for outcome in summary.files:
            if outcome.status == "refused":
                context.log.warning(f"refused {outcome.file_name}: {outcome.detail}")
            elif outcome.status in ("held", "waiting"):  # the detail says "held, not applied: ..." or why it waits
                context.log.warning(f"{outcome.file_name}: {outcome.detail}")
        months = {"months": partitions.window_label(span)} if span else {}
        return dg.MaterializeResult(metadata={**months, **summary_metadata(summary)})

    return _asset


ASSETS = [source_asset(source) for source in SOURCES.values()]
