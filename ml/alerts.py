"""Real-time risk alerts: an outbox of risk events and their delivery to a webhook.

Rules (each a risk event the latest data brought, within ``lookback_hours`` of its end):

* ``<intent>_from_high_risk``: a customer whose churn risk band is high writes a text with a
  cancellation or billing intent (``RISK_INTENTS``, from ml.text_labels).
* ``checkout_drop_off_high_value``: a high-value customer (revenue in the top
  ``high_value_share`` of paying customers) starts a checkout and places no order within
  ``checkout_minutes`` (alerted once the data covers those minutes).

Every alert has a deterministic id, sha256 of (rule, customer, evidence id): a re-run finds
the same alerts and the outbox (``ml.risk_alerts``) keeps one row per id. Delivery POSTs each
undelivered alert as JSON with an ``Idempotency-Key`` header (the id), retrying with
exponential backoff on connection errors, timeouts, 429 and 5xx; ``delivered_at`` is set once
the receiver answers 2xx. A receiver that honours the key (the usual webhook contract) sees
each alert once even when a delivery was repeated (a crash between its answer and the
outbox update); a receiver that is down leaves the alerts undelivered for the next run.
"""

from __future__ import annotations

import hashlib
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from journeymap.ml.outputs import RISK_ALERTS

RISK_INTENTS = ("cancellation", "billing_payment")
CHECKOUT_STEPS = ("checkout_started", "payment_info_entered")
ORDER_STEP = "order_placed"


@dataclass(frozen=True)
class AlertConfig:
    lookback_hours: float = 48.0
    checkout_minutes: float = 60.0
    high_value_share: float = 0.2


def alert_id(rule: str, customer_key: str, evidence_id: str) -> str:
    return hashlib.sha256(f"{rule}|{customer_key}|{evidence_id}".encode()).hexdigest()[:32]


def _frame(
    rows: pd.DataFrame,
    rule: pd.Series,
    evidence: pd.Series,
    evidence_id: pd.Series,
    created_at: pd.Timestamp,
) -> pd.DataFrame:
    ids = [
        alert_id(r, c, e) for r, c, e in zip(rule, rows["customer_key"], evidence_id, strict=True)
    ]
    return pd.DataFrame(
        {
            "alert_id": ids,
            "customer_key": rows["customer_key"].to_numpy(),
            "rule": rule.to_numpy(),
            "evidence": evidence.to_numpy(),
            "event_at": rows["occurred_at"].to_numpy(),
            "created_at": created_at,
            "delivered_at": pd.NaT,
            "attempts": 0,
            "last_error": None,
        }
    )


def message_alerts(
    texts: pd.DataFrame, risk: pd.DataFrame, since: pd.Timestamp, created_at: pd.Timestamp
) -> pd.DataFrame:
    """``texts``: customer_key, source_text_id, occurred_at, intent; ``risk``: customer_key,
    risk_band."""
    high = set(risk.loc[risk["risk_band"].eq("high"), "customer_key"])
    hits = texts[
        texts["intent"].isin(RISK_INTENTS)
        & texts["customer_key"].isin(high)
        & (texts["occurred_at"] >= since)
    ].reset_index(drop=True)
    evidence = (
        hits.apply(
            lambda r: json.dumps(
                {"text": r["source_text_id"], "intent": r["intent"], "risk_band": "high"}
            ),
            axis=1,
            result_type="reduce",
        )
        if len(hits)
        else pd.Series([], dtype=object)
    )
    return _frame(
        hits,
        hits["intent"] + "_from_high_risk",
        evidence,
        hits["source_text_id"].astype(str),
        created_at,
    )


def checkout_alerts(
    events: pd.DataFrame,
    revenue: pd.DataFrame,
    since: pd.Timestamp,
    data_end: pd.Timestamp,
    created_at: pd.Timestamp,
    config: AlertConfig,
) -> pd.DataFrame:
    """``events``: customer_key, event_key, occurred_at, canonical_event (checkouts and
    orders); ``revenue``: customer_key, revenue (lifetime)."""
    paying = revenue[revenue["revenue"].fillna(0) > 0]
    if paying.empty:
        return RISK_ALERTS.empty()
    threshold = float(np.quantile(paying["revenue"], 1 - config.high_value_share))
    valuable = set(paying.loc[paying["revenue"] >= threshold, "customer_key"])
    window = pd.Timedelta(minutes=config.checkout_minutes)
    checkouts = events[
        events["canonical_event"].isin(CHECKOUT_STEPS)
        & events["customer_key"].isin(valuable)
        & (events["occurred_at"] >= since)
        & (events["occurred_at"] + window <= data_end)
    ]
    orders = events[events["canonical_event"].eq(ORDER_STEP)][["customer_key", "occurred_at"]]
    pairs = checkouts.merge(orders, on="customer_key", how="left", suffixes=("", "_order"))
    ordered = (pairs["occurred_at_order"] > pairs["occurred_at"]) & (
        pairs["occurred_at_order"] <= pairs["occurred_at"] + window
    )
    converted = set(pairs.loc[ordered, "event_key"])
    dropped = checkouts[~checkouts["event_key"].isin(converted)]
    # One alert per customer and checkout session: the last checkout step before dropping off.
    dropped = dropped.sort_values("occurred_at").drop_duplicates("customer_key", keep="last")
    dropped = dropped.reset_index(drop=True)
    evidence = pd.Series(
        [
            json.dumps({"event": k, "step": s, "revenue_threshold": round(threshold, 2)})
            for k, s in zip(dropped["event_key"], dropped["canonical_event"], strict=True)
        ],
        dtype=object,
    )
    rule = pd.Series(["checkout_drop_off_high_value"] * len(dropped), dtype=object)
    return _frame(dropped, rule, evidence, dropped["event_key"].astype(str), created_at)


def new_alerts(outbox: pd.DataFrame, candidates: pd.DataFrame) -> pd.DataFrame:
    """The outbox with the candidates it does not hold yet (by alert id)."""
    fresh = candidates[~candidates["alert_id"].isin(outbox["alert_id"])]
    fresh = fresh.drop_duplicates("alert_id")
    return RISK_ALERTS.conform(pd.concat([outbox, fresh], ignore_index=True))


# --- delivery ---------------------------------------------------------------------------------


class DeliveryError(RuntimeError):
    pass


def post_json(url: str, body: dict, key: str, timeout: float) -> int:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Idempotency-Key": key},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    first_wait_s: float = 0.5
    timeout_s: float = 5.0


def payload(row: pd.Series) -> dict:
    return {
        "alert_id": row["alert_id"],
        "customer_key": row["customer_key"],
        "rule": row["rule"],
        "evidence": json.loads(row["evidence"]),
        "event_at": pd.Timestamp(row["event_at"]).isoformat(),
        "created_at": pd.Timestamp(row["created_at"]).isoformat(),
    }


def deliver(
    outbox: pd.DataFrame,
    url: str,
    now: Callable[[], pd.Timestamp],
    policy: RetryPolicy | None = None,
    post: Callable[[str, dict, str, float], int] = post_json,
    sleep: Callable[[float], None] = time.sleep,
) -> pd.DataFrame:
    """POST every undelivered alert (see the module docstring); the outbox with
    ``delivered_at``, ``attempts`` and ``last_error`` updated."""
    policy = policy or RetryPolicy()
    out = outbox.copy()
    for index in np.flatnonzero(out["delivered_at"].isna().to_numpy()):
        row = out.iloc[index]
        error, unreachable = None, False
        for attempt in range(policy.attempts):
            out.iat[index, out.columns.get_loc("attempts")] = int(row["attempts"]) + attempt + 1
            try:
                status = post(url, payload(row), row["alert_id"], policy.timeout_s)
            except (OSError, urllib.error.URLError) as failure:  # down, refused, timed out
                error, unreachable = f"{type(failure).__name__}: {failure}", True
            else:
                unreachable = False
                if 200 <= status < 300:
                    out.iat[index, out.columns.get_loc("delivered_at")] = now()
                    error = None
                    break
                error = f"HTTP {status}"
                if status < 500 and status != 429:  # the receiver refuses it: no retry
                    break
            if attempt + 1 < policy.attempts:
                sleep(policy.first_wait_s * 2**attempt)
        out.iat[index, out.columns.get_loc("last_error")] = error
        if unreachable:
            # The receiver is down: leave the rest for the next run instead of waiting on each.
            break
    return RISK_ALERTS.conform(out)
