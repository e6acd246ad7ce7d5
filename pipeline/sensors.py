"""A sensor on the drop zone: a new or changed file in raw/<source>/ lands that source and rebuilds what depends
on it (its checks, and the quarters it holds of staging and conformed, then the marts), never the documents:
those come when scheduled (pipeline/schedules.py) or asked for (`csp run`).

The cursor is every file seen, by source and name, with its size and modification time; a file is taken once it
has not changed for `SETTLE_SECONDS`, so a copy still being written is not landed half-way. On its first tick
the sensor has seen nothing: it asks for one run over every source with files, and landing skips each file
already landed (files are known by their SHA-256). When such a run succeeds, `record_built` records what it
built in full, so that the next run does not build those months again.
"""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path

import dagster as dg

from pipeline import partitions
from pipeline.ingest.landing import candidate_files
from pipeline.ingest.plan import BUILT_TAG, plan, record_run
from pipeline.resources import ui_workspace
from pipeline.sources import SOURCES
from pipeline.workspace import Workspace

SETTLE_SECONDS = 60
DOCUMENTS = dg.AssetSelection.groups("reports")


def _signature(path: Path) -> list[int]:
    """Size and modification time (ns): what changes when a file is replaced or rewritten."""
    try:
        stat = path.stat()
    except OSError:  # a dangling link: landing refuses it, once
        stat = path.lstat()
    return [stat.st_size, stat.st_mtime_ns]


def drop_zone(ws: Workspace) -> dict[str, list[int]]:
    """`<source>/<file name>` -> signature, for every file of every source the workspace reads."""
    config = ws.config()
    return {f"{name}/{path.name}": _signature(path)
            for name, source in SOURCES.items() if config.source(name).enabled is not False
            for path in candidate_files(ws.source_folder(config, name), source)}


def changes(seen: dict[str, list[int]], now: dict[str, list[int]], at: float) -> tuple[list[str], dict[str, list[int]]]:
    """The sources with a new or changed file that has settled, and the cursor that records those files as seen
    (a file still changing stays out of it, to be looked at again)."""
    settled = {key: sig for key, sig in now.items() if seen.get(key) != sig and sig[1] <= (at - SETTLE_SECONDS) * 1e9}
    return sorted({key.split("/", 1)[0] for key in settled}), {**seen, **settled}


def landing_request(ws: Workspace, sources: list[str], graph) -> dg.RunRequest | dg.SkipReason:
    """One run landing these sources' new files, with their checks and everything downstream except the
    documents, over the quarters those files hold (pipeline/ingest/plan.py)."""
    months = plan(ws, sources)
    if months.months is None:
        return dg.SkipReason(f"nothing new to land in {', '.join(sources)} (each file was landed, refused or held before)")
    selection = (months.fed() if not months.rebuild else dg.AssetSelection.all()) - DOCUMENTS
    months = months.scoped(selection.resolve(graph), graph)
    label = partitions.window_label((months.first, partitions.month_after(months.last)))
    return dg.RunRequest(asset_selection=sorted(selection.resolve(graph), key=lambda k: k.to_user_string()),
                         asset_check_keys=sorted(selection.resolve_checks(graph), key=lambda k: k.to_user_string()),
                         tags={"csp/sources": ", ".join(sources), "csp/months": label, **months.tags()})


@dg.sensor(target=dg.AssetSelection.all() - DOCUMENTS, minimum_interval_seconds=30,
           default_status=dg.DefaultSensorStatus.RUNNING,
           description="Lands a source when a file in its raw/<source>/ folder is new or changed (not the documents)")
def drop_zone_sensor(context: dg.SensorEvaluationContext):
    seen = json.loads(context.cursor) if context.cursor else {}
    sources, cursor = changes(seen, drop_zone(ui_workspace()), time.time())
    if cursor != seen:
        context.update_cursor(json.dumps(cursor, sort_keys=True))
    if not sources:
        return dg.SkipReason("no new or changed file in the drop zone")
    return landing_request(ui_workspace(), sources, context.repository_def.asset_graph)


@dg.run_status_sensor(run_status=dg.DagsterRunStatus.SUCCESS, default_status=dg.DefaultSensorStatus.RUNNING,
                      description="Records what a successful run built in full (raw._builds), so the next run does "
                                  "not build those months again")
def record_built(context: dg.RunStatusSensorContext):
    """A run the daemon starts (drop_zone_sensor's) records what it built, as `csp run` does itself."""
    tags = context.dagster_run.tags
    if BUILT_TAG in tags:
        finished = context.instance.get_run_record_by_id(context.dagster_run.run_id).end_time
        record_run(ui_workspace(), tags, datetime.fromtimestamp(finished) if finished else datetime.now())


SENSORS = [drop_zone_sensor, record_built]
