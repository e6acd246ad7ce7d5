"""The render pool: every edition handed to publishing is built by long-lived worker processes, one a core.

A render used to start a Jupyter kernel (Python, then pandas, polars and plotly: about 4 s) and a headless
Chromium to draw its charts (2 s on a quiet machine, far more under load) for a few seconds of work. A worker
here keeps one kernel for every render it is given (publish/execute.py KeptKernel: the namespace is reset
between documents, the imports and the browser stay), and does the whole of an edition's build in its own
process: the render, its manifest and, for a public edition, the disclosure audit. The pool outlives one
`publish()`, so the documents of a run (three report assets, one after another) share the warm workers; it
stops with the interpreter (each worker stops its kernel and browser as it exits).
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

from pipeline.publish.manifest import EPOCH_ENV

WORKERS_ENV = "CSP_RENDER_WORKERS"


@dataclass(frozen=True)
class Build:
    """One edition to build in `building`: what render_document is given, then its manifest and audit."""

    source: Path
    building: Path
    params: dict
    formats: tuple[str, ...]
    stem: str
    look: object  # publish.render.Look
    manifest: dict  # write_manifest's keywords: shared facts, report, partnership, edition, disclosure
    audit_threshold: int | None  # a public edition's disclosure threshold: audited where it was built
    epoch: str  # SOURCE_DATE_EPOCH (manifest.epoch): the dates inside the PDF and the workbook


def workers() -> int:
    """How many editions build side by side: one per core (CSP_RENDER_WORKERS overrides; 1 builds in this
    process, one after another, each in a fresh kernel). A worker starts when there is work for it."""
    given = os.environ.get(WORKERS_ENV, "")
    return int(given) if given.isdigit() and int(given) > 0 else (os.cpu_count() or 1)


def build(job: Build, kernel=None) -> list:
    """Render the edition, write its manifest, audit it if public; the audit's findings (release() refuses any)."""
    from pipeline.publish import audit, manifest
    from pipeline.publish.render import render_document

    os.environ[EPOCH_ENV] = job.epoch  # a worker outlives the run that set it
    render_document(job.source, job.building, job.params, formats=job.formats, stem=job.stem, look=job.look,
                    kernel=kernel)
    manifest.write_manifest(job.building, **job.manifest)
    return audit.audit_folder(job.building, job.audit_threshold) if job.audit_threshold is not None else []


def build_all(jobs: list[Build]) -> list[list]:
    """Every job's findings, in job order; the first failure, in job order, is raised once all have finished."""
    size = workers()
    if size == 1:
        return [build(job) for job in jobs]
    executor = _executor(size)
    futures: list[Future] = [executor.submit(_build_in_worker, job) for job in jobs]
    wait(futures)
    if any(isinstance(f.exception(), BrokenProcessPool) for f in futures):
        shutdown()  # a worker died (killed, out of memory): the next call starts a fresh pool
    return [f.result() for f in futures]


_pool: ProcessPoolExecutor | None = None
_pool_size = 0
_kernel = None  # in a worker: its KeptKernel


def _executor(size: int) -> ProcessPoolExecutor:
    """The pool, started on first use with `size` workers (spawned: a fresh interpreter, never a fork of a
    process with Dagster's threads)."""
    global _pool, _pool_size
    if _pool is not None and _pool_size != size:
        shutdown()
    if _pool is None:
        _pool = ProcessPoolExecutor(max_workers=size, mp_context=multiprocessing.get_context("spawn"),
                                    initializer=_start_worker)
        _pool_size = size
    return _pool


def shutdown() -> None:
    """Stop the workers (each stops its kernel and browser); the next build_all starts new ones."""
    global _pool, _pool_size
    if _pool is not None:
        _pool.shutdown(wait=True, cancel_futures=True)
    _pool, _pool_size = None, 0


def _start_worker() -> None:
    from multiprocessing.util import Finalize

    from pipeline.publish.execute import KeptKernel

    global _kernel
    _kernel = KeptKernel()
    # A pool's worker leaves through multiprocessing's exit, which runs finalizers but not atexit handlers.
    Finalize(None, _kernel.close, exitpriority=10)


def _build_in_worker(job: Build) -> list:
    return build(job, _kernel)
