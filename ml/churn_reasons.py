"""Why a customer's churn score is high: per-group substitution, in plain words.

Method (deterministic, model-agnostic):

1. A *reference customer* is built from the population the model was fitted on: the
   median of every numeric feature (a missing ``days_since_*`` means "never", so it sorts as
   infinitely long ago; when that is the median the reference is missing too) and the most
   frequent plan.
2. Features are grouped into reasons that mean one thing to a reader (``REASON_GROUPS``).
   Correlated features move together: everything the customer told support (billing
   complaints, negative wording, topics, volume) is one reason, activity is another, so a
   substitution never builds an impossible customer (three billing complaints but no
   negative message) and an effect is not split between near-duplicate features.
3. A reason's contribution to a customer's score is the drop in predicted risk when that
   group's features are replaced by the reference values, all other features kept:
   ``contribution = p(x) - p(x with group := reference)``. A customer whose values equal the
   reference gets exactly 0 for that reason.
4. The three reasons with the largest contributions, ties broken by ``REASON_GROUPS`` order,
   are rendered from the customer's own values ("3 billing complaints in the last 30 days";
   the support reason names its most telling fact: billing complaints, then cancellation
   requests, then negative wording with its main topic, then plain volume).
   A slot whose contribution is below ``MIN_CONTRIBUTION`` (the reason does not raise the
   risk) reads ``NO_REASON`` instead, so every customer has three non-null reasons.

Cost: one model prediction per group over all customers (no per-customer loop).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from journeymap.ml.features import CATEGORICAL_FEATURES, FEATURE_COLUMNS, STAGE_ORDER
from journeymap.ml.keyword_topics import TOPICS

SUPPORT_FEATURES: tuple[str, ...] = (
    "billing_complaints_30d",
    "billing_complaints_total",
    "days_since_last_billing_complaint",
    "negative_messages_30d",
    "negative_messages_total",
    "support_messages_30d",
    "support_messages_total",
    "support_tickets_total",
    *(f"topic_{topic}" for topic in TOPICS),
)
REASON_GROUPS: dict[str, tuple[str, ...]] = {
    # Everything the customer told support is one reason: a billing complaint is also a
    # negative message, a support message and a billing-topic message, and the model may
    # use any of these correlated counts. Substituting them one at a time would split (and
    # hide) the effect; the text names the most telling fact (billing complaints first).
    "support": SUPPORT_FEATURES,
    "inactivity": (
        "days_since_last_event",
        "days_since_last_session",
        "events_7d",
        "events_30d",
        "events_total",
        "sessions_7d",
        "sessions_30d",
        "sessions_total",
        "sessions_per_week",
        "session_rate_change",
    ),
    "product_usage": ("feature_uses_30d", "feature_uses_per_week"),
    "help_center": ("help_views_30d", "account_settings_views_30d"),
    "orders": (
        "days_since_last_order",
        "orders_7d",
        "orders_30d",
        "orders_total",
        "revenue_30d",
        "revenue_total",
    ),
    "journey_stage": ("max_stage_order",),
    "email_engagement": (
        "email_opens_30d",
        "email_clicks_30d",
        "email_opens_total",
        "email_clicks_total",
        "email_open_rate",
        "email_unsubscribed",
    ),
    "tenure": ("tenure_days", "subscription_days"),
    "plan": ("plan",),
}
MIN_CONTRIBUTION = 0.001  # below this (0.1 percentage points) a reason does not raise the risk
NO_REASON = "no further risk factor"
REASON_COLUMNS: tuple[str, ...] = ("reason_1", "reason_2", "reason_3")

_grouped = [c for columns in REASON_GROUPS.values() for c in columns]
assert sorted(_grouped) == sorted(FEATURE_COLUMNS), "every feature belongs to exactly one reason"

Predict = Callable[[pd.DataFrame], np.ndarray]


def reference_values(features: pd.DataFrame) -> pd.Series:
    """The reference customer: medians (missing = never = longest ago) and the modal plan."""
    values: dict[str, Any] = {}
    for column in features.columns:
        series = features[column]
        if column in CATEGORICAL_FEATURES:
            counts = series.dropna().astype(str).value_counts()
            values[column] = (
                sorted(counts[counts == counts.max()].index)[0] if len(counts) else None
            )
            continue
        numbers = series.to_numpy(dtype=float)
        if len(numbers) == 0:
            values[column] = np.nan
            continue
        median = float(np.median(np.where(np.isnan(numbers), np.inf, numbers)))
        values[column] = median if np.isfinite(median) else np.nan
    return pd.Series(values, dtype=object)


def reason_contributions(
    features: pd.DataFrame,
    predict: Predict,
    reference: pd.Series,
    groups: Mapping[str, tuple[str, ...]] = REASON_GROUPS,
) -> pd.DataFrame:
    """Per customer and reason: predicted risk minus risk with the reason set to reference."""
    base = np.asarray(predict(features), dtype=float)
    work = features.copy()
    out: dict[str, np.ndarray] = {}
    for group, columns in groups.items():
        saved = {c: work[c] for c in columns}
        for column in columns:
            work[column] = pd.Series(
                [reference[column]] * len(work), index=work.index, dtype=features[column].dtype
            )
        out[group] = base - np.asarray(predict(work), dtype=float)
        for column, values in saved.items():
            work[column] = values
    return pd.DataFrame(out, index=features.index)


def _n(value: float) -> int:
    return 0 if value is None or np.isnan(value) else int(round(value))


def _days(value: float) -> int:
    return int(np.floor(value))


def _plural(count: int, singular: str, plural: str | None = None) -> str:
    return f"{count} {singular if count == 1 else (plural or singular + 's')}"


_STAGE_NAMES = {order: name for name, order in STAGE_ORDER.items()}
_TOPIC_PHRASES = {
    "billing": "billing",
    "cancellation": "cancelling",
    "delivery": "delivery",
    "technical": "technical problems",
    "account": "their account",
    "how_to": "how to do things",
    "praise": "praise",
}


def _main_topic(row: Mapping[str, Any], exclude: tuple[str, ...] = ()) -> str | None:
    counts = [(_n(row[f"topic_{t}"]), -i, t) for i, t in enumerate(TOPICS) if t not in exclude]
    count, _, topic = max(counts)
    return topic if count else None


def _support_reason(row: Mapping[str, Any]) -> str:
    """The most telling fact of what the customer told support: billing complaints first,
    then cancellation requests, negative wording, and finally plain volume."""
    recent, total = _n(row["billing_complaints_30d"]), _n(row["billing_complaints_total"])
    if recent:
        return _plural(recent, "billing complaint") + " in the last 30 days"
    if total:
        last = _days(row["days_since_last_billing_complaint"])
        return _plural(total, "billing complaint") + f" so far, the last {last} days ago"
    cancelling = _n(row["topic_cancellation"])
    if cancelling:
        return _plural(cancelling, "support message") + " about cancelling"
    negative_recent, negative = _n(row["negative_messages_30d"]), _n(row["negative_messages_total"])
    topic = _main_topic(row, exclude=("praise", "how_to"))
    about = f", mostly about {_TOPIC_PHRASES[topic]}" if topic else ""
    if negative_recent:
        return (
            _plural(negative_recent, "support message")
            + f" with negative wording in the last 30 days{about}"
        )
    if negative:
        return _plural(negative, "support message") + f" with negative wording so far{about}"
    messages = _n(row["support_messages_total"])
    if not messages:
        return "no contact with support yet"
    topic = _main_topic(row)
    about = f", mostly about {_TOPIC_PHRASES[topic]}" if topic else ""
    return _plural(messages, "support message") + f" so far{about}"


def describe_reason(group: str, row: Mapping[str, Any]) -> str:
    """A reason in plain words, from one customer's feature values."""
    if group == "support":
        return _support_reason(row)
    if group == "inactivity":
        last = row["days_since_last_session"]
        recent = _n(row["sessions_30d"])
        if last is None or np.isnan(last):
            return "no web or app session yet"
        if recent == 0:
            return f"no web or app session in the last 30 days (the last {_days(last)} days ago)"
        return _plural(recent, "session") + f" in the last 30 days, the last {_days(last)} days ago"
    if group == "orders":
        total, recent = _n(row["orders_total"]), _n(row["orders_30d"])
        if total == 0:
            return "no completed order yet"
        if recent == 0:
            last = _days(row["days_since_last_order"])
            return f"no order in the last 30 days (the last {last} days ago)"
        return _plural(recent, "order") + f" worth {row['revenue_30d']:.0f} in the last 30 days"
    if group == "product_usage":
        uses = _n(row["feature_uses_30d"])
        return f"used product features {_plural(uses, 'time')} in the last 30 days"
    if group == "help_center":
        help_views, settings = _n(row["help_views_30d"]), _n(row["account_settings_views_30d"])
        return (
            f"{_plural(help_views, 'help center visit')} and "
            f"{_plural(settings, 'account settings visit')} in the last 30 days"
        )
    if group == "journey_stage":
        stage = _STAGE_NAMES.get(_n(row["max_stage_order"]), "none")
        return f"furthest journey stage reached: {stage}"
    if group == "email_engagement":
        if _n(row["email_unsubscribed"]):
            return "unsubscribed from marketing email"
        opens, clicks = _n(row["email_opens_30d"]), _n(row["email_clicks_30d"])
        if opens == 0:
            return "opened no marketing email in the last 30 days"
        return f"opened {opens} and clicked {clicks} marketing emails in the last 30 days"
    if group == "tenure":
        days = row["subscription_days"]
        if days is None or np.isnan(days):
            return f"customer for {_days(row['tenure_days'])} days"
        return f"subscribed {_days(days)} days ago"
    if group == "plan":
        plan = row["plan"]
        return f"on the {plan} plan" if isinstance(plan, str) and plan else "no known plan"
    raise KeyError(f"unknown reason group {group!r}")


def top_reasons(
    features: pd.DataFrame,
    contributions: pd.DataFrame,
    n: int = len(REASON_COLUMNS),
    min_contribution: float = MIN_CONTRIBUTION,
) -> pd.DataFrame:
    """The ``n`` largest contributions per customer in plain words (``reason_1`` first)."""
    groups = list(contributions.columns)
    values = contributions.to_numpy(dtype=float)
    order = np.argsort(-values, axis=1, kind="stable")[:, :n]
    records = features.to_dict(orient="records")
    rows: list[list[str]] = []
    for i, record in enumerate(records):
        reasons = []
        for j in order[i]:
            if values[i, j] >= min_contribution:
                reasons.append(describe_reason(groups[j], record))
            else:
                reasons.append(NO_REASON)
        reasons += [NO_REASON] * (n - len(reasons))
        rows.append(reasons)
    columns = [f"reason_{k + 1}" for k in range(n)]
    return pd.DataFrame(rows, index=features.index, columns=columns, dtype=object)


def top_reason_groups(contributions: pd.DataFrame, n: int = 3) -> pd.DataFrame:
    """The names of the ``n`` largest contributing groups per customer (for analysis/tests);
    None where the contribution is below ``MIN_CONTRIBUTION``."""
    groups = np.array(contributions.columns, dtype=object)
    values = contributions.to_numpy(dtype=float)
    order = np.argsort(-values, axis=1, kind="stable")[:, :n]
    names = groups[order]
    names[np.take_along_axis(values, order, axis=1) < MIN_CONTRIBUTION] = None
    return pd.DataFrame(
        names, index=contributions.index, columns=[f"reason_group_{k + 1}" for k in range(n)]
    )
