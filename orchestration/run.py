"""Run a journeymap job in this process (no daemon, no webserver): what ``journeymap demo``
calls. It prepares the dbt project, builds the definitions for the given settings and executes
the job with the in-process executor, printing one line per finished step; what dbt prints
goes to ``<dbt target>/<job>_output.log``. When DAGSTER_HOME is set the run is recorded there,
so ``make dev`` shows it afterwards.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from dagster import DagsterEventType, DagsterInstance, ExecuteInProcessResult

from journeymap.orchestration.definitions import build_definitions
from journeymap.orchestration.progress import PROGRESS_LOGGER, Say, say_through
from journeymap.orchestration.project import prepare_dbt_project
from journeymap.settings import Settings
from journeymap.warehouse import run_lock


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
        return _run_job(settings, job_name, run_config, say, instance)


def _run_job(
    settings: Settings,
    job_name: str,
    run_config: dict[str, Any] | None,
    say: Say,
    instance: DagsterInstance | None,
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
            run_config=run_config, instance=instance or _instance(), raise_on_error=False
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
) -> JobResult:
    """The demo job: the sample business, then everything the full job does."""
    sample = {"customers": customers, "days": days, "seed": seed, "end_date": end_date}
    run_config = {"ops": {"demo__sample_data": {"config": sample}}}
    return run_job(settings, "journeymap_demo", run_config, say=say, instance=instance)
