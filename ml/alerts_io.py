"""Risk alerts' contact with the warehouse: the latest risk events from core marts and the ML
tables that exist (text labels and churn scores: without them the message rule finds
nothing), and the outbox ``ml.risk_alerts`` (read, extended, delivered, written back)."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from journeymap.ml.alerts import (
    CHECKOUT_STEPS,
    ORDER_STEP,
    AlertConfig,
    RetryPolicy,
    checkout_alerts,
    deliver,
    message_alerts,
    new_alerts,
)
from journeymap.ml.churn_io import WarehouseSchemas
from journeymap.ml.outputs import RISK_ALERTS, consented_tables, write_output
from journeymap.ml.text.labelling import table_exists
from journeymap.ml.warehouse_io import read_latest_event_at
from journeymap.warehouse import Warehouse, query_frame, quote_literals, timestamp_literal

ALERT_INPUT_MARTS = ("fct_events", "dim_customers")
SCHEMAS = WarehouseSchemas()


def read_outbox(warehouse: Warehouse, s: WarehouseSchemas = SCHEMAS) -> pd.DataFrame:
    if not table_exists(warehouse, s.ml, RISK_ALERTS.table):
        return RISK_ALERTS.empty()
    return RISK_ALERTS.conform(query_frame(warehouse, f"select * from {s.ml}.{RISK_ALERTS.table}"))


def find_alerts(
    warehouse: Warehouse,
    created_at: pd.Timestamp,
    config: AlertConfig | None = None,
    s: WarehouseSchemas = SCHEMAS,
) -> pd.DataFrame:
    """Every alert the last ``lookback_hours`` of data holds."""
    end = read_latest_event_at(warehouse, s)
    if end is None:  # no events yet: nothing to alert on
        return RISK_ALERTS.empty()
    config = config or AlertConfig()
    since = end - pd.Timedelta(hours=config.lookback_hours)

    rows = consented_tables(warehouse, s.marts)  # who refused analytics raises no alert

    parts = []
    if table_exists(warehouse, s.ml, "text_labels") and table_exists(
        warehouse, s.ml, "churn_scores"
    ):
        texts = query_frame(
            warehouse,
            "select customer_key, source_text_id, occurred_at, intent "
            f"from {rows(f'{s.ml}.text_labels')} as labels "
            f"where customer_key is not null and occurred_at >= {timestamp_literal(since)}",
        )
        risk = query_frame(
            warehouse,
            f"select customer_key, risk_band from {rows(f'{s.ml}.churn_scores')} as scores",
        )
        parts.append(message_alerts(texts, risk, since, created_at))
    events = query_frame(
        warehouse,
        f"""
        select customer_key, event_key, occurred_at, canonical_event
        from {rows(f"{s.marts}.fct_events")} as events
        where occurred_at >= {timestamp_literal(since)}
            and canonical_event in ({quote_literals((*CHECKOUT_STEPS, ORDER_STEP))})
        """,
    )
    revenue = query_frame(
        warehouse,
        f"select customer_key, revenue from {rows(f'{s.marts}.dim_customers')} as customers "
        "where is_known",
    )
    parts.append(checkout_alerts(events, revenue, since, end, created_at, config))
    return (
        pd.concat([p for p in parts if len(p)], ignore_index=True)
        if any(len(p) for p in parts)
        else RISK_ALERTS.empty()
    )


def run_alerts(
    warehouse: Warehouse,
    webhook_url: str | None,
    now: Callable[[], pd.Timestamp],
    config: AlertConfig | None = None,
    policy: RetryPolicy | None = None,
    s: WarehouseSchemas = SCHEMAS,
) -> pd.DataFrame:
    """Add the new alerts to the outbox and write it; then, with a webhook URL, deliver the
    undelivered ones and write the outbox again. Returns the outbox."""
    outbox = new_alerts(read_outbox(warehouse, s), find_alerts(warehouse, now(), config, s))
    write_output(warehouse, RISK_ALERTS, outbox, schema=s.ml)
    if webhook_url:
        outbox = deliver(outbox, webhook_url, now, policy or RetryPolicy())
        write_output(warehouse, RISK_ALERTS, outbox, schema=s.ml)
    return outbox
