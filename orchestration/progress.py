"""The ``journeymap_progress`` logger: one short line per finished step or failed check, for
runs started from the command line (``journeymap demo``), instead of Dagster's debug log."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from dagster import DagsterEventType, InitLoggerContext, logger

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


# Where the logger's lines go: the innermost ``say_through`` (Dagster builds the logger when a
# run starts, with no way to pass it a callable).
_say_for_logger: list[Say] = [print]


@contextmanager
def say_through(say: Say) -> Iterator[None]:
    """Send the progress lines of runs started inside the block to ``say``."""
    _say_for_logger.append(say)
    try:
        yield
    finally:
        _say_for_logger.pop()


@logger(description="One line per finished step (journeymap demo).")
def progress_logger(init_context: InitLoggerContext) -> logging.Logger:
    log = logging.Logger(PROGRESS_LOGGER, level=logging.DEBUG)
    log.addHandler(_ProgressHandler(_say_for_logger[-1]))
    return log
