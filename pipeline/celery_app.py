"""The Celery app a worker runs: `celery -A pipeline.celery_app worker` (docs/operations.md, "Across machines").

It is dagster-celery's own app (its queue, priorities and the task that executes one step) on the broker
CSP_CELERY_BROKER names, the same one `csp publish` sends the `documents` job's steps to. Start it with `--pool solo` (one step at a
time, in the worker's own process): a forked pool child that inherits Polars' thread pool hangs in its first
Parquet read.
"""

from dagster_celery.executor import CeleryExecutor
from dagster_celery.make_app import make_app
from dagster_celery.tasks import create_task

from pipeline.distributed import CELERY_SETTINGS, broker_url

_url = broker_url()
app = make_app(CeleryExecutor.for_cli(broker=_url, backend=_url, config_source=CELERY_SETTINGS).app_args())
execute_plan = create_task(app)
