"""Support tickets and reviews: which topics, sentiments and feelings customers write with,
and what agents answer. The customers' own wording (and its label truth) is in wording.py.

Topics share vocabulary (orders, refunds, plans appear across several), so a text classifier
has to learn phrasing rather than a single keyword.
"""

from __future__ import annotations

from journeymap.generator.rng import Draw, Weighted, pick
from journeymap.generator.wording import NPS, PHRASINGS, REVIEWS, Written, compose

INTENTS = ("billing", "delivery", "technical", "account", "how_to", "praise", "cancellation")

# Which sentiments each intent takes in general tickets (billing complaints are planted apart).
GENERAL_INTENTS = Weighted(
    {
        "billing": 0.14,
        "delivery": 0.24,
        "technical": 0.16,
        "account": 0.12,
        "how_to": 0.18,
        "praise": 0.12,
        "cancellation": 0.04,
    }
)
GENERAL_SENTIMENT: dict[str, Weighted[str]] = {
    "billing": Weighted({"neutral": 0.8, "positive": 0.2}),  # negative billing = complaint
    "delivery": Weighted({"negative": 0.5, "neutral": 0.35, "positive": 0.15}),
    "technical": Weighted({"negative": 0.6, "neutral": 0.4}),
    "account": Weighted({"negative": 0.4, "neutral": 0.6}),
    "how_to": Weighted({"neutral": 0.85, "positive": 0.15}),
    "praise": Weighted({"positive": 1.0}),
    "cancellation": Weighted({"negative": 0.5, "neutral": 0.5}),
}

# The feeling a customer's message carries, by ticket topic and sentiment (one of
# journeymap.ml.text.labels.EMOTIONS).
EMOTIONS: dict[tuple[str, str], Weighted[str]] = {
    ("billing", "negative"): Weighted({"frustration": 0.6, "anxiety": 0.2, "disappointment": 0.2}),
    ("delivery", "negative"): Weighted(
        {"frustration": 0.45, "disappointment": 0.35, "anxiety": 0.2}
    ),
    ("technical", "negative"): Weighted({"frustration": 0.7, "confusion": 0.3}),
    ("account", "negative"): Weighted({"frustration": 0.5, "confusion": 0.3, "anxiety": 0.2}),
    ("cancellation", "negative"): Weighted({"frustration": 0.5, "disappointment": 0.5}),
    ("technical", "neutral"): Weighted({"confusion": 0.5, "neutral": 0.5}),
    ("account", "neutral"): Weighted({"confusion": 0.5, "neutral": 0.5}),
    ("how_to", "neutral"): Weighted({"confusion": 0.4, "neutral": 0.6}),
}
_NEUTRAL = Weighted({"neutral": 0.8, "confusion": 0.2})
_POSITIVE = Weighted({"satisfaction": 0.6, "delight": 0.4})

AGENT_TEMPLATES: dict[str, tuple[str, ...]] = {
    "billing": (
        "I am sorry about the charge. I have asked finance to review order {order}.",
        "Thanks for flagging this. The {amount} is being refunded to your card.",
        "I have attached the invoice for order {order}.",
    ),
    "delivery": (
        "I checked with the carrier: order {order} should arrive within two days.",
        "Sorry about that. A replacement {product} is on its way.",
    ),
    "technical": (
        "Our engineers are aware of the issue and are working on a fix.",
        "Could you try updating the app and clearing the cache?",
    ),
    "account": (
        "I have sent a reset link to the email on file.",
        "Your account details are updated.",
    ),
    "how_to": (
        "You can find that under Account > {feature}.",
        "Here is a short guide that explains the steps.",
    ),
    "praise": ("Thank you for the kind words, we will pass them on to the team!",),
    "cancellation": (
        "I have processed the cancellation of your {plan} plan.",
        "Sorry to see you go. Your plan ends at the close of this period.",
    ),
}

SUBJECTS: dict[str, tuple[str, ...]] = {
    "billing": ("Charge on my card", "Invoice question", "Billing"),
    "delivery": ("Where is my order?", "Delivery problem", "Shipping"),
    "technical": ("App not working", "Website error"),
    "account": ("Account access", "Update my details"),
    "how_to": ("Question", "How do I...?"),
    "praise": ("Thank you!", "Feedback"),
    "cancellation": ("Cancel my subscription", "Cancellation"),
}

PHONE_OPENERS = ("Hi, ", "Hello, yes, ", "Um, hi. ", "Yeah hi, so ")


def emotion_for(r: Draw, intent: str, sentiment: str) -> str:
    if sentiment == "positive":
        return _POSITIVE.pick(r)
    return EMOTIONS.get((intent, sentiment), _NEUTRAL).pick(r)


def customer_text(
    r: Draw, intent: str, sentiment: str, emotion: str, fill: dict[str, str]
) -> Written:
    """A customer's message on a ticket of ``intent`` (the generator's topic) and sentiment.

    Draws from ``r`` as many times whatever the wording (a phrasing, whether to add a
    feeling, which one), so the simulated behaviour never depends on the wording."""
    phrasing = pick(r, PHRASINGS[(intent, sentiment)])
    # The flourish carries the emotion, not always (so it is learnable, not trivial).
    return compose(r, phrasing, fill, emotion if r() < 0.7 else None)


def agent_text(r: Draw, intent: str, fill: dict[str, str]) -> str:
    return pick(r, AGENT_TEMPLATES[intent]).format(**fill)


def review_sentiment(score: int) -> str:
    return "positive" if score >= 4 else "neutral" if score == 3 else "negative"


def nps_bucket(score: int) -> str:
    return "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"


NPS_SENTIMENT = {"promoter": "positive", "passive": "neutral", "detractor": "negative"}


def review_text(r: Draw, score: int, product: str) -> Written:
    return compose(r, pick(r, REVIEWS[score]), {"product": product}, None)


def nps_text(r: Draw, score: int) -> Written:
    return compose(r, pick(r, NPS[nps_bucket(score)]), {}, None)
