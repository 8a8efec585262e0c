"""The churn model's only contact with the warehouse: a few portable reads and one write.

The SQL is plain ANSI (no DuckDB-only functions) so it runs on DuckDB and Snowflake alike;
column names are lower-cased on the way in because Snowflake hands them back upper case.
Everything is read through ``Warehouse.query_df`` and written through ``write_frame``.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from journeymap.ml.features import UNREAD_EVENTS, ChurnFrames
from journeymap.warehouse import Warehouse


@dataclass(frozen=True)
class WarehouseSchemas:
    """Where dbt puts the models the churn run reads, and where it writes (dbt var ml_schema)."""

    marts: str = "marts"
    staging: str = "staging"
    ml: str = "ml"


CHURN_SCORES_TABLE = "churn_scores"


def _subscribers(s: WarehouseSchemas) -> str:
    return f"select customer_id from {s.staging}.stg_commerce__subscriptions"


def churn_queries(s: WarehouseSchemas = WarehouseSchemas()) -> dict[str, str]:
    """The SQL behind each frame of ``ChurnFrames`` (only subscribers' rows are read)."""
    unread = ", ".join(f"'{event}'" for event in UNREAD_EVENTS)
    return {
        "subscriptions": f"""
            select subscription_id, customer_id, plan, started_at, cancelled_at, updated_at
            from {s.staging}.stg_commerce__subscriptions
        """,
        "events": f"""
            select customer_key, occurred_at, canonical_event, journey_stage, is_conversion,
                revenue
            from {s.marts}.fct_events
            where customer_key in ({_subscribers(s)})
                and canonical_event not in ({unread})
        """,
        "sessions": f"""
            select customer_key, session_key, started_at
            from {s.marts}.fct_sessions
            where customer_key in ({_subscribers(s)})
        """,
        # Customer-written messages, attributed to a customer by identity stitching (many
        # messages carry only an email address): fct_events knows whose message it is.
        "messages": f"""
            select
                events.customer_key,
                events.occurred_at,
                events.context_id as ticket_id,
                messages.message_id,
                messages.subject,
                messages.body
            from {s.marts}.fct_events as events
            inner join {s.staging}.stg_support__messages as messages
                on events.source_event_id = messages.message_id
            where events.source = 'support_messages'
                and messages.author_type = 'customer'
                and events.customer_key in ({_subscribers(s)})
        """,
    }


def _query(warehouse: Warehouse, sql: str) -> pd.DataFrame:
    frame = warehouse.query_df(sql)
    frame.columns = [str(c).lower() for c in frame.columns]
    return frame


def read_churn_frames(
    warehouse: Warehouse, schemas: WarehouseSchemas = WarehouseSchemas()
) -> ChurnFrames:
    frames = {name: _query(warehouse, sql) for name, sql in churn_queries(schemas).items()}
    return ChurnFrames(**frames)


def read_latest_event_at(
    warehouse: Warehouse, schemas: WarehouseSchemas = WarehouseSchemas()
) -> pd.Timestamp | None:
    sql = f"select max(occurred_at) as latest_event_at from {schemas.marts}.fct_events"
    frame = _query(warehouse, sql)
    value = frame["latest_event_at"].iloc[0] if len(frame) else None
    return None if value is None or pd.isna(value) else pd.Timestamp(value)


def write_churn_scores(
    warehouse: Warehouse, scores: pd.DataFrame, schemas: WarehouseSchemas = WarehouseSchemas()
) -> int:
    """Replace ml.churn_scores with ``scores`` (the columns and types of its contract)."""
    return warehouse.write_frame(schemas.ml, CHURN_SCORES_TABLE, scores, mode="replace")
