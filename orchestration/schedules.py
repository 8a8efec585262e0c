"""Schedules: the full job once a day (new landing files, dbt build, churn, report)."""

from __future__ import annotations

from dagster import DefaultScheduleStatus, ScheduleDefinition

from orchestration.jobs import full_job

journeymap_daily = ScheduleDefinition(
    name="journeymap_daily",
    job=full_job,
    cron_schedule="0 5 * * *",
    execution_timezone="UTC",
    default_status=DefaultScheduleStatus.STOPPED,
    description=(
        "Every day at 05:00 UTC: load what landed overnight, rebuild the warehouse incrementally, "
        "rescore churn and rewrite the journey map. Turn it on in the UI (Automation)."
    ),
)
