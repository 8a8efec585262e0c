"""journeymap's one Dagster code location: ``dagster dev -m journeymap.orchestration.definitions``.

Composed from modules by domain:

    keys.py           asset keys and groups (one place; modules never import each other for keys)
    assets/raw.py     demo/sample_data, raw/retention_log (the retention period's purge),
                      raw/<source> x 10 (landing files -> raw schema)
    assets/dbt.py     every dbt seed and model (<schema>/<name>) in two steps around the Python
                      models (dbt_core, dbt_enriched), dbt tests as asset checks
    assets/ml.py      the Python models: read core marts, write ml/<table>, model report
    assets/customers.py  lifetime value, segments, persona cards and snapshots
    assets/attribution.py  ml/channel_attribution (Markov and Shapley channel attribution)
    assets/text.py    text labels and friction themes (ml/text_labels, ml/text_themes)
    assets/next_step.py  next step and drop-off of open journeys (ml/next_step_predictions)
    assets/actions.py    next best action decisions with a holdout (ml/action_assignments)
    assets/alerts.py     risk alerts outbox and webhook delivery (ml/risk_alerts)
    assets/report.py  report/journey_map, report/data_docs
    checks.py         Great Expectations suites as blocking asset checks
    jobs.py           journeymap_full (daily), journeymap_demo (with the sample data),
                      journeymap_alerts (a new file's risk alerts, ahead of the full run)
    schedules.py      journeymap_daily
    sensors.py        landing_files_sensor (the alerts run, then the full run)
    resources.py      settings (paths and warehouse) and dbt
    project.py        the dbt project, parsed on request
    run.py            a job run in this process (`journeymap demo`)

Importing this module builds nothing: ``defs`` is loaded lazily by Dagster's tools, and
``build_definitions(settings)`` needs the dbt manifest (``project.prepare_dbt_project``).
"""

from __future__ import annotations

import os

from dagster import Definitions, colored_console_logger, definitions, in_process_executor

from journeymap.orchestration.assets.actions import action_assets
from journeymap.orchestration.assets.alerts import alert_assets
from journeymap.orchestration.assets.attribution import attribution_assets
from journeymap.orchestration.assets.customers import customer_assets
from journeymap.orchestration.assets.dbt import build_dbt_assets
from journeymap.orchestration.assets.ml import ml_assets
from journeymap.orchestration.assets.next_step import next_step_assets
from journeymap.orchestration.assets.raw import (
    project_raw_assets,
    raw_assets,
    raw_retention,
    sample_data,
)
from journeymap.orchestration.assets.report import report_assets
from journeymap.orchestration.assets.text import text_assets
from journeymap.orchestration.checks import expectation_checks
from journeymap.orchestration.jobs import alerts_job, demo_job, full_job
from journeymap.orchestration.progress import PROGRESS_LOGGER, progress_logger
from journeymap.orchestration.project import dbt_project, prepare_dbt_project
from journeymap.orchestration.resources import build_resources
from journeymap.orchestration.schedules import journeymap_daily
from journeymap.orchestration.sensors import landing_files_sensor
from journeymap.settings import Settings, get_settings


def build_definitions(settings: Settings) -> Definitions:
    """The definitions of the installation of ``settings`` (its dbt manifest must exist)."""
    project_sources = tuple(source.name for source in settings.landing_sources)
    dbt_assets = build_dbt_assets(dbt_project(settings), project_sources)
    return Definitions(
        assets=[
            sample_data,
            raw_retention,
            *raw_assets,
            *project_raw_assets(settings),
            *dbt_assets,
            *ml_assets,
            *customer_assets,
            *text_assets,
            *attribution_assets,
            *next_step_assets,
            *action_assets,
            *alert_assets,
            *report_assets,
        ],
        asset_checks=expectation_checks,
        jobs=[full_job, demo_job, alerts_job],
        schedules=[journeymap_daily],
        sensors=[landing_files_sensor],
        resources=build_resources(settings),
        # One step at a time in one process: DuckDB allows one writer per file. Applies to runs
        # launched from the UI too; dagster.yaml (make dev) queues runs one at a time as well.
        executor=in_process_executor,
        # console is Dagster's default; journeymap_progress prints one line per step (demo).
        loggers={"console": colored_console_logger, PROGRESS_LOGGER: progress_logger},
    )


@definitions
def defs() -> Definitions:
    """What ``dagster dev`` loads: the definitions for the environment's settings. Under
    ``dagster dev`` (DAGSTER_IS_DEV_CLI) the dbt project is parsed on every (re)load, so model
    edits show up; elsewhere the manifest is prepared beforehand."""
    settings = get_settings()
    if os.environ.get("DAGSTER_IS_DEV_CLI"):
        prepare_dbt_project(settings)
    return build_definitions(settings)
