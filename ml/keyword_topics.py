"""A small keyword tagger for customer support text: topic and negative wording.

It is a stopgap until the text model (a later issue) writes ``ml.message_labels``; churn
features only need a coarse, explainable signal: "this customer complained about billing".

Topic: each topic has a list of keyword patterns (regular expressions, matched on the
lower-cased message body; on the subject only when the body has no keyword at all). A
message's topic is the one with the most pattern hits; ties go to the earlier topic in
``TOPICS`` (billing first: billing complaints often mention an order too). ``praise`` counts
only when no other topic matched, because thanks and compliments are sprinkled over every
kind of message. No hit at all gives ``other``. ``cancellation`` is a seventh topic next to
billing, delivery, technical, account, how_to and praise: "cancel my plan" is its own signal.

Negative wording: a message is negative when it matches at least one pattern of
``NEGATIVE_PATTERNS`` (complaint and anger vocabulary). A *billing complaint* is a billing
message with negative wording.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

TOPICS: tuple[str, ...] = (
    "billing",
    "cancellation",
    "delivery",
    "technical",
    "account",
    "how_to",
    "praise",
)
OTHER_TOPIC = "other"

TOPIC_PATTERNS: dict[str, tuple[str, ...]] = {
    "billing": (
        r"\bcharg(?:e|ed|es|ing)\b",
        r"\bovercharg",
        r"\bbill(?:s|ed|ing)?\b",
        r"\binvoice",
        r"\brefund",
        r"\bpaid\b",
        r"\bpayment",
        r"\bprice\b",
        r"\breceipt\b",
        r"\bvat\b",
        r"\bcard\b",
        r"\bstatement\b",
        r"\bmoney back\b",
    ),
    "cancellation": (
        r"\bcancel",
        r"\bclose my\b",
        r"\bend my (?:plan|subscription)",
    ),
    "delivery": (
        r"\bdeliver",
        r"\bship(?:ping|ped|s)?\b",
        r"\btracking\b",
        r"\barriv",
        r"\bparcel\b",
        r"\bpack(?:ed|age|aging)\b",
        r"\bcarrier\b",
        r"\bcourier\b",
        r"\bdamaged\b",
        r"\bcrushed\b",
        r"\bwrong item\b",
        r"\b(?:week|days?) late\b",
        r"\bwhere is my\b",
    ),
    "technical": (
        r"\bapp\b",
        r"\bcrash",
        r"\berrors?\b",
        r"\bbroken\b",
        r"\bblank screen\b",
        r"\bloads? slowly\b",
        r"\bbrowsers?\b",
        r"\bwebsite\b",
        r"\bsite\b",
        r"\bpage\b",
        r"\bfails?\b",
        r"\bbug",
    ),
    "account": (
        r"\baccounts?\b",
        r"\bpassword\b",
        r"\blocked\b",
        r"\bemail address\b",
        r"\bphone number\b",
        r"\bmy details\b",
        r"\bupdate my\b",
        r"\bmerge\b",
        r"\breset\b",
        r"\bget back in\b",
    ),
    "how_to": (
        r"\bhow (?:do|can|to)\b",
        r"\bwhere can i\b",
        r"\bis there a way\b",
        r"\bquick question\b",
        r"\bcan i\b",
        r"\bguide\b",
    ),
    "praise": (
        r"\bthank",
        r"\bthanks\b",
        r"\bfantastic\b",
        r"\bbrilliant\b",
        r"\bexcellent\b",
        r"\blove\b",
        r"\bgreat\b",
        r"\bhappy\b",
        r"\bbest\b",
        r"\bkeep it up\b",
        r"\bmade my day\b",
    ),
}

NEGATIVE_PATTERNS: tuple[str, ...] = (
    r"\btwice\b",
    r"\bduplicate\b",
    r"\bovercharg",
    r"\bnever authori[sz]ed\b",
    r"\ba mess\b",
    r"\bwrong (?:price|item|amount|charge)\b",
    r"\bmoney back\b",
    r"\bstill waiting\b",
    r"\bsecond time\b",
    r"\bagain\b",
    r"\bi am leaving\b",
    r"\bnobody\b",
    r"\blate\b",
    r"\bdamaged\b",
    r"\bcrushed\b",
    r"\bnothing came\b",
    r"\bdisappoint",
    r"\bcrash",
    r"\buseless\b",
    r"\bcannot\b",
    r"\bcan't\b",
    r"\bbroken\b",
    r"\bfails\b",
    r"\berrors out\b",
    r"\bdoes not work\b",
    r"\bnot working\b",
    r"\blocked\b",
    r"\bunacceptable\b",
    r"\bfurious\b",
    r"\bridiculous\b",
    r"\bfrustrat",
    r"\btiring\b",
    r"\bterrible\b",
    r"\bwaste\b",
    r"\bdone with\b",
    r"\bnot worth\b",
    r"\bproblems\b",
    r"\btoo many issues\b",
    r"\bsort it out\b",
)

_TOPIC_REGEXES: dict[str, tuple[re.Pattern[str], ...]] = {
    topic: tuple(re.compile(p) for p in patterns) for topic, patterns in TOPIC_PATTERNS.items()
}
_NEGATIVE_REGEX = re.compile("|".join(f"(?:{p})" for p in NEGATIVE_PATTERNS))


def _normalise(text: pd.Series) -> pd.Series:
    return text.fillna("").astype(str).str.lower().str.replace("\u2019", "'", regex=False)


def _topics(lowered: pd.Series) -> np.ndarray:
    hits = np.zeros((len(lowered), len(TOPICS)), dtype=np.int32)
    for j, topic in enumerate(TOPICS):
        for regex in _TOPIC_REGEXES[topic]:
            hits[:, j] += lowered.str.contains(regex, regex=True).to_numpy(dtype=bool)
    praise = TOPICS.index("praise")
    others = np.delete(hits, praise, axis=1).sum(axis=1) > 0
    hits[others, praise] = 0
    best = hits.argmax(axis=1)  # first maximum: ties go to the earlier topic
    names = np.array(TOPICS, dtype=object)[best]
    names[hits.max(axis=1) == 0] = OTHER_TOPIC
    return names


def tag_messages(body: pd.Series, subject: pd.Series | None = None) -> pd.DataFrame:
    """Topic and negative wording of each message (same index as ``body``).

    The topic comes from the body; only a body without any topic keyword falls back to the
    subject (a follow-up's subject names the ticket's first topic, not necessarily its own).
    Returns columns ``topic`` (one of ``TOPICS`` or ``"other"``) and ``is_negative`` (bool).
    """
    lowered = _normalise(body)
    # Tag each distinct text once (templated and repeated messages are common).
    codes, distinct = pd.factorize(lowered)
    distinct = pd.Series(distinct, dtype=object)
    topics = _topics(distinct)[codes]
    negative = distinct.str.contains(_NEGATIVE_REGEX, regex=True).to_numpy(dtype=bool)[codes]
    if subject is not None:
        untagged = topics == OTHER_TOPIC
        if untagged.any():
            topics[untagged] = _topics(_normalise(subject[untagged]))
    return pd.DataFrame(
        {
            "topic": pd.Series(topics, index=body.index, dtype=object),
            "is_negative": negative,
        },
        index=body.index,
    )
