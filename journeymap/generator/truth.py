"""Ground truth: what each person really was and did, and the planted figures realized.

``funnel_progress`` mirrors the warehouse's funnel semantics (int_funnel_progress): entry at the
first product view, each later step the first event of that step at or after the previous one
and within the window from entry, the entry event's device labels the attempt.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from journeymap.generator.marketing import paid_clicks
from journeymap.generator.params import (
    BASELINE_CANCEL_PROBABILITY,
    CANCEL_AFTER_COMPLAINT,
    CANCEL_DELAY_DAYS,
    FUNNEL_WINDOW_HOURS,
    PAYMENT_RATE,
)

FUNNEL_STEPS = (
    ("product_viewed", "Product Viewed"),
    ("product_added", "Product Added"),
    ("checkout_started", "Checkout Started"),
    ("payment_info_entered", "Payment Info Entered"),
    ("order_placed", "order_placed"),
)
CHECKOUT_STEP, PAYMENT_STEP = 3, 4  # steps reached (1-based) that define entered / completed
COMPLAINT_BUCKETS = ("0", "1", "2+")

CUSTOMER_COLUMNS = (
    "customer_id",
    "persona",
    "primary_device",
    "primary_platform",
    "acquisition_channel",
    "first_seen_at",
    "signed_up_at",
    "anonymous_ids",
    "billing_complaints",
    "has_subscription",
    "churned",
    "churn_driven_by_billing",
)
# The label truth of every text a customer wrote (support messages, review and NPS text):
# topic is the generator's ticket topic (billing complaints are topic billing, sentiment
# negative; empty for reviews); intent, journey_stage and emotion follow the text model's
# guideline (journeymap.ml.text.labels); theme names a planted friction theme.
TEXT_COLUMNS = (
    "source",
    "text_id",
    "topic",
    "sentiment",
    "intent",
    "journey_stage",
    "emotion",
    "theme",
)
DEFECT_COLUMNS = (
    "source",
    "file_name",
    "row_number",
    "record_key",
    "defect_type",
    "expected_outcome",
)


@dataclass
class PersonOutput:
    records: list[Any]
    persona: str
    customer: tuple[str, ...] | None = None
    texts: list[tuple[str, ...]] = field(default_factory=list)
    funnel: tuple[str, int] | None = None  # (entry device, steps reached)
    churn: tuple[int, bool] | None = None  # (billing complaints, cancelled) of a subscriber
    paid_visits: list[tuple[int, str, str]] = field(default_factory=list)
    retargeted_visits: tuple[int, int] = (0, 0)  # without / with a purchase attempt
    email_click_visits: int = 0


def funnel_progress(
    events: list[tuple[int, str, str]], window_hours: int = FUNNEL_WINDOW_HOURS
) -> tuple[str, int] | None:
    """(device of the entry event, number of funnel steps reached), None if never entered."""
    if not events:
        return None
    events = sorted(events)
    entry = next((e for e in events if e[1] == FUNNEL_STEPS[0][1]), None)
    if entry is None:
        return None
    t_prev, deadline = entry[0], entry[0] + window_hours * 3600
    reached = 1
    for _, name in FUNNEL_STEPS[1:]:
        nxt = next((ts for ts, n, _ in events if n == name and t_prev <= ts <= deadline), None)
        if nxt is None:
            break
        reached += 1
        t_prev = nxt
    return entry[2], reached


def complaint_bucket(n: int) -> str:
    return COMPLAINT_BUCKETS[min(n, 2)]


@dataclass
class Tallies:
    """Run-wide counters; sums only, so they do not depend on chunking."""

    defects: Counter[str] = field(default_factory=Counter)
    personas: Counter[str] = field(default_factory=Counter)
    prospect_personas: Counter[str] = field(default_factory=Counter)
    funnel_entered: Counter[str] = field(default_factory=Counter)
    funnel_completed: Counter[str] = field(default_factory=Counter)
    funnel_steps: Counter[int] = field(default_factory=Counter)
    subscribers: Counter[str] = field(default_factory=Counter)
    cancelled: Counter[str] = field(default_factory=Counter)
    paid_clicks: Counter[tuple[int, str, str]] = field(default_factory=Counter)
    retargeted_visits: list[int] = field(default_factory=lambda: [0, 0])
    email_click_visits: int = 0
    themes: Counter[str] = field(default_factory=Counter)  # friction theme texts

    def add(self, out: PersonOutput, defect_types: list[str]) -> None:
        self.defects.update(defect_types)
        (self.personas if out.customer is not None else self.prospect_personas)[out.persona] += 1
        if out.funnel is not None:
            device, reached = out.funnel
            for step in range(1, reached + 1):
                self.funnel_steps[step] += 1
            if reached >= CHECKOUT_STEP:
                self.funnel_entered[device] += 1
                self.funnel_completed[device] += reached >= PAYMENT_STEP
        for text in out.texts:
            if text[-1]:
                self.themes[text[-1]] += 1
        if out.churn is not None:
            bucket = complaint_bucket(out.churn[0])
            self.subscribers[bucket] += 1
            self.cancelled[bucket] += out.churn[1]
        self.paid_clicks.update(paid_clicks(out.paid_visits))
        self.retargeted_visits[0] += out.retargeted_visits[0]
        self.retargeted_visits[1] += out.retargeted_visits[1]
        self.email_click_visits += out.email_click_visits


def _rate(num: int, den: int) -> float | None:
    return round(num / den, 6) if den else None


def funnel_truth(t: Tallies) -> dict[str, Any]:
    return {
        "name": "purchase",
        "from_step": "checkout_started",
        "to_step": "payment_info_entered",
        "breakdown": "device_type",
        "planted_rate": {d: round(v, 6) for d, v in PAYMENT_RATE.items()},
        "realized": {
            d: {
                "entered": t.funnel_entered[d],
                "completed": t.funnel_completed[d],
                "rate": _rate(t.funnel_completed[d], t.funnel_entered[d]),
            }
            for d in PAYMENT_RATE
        },
        "window_hours": FUNNEL_WINDOW_HOURS,
        # People (customers and prospects) reaching each step, for funnel-wide checks.
        "realized_steps": {name: t.funnel_steps[i + 1] for i, (name, _) in enumerate(FUNNEL_STEPS)},
    }


def churn_truth(t: Tallies) -> dict[str, Any]:
    return {
        "driver": "billing_complaints",
        "complaint_definition": "customer support message, intent billing, sentiment negative",
        "population": "customers who started a subscription in the window",
        "planted_cancel_probability": {
            "after_first_complaint": CANCEL_AFTER_COMPLAINT[0],
            "after_each_later_complaint": CANCEL_AFTER_COMPLAINT[1],
            "without_complaints": BASELINE_CANCEL_PROBABILITY,
        },
        "cancel_delay_days_after_complaint": list(CANCEL_DELAY_DAYS),
        "realized": {
            b: {
                "subscribers": t.subscribers[b],
                "cancelled": t.cancelled[b],
                "rate": _rate(t.cancelled[b], t.subscribers[b]),
            }
            for b in COMPLAINT_BUCKETS
        },
    }
