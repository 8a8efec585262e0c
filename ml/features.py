"""Churn features per customer at a cutoff time, from plain frames (no warehouse here).

Only data strictly before the cutoff counts: an event at exactly the cutoff is in the future.
``build_features`` returns one row per requested customer (in the requested order) with the
columns of ``FEATURE_COLUMNS``; every numeric feature is a float, ``plan`` is a string.

Missing values mean "never": ``days_since_*`` is NaN when the customer has no such event
before the cutoff (the gradient boosting model handles missing values natively).

The frames (see ``ChurnFrames``) come from ``ml.churn_io`` or, in tests, are made by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

import numpy as np
import pandas as pd

from journeymap.ml.keyword_topics import TOPICS, tag_messages

DAY = np.timedelta64(1, "D")

# The journey_stages seed: stage -> order (1 = awareness ... 5 = advocacy).
STAGE_ORDER: dict[str, int] = {
    "awareness": 1,
    "consideration": 2,
    "purchase": 3,
    "retention": 4,
    "advocacy": 5,
}
# Things that happen *to* a customer, not by them: not activity. Deliveries are read (they
# are the denominator of the open rate); sends and bounces are not even read.
PASSIVE_EVENTS: tuple[str, ...] = ("email_sent", "email_delivered", "email_bounced")
UNREAD_EVENTS: tuple[str, ...] = ("email_sent", "email_bounced")
ORDER_EVENT = "order_placed"

FEATURE_DESCRIPTIONS: dict[str, str] = {
    # recency
    "days_since_last_event": "Days since the customer's last own event (any source).",
    "days_since_last_session": "Days since the start of the last web/app session.",
    "days_since_last_order": "Days since the last completed order.",
    # frequency
    "events_7d": "Own events in the last 7 days.",
    "events_30d": "Own events in the last 30 days.",
    "events_total": "Own events so far.",
    "sessions_7d": "Web/app sessions started in the last 7 days.",
    "sessions_30d": "Web/app sessions started in the last 30 days.",
    "sessions_total": "Web/app sessions so far.",
    "sessions_per_week": "Sessions a week since first seen (at least one week).",
    "session_rate_change": (
        "Sessions a day in the last 14 days minus sessions a day in the 30 days before."
    ),
    "feature_uses_30d": "Product features used (feature_used events) in the last 30 days.",
    "feature_uses_per_week": "Product features used a week since first seen (at least a week).",
    "help_views_30d": "Help center page views in the last 30 days.",
    "account_settings_views_30d": "Account settings page views in the last 30 days.",
    "orders_7d": "Completed orders in the last 7 days.",
    "orders_30d": "Completed orders in the last 30 days.",
    "orders_total": "Completed orders so far.",
    # monetary
    "revenue_30d": "Revenue of completed orders in the last 30 days.",
    "revenue_total": "Revenue of completed orders so far.",
    # journey
    "max_stage_order": "Furthest journey stage reached (1 awareness ... 5 advocacy).",
    # support
    "support_messages_30d": "Customer support messages in the last 30 days.",
    "support_messages_total": "Customer support messages so far.",
    "support_tickets_total": "Support tickets the customer wrote in so far.",
    **{f"topic_{t}": f"Support messages about {t.replace('_', '-')} so far." for t in TOPICS},
    "billing_complaints_30d": "Billing messages with negative wording in the last 30 days.",
    "billing_complaints_total": "Billing messages with negative wording so far.",
    "days_since_last_billing_complaint": "Days since the last billing complaint.",
    "negative_messages_30d": "Support messages with negative wording in the last 30 days.",
    "negative_messages_total": "Support messages with negative wording so far.",
    # email
    "email_opens_30d": "Marketing emails opened in the last 30 days.",
    "email_clicks_30d": "Marketing emails clicked in the last 30 days.",
    "email_opens_total": "Marketing emails opened so far.",
    "email_clicks_total": "Marketing emails clicked so far.",
    "email_open_rate": "Opens / marketing emails delivered so far.",
    "email_unsubscribed": "1 when the customer unsubscribed from marketing email.",
    # tenure and plan
    "tenure_days": "Days since the customer was first seen (first event or subscription).",
    "subscription_days": "Days since the start of the customer's active subscription.",
    "plan": "Plan of the active subscription (categorical).",
}
FEATURE_COLUMNS: tuple[str, ...] = tuple(FEATURE_DESCRIPTIONS)
CATEGORICAL_FEATURES: tuple[str, ...] = ("plan",)
NUMERIC_FEATURES: tuple[str, ...] = tuple(
    c for c in FEATURE_COLUMNS if c not in CATEGORICAL_FEATURES
)


@dataclass(frozen=True)
class ChurnFrames:
    """Everything the churn model reads, one frame per kind of fact (times naive UTC).

    subscriptions: subscription_id, customer_id, plan, started_at, cancelled_at, updated_at
        (one row per subscription version, as staged).
    events: customer_key, occurred_at, canonical_event, journey_stage, is_conversion, revenue
        (fct_events rows of subscribers).
    sessions: customer_key, session_key, started_at (fct_sessions rows of subscribers).
    messages: customer_key, occurred_at, ticket_id, message_id, subject, body (customer-written
        support messages); ``topic`` and ``is_negative`` are added by ``prepare_frames``.

    ``prepare_frames`` also encodes, once for all cutoffs, every customer key as a position in
    ``customers`` and every fact the features count as a numeric column (prefixed ``_``).
    """

    subscriptions: pd.DataFrame
    events: pd.DataFrame
    sessions: pd.DataFrame
    messages: pd.DataFrame
    prepared: bool = False
    customers: pd.Index | None = None


def naive_utc(values: pd.Series) -> pd.Series:
    """Timestamps as naive UTC datetime64[ns] (warehouses hand back aware or naive times)."""
    series = values
    if not pd.api.types.is_datetime64_any_dtype(series):  # strings, datetime objects, all-None
        series = pd.to_datetime(series, utc=True)
    if series.dt.tz is not None:
        series = series.dt.tz_convert("UTC").dt.tz_localize(None)
    return series.astype("datetime64[ns]")


def as_cutoff(value: datetime | pd.Timestamp | str) -> pd.Timestamp:
    """A cutoff as a naive UTC timestamp."""
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return stamp.as_unit("ns")


def prepare_frames(frames: ChurnFrames) -> ChurnFrames:
    """Normalise types once (timestamps naive UTC ns), tag message topics and wording, and
    encode keys and facts as numbers (string columns are slow to compare per cutoff)."""
    if frames.prepared:
        return frames
    subscriptions = frames.subscriptions.copy()
    for column in ("started_at", "cancelled_at", "updated_at"):
        subscriptions[column] = naive_utc(subscriptions[column])
    subscriptions["customer_id"] = subscriptions["customer_id"].astype(object)
    subscriptions["plan"] = subscriptions["plan"].astype(object)

    events = frames.events.copy()
    events = events[~events["canonical_event"].isin(UNREAD_EVENTS)].reset_index(drop=True)
    events["occurred_at"] = naive_utc(events["occurred_at"])
    events["customer_key"] = events["customer_key"].astype(object)
    events["revenue"] = pd.to_numeric(events["revenue"], errors="coerce").astype(float)
    events["is_conversion"] = events["is_conversion"].fillna(False).astype(bool)
    canonical = events["canonical_event"].astype(object)
    events["_own"] = ~canonical.isin(PASSIVE_EVENTS).to_numpy()
    events["_delivered"] = (canonical == "email_delivered").to_numpy()
    events["_order"] = events["is_conversion"].to_numpy() | (canonical == ORDER_EVENT).to_numpy()
    for flag, event in (
        ("_opened", "email_opened"),
        ("_clicked", "email_clicked"),
        ("_unsubscribed", "email_unsubscribed"),
        ("_feature_used", "feature_used"),
        ("_help_viewed", "help_viewed"),
        ("_settings_viewed", "account_settings_viewed"),
    ):
        events[flag] = (canonical == event).to_numpy()
    stage = events["journey_stage"].astype(object).map(STAGE_ORDER)
    events["_stage"] = stage.fillna(0).to_numpy(dtype=float)

    sessions = frames.sessions.copy()
    sessions["started_at"] = naive_utc(sessions["started_at"])
    sessions["customer_key"] = sessions["customer_key"].astype(object)

    messages = frames.messages.copy()
    messages["occurred_at"] = naive_utc(messages["occurred_at"])
    messages["customer_key"] = messages["customer_key"].astype(object)
    tags = tag_messages(messages["body"], messages.get("subject"))
    messages["topic"] = tags["topic"].to_numpy()
    messages["is_negative"] = tags["is_negative"].to_numpy(dtype=bool)
    messages["_ticket"] = pd.factorize(messages["ticket_id"].astype(object))[0]

    keys = pd.concat(
        [
            subscriptions["customer_id"],
            events["customer_key"],
            sessions["customer_key"],
            messages["customer_key"],
        ],
        ignore_index=True,
    )
    customers = pd.Index(pd.unique(keys.dropna()), dtype=object)
    for frame, column in (
        (events, "customer_key"),
        (sessions, "customer_key"),
        (messages, "customer_key"),
    ):
        frame["_customer"] = customers.get_indexer(frame[column])
    return replace(
        frames,
        subscriptions=subscriptions,
        events=events,
        sessions=sessions,
        messages=messages,
        prepared=True,
        customers=customers,
    )


class _Slice:
    """The rows of one frame before the cutoff, with each row's customer position and age."""

    def __init__(
        self,
        frame: pd.DataFrame,
        time_column: str,
        positions: np.ndarray,
        n: int,
        cutoff: pd.Timestamp,
        where: np.ndarray | None = None,
    ) -> None:
        codes = frame["_customer"].to_numpy()
        codes = np.where(codes >= 0, positions[np.maximum(codes, 0)], -1)
        stamps = frame[time_column].to_numpy(dtype="datetime64[ns]")
        keep = (codes >= 0) & (stamps < cutoff.to_datetime64())  # NaT compares False
        if where is not None:
            keep &= where
        self.frame = frame
        self.keep = keep
        self.codes = codes[keep]
        self.age = (cutoff.to_datetime64() - stamps[keep]) / DAY
        self.n = n

    def take(self, column: str) -> np.ndarray:
        return self.frame[column].to_numpy()[self.keep]

    def count(self, where: np.ndarray | None = None, days: float | None = None) -> np.ndarray:
        mask = np.ones(len(self.codes), dtype=bool) if where is None else where.copy()
        if days is not None:
            mask &= self.age <= days
        return np.bincount(self.codes[mask], minlength=self.n).astype(float)

    def total(self, values: np.ndarray, where: np.ndarray, days: float | None = None) -> np.ndarray:
        mask = where & (self.age <= days) if days is not None else where
        return np.bincount(self.codes[mask], weights=values[mask], minlength=self.n)

    def min_age(self, where: np.ndarray | None = None) -> np.ndarray:
        """Days since the latest row (NaN when none)."""
        out = np.full(self.n, np.inf)
        if where is None:
            np.minimum.at(out, self.codes, self.age)
        else:
            np.minimum.at(out, self.codes[where], self.age[where])
        out[np.isinf(out)] = np.nan
        return out

    def max_age(self) -> np.ndarray:
        out = np.full(self.n, -np.inf)
        np.maximum.at(out, self.codes, self.age)
        out[np.isinf(out)] = np.nan
        return out

    def max_of(self, values: np.ndarray) -> np.ndarray:
        out = np.zeros(self.n)
        np.maximum.at(out, self.codes, values)
        return out


def active_subscriptions(subscriptions: pd.DataFrame, cutoff: pd.Timestamp) -> pd.DataFrame:
    """One row per subscription active at ``cutoff``: started before it, not cancelled before.

    Subscriptions arrive as versions: a subscription's start is its earliest ``started_at``,
    its cancellation its earliest ``cancelled_at``, and its plan the one of the latest version
    updated before the cutoff (the first version when none was).
    """
    cutoff = as_cutoff(cutoff)
    subs = subscriptions
    spans = subs.groupby("subscription_id", sort=True).agg(
        customer_id=("customer_id", "first"),
        started_at=("started_at", "min"),
        cancelled_at=("cancelled_at", "min"),
    )
    active = spans[
        (spans["started_at"] < cutoff)
        & (spans["cancelled_at"].isna() | (spans["cancelled_at"] >= cutoff))
    ].copy()
    known = subs[subs["updated_at"] < cutoff].sort_values(["subscription_id", "updated_at"])
    plan_now = known.groupby("subscription_id")["plan"].last()
    plan_first = (
        subs.sort_values(["subscription_id", "updated_at"])
        .groupby("subscription_id")["plan"]
        .first()
    )
    active["plan"] = plan_now.reindex(active.index).fillna(plan_first.reindex(active.index))
    return active.reset_index()


def active_subscribers(subscriptions: pd.DataFrame, cutoff: pd.Timestamp) -> pd.Index:
    """Customers with at least one subscription active at ``cutoff`` (sorted)."""
    active = active_subscriptions(subscriptions, cutoff)
    return pd.Index(sorted(active["customer_id"].dropna().unique()), name="customer_key")


def build_features(
    frames: ChurnFrames, customers: pd.Index | list[str], cutoff: datetime | pd.Timestamp
) -> pd.DataFrame:
    """The ``FEATURE_COLUMNS`` of each customer from data strictly before ``cutoff``.

    One row per customer, indexed by customer_key, in the order given.
    """
    frames = prepare_frames(frames)
    assert frames.customers is not None
    cutoff = as_cutoff(cutoff)
    customers = pd.Index(list(customers), name="customer_key", dtype=object)
    n = len(customers)
    # positions[code] = the row of the customer with that code in the output, else -1
    positions = np.full(len(frames.customers) + 1, -1, dtype=np.int64)
    codes = frames.customers.get_indexer(customers)
    positions[codes[codes >= 0]] = np.flatnonzero(codes >= 0)
    out: dict[str, np.ndarray] = {}

    events = frames.events
    all_ev = _Slice(events, "occurred_at", positions, n, cutoff)
    ev = _Slice(events, "occurred_at", positions, n, cutoff, where=events["_own"].to_numpy())
    is_order = ev.take("_order")
    revenue = np.nan_to_num(ev.take("revenue").astype(float))

    out["days_since_last_event"] = ev.min_age()
    out["days_since_last_order"] = ev.min_age(is_order)
    out["events_7d"] = ev.count(days=7)
    out["events_30d"] = ev.count(days=30)
    out["events_total"] = ev.count()

    se = _Slice(frames.sessions, "started_at", positions, n, cutoff)
    out["days_since_last_session"] = se.min_age()
    out["sessions_7d"] = se.count(days=7)
    out["sessions_30d"] = se.count(days=30)
    out["sessions_total"] = se.count()
    before = se.count(days=44) - se.count(days=14)
    out["session_rate_change"] = se.count(days=14) / 14 - before / 30
    feature_used = ev.take("_feature_used")
    out["feature_uses_30d"] = ev.count(feature_used, days=30)
    out["help_views_30d"] = ev.count(ev.take("_help_viewed"), days=30)
    out["account_settings_views_30d"] = ev.count(ev.take("_settings_viewed"), days=30)

    out["orders_7d"] = ev.count(is_order, days=7)
    out["orders_30d"] = ev.count(is_order, days=30)
    out["orders_total"] = ev.count(is_order)
    out["revenue_30d"] = ev.total(revenue, is_order, days=30)
    out["revenue_total"] = ev.total(revenue, is_order)
    out["max_stage_order"] = ev.max_of(ev.take("_stage"))

    ms = _Slice(frames.messages, "occurred_at", positions, n, cutoff)
    topic = ms.take("topic")
    negative = ms.take("is_negative").astype(bool)
    complaint = (topic == "billing") & negative
    out["support_messages_30d"] = ms.count(days=30)
    out["support_messages_total"] = ms.count()
    tickets = np.unique(np.column_stack([ms.codes, ms.take("_ticket")]), axis=0)
    out["support_tickets_total"] = np.bincount(tickets[:, 0].astype(np.int64), minlength=n).astype(
        float
    )
    for name in TOPICS:
        out[f"topic_{name}"] = ms.count(topic == name)
    out["billing_complaints_30d"] = ms.count(complaint, days=30)
    out["billing_complaints_total"] = ms.count(complaint)
    out["days_since_last_billing_complaint"] = ms.min_age(complaint)
    out["negative_messages_30d"] = ms.count(negative, days=30)
    out["negative_messages_total"] = ms.count(negative)

    opened, clicked = ev.take("_opened"), ev.take("_clicked")
    out["email_opens_30d"] = ev.count(opened, days=30)
    out["email_clicks_30d"] = ev.count(clicked, days=30)
    out["email_opens_total"] = ev.count(opened)
    out["email_clicks_total"] = ev.count(clicked)
    received = all_ev.count(all_ev.take("_delivered"))
    out["email_open_rate"] = np.where(
        received > 0, out["email_opens_total"] / np.maximum(received, 1), np.nan
    )
    out["email_unsubscribed"] = (ev.count(ev.take("_unsubscribed")) > 0).astype(float)

    active = active_subscriptions(frames.subscriptions, cutoff)
    active = active.sort_values(["customer_id", "started_at", "subscription_id"])
    first_active = active.groupby("customer_id").first()
    sub_start = first_active["started_at"].reindex(customers)
    subscription_days = ((cutoff - sub_start) / pd.Timedelta(days=1)).to_numpy(dtype=float)
    out["subscription_days"] = subscription_days
    seen_days = np.fmax(ev.max_age(), se.max_age())
    out["tenure_days"] = np.fmax(seen_days, subscription_days)
    weeks = np.maximum(np.nan_to_num(out["tenure_days"]), 7.0) / 7
    out["sessions_per_week"] = out["sessions_total"] / weeks
    out["feature_uses_per_week"] = ev.count(feature_used) / weeks

    features = pd.DataFrame(out, index=customers)
    features["plan"] = first_active["plan"].reindex(customers).astype(object).to_numpy()
    return features[list(FEATURE_COLUMNS)]
