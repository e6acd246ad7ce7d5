"""The documents across machines: a run per partnership whose steps, one per document, run on Celery workers.

The normal path is untouched: `csp run` and the UI's asset runs execute every step in one process
(pipeline/definitions.py). The `documents` job selects the report assets (group `reports`) and runs them on
dagster-celery's executor, so a run's documents are separate steps that any worker listening on the broker
may take; `csp publish` starts one such run per partnership, side by side (`Workspace.partnership` narrows a
run to one partnership, as a scheduled publication does). The broker, Redis in our deployments, is named by
CSP_CELERY_BROKER, read by the runs and by every worker (`celery -A pipeline.celery_app worker`);
docs/operations.md, "Across machines", shows the whole deployment.

Reports read marts from Parquet and the warehouse read-only (their manifests), so documents need no writer:
what stays single-writer is the run that builds the marts, and that is not this job.
"""

from __future__ import annotations

import os
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
from dagster_celery import celery_executor  # about 0.1 s: celery and kombu, not the renderers

from pipeline.workspace import Workspace

BROKER_ENV = "CSP_CELERY_BROKER"
JOB = "documents"
REPORTS_GROUP = "reports"

# A worker takes one step at a time and acknowledges it when done, so it never holds a second step that an idle
# worker could be running (Celery's default takes the next message as soon as a step starts).
CELERY_SETTINGS = {"task_acks_late": True, "worker_prefetch_multiplier": 1}
# Executor config as environment references, resolved where the run starts (the broker is also the result
# backend: one Redis for both).
_EXECUTION = {"config": {"broker": {"env": BROKER_ENV}, "backend": {"env": BROKER_ENV}, "config_source": CELERY_SETTINGS}}


def broker_url() -> str:
    url = os.environ.get(BROKER_ENV, "")
    if not url:
        raise RuntimeError(f"{BROKER_ENV} is not set: name the Celery broker, e.g. {BROKER_ENV}=redis://127.0.0.1:6379/0 "
                           "(the same for `csp publish` and every worker; docs/operations.md)")
    return url


def documents_job() -> dg.UnresolvedAssetJobDefinition:
    """Every document, each a step of its own, on the Celery executor."""
    return dg.define_asset_job(
        JOB, selection=dg.AssetSelection.groups(REPORTS_GROUP), executor_def=celery_executor,
        config={"execution": _EXECUTION},
        description=f"The documents, each a step on a Celery worker (broker: ${BROKER_ENV}); `csp publish` runs it "
                    "once per partnership",
    )


def _job() -> dg.JobDefinition:
    """The resolved job, by a module-level function: what Celery workers rebuild from its module and name."""
    from pipeline.definitions import defs

    return defs.resolve_job_def(JOB)


@dataclass
class DocumentsRun:
    partnership: str
    success: bool
    events: list  # the run's Dagster events (step failures are explained from them)


def run_config(ws: Workspace, partnership: str) -> dict:
    """One partnership's documents in this workspace: its folder must be the same path on every worker."""
    return {"execution": _EXECUTION,
            "resources": {"workspace": {"config": {"root": str(ws.root), "partnership": partnership}}}}


def _one_run(home: str, root: str, partnership: str, reports: list[str] | None) -> DocumentsRun:
    """One partnership's `documents` run, in a process of its own (Dagster's run setup is not thread-safe: two
    runs started from threads of one process deadlock on the logging lock)."""
    selection = [dg.AssetKey([REPORTS_GROUP, name]) for name in reports] if reports else None
    with dg.DagsterInstance.from_config(home) as instance:
        result = dg.execute_job(dg.reconstructable(_job), instance, run_config=run_config(Workspace.at(root), partnership),
                                tags={"csp/partnership": partnership}, asset_selection=selection)
        return DocumentsRun(partnership, result.success, result.all_events)


def publish_documents(ws: Workspace, home: Path, partnerships: list[str], reports: list[str] | None = None) -> list[DocumentsRun]:
    """Start a `documents` run per partnership, all at once, and wait for them; `reports` narrows each run to
    those documents (`reports/<name>`). `home` is the Dagster instance's folder: an instance the workers can open
    (its SQLite files on this machine, or PostgreSQL across machines)."""
    broker_url()  # say what is missing before any run starts
    with dg.DagsterInstance.from_config(str(home)) as instance:  # create its SQLite tables once, not in every run at once
        instance.get_runs(limit=1)
        instance.get_latest_materialization_event(dg.AssetKey([REPORTS_GROUP]))
    # A process per run (forked: the definitions are already imported); each only submits its steps to the
    # broker and waits for their events.
    with ProcessPoolExecutor(max_workers=len(partnerships), mp_context=multiprocessing.get_context("fork")) as pool:
        return list(pool.map(_one_run, *zip(*[(str(home), str(ws.root), p, reports) for p in partnerships])))
