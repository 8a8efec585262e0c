"""Run a journeymap job in this process (no daemon, no webserver): what ``journeymap demo``
calls. It prepares the dbt project, builds the definitions for the given settings and executes
the job with the in-process executor, printing one line per finished step; what dbt prints
goes to ``<dbt target>/<job>_output.log``. When DAGSTER_HOME is set the run is recorded there,
so ``make dev`` shows it afterwards; a run whose process was killed stays STARTED there until
the next run of the installation marks it failed (``fail_abandoned_runs``).
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from dagster import (
    DagsterEventType,
    DagsterInstance,
    DagsterRunStatus,
    Definitions,
    ExecuteInProcessResult,
    RunRequest,
    RunsFilter,
)

from journeymap.orchestration.definitions import build_definitions
from journeymap.orchestration.progress import PROGRESS_LOGGER, Say, say_through
from journeymap.orchestration.project import prepare_dbt_project
from journeymap.settings import Settings
from journeymap.warehouse import run_lock, run_lock_path

# The tag of the runs run_job starts: the run lock of their installation (one per warehouse
# on this machine), so a later run of the same installation finds those it outlived.
INSTALLATION_TAG = "journeymap/run_lock"


def installation_tags(settings: Settings) -> dict[str, str]:
    """The tags that mark a run as run_job's for the installation of ``settings``."""
    return {INSTALLATION_TAG: str(run_lock_path(settings))}


# A run still in one of these when no process of its installation runs was killed.
_UNFINISHED = [DagsterRunStatus.STARTING, DagsterRunStatus.STARTED]


@dataclass
class JobResult:
    result: ExecuteInProcessResult
    seconds: float
    failed_steps: list[str] = field(default_factory=list)
    failed_checks: list[str] = field(default_factory=list)

    @property
    def success(self) -> bool:
        return self.result.success


def _instance() -> DagsterInstance:
    return DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else DagsterInstance.ephemeral()


def execute_request(
    defs: Definitions,
    request: RunRequest,
    instance: DagsterInstance | None = None,
    run_config: dict[str, Any] | None = None,
) -> ExecuteInProcessResult:
    """A sensor's run request executed in this process as the daemon would launch it: its
    job, assets, checks and tags."""
    job = defs.resolve_job_def(request.job_name)
    checks = request.asset_check_keys
    subset = job.get_subset(
        asset_selection=set(request.asset_selection or ()),
        asset_check_selection=None if checks is None else set(checks),
    )
    return subset.execute_in_process(
        run_config=run_config,
        instance=instance or _instance(),
        tags=request.tags,
        raise_on_error=False,
    )


def run_job(
    settings: Settings,
    job_name: str,
    run_config: dict[str, Any] | None = None,
    say: Say = print,
    instance: DagsterInstance | None = None,
) -> JobResult:
    """Run ``job_name`` for the installation of ``settings`` and return its result; a clear
    error (WarehouseBusyError) when another run of the installation is writing."""
    with run_lock(settings, f"the Dagster job {job_name}"):
        instance = instance or _instance()
        for run_id in fail_abandoned_runs(instance, settings):
            say(f"the Dagster run {run_id} ended without finishing (killed): marked failed")
        return _run_job(settings, job_name, run_config, say, instance)


def fail_abandoned_runs(instance: DagsterInstance, settings: Settings) -> list[str]:
    """Mark failed the runs run_job started for this installation that the instance still
    counts as running, and return their ids. Called with the run lock held: no process of the
    installation runs, so their process was killed (SIGKILL records nothing). Left STARTED,
    they would count against the run queue's limit of ``make dev`` (one run at a time) and
    hold it forever."""
    abandoned = instance.get_runs(
        RunsFilter(statuses=_UNFINISHED, tags=installation_tags(settings))
    )
    for run in abandoned:
        instance.report_engine_event(
            "the process running this run ended without finishing it (killed); the next run "
            "of the installation marked it failed",
            run,
        )
        instance.report_run_failed(run)
    return [run.run_id for run in abandoned]


def _run_job(
    settings: Settings,
    job_name: str,
    run_config: dict[str, Any] | None,
    say: Say,
    instance: DagsterInstance,
) -> JobResult:
    started = time.perf_counter()
    say("parsing the dbt project")
    prepare_dbt_project(settings)
    job = build_definitions(settings).resolve_job_def(job_name)
    run_config = {**(run_config or {}), "loggers": {PROGRESS_LOGGER: {}}}
    output_log = settings.dbt_target_dir / f"{job_name}_output.log"
    output_log.parent.mkdir(parents=True, exist_ok=True)
    say(f"running the Dagster job {job_name} in this process (dbt's output: {output_log})")
    console = sys.stdout

    def say_on_console(message: str) -> None:
        with contextlib.redirect_stdout(console):
            say(message)

    with (
        say_through(say_on_console),
        output_log.open("w") as output,
        contextlib.redirect_stdout(output),
    ):
        result = job.execute_in_process(
            run_config=run_config,
            instance=instance,
            raise_on_error=False,
            tags=installation_tags(settings),
        )
    failed_steps = [
        event.step_key
        for event in result.all_events
        if event.event_type == DagsterEventType.STEP_FAILURE and event.step_key
    ]
    failed_checks = [
        f"{e.asset_key.to_user_string()}:{e.check_name}"
        for e in result.get_asset_check_evaluations()
        if not e.passed
    ]
    return JobResult(result, time.perf_counter() - started, failed_steps, failed_checks)


def run_demo(
    settings: Settings,
    customers: int = 5000,
    days: int = 90,
    seed: int = 42,
    end_date: str = "2026-10-31",
    say: Say = print,
    instance: DagsterInstance | None = None,
    experiment: bool = False,
) -> JobResult:
    """The demo job: the sample business, then everything the full job does. With
    ``experiment`` (``journeymap demo``) it runs a real experiment: the demo job sees the
    business up to the outcome window before its end and decides the actions there; the
    held-back days, with the planted effect of generator.planted_experiment, then land and a
    full run measures the lift (enriched.mart_action_lift)."""
    window = outcome_window_days(settings)
    hold = window + 1 if experiment and days >= 2 * (window + 1) else 0
    if experiment and not hold:
        say(f"no experiment: {days} days are too few for a {window}-day outcome window")
    sample = {"customers": customers, "days": days, "seed": seed, "end_date": end_date}
    run_config = {"ops": {"demo__sample_data": {"config": {**sample, "hold_back_days": hold}}}}
    first = run_job(settings, "journeymap_demo", run_config, say=say, instance=instance)
    if not hold or not first.success:
        return first
    say(plant_demo_experiment(settings))
    second = run_job(settings, "journeymap_full", say=say, instance=instance)
    second.seconds += first.seconds
    return second


def outcome_window_days(settings: Settings) -> int:
    from journeymap.transform import dbt_var

    return int(dbt_var(settings, "action_outcome_window_days", 30))


def plant_demo_experiment(settings: Settings) -> str:
    """Plant the demo's effect in the held-back days and land them; what was planted."""
    from journeymap.generator.planted_experiment import (
        PlantedEffect,
        customer_ids_by_key,
        held_back_dir,
        plant_extra_orders,
        release,
        write_planted,
    )
    from journeymap.ml.actions_io import read_assignments
    from journeymap.orchestration.assets.actions import experiment_config
    from journeymap.warehouse import open_warehouse

    held = held_back_dir(settings.data_dir)
    with open_warehouse(settings, read_only=True) as warehouse:
        assignments = read_assignments(warehouse)
        customer_ids = customer_ids_by_key(warehouse)
    amounts = pd.concat([pd.read_csv(p)["amount"] for p in sorted(held.glob("orders/*.csv"))])
    effect = PlantedEffect(window_days=outcome_window_days(settings))
    orders, truth = plant_extra_orders(
        assignments, amounts, experiment_config(settings), effect, customer_ids
    )
    first_day = pd.Timestamp(assignments["assigned_at"].max()).date()
    write_planted(held, orders, truth, settings.truth_dir, first_day)
    files = release(held, settings.landing_dir)
    return (
        f"experiment: {truth.extra_orders} extra orders planted for the "
        f"{truth.treated_customers} treated customers of {truth.action} "
        f"({truth.revenue_effect_per_treated:.2f} revenue per treated customer; "
        f"{truth.holdout_customers} held out); landing {files} held-back files"
    )
