# ruff: noqa: E501 (one phrasing and its labels per line: a table reads best unwrapped)
"""How the simulated customers put things: many phrasings per ticket topic, each with the
label truth a reader would give it (intent, journey stage, emotion; the guideline is in
journeymap.ml.text.labels), plus the slips of real typing.

The generator's ticket topics (billing, delivery, technical, account, how_to, praise,
cancellation) drive its behaviour - billing complaints drive churn - and each topic and
sentiment has a pool of phrasings whose labels vary: a delivery complaint may be about a
late parcel (delivery_shipping), a missing order (order_status) or a broken item to send back
(refund_return); some negative messages just ask for a person (contact_human) or vent
(complaint). This wording is the generator's own and shares no sentence with the text
model's corpus.
"""

from __future__ import annotations

from dataclasses import dataclass

from journeymap.generator.rng import Draw, pick
from journeymap.text_noise import sloppy


@dataclass(frozen=True)
class Phrasing:
    text: str  # may hold {order}, {amount}, {product}, {plan}, {feature}
    intent: str
    stage: str
    emotion: str  # the feeling the words carry on their own


def _p(spec: str) -> Phrasing:
    text, intent, stage, emotion = spec.rsplit("|", 3)
    return Phrasing(text, intent, stage, emotion)


def _pool(*specs: str) -> tuple[Phrasing, ...]:
    return tuple(_p(s) for s in specs)


PHRASINGS: dict[tuple[str, str], tuple[Phrasing, ...]] = {
    ("billing", "negative"): _pool(
        "I was charged {amount} twice for order {order}. Refund the duplicate charge now.|billing_payment|purchase|frustration",
        "Why is there another charge of {amount} on my card? I never authorised that for my {plan} plan.|billing_payment|retention|frustration",
        "Your billing is a mess. I have been overcharged again and nobody fixes it.|billing_payment|retention|frustration",
        "The invoice for {order} says {amount} but the price at checkout was lower. I want my money back.|billing_payment|purchase|frustration",
        "Still waiting for the refund of {amount}. This is the second time I write about this charge.|refund_return|retention|frustration",
        "You renewed my {plan} plan at the wrong price. Fix my bill or I am leaving.|billing_payment|retention|frustration",
        "two payments of {amount} went out for the same month?? explain|billing_payment|retention|frustration",
        "My bank statement shows {amount} from you that I don't recognise. Is my card compromised?|billing_payment|retention|anxiety",
        "You took {amount} for a {plan} renewal I switched off weeks ago. Give it back.|billing_payment|retention|frustration",
        "The charge for my {plan} subscription went up without any notice. Not ok.|billing_payment|retention|disappointment",
        "Third month in a row my bill is wrong. I want to speak to someone who can actually fix it.|contact_human|retention|frustration",
        "Billed twice AGAIN. I'm sick of checking my statement every month because of you.|billing_payment|retention|frustration",
    ),
    ("billing", "neutral"): _pool(
        "Could you send me a copy of the invoice for order {order}?|billing_payment|purchase|neutral",
        "How do I change the card you charge for my {plan} plan?|billing_payment|retention|neutral",
        "When will I be billed for the next period of my subscription?|billing_payment|retention|neutral",
        "Can I get a VAT receipt for the {amount} I paid on order {order}?|billing_payment|purchase|neutral",
        "I need the invoices of the last three months for my bookkeeping.|billing_payment|retention|neutral",
        "Is it possible to pay the {plan} plan yearly instead of monthly?|subscription_change|retention|neutral",
        "what date does the monthly payment come out?|billing_payment|retention|neutral",
        "Please put my company name on the invoice for order {order}.|billing_payment|purchase|neutral",
    ),
    ("billing", "positive"): _pool(
        "Thanks, I can see the refund of {amount} on my statement now.|refund_return|retention|satisfaction",
        "The invoice is corrected, appreciate the quick help with the charge.|billing_payment|retention|satisfaction",
        "Payment went through fine this time, thank you for sorting out my bill.|billing_payment|retention|satisfaction",
        "money is back on my card, thanks a lot|refund_return|retention|satisfaction",
    ),
    ("delivery", "negative"): _pool(
        "My order {order} is a week late and tracking has not moved. Where is my {product}?|order_status|purchase|frustration",
        "The {product} arrived damaged and the box was crushed.|delivery_shipping|purchase|disappointment",
        "Order {order} was marked delivered but nothing came. Really disappointed.|delivery_shipping|purchase|disappointment",
        "Wrong item in my parcel: I ordered the {product} and got something else.|refund_return|purchase|disappointment",
        "The courier left my {product} in the rain outside the door, the box is ruined.|delivery_shipping|purchase|frustration",
        "It's a gift for Saturday and order {order} still hasn't shipped. I'm getting nervous.|order_status|purchase|anxiety",
        "has order {order} even been sent? no email, no tracking, nothing|order_status|purchase|frustration",
        "The {product} came with a cracked lid. I'd like a replacement or my money back.|refund_return|purchase|disappointment",
        "Delivery was promised for Tuesday, I stayed home all day and nobody showed up.|delivery_shipping|purchase|frustration",
        "Half of order {order} is missing, only the packaging came.|delivery_shipping|purchase|disappointment",
        "I can't reach anyone about my late delivery. Can a real person call me?|contact_human|purchase|frustration",
    ),
    ("delivery", "neutral"): _pool(
        "Can you tell me when order {order} will ship?|order_status|purchase|neutral",
        "Is it possible to change the delivery address for my {product}?|delivery_shipping|purchase|neutral",
        "Do you deliver on weekends? I am waiting for order {order}.|delivery_shipping|purchase|neutral",
        "Could I have the tracking number for order {order} please?|order_status|purchase|neutral",
        "Can the courier leave the parcel with my neighbour at number 12?|delivery_shipping|purchase|neutral",
        "how long does shipping usually take for the {product}?|delivery_shipping|purchase|neutral",
        "I'd like to return the {product}, it's not the right colour for our kitchen.|refund_return|purchase|neutral",
    ),
    ("delivery", "positive"): _pool(
        "The {product} arrived two days early, thank you!|delivery_shipping|purchase|delight",
        "Order {order} came quickly and well packed. Nice work.|delivery_shipping|purchase|satisfaction",
        "got my {product} today, all in one piece, cheers|order_status|purchase|satisfaction",
    ),
    ("technical", "negative"): _pool(
        "The app keeps crashing when I open my orders. Useless.|technical_problem|retention|frustration",
        "I cannot log in, the page spins and then errors out. Third time today.|account_access|retention|frustration",
        "The {feature} page is broken and shows a blank screen.|technical_problem|retention|frustration",
        "Since the update the app freezes as soon as I open {feature}.|technical_problem|retention|frustration",
        "your website is down again?? error page on everything|technical_problem|retention|frustration",
        "The {feature} button does nothing when I tap it.|technical_problem|retention|confusion",
        "Every page takes ages to load, it's unusable in the evening.|technical_problem|retention|disappointment",
        "Notifications stopped working so I never know when my box ships.|technical_problem|retention|disappointment",
    ),
    ("technical", "neutral"): _pool(
        "The {feature} page loads slowly for me, is there a known issue?|technical_problem|retention|neutral",
        "Which browsers do you support? The site looks odd on mine.|technical_problem|retention|confusion",
        "I sometimes get an error 502 when I open the app.|technical_problem|retention|neutral",
        "The app asks me to update but the store shows no new version.|technical_problem|retention|confusion",
        "Is the {feature} feature down for maintenance today?|technical_problem|retention|neutral",
    ),
    ("account", "negative"): _pool(
        "Someone changed my account email and I cannot get back in.|account_access|retention|anxiety",
        "I reset my password three times and it still does not work.|account_access|retention|frustration",
        "Why was my account locked? I did nothing wrong.|account_access|retention|frustration",
        "the login code never arrives on my phone, I'm locked out|account_access|retention|frustration",
        "My account shows an order I never placed. Was I hacked?|account_access|retention|anxiety",
        "keeps saying wrong password even after the reset. so annoying|account_access|retention|frustration",
    ),
    ("account", "neutral"): _pool(
        "How do I change the email address on my account?|account_access|retention|neutral",
        "Can you merge my two accounts into one?|account_access|retention|neutral",
        "I would like to update my phone number and delivery address.|account_access|retention|neutral",
        "Please delete the old card saved on my account.|account_access|retention|neutral",
        "how do i turn on two step login|account_access|retention|neutral",
    ),
    ("how_to", "neutral"): _pool(
        "How do I use the {feature} feature?|product_question|retention|neutral",
        "Where can I find my order history?|product_question|retention|neutral",
        "Can I pause my {plan} subscription for a month, and how?|subscription_change|retention|neutral",
        "Is there a way to send the {product} as a gift?|product_question|consideration|neutral",
        "Does the {product} come in other colours?|product_question|consideration|neutral",
        "What's the difference between the basic and the {plan} plan?|product_question|consideration|neutral",
        "I'd like to move from basic to the {plan} plan next month.|subscription_change|retention|neutral",
        "Can I add a second person to my {plan} plan?|subscription_change|retention|neutral",
        "Is the {product} easy to clean? Thinking of getting one.|product_question|consideration|neutral",
        "Can I change what's in my next box?|subscription_change|retention|neutral",
    ),
    ("how_to", "positive"): _pool(
        "Love the shop! Quick question: how do I share my referral link?|product_question|advocacy|delight",
        "Really enjoying the {product}. How do I add a second one to my plan?|subscription_change|retention|satisfaction",
        "Big fan of the {plan} plan. Can I gift a month to a friend?|product_question|advocacy|delight",
    ),
    ("praise", "positive"): _pool(
        "Just wanted to say the {product} is fantastic. Best purchase this year.|praise_feedback|advocacy|delight",
        "Your support team was brilliant last week, thank you.|praise_feedback|retention|satisfaction",
        "Really happy with my {plan} plan, keep it up!|praise_feedback|advocacy|satisfaction",
        "I've recommended you to three friends already, they all love it.|praise_feedback|advocacy|delight",
        "Top service as always. Never had a single problem with you.|praise_feedback|advocacy|satisfaction",
        "the {product} changed my mornings, honestly. thank you!!|praise_feedback|advocacy|delight",
        "A small idea: let us rate the products in the app. Otherwise all great.|praise_feedback|retention|neutral",
    ),
    ("cancellation", "negative"): _pool(
        "Cancel my subscription now. I am done with the constant problems.|cancellation|retention|frustration",
        "Please close my {plan} plan, it is not worth {amount} a month.|cancellation|retention|disappointment",
        "I want to cancel. Too many issues and nobody listens.|cancellation|retention|frustration",
        "end my membership. the quality isn't what it used to be|cancellation|retention|disappointment",
        "I'm leaving. Cancel the {plan} plan and don't charge me again.|cancellation|retention|frustration",
        "Your service has gone downhill and I'm out. Stop the subscription.|complaint|retention|disappointment",
    ),
    ("cancellation", "neutral"): _pool(
        "I would like to cancel my {plan} subscription at the end of this period.|cancellation|retention|neutral",
        "Please cancel my plan, I am moving abroad.|cancellation|retention|neutral",
        "We don't use the boxes enough any more, please end the subscription.|cancellation|retention|neutral",
        "How do I stop my plan? Nothing wrong, just saving money.|cancellation|retention|neutral",
    ),
}

# The planted friction theme: mobile payment failures at checkout (journeymap.generator.
# friction), written by customers whose payment step failed.
MOBILE_PAYMENT_FAILURES = _pool(
    "Payment failed again on my phone. I tried three times at checkout and it just says try again later.|billing_payment|purchase|frustration",
    "The pay button on your app does nothing, my basket is full and I can't check out.|technical_problem|purchase|frustration",
    "Card declined on mobile but the same card works everywhere else. What's wrong with your checkout?|billing_payment|purchase|confusion",
    "Checkout on my phone freezes at the payment step every time.|technical_problem|purchase|frustration",
    "Trying to pay from my phone and it keeps failing. Did I get charged or not?|billing_payment|purchase|anxiety",
    "can't pay on the app, the payment page just spins and errors|technical_problem|purchase|frustration",
    "I gave up on my order because the payment wouldn't go through on my mobile.|billing_payment|purchase|disappointment",
    "Your mobile checkout is broken, the payment fails right after I enter my card.|technical_problem|purchase|frustration",
)
# A desktop payment failure written up (rarer: the theme is about the phone).
PAYMENT_FAILURES = _pool(
    "My payment didn't go through at checkout, is there a problem with your payment page?|billing_payment|purchase|confusion",
    "The payment step failed and my order is gone from the basket.|technical_problem|purchase|frustration",
)

# A sentence a customer adds that carries a feeling (the emotion label when present).
FLOURISHES: dict[str, tuple[str, ...]] = {
    "frustration": (
        "This is unacceptable.",
        "I am furious.",
        "Absolutely ridiculous.",
        "Sort it out today.",
        "This is getting really tiring.",
        "I already spent an hour on this.",
        "Honestly so frustrating.",
        "Fed up.",
    ),
    "confusion": (
        "I am not sure what I am doing wrong.",
        "The help pages did not make sense to me.",
        "Am I missing something?",
        "I don't get it.",
    ),
    "anxiety": (
        "I'm really worried about this.",
        "Please tell me I haven't lost the money.",
        "I need this sorted quickly, it's stressing me out.",
    ),
    "disappointment": (
        "Really disappointed.",
        "I expected better from you.",
        "Such a shame, I used to love this shop.",
    ),
    "satisfaction": ("Thanks for the help.", "Much appreciated.", "All good now."),
    "delight": ("Thanks so much!", "You made my day.", "Great job, team."),
    "neutral": ("Thanks.", "Regards.", "Thank you in advance."),
}

SUPPORT_OPENERS = ("Hi, ", "Hello, ", "Hi team, ", "Good morning, ", "hey ", "Dear support, ")
SUPPORT_CLOSERS = (" Thanks", " Regards", " Cheers", " Thank you", " Best wishes")


@dataclass(frozen=True)
class Written:
    """A text and its label truth."""

    text: str
    intent: str
    stage: str
    emotion: str


def compose(
    r: Draw, phrasing: Phrasing, fill: dict[str, str], flourish_emotion: str | None
) -> Written:
    """The phrasing filled in, with a flourish of ``flourish_emotion`` when given (the
    flourish is the stronger signal, so its emotion becomes the label)."""
    text = phrasing.text.format(**fill)
    emotion = phrasing.emotion
    if flourish_emotion is not None:
        text = f"{text} {pick(r, FLOURISHES[flourish_emotion])}"
        emotion = flourish_emotion
    return Written(text, phrasing.intent, phrasing.stage, emotion)


def dress(rt: Draw, text: str, typed: bool) -> str:
    """Greeting, sign-off and typing slips (typed channels only), from the text stream."""
    if typed:
        if rt() < 0.3:
            text = pick(rt, SUPPORT_OPENERS) + text[:1].lower() + text[1:]
        if rt() < 0.2:
            text += pick(rt, SUPPORT_CLOSERS)
    return sloppy(rt, text, typo_p=0.2, lower_p=0.12, unpunctuated_p=0.2)


REVIEWS: dict[int, tuple[Phrasing, ...]] = {
    5: _pool(
        "Love the {product}! Works perfectly and arrived fast.|praise_feedback|advocacy|delight",
        "Excellent quality, would buy the {product} again.|praise_feedback|advocacy|satisfaction",
        "Five stars, the {product} exceeded my expectations.|praise_feedback|advocacy|delight",
        "Bought the {product} for my dad and he uses it every day. Recommended!|praise_feedback|advocacy|delight",
        "Does exactly what it says. Great {product}.|praise_feedback|advocacy|satisfaction",
    ),
    4: _pool(
        "Very good {product}, minor issues with the packaging.|praise_feedback|advocacy|satisfaction",
        "Happy with the {product}, a bit pricey though.|praise_feedback|advocacy|satisfaction",
        "Nice {product}, took a while to arrive but worth it.|praise_feedback|advocacy|satisfaction",
    ),
    3: _pool(
        "The {product} is okay, nothing special.|praise_feedback|advocacy|neutral",
        "Average. The {product} does the job.|praise_feedback|advocacy|neutral",
        "It's fine, though I expected the {product} to feel sturdier.|praise_feedback|advocacy|disappointment",
    ),
    2: _pool(
        "Disappointed with the {product}, it feels cheap.|praise_feedback|advocacy|disappointment",
        "The {product} broke after a few uses.|refund_return|retention|disappointment",
        "Not worth the money. The {product} stopped working after a month.|complaint|retention|disappointment",
    ),
    1: _pool(
        "Terrible. The {product} never worked and support was no help.|complaint|advocacy|frustration",
        "Waste of money, do not buy the {product}.|praise_feedback|advocacy|disappointment",
        "Arrived broken and I'm still waiting for my refund. Avoid.|refund_return|purchase|frustration",
    ),
}
NPS: dict[str, tuple[Phrasing, ...]] = {
    "promoter": _pool(
        "Great service, I recommend you to friends.|praise_feedback|advocacy|satisfaction",
        "Always reliable, love it.|praise_feedback|advocacy|delight",
        "Already told my colleagues about you.|praise_feedback|advocacy|delight",
    ),
    "passive": _pool(
        "Good, but shipping could be faster.|praise_feedback|advocacy|neutral",
        "Fine overall.|praise_feedback|advocacy|neutral",
        "Decent, a little expensive.|praise_feedback|advocacy|neutral",
    ),
    "detractor": _pool(
        "Billing problems every month.|billing_payment|retention|frustration",
        "Too expensive for what it is.|complaint|retention|disappointment",
        "Support never answers.|complaint|retention|frustration",
        "Deliveries are always late.|delivery_shipping|retention|frustration",
    ),
}
