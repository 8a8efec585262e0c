"""Schedules: the full job once a day (new landing files, dbt, the Python models, report)."""

from __future__ import annotations

from dagster import DefaultScheduleStatus, RunRequest, ScheduleEvaluationContext, schedule

from journeymap.orchestration.assets.dbt import dbt_run_config
from journeymap.orchestration.jobs import full_job

# The day the daily run tests every row; the other days test what the run wrote.
FULL_TEST_WEEKDAY = 6  # Sunday


def daily_test_scope(weekday: int) -> str:
    return "all" if weekday == FULL_TEST_WEEKDAY else "changed"


@schedule(
    name="journeymap_daily",
    job=full_job,
    cron_schedule="0 5 * * *",
    execution_timezone="UTC",
    default_status=DefaultScheduleStatus.STOPPED,
    description=(
        "Every day at 05:00 UTC: load what landed overnight, rebuild the warehouse "
        "incrementally, rerun the Python models and rewrite the journey map. dbt tests read the "
        "rows the run wrote (test_scope 'changed'), every row on Sundays. Turn it on in the UI "
        "(Automation)."
    ),
)
def journeymap_daily(context: ScheduleEvaluationContext) -> RunRequest:
    test_scope = daily_test_scope(context.scheduled_execution_time.weekday())
    return RunRequest(
        run_config=dbt_run_config(test_scope), tags={"journeymap/test_scope": test_scope}
    )
