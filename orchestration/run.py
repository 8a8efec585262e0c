"""`journeymap demo` through Dagster: the demo job run in this process, no daemon, no webserver.

``run_demo`` parses the dbt project, builds the definitions for the given workspace and executes
``journeymap_demo`` (sample data -> raw loads -> dbt -> churn -> dbt -> report, every check) with
the in-process executor. It prints one line per finished step instead of Dagster's debug log;
what dbt prints goes to ``<dbt target>/demo_output.log``. When DAGSTER_HOME is set the run is
recorded there, so ``make dev`` shows it afterwards.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dagster import (
    DagsterEventType,
    DagsterInstance,
    ExecuteInProcessResult,
    InitLoggerContext,
    logger,
)

from journeymap.settings import Settings

PROGRESS_LOGGER = "journeymap_progress"
Say = Callable[[str], None]


class _ProgressHandler(logging.Handler):
    """Turns Dagster's event records into one short line per finished step or failed check."""

    def __init__(self, say: Say) -> None:
        super().__init__(level=logging.DEBUG)
        self.say = say
        self.started: dict[str, float] = {}

    def emit(self, record: logging.LogRecord) -> None:
        meta = getattr(record, "dagster_meta", None) or {}
        event = meta.get("dagster_event")
        if event is None:
            return
        step = event.step_key or ""
        kind = event.event_type
        if kind == DagsterEventType.STEP_START:
            self.started[step] = time.perf_counter()
        elif kind == DagsterEventType.STEP_SUCCESS:
            seconds = time.perf_counter() - self.started.get(step, time.perf_counter())
            self.say(f"  done    {step} ({seconds:.1f}s)")
        elif kind == DagsterEventType.STEP_FAILURE:
            self.say(f"  FAILED  {step}: {event.event_specific_data.error.message.strip()}")
        elif kind == DagsterEventType.STEP_SKIPPED:
            self.say(f"  skipped {step}")
        elif kind == DagsterEventType.ASSET_CHECK_EVALUATION:
            evaluation = event.event_specific_data
            if not evaluation.passed:
                key = evaluation.asset_check_key
                self.say(f"  check failed: {key.asset_key.to_user_string()}:{key.name}")


_say_for_logger: list[Say] = [print]


@logger(description="One line per finished step (journeymap demo).")
def progress_logger(init_context: InitLoggerContext) -> logging.Logger:
    log = logging.Logger(PROGRESS_LOGGER, level=logging.DEBUG)
    log.addHandler(_ProgressHandler(_say_for_logger[-1]))
    return log


@dataclass
class DemoResult:
    result: ExecuteInProcessResult
    seconds: float
    failed_steps: list[str] = field(default_factory=list)
    failed_checks: list[str] = field(default_factory=list)

    @property
    def success(self) -> bool:
        return self.result.success


def _instance() -> DagsterInstance:
    return DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else DagsterInstance.ephemeral()


def run_demo(
    settings: Settings,
    customers: int = 5000,
    days: int = 90,
    seed: int = 42,
    end_date: str = "2026-10-31",
    say: Say = print,
    instance: DagsterInstance | None = None,
) -> DemoResult:
    """Run the demo job for the workspace of ``settings`` and return its result."""
    from journeymap.orchestration.project import prepare_dbt_project

    started = time.perf_counter()
    say("parsing the dbt project")
    prepare_dbt_project()

    from journeymap.orchestration.definitions import build_definitions

    defs = build_definitions(settings)
    job = defs.resolve_job_def("journeymap_demo")
    run_config: dict[str, Any] = {
        "ops": {
            "demo__sample_data": {
                "config": {"customers": customers, "days": days, "seed": seed, "end_date": end_date}
            }
        },
        "loggers": {PROGRESS_LOGGER: {}},
    }
    output_log = settings.dbt_target_dir / "demo_output.log"
    output_log.parent.mkdir(parents=True, exist_ok=True)
    say(f"running the Dagster job journeymap_demo in this process (dbt's output: {output_log})")
    console = sys.stdout

    def say_on_console(message: str) -> None:
        with contextlib.redirect_stdout(console):
            say(message)

    _say_for_logger.append(say_on_console)
    try:
        with output_log.open("w") as output, contextlib.redirect_stdout(output):
            result = job.execute_in_process(
                run_config=run_config, instance=instance or _instance(), raise_on_error=False
            )
    finally:
        _say_for_logger.pop()
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
    return DemoResult(result, time.perf_counter() - started, failed_steps, failed_checks)
