"""What a customer's journey says about them, as of a cutoff: the data the segmentation's
mixture model reads (blocks of counts, rates and scores, ``ml.mixture``) and a readable
profile of the same facts (rates and shares, for the persona cards).

Who: known customers (CRM contacts) with at least one web or app session before the cutoff.
Only facts strictly before the cutoff count. Exposure is the time a customer could have
shown a behaviour: weeks from their first event to the cutoff (at least one).

The blocks, each one kind of behaviour with its textbook distribution (``ml.mixture``):

* ``browse_before_signup`` / ``browse_after_signup``: web and app events by canonical event
  before and after the customer signed up (CRM created_at), categorical. Split because a
  prospect's and a customer's pages differ for everyone; for a customer who signed up before
  the data began, "before" is unobserved (no counts), not a finding. Events that only say how
  a visit started or that someone logged in (``MECHANICAL_EVENTS``) are left out: the
  platform and channel blocks hold that.
* ``step_pairs``: consecutive canonical steps within a session (the bigrams of the session
  paths), over the most common pairs, categorical: the order of what they do, not only the
  mix.
* ``visit_channel``: sessions by acquisition channel, categorical.
* ``device_type`` / ``platform``: the customer's devices by type and by web/app, each device
  counted once however many sessions it saw (one phone is one piece of evidence).
* ``visits``: sessions over exposure weeks; ``pages_per_visit``: events over sessions;
  ``orders``: completed orders over exposure weeks; ``support_contacts`` and
  ``billing_complaints`` (a billing message with negative wording, ``ml.keyword_topics``)
  over exposure weeks: rates (Poisson).
* ``email_opens``: marketing emails opened of those delivered, a proportion (binomial).
* ``visits_before_signup`` (a rate with exposure 1) and ``days_to_signup`` (first event to
  sign-up, a duration), only for customers who signed up after their first event.
* ``plan``: the plan of each subscription the customer started, categorical.
* ``review_score`` / ``nps_score``: mean review stars and NPS answer, scores (unobserved for
  customers who never answered).
* with text labels (the text model's ``ml.text_labels``, optional): ``intents`` and
  ``sentiments`` of the customer's texts, categorical.

The category lists (``vocabulary``) come from the data, most common first (capped); pass a
fitted model's vocabulary to describe customers at another cutoff in the same terms.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from journeymap.ml.features import naive_utc
from journeymap.ml.keyword_topics import tag_messages
from journeymap.ml.mixture import Block, Categorical, Duration, Proportion, Rate, Score

WEEK = pd.Timedelta(days=7)
CLICKSTREAM_SOURCES = ("web_events", "app_events")
# How a visit started or who is logged in, not what the customer came for.
MECHANICAL_EVENTS = ("app_opened", "app_installed", "logged_in", "signed_up", "unmapped")
EMAIL_DELIVERED, EMAIL_OPENED = "email_delivered", "email_opened"
UNKNOWN = "unknown"
# Most categories a block keeps (the rest are left out of that block).
VOCABULARY_LIMITS = {
    "browse": 40,
    "step_pairs": 20,
    "visit_channel": 12,
    "device_type": 6,
    "platform": 4,
    "plan": 8,
    "intents": 20,
    "sentiments": 8,
}
Vocabulary = Mapping[str, tuple[str, ...]]


@dataclass(frozen=True)
class SegmentFrames:
    """What the segmentation reads, one frame per kind of fact (times naive UTC or aware).

    customers: customer_key, signed_up_at (CRM created_at) - the known customers.
    events: customer_key, occurred_at, canonical_event, source, session_key, is_conversion,
        revenue (fct_events of known customers; email deliveries and opens included).
    sessions: customer_key, session_key, anonymous_id, started_at, platform (web/app),
        device_type, acquisition_channel.
    messages: customer_key, occurred_at, subject, body (support messages they wrote).
    reviews: customer_key, occurred_at, text_type (review or nps), score.
    subscriptions: customer_key, subscription_id, plan, started_at.
    text_labels: customer_key, occurred_at, intent, sentiment, emotion - optional (None
        until the text model has run).
    """

    customers: pd.DataFrame
    events: pd.DataFrame
    sessions: pd.DataFrame
    messages: pd.DataFrame
    reviews: pd.DataFrame
    subscriptions: pd.DataFrame
    text_labels: pd.DataFrame | None = None


@dataclass(frozen=True)
class CustomerFeatures:
    """The customers described (sorted keys), the mixture model's blocks (rows in the same
    order), the readable profile (one row per customer), the categories used and a few
    label counts for the cards."""

    customers: pd.Index
    blocks: list[Block]
    profile: pd.DataFrame
    cutoff: pd.Timestamp
    vocabulary: dict[str, tuple[str, ...]]
    # Per-customer counts the persona cards summarise by segment (customers x labels):
    # web visits by channel, support messages by topic, texts by emotion (with text labels).
    counts: dict[str, pd.DataFrame]


def count_matrix(rows: np.ndarray, labels: pd.Series, n: int, categories: list[str]) -> np.ndarray:
    """customers x categories counts of (row, label) pairs; rows < 0 and labels outside the
    categories are skipped."""
    column = pd.Index(categories).get_indexer(pd.Series(labels).astype(object))
    keep = (np.asarray(rows) >= 0) & (column >= 0)
    flat = np.asarray(rows)[keep].astype(np.int64) * len(categories) + column[keep]
    counts = np.bincount(flat, minlength=n * len(categories)).astype(float)
    return counts.reshape(n, len(categories))


def per_customer(rows: np.ndarray, n: int, weights: np.ndarray | None = None) -> np.ndarray:
    """Rows (or their weights) summed per customer; rows < 0 are skipped."""
    rows = np.asarray(rows)
    keep = rows >= 0
    w = None if weights is None else np.asarray(weights, dtype=float)[keep]
    return np.bincount(rows[keep], weights=w, minlength=n).astype(float)


def _share(part: np.ndarray, whole: np.ndarray) -> np.ndarray:
    """part / whole, NaN where whole is 0."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(whole > 0, part / np.maximum(whole, 1e-300), np.nan)


def step_pairs(events: pd.DataFrame) -> pd.DataFrame:
    """Consecutive canonical steps within each session: customer_key, pair ('a > b')."""
    ordered = events.sort_values(["session_key", "occurred_at", "canonical_event"], kind="stable")
    keys = ordered["session_key"].to_numpy()
    same = keys[1:] == keys[:-1]
    codes, names = pd.factorize(ordered["canonical_event"].astype(str))
    pair_codes = codes[:-1][same].astype(np.int64) * len(names) + codes[1:][same]
    distinct, inverse = np.unique(pair_codes, return_inverse=True)
    labels = np.array(
        [f"{names[c // len(names)]} > {names[c % len(names)]}" for c in distinct], dtype=object
    )
    return pd.DataFrame(
        {
            "customer_key": ordered["customer_key"].to_numpy()[1:][same],
            "pair": labels[inverse] if len(distinct) else np.array([], dtype=object),
        }
    )


class _Builder:
    """Collects blocks and profile columns for one set of customers."""

    def __init__(self, customers: pd.Index, vocabulary: Vocabulary | None) -> None:
        self.customers = customers
        self.n = len(customers)
        self.given = dict(vocabulary or {})
        self.vocabulary: dict[str, tuple[str, ...]] = {}
        self.blocks: list[Block] = []
        self.profile: dict[str, np.ndarray] = {}
        self.counts: dict[str, pd.DataFrame] = {}

    def count(self, name: str, rows: np.ndarray, labels: pd.Series) -> None:
        """Keep per-customer counts of every label (for the cards, not the model)."""
        labels = pd.Series(labels).astype(str)
        kinds = sorted(set(labels))
        matrix = count_matrix(rows, labels, self.n, kinds)
        self.counts[name] = pd.DataFrame(matrix, index=self.customers, columns=kinds)

    def rows(self, keys: pd.Series) -> np.ndarray:
        return self.customers.get_indexer(pd.Series(keys).astype(str))

    def categories(self, name: str, labels: pd.Series) -> list[str]:
        if name in self.given:
            chosen = list(self.given[name])
        else:
            counts = pd.Series(labels).astype(str).value_counts()
            top = counts.iloc[: VOCABULARY_LIMITS[name]]
            chosen = sorted(top.index.tolist())
        self.vocabulary[name] = tuple(chosen)
        return chosen

    def categorical(
        self, name: str, rows: np.ndarray, labels: pd.Series, vocabulary: str | None = None
    ) -> np.ndarray:
        categories = self.categories(vocabulary or name, labels)
        counts = count_matrix(rows, labels, self.n, categories)
        self.blocks.append(Categorical(name, counts, tuple(categories)))
        return counts


def _before(frame: pd.DataFrame, column: str, cutoff: pd.Timestamp) -> pd.DataFrame:
    times = naive_utc(frame[column])
    return frame.assign(**{column: times})[(times < cutoff).to_numpy()]


def _known_customers(frames: SegmentFrames, sessions: pd.DataFrame) -> pd.Index:
    known = set(frames.customers["customer_key"].dropna().astype(str))
    seen = set(sessions["customer_key"].dropna().astype(str))
    return pd.Index(sorted(known & seen), name="customer_key", dtype=object)


def build_customer_features(
    frames: SegmentFrames, cutoff: pd.Timestamp, vocabulary: Vocabulary | None = None
) -> CustomerFeatures:
    """The blocks and the profile of every known customer with a session before ``cutoff``."""
    cutoff = pd.Timestamp(cutoff)
    sessions = _before(frames.sessions, "started_at", cutoff)
    customers = _known_customers(frames, sessions)
    b = _Builder(customers, vocabulary)
    sessions = sessions[sessions["customer_key"].astype(str).isin(customers)]
    events = _before(frames.events, "occurred_at", cutoff)
    events = events[events["customer_key"].astype(str).isin(customers)]

    known = frames.customers.assign(customer_key=frames.customers["customer_key"].astype(str))
    signup = naive_utc(known.set_index("customer_key")["signed_up_at"]).reindex(customers)
    times = pd.concat(
        [
            events[["customer_key", "occurred_at"]].set_axis(["customer_key", "t"], axis=1),
            sessions[["customer_key", "started_at"]].set_axis(["customer_key", "t"], axis=1),
        ]
    )
    first_seen = times.groupby(times["customer_key"].astype(str))["t"].min().reindex(customers)
    weeks = np.maximum(((cutoff - first_seen) / WEEK).to_numpy(dtype=float), 1.0)
    signed_up_in_data = ((signup > first_seen) & (signup < cutoff)).to_numpy()

    _clickstream(b, events, signup)
    visits = _sessions(b, sessions, events, weeks)
    _orders(b, events, weeks)
    _support(b, _before(frames.messages, "occurred_at", cutoff), weeks)
    _email(b, events)
    _consideration(b, sessions, signup, first_seen, signed_up_in_data)
    _plans(
        b, _before(frames.subscriptions.drop_duplicates("subscription_id"), "started_at", cutoff)
    )
    _reviews(b, _before(frames.reviews, "occurred_at", cutoff))
    if frames.text_labels is not None and len(frames.text_labels):
        _text_labels(b, _before(frames.text_labels, "occurred_at", cutoff))
    b.profile["visits"] = visits
    return CustomerFeatures(
        customers=customers,
        blocks=b.blocks,
        profile=pd.DataFrame(b.profile, index=customers),
        cutoff=cutoff,
        vocabulary=b.vocabulary,
        counts=b.counts,
    )


def _clickstream(b: _Builder, events: pd.DataFrame, signup: pd.Series) -> None:
    clicks = events[events["source"].isin(CLICKSTREAM_SOURCES)]
    clicks = clicks.sort_values(["session_key", "occurred_at", "canonical_event"], kind="stable")
    keys = clicks["session_key"].to_numpy()
    entry = np.r_[True, keys[1:] != keys[:-1]] if len(keys) else np.zeros(0, dtype=bool)
    clicks = clicks[~entry & ~clicks["canonical_event"].isin(MECHANICAL_EVENTS).to_numpy()]
    rows = b.rows(clicks["customer_key"])
    after = clicks["occurred_at"].to_numpy() >= signup.reindex(clicks["customer_key"]).to_numpy()
    names = clicks["canonical_event"]
    before = b.categorical("browse_before_signup", np.where(after, -1, rows), names, "browse")
    later = b.categorical("browse_after_signup", np.where(after, rows, -1), names, "browse")
    both = before + later
    total = both.sum(axis=1)
    for j, name in enumerate(b.vocabulary["browse"]):
        b.profile[f"event_share:{name}"] = _share(both[:, j], total)
    pairs = step_pairs(clicks[clicks["session_key"].notna()])
    b.categorical("step_pairs", b.rows(pairs["customer_key"]), pairs["pair"])


def _sessions(
    b: _Builder, sessions: pd.DataFrame, events: pd.DataFrame, weeks: np.ndarray
) -> np.ndarray:
    rows = b.rows(sessions["customer_key"])
    web = (sessions["platform"] != "app").to_numpy()
    channel = sessions["acquisition_channel"].fillna(UNKNOWN)
    channels = b.categorical("visit_channel", np.where(web, rows, -1), channel)
    for j, name in enumerate(b.vocabulary["visit_channel"]):
        b.profile[f"channel_share:{name}"] = _share(channels[:, j], channels.sum(axis=1))
    b.count("web_visit_channels", np.where(web, rows, -1), channel)
    visits = per_customer(rows, b.n)

    devices = sessions.drop_duplicates("anonymous_id")
    device_rows = b.rows(devices["customer_key"])
    b.categorical("device_type", device_rows, devices["device_type"].fillna(UNKNOWN))
    b.categorical("platform", device_rows, devices["platform"].fillna(UNKNOWN))
    for name in b.vocabulary["device_type"]:
        on = count_matrix(rows, sessions["device_type"].fillna(UNKNOWN), b.n, [name])[:, 0]
        b.profile[f"device_share:{name}"] = _share(on, visits)
    on_app = count_matrix(rows, sessions["platform"].fillna(UNKNOWN), b.n, ["app"])[:, 0]
    b.profile["app_share"] = _share(on_app, visits)

    clicks = events[events["source"].isin(CLICKSTREAM_SOURCES)]
    pages = per_customer(b.rows(clicks["customer_key"]), b.n)
    b.blocks.append(Rate("visits", visits, weeks))
    b.blocks.append(Rate("pages_per_visit", pages, np.maximum(visits, 1e-9)))
    b.profile["visits_per_week"] = visits / weeks
    b.profile["events_per_visit"] = _share(pages, visits)
    return visits


def _orders(b: _Builder, events: pd.DataFrame, weeks: np.ndarray) -> None:
    is_order = events["is_conversion"].fillna(False).astype(bool).to_numpy()
    rows = b.rows(events.loc[is_order, "customer_key"])
    orders = per_customer(rows, b.n)
    revenue = per_customer(rows, b.n, pd.to_numeric(events.loc[is_order, "revenue"]).fillna(0))
    b.blocks.append(Rate("orders", orders, weeks))
    b.profile["orders_per_30_days"] = orders / weeks * 30 / 7
    b.profile["revenue_per_order"] = _share(revenue, orders)


def _support(b: _Builder, messages: pd.DataFrame, weeks: np.ndarray) -> None:
    rows = b.rows(messages["customer_key"])
    tags = tag_messages(messages["body"], messages.get("subject"))
    complaint = ((tags["topic"] == "billing") & tags["is_negative"]).to_numpy()
    contacts = per_customer(rows, b.n)
    complaints = per_customer(rows[complaint], b.n)
    b.blocks.append(Rate("support_contacts", contacts, weeks))
    b.blocks.append(Rate("billing_complaints", complaints, weeks))
    b.profile["support_contacts_per_30_days"] = contacts / weeks * 30 / 7
    b.profile["billing_complaints_per_30_days"] = complaints / weeks * 30 / 7
    b.count("support_topics", rows, tags["topic"])


def _email(b: _Builder, events: pd.DataFrame) -> None:
    rows = b.rows(events["customer_key"])
    name = events["canonical_event"].to_numpy()
    delivered = per_customer(np.where(name == EMAIL_DELIVERED, rows, -1), b.n)
    opened = per_customer(np.where(name == EMAIL_OPENED, rows, -1), b.n)
    opened = np.minimum(opened, delivered)
    b.blocks.append(Proportion("email_opens", opened, delivered))
    b.profile["email_open_rate"] = _share(opened, delivered)


def _consideration(
    b: _Builder,
    sessions: pd.DataFrame,
    signup: pd.Series,
    first_seen: pd.Series,
    observed: np.ndarray,
) -> None:
    rows = b.rows(sessions["customer_key"])
    session_signup = signup.reindex(sessions["customer_key"].astype(str)).to_numpy()
    before = np.where(sessions["started_at"].to_numpy() < session_signup, rows, -1)
    visits_before = per_customer(before, b.n)
    days = ((signup - first_seen) / pd.Timedelta(days=1)).to_numpy(dtype=float)
    b.blocks.append(
        Rate("visits_before_signup", visits_before, np.ones(b.n), mask=observed.astype(float))
    )
    # + 0.01 day: a sign-up in the first visit is a very short wait, not no wait at all.
    b.blocks.append(Duration("days_to_signup", np.where(observed, days + 0.01, np.nan)))
    b.profile["visits_before_signup"] = np.where(observed, visits_before, np.nan)
    b.profile["days_to_signup"] = np.where(observed, days, np.nan)


def _plans(b: _Builder, subscriptions: pd.DataFrame) -> None:
    plans = b.categorical(
        "plan", b.rows(subscriptions["customer_key"]), subscriptions["plan"].fillna(UNKNOWN)
    )
    b.profile["subscriber_share"] = (plans.sum(axis=1) > 0).astype(float)


def _reviews(b: _Builder, reviews: pd.DataFrame) -> None:
    for kind, name in (("review", "review_score"), ("nps", "nps_score")):
        of_kind = reviews[reviews["text_type"] == kind]
        rows = b.rows(of_kind["customer_key"])
        scores = pd.to_numeric(of_kind["score"], errors="coerce").to_numpy(dtype=float)
        valid = np.isfinite(scores)
        mean = _share(per_customer(rows[valid], b.n, scores[valid]), per_customer(rows[valid], b.n))
        b.blocks.append(Score(name, mean))
        b.profile[name] = mean


def _text_labels(b: _Builder, labels: pd.DataFrame) -> None:
    rows = b.rows(labels["customer_key"])
    for column, block in (("intent", "intents"), ("sentiment", "sentiments")):
        if column not in labels:
            continue
        values = labels[column].fillna(UNKNOWN)
        counts = b.categorical(block, rows, values)
        total = counts.sum(axis=1)
        for j, kind in enumerate(b.vocabulary[block]):
            b.profile[f"{column}_share:{kind}"] = _share(counts[:, j], total)
    for column, name in (("intent", "intents"), ("emotion", "emotions")):
        if column in labels:
            b.count(name, rows, labels[column].fillna(UNKNOWN))
