"""Next best action's contact with the warehouse: one row per known customer assembled from
core marts and the ML tables that exist (churn scores, text labels, next-step predictions;
each optional: without it the conditions that need it match nobody), the action catalog seed,
and ``ml.action_assignments`` (earlier assignments kept, new decisions added).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pandas as pd

from journeymap.ml.action_messages import LLMMessageWriter, MessageCache, write_messages
from journeymap.ml.actions import INPUT_COLUMNS, ActionConfig, assign_actions, keep_earlier
from journeymap.ml.churn_io import WarehouseSchemas
from journeymap.ml.outputs import ACTION_ASSIGNMENTS, consented_tables, write_output
from journeymap.ml.text.labelling import table_exists
from journeymap.ml.warehouse_io import read_latest_event_at
from journeymap.warehouse import Warehouse, query_frame, timestamp_literal

ACTION_INPUT_MARTS = ("dim_customers", "fct_events", "fct_customer_texts")
SCHEMAS = WarehouseSchemas()
INTENT_DAYS = 30
CONTACT_EVENTS = ("email_delivered",)


def read_catalog(warehouse: Warehouse, seeds: str = "seeds") -> pd.DataFrame:
    return query_frame(warehouse, f"select * from {seeds}.actions")


def read_action_inputs(
    warehouse: Warehouse, as_of: pd.Timestamp, s: WarehouseSchemas = SCHEMAS
) -> pd.DataFrame:
    """One row per known customer with the columns ``journeymap.ml.actions`` reads; customers
    who refused analytics (profiling) are not decided for."""
    cutoff = timestamp_literal(as_of)
    week = timestamp_literal(as_of - pd.Timedelta(days=7))

    consented = consented_tables(warehouse, s.marts)

    def mart(table: str) -> str:
        return consented(f"{s.marts}.{table}")

    customers = query_frame(
        warehouse,
        f"""
        select customer_key, current_stage, has_email_consent, has_sms_consent
        from {mart("dim_customers")} as customers
        where is_known
        """,
    )
    devices = query_frame(
        warehouse,
        f"""
        select customer_key, max(device_type) as device_type from (
            select customer_key, device_type,
                row_number() over (partition by customer_key order by occurred_at desc) as rn
            from {mart("fct_events")} as events
            where device_type is not null and occurred_at < {cutoff}
        ) as latest where rn = 1 group by customer_key
        """,
    )
    contacts = query_frame(
        warehouse,
        f"""
        select customer_key, count(*) as contacts_last_week from {mart("fct_events")} as events
        where canonical_event in ('{"', '".join(CONTACT_EVENTS)}')
            and occurred_at >= {week} and occurred_at < {cutoff}
        group by customer_key
        """,
    )
    reviews = query_frame(
        warehouse,
        f"""
        select customer_key, avg(score) as review_score
        from {mart("fct_customer_texts")} as texts
        where source = 'reviews' and occurred_at < {cutoff} group by customer_key
        """,
    )
    frame = customers
    for part in (devices, contacts, reviews, *_ml_inputs(warehouse, as_of, s, consented)):
        frame = frame.merge(part, on="customer_key", how="left")
    frame["contacts_last_week"] = frame["contacts_last_week"].fillna(0)
    for column in INPUT_COLUMNS:
        if column not in frame:
            frame[column] = None
    return frame[list(INPUT_COLUMNS)]


def _ml_inputs(
    warehouse: Warehouse,
    as_of: pd.Timestamp,
    s: WarehouseSchemas,
    consented: Callable[[str], str],
) -> list[pd.DataFrame]:
    """The ML outputs' columns of the action inputs, read through ``consented`` (the
    caller's ``consented_tables``: the catalog is asked once per run)."""

    def ml(table: str) -> str:  # rows written before a refusal, if this runs first
        return consented(f"{s.ml}.{table}")

    parts = []
    if table_exists(warehouse, s.ml, "churn_scores"):
        parts.append(
            query_frame(
                warehouse,
                f"select customer_key, risk_band as churn_risk_band "
                f"from {ml('churn_scores')} as scores",
            )
        )
    if table_exists(warehouse, s.ml, "text_labels"):
        since = timestamp_literal(as_of - pd.Timedelta(days=INTENT_DAYS))
        parts.append(
            query_frame(
                warehouse,
                f"""
                select customer_key, max(intent) as recent_intent from (
                    select customer_key, intent, row_number() over (
                        partition by customer_key order by occurred_at desc) as rn
                    from {ml("text_labels")} as labels
                    where customer_key is not null and occurred_at >= {since}
                        and occurred_at < {timestamp_literal(as_of)}
                ) as latest where rn = 1 group by customer_key
                """,
            )
        )
    if table_exists(warehouse, s.ml, "customer_segments"):
        # Persona names are plural noun phrases ("Price checkers"): lower case reads mid-sentence.
        parts.append(
            query_frame(
                warehouse,
                f"select customer_key, lower(persona_name) as persona "
                f"from {ml('customer_segments')} as segments",
            )
        )
    if table_exists(warehouse, s.ml, "next_step_predictions"):
        parts.append(
            query_frame(
                warehouse,
                f"select customer_key, last_step, drop_off_probability "
                f"from {ml('next_step_predictions')} as predictions",
            )
        )
    return parts


def read_assignments(warehouse: Warehouse, s: WarehouseSchemas = SCHEMAS) -> pd.DataFrame:
    if not table_exists(warehouse, s.ml, ACTION_ASSIGNMENTS.table):
        return ACTION_ASSIGNMENTS.empty()
    frame = query_frame(warehouse, f"select * from {s.ml}.{ACTION_ASSIGNMENTS.table}")
    # Logged before messages had a writer: the template wrote them.
    if "message_source" not in frame:
        frame["message_source"] = frame["message"].notna().map({True: "template", False: None})
    if "message_note" not in frame:
        frame["message_note"] = None
    return ACTION_ASSIGNMENTS.conform(frame)


def recent_contacts(assignments: pd.DataFrame, as_of: pd.Timestamp) -> pd.Series:
    """Actions delivered (not held out) in the 7 days before ``as_of``, per customer."""
    delivered = assignments[
        assignments["action"].notna()
        & ~assignments["is_holdout"].astype(bool)
        & (assignments["assigned_at"] >= as_of - pd.Timedelta(days=7))
        & (assignments["assigned_at"] < as_of)
    ]
    return delivered.groupby("customer_key").size()


def run_actions(
    warehouse: Warehouse,
    config: ActionConfig,
    as_of: datetime | None = None,
    s: WarehouseSchemas = SCHEMAS,
    writer: LLMMessageWriter | None = None,
) -> pd.DataFrame:
    """Decide for every eligible customer not yet assigned (their messages by ``writer`` when
    given, ``journeymap.ml.action_messages``), keep earlier assignments, and replace
    ``ml.action_assignments`` with both. Returns the table written."""
    cutoff = pd.Timestamp(as_of) if as_of else read_latest_event_at(warehouse, s)
    inputs = read_action_inputs(warehouse, cutoff, s)
    previous = read_assignments(warehouse, s)
    inputs["contacts_last_week"] += (
        recent_contacts(previous, cutoff).reindex(inputs["customer_key"], fill_value=0).to_numpy()
    )
    new = assign_actions(inputs, read_catalog(warehouse), config, cutoff)
    if writer is not None:
        context = inputs[["customer_key", "persona", "recent_intent"]]
        written = write_messages(
            new.merge(context, on="customer_key", how="left"), writer, MessageCache(warehouse, s.ml)
        )
        new = ACTION_ASSIGNMENTS.conform(written[list(ACTION_ASSIGNMENTS.column_names)])
    table = keep_earlier(previous, new)
    write_output(warehouse, ACTION_ASSIGNMENTS, table, schema=s.ml)
    return table
