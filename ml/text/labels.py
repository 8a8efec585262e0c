"""The label sets of a customer text and what each value means (the labelling guideline).

Light on imports on purpose: the quality suites, the CLI and the LLM prompt read it.

**intent**: what the customer wants or talks about, the main request when there are several.

* ``account_access``: logging in, passwords, locked or hacked accounts, account details.
* ``billing_payment``: charges, invoices, receipts, payment methods, failed or declined payments.
* ``cancellation``: ending a subscription, plan or order before it ships.
* ``delivery_shipping``: how delivery works or went wrong: options, cost, address, courier,
  late, lost or damaged parcels.
* ``order_status``: the state of a placed order: confirmation, has it shipped, tracking, "where
  is my order".
* ``refund_return``: sending something back, exchanges, refunds and their status.
* ``product_question``: what the product or service does, how to use it, whether it fits.
* ``technical_problem``: the site or app failing: errors, crashes, bugs, pages that do not load.
* ``complaint``: a grievance about the company or service as a whole, not one of the above.
* ``praise_feedback``: thanks, compliments, reviews, recommendations, suggestions.
* ``subscription_change``: changing, pausing, upgrading or downgrading a plan (not ending it).
* ``contact_human``: asking for a person, a call back or a manager.
* ``other``: anything else (greetings alone, wrong chat, spam).

**journey_stage**: the moment of the journey the text shows (not where it was written):

* ``awareness``: first encounter; the writer does not know the offer yet.
* ``consideration``: evaluating before buying: prices, plans, comparisons, features, trials.
* ``purchase``: buying and receiving: checkout, payment at checkout, order status, delivery
  and the state of what arrived.
* ``retention``: using and staying: account, app, renewals and subscription billing, plan
  changes, cancellations, problems in use.
* ``advocacy``: speaking for the brand: reviews, recommendations, referrals, overall praise.

**sentiment**: a number in [-1, 1]: how negative (-1) or positive (+1) the writer is. A text
is *negative* below ``NEGATIVE_BELOW`` and *positive* above ``POSITIVE_ABOVE``.

**emotion**: the dominant feeling: ``frustration`` (annoyed, angry, fed up), ``confusion``
(does not understand), ``anxiety`` (worried, afraid of a loss or a deadline),
``disappointment`` (let down, expected better), ``satisfaction`` (content, problem solved),
``delight`` (enthusiastic, grateful beyond the expected), ``neutral`` (matter of fact).
"""

from __future__ import annotations

INTENTS: tuple[str, ...] = (
    "account_access",
    "billing_payment",
    "cancellation",
    "delivery_shipping",
    "order_status",
    "refund_return",
    "product_question",
    "technical_problem",
    "complaint",
    "praise_feedback",
    "subscription_change",
    "contact_human",
    "other",
)
STAGES: tuple[str, ...] = ("awareness", "consideration", "purchase", "retention", "advocacy")
EMOTIONS: tuple[str, ...] = (
    "frustration",
    "confusion",
    "anxiety",
    "disappointment",
    "satisfaction",
    "delight",
    "neutral",
)
POLARITIES: tuple[str, ...] = ("negative", "neutral", "positive")
BACKENDS: tuple[str, ...] = ("embedded", "llm")

# Sentiment thresholds: below NEGATIVE_BELOW a text counts as negative (friction themes, the
# share negative of the emotional journey), above POSITIVE_ABOVE as positive.
NEGATIVE_BELOW = -0.25
POSITIVE_ABOVE = 0.25

# The label sets by the column that holds them.
LABEL_SETS: dict[str, tuple[str, ...]] = {
    "intent": INTENTS,
    "journey_stage": STAGES,
    "emotion": EMOTIONS,
}


def polarity(sentiment: float) -> str:
    """negative, neutral or positive by the thresholds above."""
    if sentiment < NEGATIVE_BELOW:
        return "negative"
    if sentiment > POSITIVE_ABOVE:
        return "positive"
    return "neutral"
