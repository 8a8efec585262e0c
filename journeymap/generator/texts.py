"""Support and review wording: several phrasings per intent x sentiment, emotion flourishes.

Intents share vocabulary (orders, refunds, plans appear across several), so a text classifier
has to learn phrasing rather than a single keyword.
"""

from __future__ import annotations

from journeymap.generator.rng import Draw, Weighted, pick

INTENTS = ("billing", "delivery", "technical", "account", "how_to", "praise", "cancellation")

CUSTOMER_TEMPLATES: dict[tuple[str, str], tuple[str, ...]] = {
    ("billing", "negative"): (
        "I was charged {amount} twice for order {order}. Refund the duplicate charge now.",
        "Why is there another charge of {amount} on my card? I never authorised that for my"
        " {plan} plan.",
        "Your billing is a mess. I have been overcharged again and nobody fixes it.",
        "The invoice for {order} says {amount} but the price at checkout was lower. I want my"
        " money back.",
        "Still waiting for the refund of {amount}. This is the second time I write about this"
        " charge.",
        "You renewed my {plan} plan at the wrong price. Fix my bill or I am leaving.",
    ),
    ("billing", "neutral"): (
        "Could you send me a copy of the invoice for order {order}?",
        "How do I change the card you charge for my {plan} plan?",
        "When will I be billed for the next period of my subscription?",
        "Can I get a VAT receipt for the {amount} I paid on order {order}?",
    ),
    ("billing", "positive"): (
        "Thanks, I can see the refund of {amount} on my statement now.",
        "The invoice is corrected, appreciate the quick help with the charge.",
        "Payment went through fine this time, thank you for sorting out my bill.",
    ),
    ("delivery", "negative"): (
        "My order {order} is a week late and tracking has not moved. Where is my {product}?",
        "The {product} arrived damaged and the box was crushed.",
        "Order {order} was marked delivered but nothing came. Really disappointed.",
        "Wrong item in my parcel: I ordered the {product} and got something else.",
    ),
    ("delivery", "neutral"): (
        "Can you tell me when order {order} will ship?",
        "Is it possible to change the delivery address for my {product}?",
        "Do you deliver on weekends? I am waiting for order {order}.",
    ),
    ("delivery", "positive"): (
        "The {product} arrived two days early, thank you!",
        "Order {order} came quickly and well packed. Nice work.",
    ),
    ("technical", "negative"): (
        "The app keeps crashing when I open my orders. Useless.",
        "I cannot log in, the page spins and then errors out. Third time today.",
        "Checkout fails on my phone every time I press pay.",
        "The {feature} page is broken and shows a blank screen.",
    ),
    ("technical", "neutral"): (
        "The {feature} page loads slowly for me, is there a known issue?",
        "Which browsers do you support? The site looks odd on mine.",
        "I sometimes get an error 502 when I open the app.",
    ),
    ("account", "negative"): (
        "Someone changed my account email and I cannot get back in.",
        "I reset my password three times and it still does not work.",
        "Why was my account locked? I did nothing wrong.",
    ),
    ("account", "neutral"): (
        "How do I change the email address on my account?",
        "Can you merge my two accounts into one?",
        "I would like to update my phone number and delivery address.",
    ),
    ("how_to", "neutral"): (
        "How do I use the {feature} feature?",
        "Where can I find my order history?",
        "Can I pause my {plan} subscription for a month, and how?",
        "Is there a way to send the {product} as a gift?",
    ),
    ("how_to", "positive"): (
        "Love the shop! Quick question: how do I share my referral link?",
        "Really enjoying the {product}. How do I add a second one to my plan?",
    ),
    ("praise", "positive"): (
        "Just wanted to say the {product} is fantastic. Best purchase this year.",
        "Your support team was brilliant last week, thank you.",
        "Really happy with my {plan} plan, keep it up!",
    ),
    ("cancellation", "negative"): (
        "Cancel my subscription now. I am done with the constant problems.",
        "Please close my {plan} plan, it is not worth {amount} a month.",
        "I want to cancel. Too many issues and nobody listens.",
    ),
    ("cancellation", "neutral"): (
        "I would like to cancel my {plan} subscription at the end of this period.",
        "Please cancel my plan, I am moving abroad.",
    ),
}

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

EMOTIONS: dict[tuple[str, str], Weighted[str]] = {
    ("billing", "negative"): Weighted({"anger": 0.55, "frustration": 0.45}),
    ("delivery", "negative"): Weighted({"frustration": 0.6, "anger": 0.4}),
    ("technical", "negative"): Weighted({"frustration": 0.7, "confusion": 0.3}),
    ("account", "negative"): Weighted({"frustration": 0.5, "confusion": 0.5}),
    ("cancellation", "negative"): Weighted({"frustration": 0.6, "anger": 0.4}),
    ("technical", "neutral"): Weighted({"confusion": 0.5, "neutral": 0.5}),
    ("account", "neutral"): Weighted({"confusion": 0.5, "neutral": 0.5}),
    ("how_to", "neutral"): Weighted({"confusion": 0.6, "neutral": 0.4}),
}
_NEUTRAL = Weighted({"neutral": 0.8, "confusion": 0.2})
_JOY = Weighted({"joy": 1.0})

FLOURISHES: dict[str, tuple[str, ...]] = {
    "anger": (
        "This is unacceptable.",
        "I am furious.",
        "Absolutely ridiculous.",
        "Sort it out today.",
    ),
    "frustration": (
        "This is getting really tiring.",
        "I already spent an hour on this.",
        "Honestly so frustrating.",
    ),
    "confusion": (
        "I am not sure what I am doing wrong.",
        "The help pages did not make sense to me.",
        "Am I missing something?",
    ),
    "joy": ("Thanks so much!", "You made my day.", "Great job, team."),
    "neutral": ("Thanks.", "Regards.", "Thank you in advance."),
}

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

REVIEW_TEXTS: dict[int, tuple[str, ...]] = {
    5: (
        "Love the {product}! Works perfectly and arrived fast.",
        "Excellent quality, would buy the {product} again.",
        "Five stars, the {product} exceeded my expectations.",
    ),
    4: (
        "Very good {product}, minor issues with the packaging.",
        "Happy with the {product}, a bit pricey though.",
    ),
    3: ("The {product} is okay, nothing special.", "Average. The {product} does the job."),
    2: (
        "Disappointed with the {product}, it feels cheap.",
        "The {product} broke after a few uses.",
    ),
    1: (
        "Terrible. The {product} never worked and support was no help.",
        "Waste of money, do not buy the {product}.",
    ),
}
NPS_TEXTS: dict[str, tuple[str, ...]] = {
    "promoter": ("Great service, I recommend you to friends.", "Always reliable, love it."),
    "passive": ("Good, but shipping could be faster.", "Fine overall."),
    "detractor": (
        "Billing problems every month.",
        "Too expensive for what it is.",
        "Support never answers.",
    ),
}


def emotion_for(r: Draw, intent: str, sentiment: str) -> str:
    if sentiment == "positive":
        return _JOY.pick(r)
    return EMOTIONS.get((intent, sentiment), _NEUTRAL).pick(r)


def customer_text(r: Draw, intent: str, sentiment: str, emotion: str, fill: dict[str, str]) -> str:
    text = pick(r, CUSTOMER_TEMPLATES[(intent, sentiment)]).format(**fill)
    if r() < 0.7:  # the flourish carries the emotion, not always (so it is learnable, not trivial)
        text = f"{text} {pick(r, FLOURISHES[emotion])}"
    return text


def agent_text(r: Draw, intent: str, fill: dict[str, str]) -> str:
    return pick(r, AGENT_TEMPLATES[intent]).format(**fill)


def review_text(r: Draw, score: int, product: str) -> str:
    return pick(r, REVIEW_TEXTS[score]).format(product=product)


def nps_text(r: Draw, score: int) -> str:
    bucket = "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"
    return pick(r, NPS_TEXTS[bucket])
