"""The Celery app a worker runs: `celery -A pipeline.celery_app worker` (docs/operations.md, "Across machines").

It is dagster-celery's own app (its queue, priorities and the task that executes one step) on the broker
CSP_CELERY_BROKER names, the same one `csp publish` sends the `documents` job's steps to.
"""

from dagster_celery.executor import CeleryExecutor
from dagster_celery.make_app import make_app
from dagster_celery.tasks import create_task

from pipeline.distributed import broker_url

_url = broker_url()
app = make_app(CeleryExecutor.for_cli(broker=_url, backend=_url).app_args())
execute_plan = create_task(app)
