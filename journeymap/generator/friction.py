"""The planted friction theme: customers whose payment fails at checkout write in about it.

The planted checkout drop-off (``params.PAYMENT_RATE``: mobile payments fail far more often)
has a voice: after a failed payment step a customer writes a support message with the share
``WRITES_IN`` of their device - mostly on mobile, so the theme is "payment fails on my
phone". The message follows the failure by minutes to hours, on chat or email, and its label
truth carries ``THEME``. Everything here draws from the person's text stream and its own id
counter, so the rest of the simulation is the same with or without the theme.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from journeymap.generator.clock import HOUR, MINUTE
from journeymap.generator.params import EMAIL_VARIANT_SHARE, SUPPORT_ROW_HAS_ID
from journeymap.generator.rng import pick, uniform_int
from journeymap.generator.schema import SUPPORT, csv_field
from journeymap.generator.wording import (
    MOBILE_PAYMENT_FAILURES,
    PAYMENT_FAILURES,
    compose,
    dress,
)

if TYPE_CHECKING:
    from journeymap.generator.customer import CustomerSim
    from journeymap.generator.person import Session
    from journeymap.generator.truth import Tallies

THEME = "payment_failure"
STAGE = "purchase"
# P(a customer writes in | their payment step failed), by device.
WRITES_IN = {"mobile": 0.15, "tablet": 0.03, "desktop": 0.03}
SUBJECTS = ("Payment problem", "Can't pay", "Checkout error")
FEELINGS = ("frustration", "confusion", "anxiety")
TEXT_ID_BASE = 1 << 22  # ids of text-stream rows count from here (genuine ids count from 1)


def payment_failure_message(sim: CustomerSim, s: Session) -> None:
    """Maybe one customer message about the failed payment of session ``s``."""
    rt = sim.rt
    if rt() >= WRITES_IN.get(s.dev.type, 0.0):
        return
    pool = MOBILE_PAYMENT_FAILURES if s.dev.type == "mobile" else PAYMENT_FAILURES
    feeling = pick(rt, FEELINGS) if rt() < 0.5 else None
    written = compose(rt, pick(rt, pool), {}, feeling)
    channel = "chat" if rt() < 0.6 else "email"
    t = s.t + uniform_int(rt, 5 * MINUTE, 6 * HOUR)
    email = sim.email
    if rt() < EMAIL_VARIANT_SHARE:
        email = sim.email.upper()
    message_id, ticket_id = sim.text_ids()
    row = (
        message_id,
        ticket_id,
        sim.cid if rt() < SUPPORT_ROW_HAS_ID else "",
        email,
        channel,
        "customer",
        sim.fmt(t),
        csv_field(pick(rt, SUBJECTS) if channel == "email" else ""),
        csv_field(dress(rt, written.text, typed=True)),
        "",
    )
    if sim.emit(t, SUPPORT, row):
        sim.add_text_truth(SUPPORT, message_id, "technical", "negative", written, THEME)


def friction_truth(t: Tallies) -> dict[str, Any]:
    return {
        "theme": THEME,
        "description": "payment failures at checkout, mostly on mobile (the planted drop-off)",
        "journey_stage": STAGE,
        "writes_in_after_a_failed_payment": WRITES_IN,
        "texts": t.themes[THEME],
    }
