"""journeymap's one Dagster code location: ``dagster dev -m orchestration.definitions``.

Composed from modules by domain:

    assets/raw.py     demo/sample_data, raw/<source> x 9 (landing files -> raw schema)
    assets/dbt.py     every dbt seed and model (<schema>/<name>) in two steps around the ML
                      assets, dbt tests as asset checks
    assets/ml.py      ml/churn_scores (reads marts, read back by dim_customers)
    assets/report.py  report/journey_map, report/data_docs
    checks.py         Great Expectations suites as blocking asset checks
    jobs.py           journeymap_full (daily), journeymap_demo (with the sample data)
    schedules.py      journeymap_daily
    sensors.py        landing_files_sensor
    resources.py      warehouse (DuckDB or Snowflake) and dbt, from env vars
    demo.py           `journeymap demo`: the demo job in this process, one line per step

The dbt manifest must exist before this module is imported (``dagster dev`` makes it through
``DbtProject.prepare_if_dev``; elsewhere call ``orchestration.project.prepare_dbt_project()``).
"""

from __future__ import annotations

from dagster import Definitions, colored_console_logger, in_process_executor

from journeymap.orchestration.assets.dbt import dbt_assets_defs
from journeymap.orchestration.assets.ml import ml_assets
from journeymap.orchestration.assets.raw import raw_assets, sample_data
from journeymap.orchestration.assets.report import report_assets
from journeymap.orchestration.checks import expectation_checks
from journeymap.orchestration.demo import PROGRESS_LOGGER, progress_logger
from journeymap.orchestration.jobs import demo_job, full_job
from journeymap.orchestration.resources import build_resources
from journeymap.orchestration.schedules import journeymap_daily
from journeymap.orchestration.sensors import landing_files_sensor
from journeymap.settings import Settings


def build_definitions(settings: Settings | None = None, kind: str | None = None) -> Definitions:
    """The definitions, with resources for ``settings`` (default: env vars) and warehouse
    ``kind`` (default: JOURNEYMAP_TARGET, else duckdb)."""
    return Definitions(
        assets=[sample_data, *raw_assets, *dbt_assets_defs, *ml_assets, *report_assets],
        asset_checks=expectation_checks,
        jobs=[full_job, demo_job],
        schedules=[journeymap_daily],
        sensors=[landing_files_sensor],
        resources=build_resources(settings, kind),
        # One step at a time in one process: DuckDB allows one writer per file. Applies to runs
        # launched from the UI too; dagster.yaml (make dev) queues runs one at a time as well.
        executor=in_process_executor,
        # console is Dagster's default; journeymap_progress prints one line per step (demo).
        loggers={"console": colored_console_logger, PROGRESS_LOGGER: progress_logger},
    )


defs = build_definitions()
