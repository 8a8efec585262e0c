"""Real-time risk alerts: ``ml/risk_alerts`` is an outbox of the risk events the latest data
brought (journeymap.ml.alerts); with JOURNEYMAP_ALERT_WEBHOOK_URL set, undelivered alerts
are POSTed with retries and idempotency keys. Downstream of the marts, so the landing-files
sensor's runs write the alerts of each new file.
"""

from datetime import UTC, datetime

import pandas as pd
from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, ResourceParam, asset

from journeymap.ml.alerts_io import ALERT_INPUT_MARTS
from journeymap.orchestration.keys import (
    CHURN_SCORES_KEY,
    ML_GROUP,
    RISK_ALERTS_KEY,
    TEXT_LABELS_KEY,
    mart_key,
)
from journeymap.orchestration.resources import step_warehouse
from journeymap.settings import Settings


def _now() -> pd.Timestamp:
    return pd.Timestamp(datetime.now(UTC)).tz_localize(None)


@asset(
    key=RISK_ALERTS_KEY,
    group_name=ML_GROUP,
    deps=[*(mart_key(name) for name in ALERT_INPUT_MARTS), CHURN_SCORES_KEY, TEXT_LABELS_KEY],
    description=(
        "Outbox of risk alerts (ml.risk_alerts): a cancellation or billing message from a "
        "high-risk customer, a checkout drop-off by a high-value customer, in the latest 48 "
        "hours of data; one row per alert (deterministic id), delivered_at set once the "
        "webhook (JOURNEYMAP_ALERT_WEBHOOK_URL) accepted it."
    ),
    metadata={"dagster/table_name": "ml.risk_alerts"},
)
def risk_alerts(
    context: AssetExecutionContext, settings: ResourceParam[Settings]
) -> MaterializeResult:
    from journeymap.ml.alerts_io import run_alerts

    with step_warehouse(context, settings) as warehouse:
        outbox = run_alerts(warehouse, settings.alert_webhook_url, _now)
    undelivered = int(outbox["delivered_at"].isna().sum())
    context.log.info(
        f"risk alerts: {len(outbox)} in the outbox, {undelivered} undelivered"
        + ("" if settings.alert_webhook_url else " (no webhook configured)")
    )
    return MaterializeResult(
        metadata={
            "dagster/row_count": len(outbox),
            "undelivered": undelivered,
            "by_rule": MetadataValue.json(
                outbox["rule"].value_counts().to_dict() if len(outbox) else {}
            ),
        }
    )


alert_assets = [risk_alerts]
