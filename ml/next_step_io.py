"""The next-step model's contact with the warehouse: portable reads of ``marts.fct_events``,
the ``journey_stages`` seed and (when it exists) ``ml.text_labels``; one write of
``ml.next_step_predictions``.

A step is the canonical event, or the raw event name where the taxonomy maps none, so a
bring-your-own log with a custom taxonomy (or none) is read as it is. The SQL is plain ANSI;
column names are lower-cased on the way in (Snowflake hands them back upper case).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pandas as pd

from journeymap.ml.churn_io import WarehouseSchemas
from journeymap.ml.features import PASSIVE_EVENTS
from journeymap.ml.next_step import NextStepConfig, NextStepRun, score_next_steps
from journeymap.ml.outputs import (
    CONSENT_MART,
    NEXT_STEP_PREDICTIONS,
    consented_tables,
    write_output,
)
from journeymap.ml.step_log import StepLog, log_from_batches, log_from_frame
from journeymap.ml.text.labelling import table_exists
from journeymap.warehouse import Warehouse, query_frame, quote_literals

# The marts the next-step model reads (the Dagster asset depends on exactly these).
NEXT_STEP_INPUT_MARTS = ("fct_events", CONSENT_MART)
# Whom the model is about (customers with steps): its count of refusals left out is theirs.
NEXT_STEP_POPULATION = ("fct_events",)
UNMAPPED = "unmapped"
SCHEMAS = WarehouseSchemas()


def events_query(consented: Callable[[str], str], schemas: WarehouseSchemas = SCHEMAS) -> str:
    """Every step a customer who did not refuse analytics did (``consented``, of
    ``consented_tables``: no training prefix, held-out journey or prediction is theirs); the
    event key breaks ties between steps at the same second (unsorted: sorting 10M rows in the
    warehouse costs more memory than the log)."""
    events = consented(f"{schemas.marts}.fct_events")
    return f"""
        select customer_key as journey_key, occurred_at,
            case when canonical_event is null or canonical_event = '{UNMAPPED}'
                then raw_event_name else canonical_event end as step,
            case when journey_stage = '{UNMAPPED}' then null else journey_stage end
                as journey_stage,
            channel, device_type, event_key as tie_breaker
        from {events} as events
        where customer_key is not null
            and coalesce(canonical_event, '') not in ({quote_literals(PASSIVE_EVENTS)})
    """


def read_stage_orders(warehouse: Warehouse, seeds: str = "seeds") -> dict[str, int]:
    """journey_stage -> stage_order from the journey_stages seed (empty when it is absent)."""
    if not table_exists(warehouse, seeds, "journey_stages"):
        return {}
    frame = query_frame(warehouse, f"select journey_stage, stage_order from {seeds}.journey_stages")
    return {str(r.journey_stage): int(r.stage_order) for r in frame.itertuples(index=False)}


def read_text_intents(
    warehouse: Warehouse, consented: Callable[[str], str], schemas: WarehouseSchemas = SCHEMAS
) -> pd.DataFrame | None:
    """When each customer wrote and the intent of what they wrote (None before text labels),
    read through ``consented`` (of ``consented_tables``)."""
    if not table_exists(warehouse, schemas.ml, "text_labels"):
        return None
    labels = consented(f"{schemas.ml}.text_labels")
    return query_frame(
        warehouse,
        f"select customer_key as journey_key, occurred_at, intent from {labels} as labels "
        "where customer_key is not null and intent is not null",
    )


def read_step_log(warehouse: Warehouse, schemas: WarehouseSchemas = SCHEMAS) -> StepLog:
    """The steps of customers who did not refuse analytics, streamed in batches and coded
    to integers as they arrive (the events are never one frame of strings: 10M of them
    would take several GB)."""
    consented = consented_tables(warehouse, schemas.marts)  # the catalog asked once
    log = log_from_batches(
        warehouse.query_batches(events_query(consented, schemas)),
        read_stage_orders(warehouse),
        read_text_intents(warehouse, consented, schemas),
    )
    if len(log) == 0:
        raise ValueError(f"{schemas.marts}.fct_events holds no customer steps to learn from")
    return log


def default_as_of(log: StepLog) -> pd.Timestamp:
    """Just after the latest step: every step counts, the latest journeys are open."""
    return pd.Timestamp(int(log.t.max()) + 1, unit="s")


def run_next_step(
    warehouse: Warehouse,
    config: NextStepConfig | None = None,
    as_of: datetime | None = None,
    schemas: WarehouseSchemas = SCHEMAS,
    write: bool = True,
) -> NextStepRun:
    """Evaluate on held-out time, score the open journeys and replace
    ``ml.next_step_predictions`` (``as_of`` default: just after the latest step)."""
    log = read_step_log(warehouse, schemas)
    cutoff = as_of or default_as_of(log)
    run = score_next_steps(log, cutoff, config or NextStepConfig())
    if write:
        write_output(
            warehouse,
            NEXT_STEP_PREDICTIONS,
            run.predictions,
            schema=schemas.ml,
            marts_schema=schemas.marts,
        )
    return run


def read_process_log(
    path: Path, case: str = "case_id", activity: str = "activity", timestamp: str = "timestamp"
) -> StepLog:
    """A case/activity/timestamp event log (CSV or Parquet) as a step log: each case is a
    journey, each activity a step, no stages."""
    frame = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    missing = [c for c in (case, activity, timestamp) if c not in frame.columns]
    if missing:
        raise ValueError(
            f"{path}: no column {missing}; columns are {list(frame.columns)} "
            "(name them with --case, --activity, --timestamp)"
        )
    return log_from_frame(
        pd.DataFrame(
            {
                "journey_key": frame[case].astype(str),
                "occurred_at": frame[timestamp],
                "step": frame[activity],
            }
        )
    )
