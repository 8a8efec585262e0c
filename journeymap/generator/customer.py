"""A customer's life in the window: anonymous browsing, sign-up, then a time-ordered agenda of
sessions, campaigns, support tickets, orders, a subscription and maybe its cancellation.

The planted churn driver lives in ``_first_order``/``_subscribe``: billing complaints are drawn
when a customer starts paying, and the cancellation odds follow their count.
"""

from __future__ import annotations

import heapq
from typing import Any

from journeymap.generator.channels import CLICK, UNSUB, CustomerChannels
from journeymap.generator.clock import DAY, HOUR, MINUTE, Campaign
from journeymap.generator.friction import TEXT_ID_BASE
from journeymap.generator.params import (
    BASELINE_CANCEL_PROBABILITY,
    CANCEL_AFTER_COMPLAINT,
    CANCEL_DELAY_DAYS,
    CONSENT_EMAIL,
    CONSENT_SMS,
    CURRENCY_EMEA,
    EMAIL_CLICK_ATTEMPT_BOOST,
    EMAIL_CLICK_ATTEMPT_BOOST_OTHER,
    EMAIL_LIFT,
    EMAIL_LIFT_DAYS,
    LAPSED_DAYS,
    MAX_ATTEMPT,
    NPS_SHARE,
    ORDER_STATUS,
    PERSONA_CHOICE,
    PRE_EXISTING_SHARE,
    REGIONS,
    RETARGETING_SHARE,
    SESSION_GAP_MIN,
)
from journeymap.generator.person import (
    ATTEMPT_HEADROOM,
    ORDER_PLACED,
    PROPS_LOGIN,
    PROPS_SIGNUP,
    Device,
    PersonSim,
    Session,
    SimContext,
)
from journeymap.generator.rng import TEXT_STREAM, expo, person_rng, pick, poisson, uniform_int
from journeymap.generator.schema import CRM, IDENTIFIES, ORDERS, SUBSCRIPTIONS
from journeymap.generator.texts import GENERAL_INTENTS, GENERAL_SENTIMENT
from journeymap.generator.truth import PersonOutput, funnel_progress

SESSION, CAMPAIGN, CANCEL, TICKET, REVIEW, NPS = (
    "session",
    "campaign",
    "cancel",
    "ticket",
    "review",
    "nps",
)
SECOND_DEVICE_SHARE = 0.30  # of sessions once a second device exists
# Session-rate factor after a cancellation, and within 45 days before it (disengagement).
CHURN_SLOWDOWN = ((0.05, 0.0), (0.1, 45.0))
LOGIN_URL, SIGNUP_URL = "https://shop.example.com/login", "https://shop.example.com/signup"


def _b(value: bool) -> str:
    return "true" if value else "false"


class CustomerSim(CustomerChannels, PersonSim):
    def __init__(self, ctx: SimContext, index: int) -> None:
        super().__init__(ctx, index)
        r = self.r
        persona = self.persona = PERSONA_CHOICE.pick(r)
        number = f"{index + 1:07d}"
        self.cid = f"C{number}"
        self.email = f"c{number}@example.com"
        self.phone = f"+1555{index % 10_000_000:07d}"
        self.region = REGIONS.pick(r)
        self.consent_email = r() < CONSENT_EMAIL
        self.consent_sms = r() < CONSENT_SMS
        self.acquisition = persona.acquisition.pick(r)
        self.pre_existing = r() < PRE_EXISTING_SHARE
        dtype = persona.devices.pick(r)
        self.new_device(dtype, dtype != "desktop" and r() < persona.app_share)
        # lifecycle state
        self.signed_up_at: int | None = None
        self.created_str = ""
        self.stage, self.plan, self.plan_choice = "", "", ""
        self.crm_last = -(10**12)
        self.orders: list[tuple[str, float, str, str]] = []  # id, amount, currency, product
        self.first_order_at: int | None = None
        self.sub: tuple[str, str, int] | None = None  # id, plan, started_at
        self.cancel_at: int | None = None
        self.cancelled = False
        self.unsubscribed = False
        self.referred = False
        self.second_device_at: int | None = None
        self.billing_complaints = 0
        self.complaint_times: list[int] = []
        self.cancelled_over_billing = False
        self.texts: list[tuple[str, ...]] = []  # label truth of what they wrote
        self.rt = person_rng(ctx.seed, index, TEXT_STREAM).random
        self._text_ids = TEXT_ID_BASE
        self.retargeted_visits = [0, 0]  # without / with a purchase attempt
        self.email_click_visits = 0
        self.email_lift_until = -(10**12)
        self._agenda: list[tuple[int, int, str, Any]] = []
        self._agenda_n = 0

    # --- the whole life -----------------------------------------------------------------
    def run(self) -> PersonOutput:
        if self.pre_existing:
            self._known_before_window()
        else:
            self._acquire()
        self._live()
        return self._output()

    def schedule(self, t: int, kind: str, data: Any = None) -> None:
        self._agenda_n += 1
        heapq.heappush(self._agenda, (t, self._agenda_n, kind, data))

    def _known_before_window(self) -> None:
        """In the CRM for months already: the window's first load carries their contact."""
        clock, r = self.ctx.clock, self.r
        self.signed_up_at = clock.start - uniform_int(r, 30, 700) * DAY + uniform_int(r, 0, DAY - 1)
        self.created_str = clock.fmt(self.signed_up_at)
        self.stage = "customer" if r() < 0.6 else "lead"
        self.known = True
        self.crm_version(clock.start + uniform_int(r, 0, 6 * HOUR))

    def _acquire(self) -> None:
        """Anonymous sessions, then the sign-up session (earlier if a checkout needs it)."""
        clock, r, p = self.ctx.clock, self.r, self.persona
        latest_first = max(clock.start, clock.end - 2 * DAY)
        t = clock.start + int(r() * (latest_first - clock.start + 1))
        t = min(t, clock.end - 4 * HOUR)
        n_pre = uniform_int(r, *p.pre_sessions)
        for i in range(n_pre + 1):
            last = i == n_pre or t >= clock.end - 12 * HOUR
            channel = self.acquisition if i == 0 else p.returning.pick(r)
            self.run_session(
                self.devices[0], t, channel, self._campaign_for(channel, t), signup=last
            )
            if self.signed_up_at is not None:
                return
            t = self.last_end + SESSION_GAP_MIN + int(expo(r, p.pre_gap_days * DAY))
            t = min(t, clock.end - 4 * HOUR)  # leave room for the sign-up session

    def _campaign_for(self, channel: str, t: int) -> str:
        """Acquisition by email: a promo forwarded from a partner newsletter."""
        return f"promo_{self.fmt(t)[:7].replace('-', '')}" if channel == "email" else ""

    def _live(self) -> None:
        """Known customer: process the agenda in time order until the window ends."""
        if self.signed_up_at is None:
            return
        clock, r, p = self.ctx.clock, self.r, self.persona
        t0 = max(self.signed_up_at, clock.start)
        for c in self.ctx.campaigns:
            jitter = int(r() * 90 * MINUTE)  # ESP batches
            if c.sent_at > t0:
                self.schedule(c.sent_at + jitter, CAMPAIGN, c)
        self.schedule(self._next_session(max(t0, self.last_end)), SESSION)
        for _ in range(poisson(r, p.tickets_per_30d * (clock.end - t0) / (30 * DAY))):
            self.schedule(t0 + int(r() * (clock.end - t0)), TICKET)
        if r() < NPS_SHARE:
            self.schedule(t0 + uniform_int(r, 10 * DAY, 60 * DAY), NPS)
        if r() < p.second_device:
            self.second_device_at = t0 + int(expo(r, 20 * DAY))
        handlers = {
            SESSION: self._organic_session,
            CLICK: self._email_session,
            CAMPAIGN: self._campaign,
            CANCEL: self._cancel,
            TICKET: self._general_ticket,
            REVIEW: self.review,
            NPS: self.nps,
            UNSUB: self.unsubscribe,
        }
        agenda = self._agenda
        while agenda:
            t, _, kind, data = heapq.heappop(agenda)
            if t > clock.end:
                break
            if data is None:
                handlers[kind](t)
            else:
                handlers[kind](t, data)

    # --- sessions -------------------------------------------------------------------------
    def _rate_factor(self, t: int) -> float:
        """Engagement fades before a cancellation and mostly stops after it."""
        if self.cancel_at is None:
            return 1.0
        for factor, days_before in CHURN_SLOWDOWN:
            if t >= self.cancel_at - days_before * DAY:
                return factor
        return 1.0

    def _next_session(self, after: int) -> int:
        rate = self.persona.session_rate * self._rate_factor(after)
        return after + SESSION_GAP_MIN + int(expo(self.r, DAY / rate))

    def _organic_session(self, t: int) -> None:
        t = max(t, self.last_end + SESSION_GAP_MIN)
        dev = self._session_device(t)
        if dev is not None and t <= self.ctx.clock.end:
            r = self.r
            buying = self._may_attempt(t, self.persona.attempt)
            # The planted no-lift channel: whether this visit buys is settled above; the ad
            # only follows customers about to buy and becomes the visit's campaign tag.
            retargeted = r() < RETARGETING_SHARE[0 if buying else 1]
            channel = "retargeting" if retargeted else self.persona.returning.pick(r)
            self.retargeted_visits[buying] += retargeted
            self.run_session(dev, t, channel, attempt_p=1.0 if buying else 0.0)
        self.schedule(self._next_session(max(t, self.last_end)), SESSION)

    def _email_session(self, t: int, campaign_id: str) -> None:
        """A click opens the shop soon after (skipped if a session is still running) and
        makes purchases likelier for EMAIL_LIFT_DAYS."""
        self.email_lift_until = t + EMAIL_LIFT_DAYS * DAY
        if t < self.last_end + SESSION_GAP_MIN:
            return
        dev = self._session_device(t)
        if dev is None:
            return
        # The planted lift: a visit that only the email brought, more likely to buy.
        kind = campaign_id.split("_", 1)[0]
        boost = EMAIL_CLICK_ATTEMPT_BOOST.get(kind, EMAIL_CLICK_ATTEMPT_BOOST_OTHER)
        attempt_p = min(MAX_ATTEMPT, self.persona.attempt * boost)
        self.email_click_visits += 1
        self.run_session(dev, t, "email", campaign_id, attempt_p=attempt_p)

    def _session_device(self, t: int) -> Device | None:
        devs, r = self.devices, self.r
        if self.second_device_at is not None and t >= self.second_device_at and len(devs) == 1:
            self._add_second_device()
        dev = devs[0]
        if len(devs) > 1 and (not devs[1].identified or r() < SECOND_DEVICE_SHARE):
            dev = devs[1]
        if not dev.identified and t + ATTEMPT_HEADROOM > self.ctx.clock.end:
            return devs[0] if devs[0].identified else None  # no time left to log in on it
        return dev

    def _add_second_device(self) -> None:
        r, first = self.r, self.devices[0]
        if first.type == "desktop":
            dtype = "mobile" if r() < 0.75 else "tablet"
        else:
            dtype = "desktop" if r() < 0.7 else ("tablet" if first.type == "mobile" else "mobile")
        self.new_device(dtype, dtype != "desktop" and r() < self.persona.app_share)

    def on_session_start(self, s: Session) -> None:
        """A known customer logs in on a device the first time it is used (identify call)."""
        if self.signed_up_at is None:
            return
        dev, r = s.dev, self.r
        if not dev.identified:
            for _ in range(uniform_int(r, 0, 2)):  # a little anonymous browsing first
                self.browse(s, self.persona.browse_pre.pick(r))
            dev.uid = self.cid
            if s.event("Logged In", LOGIN_URL, PROPS_LOGIN):
                self._identify(dev, s.t)
            else:
                dev.uid = ""
        elif r() < 0.2:
            s.event("Logged In", LOGIN_URL, PROPS_LOGIN)

    def on_session_body(self, s: Session) -> None:
        p = self.persona
        if self.orders and not self.cancelled and p.referral and self.r() < p.referral:
            self.browse(s, "Referral Sent")
            if not self.referred:
                self.referred = True
                self.stage = "evangelist"
                self.crm_version(s.t)

    def sign_up(self, s: Session) -> None:
        dev = s.dev
        dev.uid = self.cid  # the Signed Up event itself already carries the user id
        if not s.event("Signed Up", SIGNUP_URL, PROPS_SIGNUP):
            dev.uid = ""
            return
        t = s.t
        self.signed_up_at = t
        self.known = True
        self._identify(dev, t)
        self.created_str = self.fmt(t)
        self.stage = "lead"
        self.crm_version(t)
        self.send_email(t + uniform_int(self.r, 60, 300), "welcome", "welcome")

    def ready_to_checkout(self, s: Session) -> bool:
        if self.signed_up_at is None:  # "create an account to check out"
            self.sign_up(s)
        return self.signed_up_at is not None

    def step_lift(self, t: int) -> float:
        """The planted email lift on the add-to-cart and checkout steps (params.py)."""
        return EMAIL_LIFT if t < self.email_lift_until else 1.0

    def _identify(self, dev: Device, t: int) -> None:
        dev.identified = True
        self.emit(t, IDENTIFIES, (self.new_id(IDENTIFIES), dev.anon, self.cid, self.fmt(t)))

    # --- campaigns and tickets ------------------------------------------------------------
    def _campaign(self, t: int, campaign: Campaign) -> None:
        if not self.consent_email or self.unsubscribed:
            return
        lapsed = self.cancelled or t - self.last_end > LAPSED_DAYS * DAY
        if campaign.kind == "winback" and not lapsed:
            return
        self.send_email(t, campaign.campaign_id, campaign.kind)

    def _general_ticket(self, t: int) -> None:
        r = self.r
        intent = GENERAL_INTENTS.pick(r)
        if (intent == "delivery" and not self.orders) or (
            intent == "cancellation" and not self.sub
        ):
            intent = "how_to"
        self.ticket(t, intent, GENERAL_SENTIMENT[intent].pick(r))

    # --- money ----------------------------------------------------------------------------
    def place_order(self, s: Session, cart: float, product_name: str) -> None:
        r, p, clock = self.r, self.persona, self.ctx.clock
        t = s.t + uniform_int(r, 60, 600)
        status = ORDER_STATUS.pick(r)
        amount = round(min(300.0, max(20.0, cart * p.amount_factor * (0.9 + 0.2 * r()))), 2)
        currency = CURRENCY_EMEA.pick(r) if self.region == "emea" else "USD"
        order_id = self.new_id(ORDERS)
        row = (order_id, self.cid, clock.fmt(t), status, f"{amount:.2f}", currency)
        if not self.emit(t, ORDERS, row):
            return
        if status == "completed":
            self.funnel_events.append((t, ORDER_PLACED, s.dev.type))
        self.orders.append((order_id, amount, currency, product_name))
        if self.first_order_at is None:
            self._first_order(t)
        if r() < p.review:
            self.schedule(t + uniform_int(r, 2 * DAY, 10 * DAY), REVIEW, product_name)

    def _first_order(self, t: int) -> None:
        """A paying customer: CRM stage, billing complaints to come, maybe a subscription."""
        r, p, clock = self.r, self.persona, self.ctx.clock
        self.first_order_at = t
        if self.stage == "lead":
            self.stage = "customer"
            self.crm_version(t)
        subscribes = r() < p.subscribe
        self.plan_choice = p.plans.pick(r)
        # Billing complaints land in [first order + 1 day, end - 4 days] so whole tickets fit.
        lo, hi = t + DAY, clock.end - 4 * DAY
        if hi > lo:
            n = poisson(r, p.complaints_per_30d * (hi - lo) / (30 * DAY))
            for ts in sorted(lo + int(r() * (hi - lo)) for _ in range(n)):
                self.ticket(ts, "billing", "negative", complaint=True)
        if subscribes:
            self._subscribe(t + uniform_int(r, 2 * MINUTE, 10 * MINUTE))

    def _subscribe(self, t: int) -> None:
        """Start a subscription; whether it is cancelled follows the billing complaints."""
        fmt = self.fmt
        sub_id = self.new_id(SUBSCRIPTIONS)
        self.sub = (sub_id, self.plan_choice, t)
        self.plan = self.plan_choice
        self.emit(t, SUBSCRIPTIONS, (sub_id, self.cid, self.plan, fmt(t), "", fmt(t)))
        self.crm_version(t)
        self.cancel_at = self._cancel_time(t)
        if self.cancel_at is not None:
            self.schedule(self.cancel_at, CANCEL)

    def _cancel_time(self, started: int) -> int | None:
        """The planted churn driver: each billing complaint may tip the subscriber into
        cancelling 1-14 days later (more likely from the second on); a subscriber who never
        complains cancels with a small baseline probability at any time. None: stays."""
        r, end = self.r, self.ctx.clock.end
        complaints = sorted(ts for ts in self.complaint_times if ts >= started)
        for k, ts in enumerate(complaints):
            if r() < CANCEL_AFTER_COMPLAINT[min(k, 1)]:
                self.cancelled_over_billing = True
                delay = (CANCEL_DELAY_DAYS[0] * DAY, CANCEL_DELAY_DAYS[1] * DAY)
                return ts + uniform_int(r, *delay)
        if not complaints and r() < BASELINE_CANCEL_PROBABILITY and end > started + DAY:
            return started + DAY + int(r() * (end - started - DAY))
        return None

    def _cancel(self, t: int) -> None:
        r, fmt = self.r, self.fmt
        sub_id, plan, started = self.sub  # type: ignore[misc]
        if r() < 0.5:  # half say so to support first
            self.ticket(
                max(started + MINUTE, t - uniform_int(r, 5 * MINUTE, 3 * HOUR)),
                "cancellation",
                pick(r, ("negative", "neutral")),
            )
        self.emit(t, SUBSCRIPTIONS, (sub_id, self.cid, plan, fmt(started), fmt(t), fmt(t)))
        self.cancelled = True
        self.stage, self.plan = "churned", ""
        self.crm_version(t)

    def crm_version(self, t: int) -> None:
        """Write the contact as it is now (versions >= 3 s apart: keys stay unique)."""
        t = max(t, self.crm_last + 3)
        self.crm_last = t
        row = (
            self.cid,
            self.email,
            self.phone,
            self.created_str,
            self.stage,
            self.plan,
            self.region,
            _b(self.consent_email),
            _b(self.consent_sms),
            self.fmt(t),
        )
        self.emit(t, CRM, row)

    # --- ground truth -----------------------------------------------------------------------
    def _output(self) -> PersonOutput:
        fmt = self.fmt
        first = self.devices[0]
        used = [d.anon for d in self.devices if d.identified]
        churn_by_billing = self.cancelled and self.cancelled_over_billing
        row = (
            self.cid,
            self.persona.name,
            first.type,
            "app" if first.app else "web",
            self.acquisition,
            fmt(self.first_seen) if self.first_seen is not None else "",
            fmt(self.signed_up_at) if self.signed_up_at is not None else "",
            "|".join(used),
            str(self.billing_complaints),
            _b(self.sub is not None),
            _b(self.cancelled),
            _b(churn_by_billing),
        )
        churn = (self.billing_complaints, self.cancelled) if self.sub is not None else None
        return PersonOutput(
            records=self.records,
            persona=self.persona.name,
            customer=row,
            texts=self.texts,
            funnel=funnel_progress(self.funnel_events),
            churn=churn,
            paid_visits=self.paid_visits,
            retargeted_visits=(self.retargeted_visits[0], self.retargeted_visits[1]),
            email_click_visits=self.email_click_visits,
        )
