"""A known customer's contact channels: ESP emails, support tickets, reviews and NPS answers.

Mixed into ``CustomerSim``; these rows carry the email (sometimes oddly cased and padded) and
only sometimes the customer id, so the warehouse has to stitch them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from journeymap.generator.clock import DAY, HOUR
from journeymap.generator.friction import payment_failure_message
from journeymap.generator.params import (
    EMAIL_BOUNCE,
    EMAIL_DELIVERED,
    EMAIL_ROW_HAS_ID,
    EMAIL_UNSUBSCRIBE,
    EMAIL_VARIANT_SHARE,
    FEATURES,
    PRODUCTS,
    REVIEW_ROW_HAS_ID,
    SUPPORT_ROW_HAS_ID,
)
from journeymap.generator.person import ID_DOMAIN, TICKET_DOMAIN
from journeymap.generator.rng import Draw, Weighted, log_uniform, pick, uniform_int
from journeymap.generator.schema import EMAIL, REVIEWS, SOURCE_NAMES, SUPPORT, csv_field
from journeymap.generator.texts import (
    NPS_SENTIMENT,
    PHONE_OPENERS,
    SUBJECTS,
    agent_text,
    customer_text,
    emotion_for,
    nps_bucket,
    nps_text,
    review_sentiment,
    review_text,
)
from journeymap.generator.wording import Written, dress

if TYPE_CHECKING:
    from journeymap.generator.customer import CustomerSim
    from journeymap.generator.person import Session

CLICK, UNSUB = "click_session", "unsubscribe"  # agenda kinds this module schedules
TICKET_MESSAGES = Weighted({1: 0.25, 2: 0.35, 3: 0.25, 4: 0.15})
SUPPORT_CHANNELS = Weighted({"email": 0.45, "chat": 0.35, "phone": 0.20})
CSAT_SHARE = 0.40
CSAT = {
    "negative": Weighted({1: 0.50, 2: 0.35, 3: 0.15}),
    "neutral": Weighted({3: 0.50, 4: 0.40, 5: 0.10}),
    "positive": Weighted({4: 0.30, 5: 0.70}),
}
_CURRENCY_SIGN = {"USD": "$", "EUR": "€", "GBP": "£"}
_EMAIL_DOMAINS = ("Example.COM", "EXAMPLE.COM", "Example.com", "eXample.com")


def email_variant(r: Draw, canonical: str) -> str:
    """``  C0000001@Example.COM ``: the same mailbox as another system might spell it."""
    local = canonical.split("@", 1)[0]
    name = local.upper() if r() < 0.7 else local
    return (
        " " * uniform_int(r, 1, 2)
        + f"{name}@{pick(r, _EMAIL_DOMAINS)}"
        + " " * uniform_int(r, 0, 2)
    )


def _message_gap(r: Draw, channel: str) -> int:
    if channel == "email":
        return uniform_int(r, HOUR, 20 * HOUR)
    if channel == "chat":
        return uniform_int(r, 20, 240)
    return uniform_int(r, 15, 90)  # phone: turns of one call


class CustomerChannels:
    """Email, support and review rows of a known customer (expects CustomerSim's attributes)."""

    def contact_email(self: CustomerSim) -> str:
        r = self.r
        return email_variant(r, self.email) if r() < EMAIL_VARIANT_SHARE else self.email

    # --- email --------------------------------------------------------------------------
    def send_email(self: CustomerSim, t: int, campaign_id: str, kind: str) -> None:
        """sent -> delivered (or bounce) -> open -> click, maybe an unsubscribe."""
        r, p = self.r, self.persona
        self._email_row(t, campaign_id, "sent")
        u = r()
        if u < EMAIL_BOUNCE:
            self._email_row(t + uniform_int(r, 5, 120), campaign_id, "bounce")
            return
        if u >= EMAIL_BOUNCE + EMAIL_DELIVERED:
            return  # lost on the way: the ESP reports nothing more
        last = t + uniform_int(r, 1, 60)
        self._email_row(last, campaign_id, "delivered")
        boost = 1.5 if kind == "welcome" else 1.0
        if r() < p.email_open * boost:
            last += int(log_uniform(r, 60, 2 * DAY))
            self._email_row(last, campaign_id, "open")
            if r() < p.email_click * (1.3 if kind in ("promo", "winback") else 1.0):
                last += uniform_int(r, 5, 300)
                self._email_row(last, campaign_id, "click")
                self.schedule(last + uniform_int(r, 10, 240), CLICK, campaign_id)
        if r() < EMAIL_UNSUBSCRIBE:
            self.schedule(last + uniform_int(r, 10, 600), UNSUB, campaign_id)

    def _email_row(self: CustomerSim, t: int, campaign_id: str, event_type: str) -> None:
        cid = self.cid if self.r() < EMAIL_ROW_HAS_ID else ""
        row = (
            self.new_id(EMAIL),
            cid,
            self.contact_email(),
            campaign_id,
            event_type,
            self.fmt(t),
        )
        self.emit(t, EMAIL, row)

    def unsubscribe(self: CustomerSim, t: int, campaign_id: str) -> None:
        self._email_row(t, campaign_id, "unsubscribe")
        self.unsubscribed = True
        self.consent_email = False
        self.crm_version(t)

    # --- support --------------------------------------------------------------------------
    def ticket(
        self: CustomerSim, t: int, intent: str, sentiment: str, complaint: bool = False
    ) -> None:
        """1-4 messages alternating customer and agent on one channel."""
        r, fmt = self.r, self.fmt
        n_messages, channel = TICKET_MESSAGES.pick(r), SUPPORT_CHANNELS.pick(r)
        ticket_id = self.ticket_id()
        cid = self.cid if r() < SUPPORT_ROW_HAS_ID else ""
        email = self.contact_email()
        subject = pick(r, SUBJECTS[intent]) if channel == "email" else ""
        csat_on = r() < CSAT_SHARE
        fill = self._fill()
        msg_intent, msg_sentiment = intent, sentiment
        for k in range(n_messages):
            if k:
                t += _message_gap(r, channel)
            if k % 2 == 0:
                if k:
                    msg_intent, msg_sentiment = self._follow_up(intent, sentiment, complaint)
                emotion = emotion_for(r, msg_intent, msg_sentiment)
                written = customer_text(r, msg_intent, msg_sentiment, emotion, fill)
                body = dress(self.rt, written.text, typed=channel != "phone")
                author = "customer"
            else:
                body, author = agent_text(r, intent, fill), "agent"
            if channel == "phone":
                opener = pick(r, PHONE_OPENERS) if author == "customer" else ""
                body = f"[call transcript] {author.capitalize()}: {opener}{body}"
            last = k == n_messages - 1
            csat = str(CSAT[sentiment].pick(r)) if csat_on and last else ""
            message_id = self.new_id(SUPPORT)
            row = (
                message_id,
                ticket_id,
                cid,
                email,
                channel,
                author,
                fmt(t),
                csv_field(subject if k == 0 or not subject else f"Re: {subject}"),
                csv_field(body),
                csat,
            )
            if self.emit(t, SUPPORT, row) and author == "customer":
                self.add_text_truth(SUPPORT, message_id, msg_intent, msg_sentiment, written)
                if msg_intent == "billing" and msg_sentiment == "negative":
                    self.billing_complaints += 1
                    self.complaint_times.append(t)

    def _follow_up(
        self: CustomerSim, intent: str, sentiment: str, complaint: bool
    ) -> tuple[str, str]:
        r = self.r
        if complaint:  # half stay angry (a second complaint), half calm down
            return (
                ("billing", "negative")
                if r() < 0.5
                else ("billing", pick(r, ("neutral", "positive")))
            )
        if r() < 0.6:
            return intent, sentiment
        return intent, "positive" if intent == "praise" else "neutral"

    def _fill(self: CustomerSim) -> dict[str, str]:
        r = self.r
        if self.orders:
            order_id, amount, currency, product = self.orders[-1]
        else:
            order_id, amount, currency, product = (
                "my last order",
                pick(r, PRODUCTS)[2],
                "USD",
                pick(r, PRODUCTS)[1],
            )
        return {
            "order": order_id,
            "amount": f"{_CURRENCY_SIGN[currency]}{amount:.2f}",
            "product": product,
            "plan": self.plan or self.plan_choice or "basic",
            "feature": pick(r, FEATURES).replace("_", " "),
        }

    def payment_failed(self: CustomerSim, s: Session) -> None:
        payment_failure_message(self, s)

    def text_ids(self: CustomerSim) -> tuple[str, str]:
        """A message id and a ticket id from the text stream's own counter."""
        self._text_ids += 2
        ids = self.ctx.ids
        message = "msg_" + ids.hex16(ID_DOMAIN[SUPPORT], self.key, self._text_ids)
        return message, "tkt_" + ids.hex16(TICKET_DOMAIN, self.key, self._text_ids + 1)

    # --- reviews and NPS --------------------------------------------------------------------
    def review(self: CustomerSim, t: int, product: str) -> None:
        r, p = self.r, self.persona
        noise = (r() + r() + r() - 1.5) * 1.6
        score = min(5, max(1, round(p.review_mean + noise - (1.5 if self.cancelled else 0.0))))
        written = review_text(r, score, product)
        self._review_row(t, "review", score, written, review_sentiment(score))

    def nps(self: CustomerSim, t: int) -> None:
        r, p = self.r, self.persona
        noise = (r() + r() + r() - 1.5) * 3.0
        score = min(10, max(0, round(p.nps_mean + noise - (3.0 if self.cancelled else 0.0))))
        written = nps_text(r, score) if r() < 0.5 else None
        self._review_row(t, "nps", score, written, NPS_SENTIMENT[nps_bucket(score)])

    def _review_row(
        self: CustomerSim,
        t: int,
        review_type: str,
        score: int,
        written: Written | None,
        sentiment: str,
    ) -> None:
        cid = self.cid if self.r() < REVIEW_ROW_HAS_ID else ""
        review_id = self.new_id(REVIEWS)
        body = dress(self.rt, written.text, typed=True) if written is not None else ""
        row = (
            review_id,
            cid,
            self.contact_email(),
            review_type,
            self.fmt(t),
            str(score),
            csv_field(body),
        )
        if self.emit(t, REVIEWS, row) and written is not None:
            self.add_text_truth(REVIEWS, review_id, "", sentiment, written)

    def add_text_truth(
        self: CustomerSim, src: int, text_id: str, topic: str, sentiment: str, w: Written, theme=""
    ) -> None:
        """The label truth of a text the customer wrote (ground_truth/texts.csv)."""
        self.texts.append(
            (SOURCE_NAMES[src], text_id, topic, sentiment, w.intent, w.stage, w.emotion, theme)
        )
