"""The churn model's only contact with the warehouse: a few portable reads of core marts and
one write of ``ml.churn_scores``.

The SQL is plain ANSI (no DuckDB-only functions) so it runs on DuckDB and Snowflake alike;
column names are lower-cased on the way in because Snowflake hands them back upper case.
Everything is read through ``ml.warehouse_io`` and written through ``write_output``.
"""

from __future__ import annotations

import pandas as pd

from journeymap.ml.features import UNREAD_EVENTS, ChurnFrames
from journeymap.ml.outputs import CHURN_SCORES, CONSENT_MART, consented_tables, write_output
from journeymap.ml.warehouse_io import WarehouseSchemas, query_frame, read_latest_event_at
from journeymap.warehouse import Warehouse, quote_literals

__all__ = ["WarehouseSchemas", "read_churn_frames", "read_latest_event_at", "write_churn_scores"]

# The marts the churn model reads (the Dagster asset depends on exactly these).
CHURN_INPUT_MARTS = (
    "fct_subscription_versions",
    "fct_events",
    "fct_sessions",
    "fct_customer_texts",
    CONSENT_MART,
)
# Whom the model is about (subscribers): its count of refusals left out is theirs.
CHURN_POPULATION = ("fct_subscription_versions",)


def churn_queries(warehouse: Warehouse, s: WarehouseSchemas = WarehouseSchemas()) -> dict[str, str]:
    """The SQL behind each frame of ``ChurnFrames``: only subscribers' rows, and none of a
    customer who refused analytics (``consented``), so the model neither trains on nor
    scores them."""

    consented = consented_tables(warehouse, s.marts)

    def mart(table: str) -> str:
        return consented(f"{s.marts}.{table}")

    subscribers = f"select customer_key from {mart('fct_subscription_versions')} as subscriptions"
    return {
        "subscriptions": f"""
            select subscription_id, customer_key as customer_id, plan, started_at,
                cancelled_at, updated_at
            from {mart("fct_subscription_versions")} as subscriptions
        """,
        "events": f"""
            select customer_key, occurred_at, canonical_event, journey_stage, is_conversion,
                revenue
            from {mart("fct_events")} as events
            where customer_key in ({subscribers})
                and canonical_event not in ({quote_literals(UNREAD_EVENTS)})
        """,
        "sessions": f"""
            select customer_key, session_key, started_at
            from {mart("fct_sessions")} as sessions
            where customer_key in ({subscribers})
        """,
        # Customer-written support messages, attributed to a customer by identity stitching
        # (many messages carry only an email address).
        "messages": f"""
            select customer_key, occurred_at, thread_id as ticket_id,
                source_text_id as message_id, subject, body
            from {mart("fct_customer_texts")} as texts
            where source = 'support_messages'
                and customer_key in ({subscribers})
        """,
    }


def read_churn_frames(
    warehouse: Warehouse, schemas: WarehouseSchemas = WarehouseSchemas()
) -> ChurnFrames:
    queries = churn_queries(warehouse, schemas)
    frames = {name: query_frame(warehouse, sql) for name, sql in queries.items()}
    return ChurnFrames(**frames)


def write_churn_scores(
    warehouse: Warehouse, scores: pd.DataFrame, schemas: WarehouseSchemas = WarehouseSchemas()
) -> int:
    """Replace ml.churn_scores with ``scores`` (checked against its contract)."""
    return write_output(
        warehouse, CHURN_SCORES, scores, schema=schemas.ml, marts_schema=schemas.marts
    )
