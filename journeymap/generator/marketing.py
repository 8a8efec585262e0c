"""Paid media: the daily spend the ad platforms report, and the planted attribution truth.

Spend follows the simulated ad clicks: every visit a paid channel brought (paid search, paid
social, retargeting display ads) costs its campaign's cost per click, and each campaign's
daily bill varies by +-10% around that (bids and auctions move). The rows land in
``marketing_spend``, one per day, channel and campaign with clicks, in that day's file.

The planted truth (params.py): email clicks lift purchases, retargeting ads do not.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from journeymap.generator.clock import DAY, Clock
from journeymap.generator.params import (
    COST_PER_CLICK,
    EMAIL_CLICK_ATTEMPT_BOOST,
    EMAIL_CLICK_ATTEMPT_BOOST_OTHER,
    EMAIL_LIFT,
    EMAIL_LIFT_DAYS,
    RETARGETING_CAMPAIGN,
    RETARGETING_SHARE,
)
from journeymap.generator.rng import SPEND_STREAM, person_rng

SPEND_CURRENCY = "USD"
SPEND_NOISE = 0.10
# The simulation's channel of a paid visit -> the channel its campaign tags resolve to in the
# warehouse (macros/traffic.sql: utm_medium cpc, paid_social, display).
SPEND_CHANNEL = {
    "paid_search": "paid_search",
    "paid_social": "paid_social",
    "retargeting": "display",
}
LIFTING_CHANNEL, NO_LIFT_CHANNEL = "email", SPEND_CHANNEL["retargeting"]


def paid_clicks(visits: list[tuple[int, str, str]]) -> Counter[tuple[int, str, str]]:
    """Paid visits per (day start, warehouse channel, campaign)."""
    return Counter(
        (t - t % DAY, SPEND_CHANNEL[channel], campaign) for t, channel, campaign in visits
    )


def spend_rows(
    clicks: Counter[tuple[int, str, str]], clock: Clock, seed: int
) -> list[tuple[int, tuple[str, ...]]]:
    """(route time, contract row) per day, channel and campaign with clicks, in a fixed order."""
    r = person_rng(seed, 0, SPEND_STREAM).random
    rows = []
    for (day, channel, campaign), count in sorted(clicks.items()):
        cost = COST_PER_CLICK[channel, campaign] * count * (1 + SPEND_NOISE * (2 * r() - 1))
        rows.append((day, (clock.fmt(day), channel, campaign, f"{cost:.2f}", SPEND_CURRENCY)))
    return rows


def attribution_truth(
    retargeted_visits: list[int], email_click_visits: int, clicks: Counter[tuple[int, str, str]]
) -> dict[str, Any]:
    """The planted attribution truth and what the simulation realized of it."""
    without_attempt, with_attempt = retargeted_visits
    return {
        "lifting_channel": LIFTING_CHANNEL,
        "lifting_mechanism": (
            "an email campaign click brings the customer to the shop in a visit of its own "
            "whose purchase-attempt probability is the persona's times the boost, and for the "
            "lift days after it the add-to-cart and checkout steps of the customer's purchase "
            "attempts succeed lift times as often"
        ),
        "email_click_attempt_boost": {
            **EMAIL_CLICK_ATTEMPT_BOOST,
            "other": EMAIL_CLICK_ATTEMPT_BOOST_OTHER,
        },
        "email_lift": EMAIL_LIFT,
        "email_lift_days": EMAIL_LIFT_DAYS,
        "no_lift_channel": NO_LIFT_CHANNEL,
        "no_lift_campaign": RETARGETING_CAMPAIGN,
        "no_lift_mechanism": (
            "a known customer's returning visit, and whether it holds a purchase attempt, is "
            "decided first; the retargeting ad then tags it, more often when it will attempt"
        ),
        "retargeting_share": {
            "with_attempt": RETARGETING_SHARE[0],
            "without": RETARGETING_SHARE[1],
        },
        "realized": {
            "email_click_visits": email_click_visits,
            "retargeted_visits": with_attempt + without_attempt,
            "retargeted_visits_with_attempt": with_attempt,
            "paid_clicks": {
                channel: sum(n for (_, c, _), n in clicks.items() if c == channel)
                for channel in sorted(set(SPEND_CHANNEL.values()))
            },
        },
    }
