"""Churn features and the keyword tagger on small hand-made frames."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from journeymap.ml.features import (
    FEATURE_COLUMNS,
    ChurnFrames,
    active_subscribers,
    active_subscriptions,
    build_features,
)
from journeymap.ml.keyword_topics import tag_messages

CUTOFF = pd.Timestamp("2026-03-31 00:00:00")


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text)


def frames(
    subscriptions: list[tuple] | None = None,
    events: list[tuple] | None = None,
    sessions: list[tuple] | None = None,
    messages: list[tuple] | None = None,
) -> ChurnFrames:
    return ChurnFrames(
        subscriptions=pd.DataFrame(
            subscriptions or [],
            columns=[
                "subscription_id",
                "customer_id",
                "plan",
                "started_at",
                "cancelled_at",
                "updated_at",
            ],
        ),
        events=pd.DataFrame(
            events or [],
            columns=[
                "customer_key",
                "occurred_at",
                "canonical_event",
                "journey_stage",
                "is_conversion",
                "revenue",
            ],
        ),
        sessions=pd.DataFrame(
            sessions or [], columns=["customer_key", "session_key", "started_at"]
        ),
        messages=pd.DataFrame(
            messages or [],
            columns=["customer_key", "occurred_at", "ticket_id", "message_id", "subject", "body"],
        ),
    )


BILLING_COMPLAINT = "I was charged $49.00 twice for order O-1. Refund the duplicate charge now."
BILLING_QUESTION = "Could you send me a copy of the invoice for order O-1?"
DELIVERY_COMPLAINT = "My order O-2 is a week late and tracking has not moved."


def test_only_data_strictly_before_the_cutoff_counts():
    data = frames(
        subscriptions=[("s1", "c1", "pro", ts("2026-01-01 10:00"), None, ts("2026-01-01 10:00"))],
        events=[
            ("c1", ts("2026-03-01 12:00"), "logged_in", "retention", False, None),
            ("c1", ts("2026-03-25 12:00"), "feature_used", "retention", False, None),
            ("c1", CUTOFF, "referral_sent", "advocacy", False, None),  # at the cutoff: future
            ("c1", ts("2026-04-02 08:00"), "order_placed", "purchase", True, 500.0),  # later
        ],
        sessions=[
            ("c1", "k1", ts("2026-03-25 11:59")),
            ("c1", "k2", ts("2026-04-01 09:00")),
        ],
        messages=[
            ("c1", ts("2026-03-20 09:00"), "t1", "m1", "", BILLING_COMPLAINT),
            ("c1", ts("2026-04-01 09:00"), "t2", "m2", "", BILLING_COMPLAINT),
        ],
    )
    row = build_features(data, ["c1"], CUTOFF).loc["c1"]
    assert row["events_total"] == 2
    assert row["days_since_last_event"] == pytest.approx(5.5)
    assert row["max_stage_order"] == 4  # advocacy happens at the cutoff: not yet
    assert row["orders_total"] == 0 and row["revenue_total"] == 0
    assert math.isnan(row["days_since_last_order"])
    assert row["sessions_total"] == 1
    assert row["days_since_last_session"] == pytest.approx(5 + 12 / 24 + 1 / 1440)
    assert row["billing_complaints_total"] == 1
    assert row["support_messages_total"] == 1


def test_recent_windows_and_counts():
    data = frames(
        subscriptions=[("s1", "c1", "basic", ts("2026-01-10 00:00"), None, ts("2026-01-10 00:00"))],
        events=[
            ("c1", ts("2026-01-05 00:00"), "home_viewed", "awareness", False, None),
            ("c1", ts("2026-02-15 00:00"), "order_placed", "purchase", True, 100.0),
            ("c1", ts("2026-03-10 00:00"), "order_placed", "purchase", True, 40.0),
            ("c1", ts("2026-03-28 00:00"), "order_placed", "purchase", True, 10.0),
            ("c1", ts("2026-03-29 00:00"), "email_opened", "awareness", False, None),
            ("c1", ts("2026-03-29 01:00"), "email_clicked", "consideration", False, None),
            ("c1", ts("2026-02-01 00:00"), "email_opened", "awareness", False, None),
            ("c1", ts("2026-03-30 00:00"), "email_delivered", "awareness", False, None),  # passive
        ],
        sessions=[
            ("c1", "k1", ts("2026-02-15 00:00")),
            ("c1", "k2", ts("2026-03-20 00:00")),
            ("c1", "k3", ts("2026-03-27 00:00")),
        ],
    )
    row = build_features(data, ["c1"], CUTOFF).loc["c1"]
    assert (row["orders_7d"], row["orders_30d"], row["orders_total"]) == (1, 2, 3)
    assert row["revenue_30d"] == 50 and row["revenue_total"] == 150
    assert row["days_since_last_order"] == 3
    assert (row["sessions_7d"], row["sessions_30d"], row["sessions_total"]) == (1, 2, 3)
    assert (row["events_7d"], row["events_total"]) == (3, 7)  # the delivery is not activity
    assert row["days_since_last_event"] == pytest.approx(1 + 23 / 24)
    assert (row["email_opens_30d"], row["email_opens_total"]) == (1, 2)
    assert (row["email_clicks_30d"], row["email_unsubscribed"]) == (1, 0)
    assert row["max_stage_order"] == 3
    assert row["tenure_days"] == 85  # first seen 2026-01-05
    assert row["subscription_days"] == 80
    assert row["plan"] == "basic"


def test_support_topics_complaints_and_wording():
    data = frames(
        subscriptions=[("s1", "c1", "pro", ts("2026-01-01 00:00"), None, ts("2026-01-01 00:00"))],
        messages=[
            ("c1", ts("2026-01-15 00:00"), "t1", "m1", "", BILLING_COMPLAINT),  # > 30 days ago
            ("c1", ts("2026-03-10 00:00"), "t2", "m2", "", BILLING_COMPLAINT),
            (
                "c1",
                ts("2026-03-10 01:00"),
                "t2",
                "m3",
                "",
                "Your billing is a mess. Overcharged again.",
            ),
            ("c1", ts("2026-03-21 00:00"), "t3", "m4", "", BILLING_QUESTION),
            ("c1", ts("2026-03-22 00:00"), "t4", "m5", "", DELIVERY_COMPLAINT),
            (
                "c1",
                ts("2026-03-23 00:00"),
                "t5",
                "m6",
                "",
                "Really happy with my pro plan, keep it up!",
            ),
            ("c1", ts("2026-04-05 00:00"), "t6", "m7", "", BILLING_COMPLAINT),  # after cutoff
        ],
    )
    row = build_features(data, ["c1"], CUTOFF).loc["c1"]
    assert row["support_messages_total"] == 6 and row["support_messages_30d"] == 5
    assert row["support_tickets_total"] == 5
    assert row["topic_billing"] == 4
    assert row["topic_delivery"] == 1 and row["topic_praise"] == 1 and row["topic_technical"] == 0
    assert row["billing_complaints_total"] == 3
    assert row["billing_complaints_30d"] == 2
    assert row["days_since_last_billing_complaint"] == pytest.approx(21 - 1 / 24)
    assert row["negative_messages_total"] == 4 and row["negative_messages_30d"] == 3


def test_customer_without_history_gets_zeros_and_missing_recency():
    data = frames(
        subscriptions=[("s1", "c1", "team", ts("2026-03-30 00:00"), None, ts("2026-03-30 00:00"))],
        events=[("c2", ts("2026-03-01 00:00"), "logged_in", "retention", False, None)],
    )
    features = build_features(data, ["c1", "c3"], CUTOFF)
    assert list(features.columns) == list(FEATURE_COLUMNS)
    assert list(features.index) == ["c1", "c3"]
    c1 = features.loc["c1"]
    assert c1["events_total"] == 0 and c1["support_messages_total"] == 0
    assert math.isnan(c1["days_since_last_event"]) and math.isnan(c1["days_since_last_session"])
    assert c1["tenure_days"] == 1 and c1["subscription_days"] == 1 and c1["plan"] == "team"
    c3 = features.loc["c3"]  # not a subscriber at all
    assert math.isnan(c3["subscription_days"]) and pd.isna(c3["plan"])


def test_plan_and_activity_follow_the_versions_known_at_the_cutoff():
    subscriptions = [
        # s1 upgraded before the cutoff, cancelled after it
        ("s1", "c1", "basic", ts("2026-01-01 00:00"), None, ts("2026-01-01 00:00")),
        ("s1", "c1", "pro", ts("2026-01-01 00:00"), None, ts("2026-02-01 00:00")),
        ("s1", "c1", "pro", ts("2026-01-01 00:00"), ts("2026-04-10 00:00"), ts("2026-04-10 00:00")),
        # s2 cancelled before the cutoff
        ("s2", "c2", "basic", ts("2026-01-01 00:00"), None, ts("2026-01-01 00:00")),
        (
            "s2",
            "c2",
            "basic",
            ts("2026-01-01 00:00"),
            ts("2026-03-01 00:00"),
            ts("2026-03-01 00:00"),
        ),
        # s3 starts after the cutoff
        ("s3", "c3", "team", ts("2026-04-01 00:00"), None, ts("2026-04-01 00:00")),
        # s4 cancelled exactly at the cutoff: still active at it
        ("s4", "c4", "team", ts("2026-02-01 00:00"), CUTOFF, CUTOFF),
    ]
    data = frames(subscriptions=subscriptions)
    active = active_subscriptions(data.subscriptions, CUTOFF).set_index("subscription_id")
    assert sorted(active.index) == ["s1", "s4"]
    assert active.loc["s1", "plan"] == "pro"
    assert list(active_subscribers(data.subscriptions, CUTOFF)) == ["c1", "c4"]
    assert build_features(data, ["c1"], ts("2026-01-15 00:00")).loc["c1", "plan"] == "basic"


@pytest.mark.parametrize(
    ("body", "topic", "negative"),
    [
        (BILLING_COMPLAINT, "billing", True),
        ("Why is there another charge of $9 on my card? I never authorised that.", "billing", True),
        (BILLING_QUESTION, "billing", False),
        (
            "Thanks, I can see the refund of $12.00 on my statement now. You made my day.",
            "billing",
            False,
        ),
        (DELIVERY_COMPLAINT, "delivery", True),
        ("The app keeps crashing when I open my orders. Useless.", "technical", True),
        ("I reset my password three times and it still does not work.", "account", True),
        ("How do I use the wishlist feature? Thank you in advance.", "how_to", False),
        ("Just wanted to say the kettle is fantastic. Best purchase this year.", "praise", False),
        ("I want to cancel. Too many issues and nobody listens.", "cancellation", True),
        ("[call transcript] Customer: Hi, ok.", "other", False),
    ],
)
def test_keyword_tagger(body, topic, negative):
    tags = tag_messages(pd.Series([body]))
    assert tags.loc[0, "topic"] == topic
    assert bool(tags.loc[0, "is_negative"]) is negative


def test_keyword_tagger_falls_back_to_the_subject_only_without_body_keywords():
    tags = tag_messages(
        pd.Series(["Hello, yes, ok.", DELIVERY_COMPLAINT]),
        pd.Series(["Charge on my card", "Re: Invoice question"]),
    )
    assert list(tags["topic"]) == ["billing", "delivery"]
