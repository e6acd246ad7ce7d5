"""The Dagster definitions: every asset of the pipeline, from raw files to published reports.

raw (one asset per source) → staging → conformed → marts (one asset per SQL file) → reports (one per .qmd);
every suite in expectations/ is a check on its asset, and every raw source has a `freshness` check (its quarters
due and not received: pipeline/quality/freshness.py);
the documents are scheduled from each partnership's calendar (pipeline/schedules.py); a new file in raw/ lands
its source (pipeline/sensors.py).
Runs execute in one process, one step at a time: DuckDB has one writer, and in-process steps cost
milliseconds where a process per step costs seconds.
"""

import dagster as dg

from pipeline import placement, reference
from pipeline.analysis import deprivation, engine, harm, peers, people, place, priorities, review, time_profiles, violence_profile
from pipeline.ingest import assets as source_assets
from pipeline.models import area_shapes, sql_assets
from pipeline.publish import assets as report_assets
from pipeline.quality import freshness, submissions
from pipeline.quality.checks import CHECKS, RESULTS
from pipeline.resources import default_resources
from pipeline.schedules import SCHEDULES
from pipeline.sensors import SENSORS

ALL_ASSETS = [*reference.ASSETS, *source_assets.ASSETS, *submissions.ASSETS, *placement.ASSETS, *sql_assets.ASSETS,
              *area_shapes.ASSETS, *peers.ASSETS, *engine.ASSETS, *review.ASSETS, *place.ASSETS, *deprivation.ASSETS,
              *harm.ASSETS, *people.ASSETS, *priorities.ASSETS, *time_profiles.ASSETS, *violence_profile.ASSETS,
              *report_assets.ASSETS, RESULTS]
ALL_CHECKS = [*CHECKS, *freshness.CHECKS]

defs = dg.Definitions(
    assets=ALL_ASSETS,
    asset_checks=ALL_CHECKS,
    schedules=SCHEDULES,
    sensors=SENSORS,
    resources=default_resources(),
    executor=dg.in_process_executor,
)
