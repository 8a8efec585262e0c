"""One simulated person (customer or anonymous prospect): rows, devices and web/app sessions.

A person only ever touches its own random streams, so it simulates identically whatever chunk
it lands in. Rows are collected as records ``(ts, seq, source, row, defect)``; the writer sorts
them by time and routes each to its day file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from journeymap.generator.clock import DAY, HOUR, Campaign, Clock
from journeymap.generator.defects import DEFECT_CHOICE, EXPECTED_OUTCOME, corrupt
from journeymap.generator.params import (
    BLOG_SLUGS,
    FEATURES,
    FUNNEL_COOLDOWN_DAYS,
    HELP_TOPICS,
    MAX_SESSION_EVENTS,
    MAX_STEP_RATE,
    PAID_SEARCH_CAMPAIGNS,
    PAID_SOCIAL_CAMPAIGNS,
    PARTNER_SITES,
    PAYMENT_RATE,
    PRODUCTS,
    RETARGETING_CAMPAIGN,
    SEARCH_REFERRERS,
    SHOP,
    Persona,
)
from journeymap.generator.rng import (
    DEFECT_STREAM,
    ID_MULTIPLIER,
    MASK64,
    Draw,
    IdMaker,
    person_rng,
    pick,
    uniform_int,
)
from journeymap.generator.schema import (
    APP,
    EMAIL,
    IDENTIFIES,
    META,
    ORDERS,
    REVIEWS,
    SUBSCRIPTIONS,
    SUPPORT,
    WEB,
    csv_field,
)

# Record = (route time, order within the person, source index, row, defect or None).
Record = tuple[int, int, int, tuple[str, ...], tuple[str, str, str] | None]

VIEW, ADD, CHECKOUT, PAYMENT = (
    "Product Viewed",
    "Product Added",
    "Checkout Started",
    "Payment Info Entered",
)
ORDER_PLACED = "order_placed"  # the funnel's last step comes from the orders source
FUNNEL_EVENTS = frozenset((VIEW, ADD, CHECKOUT, PAYMENT))

# Id domains keep ids of different kinds apart inside the one bijective scramble.
ANON_DOMAIN, TICKET_DOMAIN = 0, 15
ID_DOMAIN = {
    WEB: 1,
    APP: 2,
    IDENTIFIES: 3,
    EMAIL: 4,
    ORDERS: 5,
    SUBSCRIPTIONS: 6,
    SUPPORT: 7,
    REVIEWS: 8,
}
ID_PREFIX = {
    WEB: "evt_",
    APP: "evt_",
    IDENTIFIES: "idf_",
    EMAIL: "eml_",
    ORDERS: "O-",
    SUBSCRIPTIONS: "sub_",
    SUPPORT: "msg_",
    REVIEWS: "rev_",
}
_DOMAIN_BITS = [ID_DOMAIN.get(i, 0) << 60 for i in range(len(META))]
_PREFIXES = [ID_PREFIX.get(i, "") for i in range(len(META))]
DEFECT_ID_BASE = 1 << 23  # defect rows count ids from here: genuine ids never depend on them
ATTEMPT_HEADROOM = 2 * HOUR  # an attempt never starts so late that the window cuts it short
# Seconds between events of a session: 5 s .. 10 min, log-uniform (a table: cheaper than pow).
_EVENT_GAPS = tuple(int(5 * 120 ** ((i + 0.5) / 1024)) for i in range(1024))


def _json(**fields: object) -> str:
    """A compact JSON object, CSV-quoted (properties are built once per value, not per row)."""
    return csv_field(json.dumps(fields, separators=(",", ":")))


_PRODUCT_URL = {pid: f"{SHOP}/products/{pid.lower()}" for pid, _, _ in PRODUCTS}
_PRODUCT_PROPS = {pid: _json(product_id=pid, price=price) for pid, _, price in PRODUCTS}
_ADD_PROPS = {
    (pid, qty): _json(product_id=pid, price=price, quantity=qty)
    for pid, _, price in PRODUCTS
    for qty in (1, 2)
}
_FEATURE_PAGES = {f: (f"{SHOP}/account/{f}", _json(feature=f)) for f in FEATURES}
PROPS_INSTALLED = _json(version="4.2.0")
PROPS_LOGIN = _json(method="password")
PROPS_SIGNUP = _json(method="email")
PROPS_PAYMENT = _json(payment_method="card")
PROPS_REFERRAL = _json(channel="email")


@dataclass(frozen=True)
class SimContext:
    """Everything a person needs from the run; identical for every chunk."""

    seed: int
    clock: Clock
    defect_rate: float
    ids: IdMaker
    campaigns: tuple[Campaign, ...]


class Device:
    __slots__ = ("anon", "type", "app", "uid", "installed", "identified")

    def __init__(self, anon: str, dtype: str, app: bool) -> None:
        self.anon = anon
        self.type = dtype
        self.app = app
        self.uid = ""  # user_id carried by its events once identified
        self.installed = False
        self.identified = False


def _utm(r: Draw, channel: str, campaign: str) -> tuple[str, str, str, str]:
    """(referrer, utm_source, utm_medium, utm_campaign) of a session's first event."""
    if channel == "paid_search":
        return "https://www.google.com/", "google", "cpc", pick(r, PAID_SEARCH_CAMPAIGNS)
    if channel == "paid_social":
        return (
            "https://www.facebook.com/",
            "facebook",
            "paid_social",
            pick(r, PAID_SOCIAL_CAMPAIGNS),
        )
    if channel == "organic":
        return pick(r, SEARCH_REFERRERS), "", "", ""
    if channel == "email":
        return "", "email", "email", campaign
    if channel == "referral":
        return pick(r, PARTNER_SITES), "", "", ""
    if channel == "retargeting":
        return "https://ads.adnetwork.example/", "adnetwork", "display", RETARGETING_CAMPAIGN
    return "", "", "", ""  # direct


class Session:
    """A run of events on one device, a few seconds to ~10 minutes apart."""

    __slots__ = (
        "sim",
        "dev",
        "t",
        "n",
        "src",
        "end",
        "utm",
        "prev_url",
        "_id_base",
        "_etypes",
        "_start",
        "_days",
        "_tod",
        "_r",
        "_rd",
        "_rate",
        "_append",
    )

    def __init__(self, sim: PersonSim, dev: Device, t: int, channel: str, campaign: str) -> None:
        clock = sim.ctx.clock
        self.sim = sim
        self.dev = dev
        self.t = t
        self.n = 0
        self.src = APP if dev.app else WEB
        self.end = clock.end
        ref, us, um, uc = _utm(sim.r, channel, campaign)
        self.utm = ("" if dev.app else ref, us, um, uc)  # apps have no referrer
        self.prev_url = ""
        self._id_base = _DOMAIN_BITS[self.src] ^ sim._id_bits
        self._etypes = _APP_TYPES if dev.app else _WEB_TYPES
        self._start, self._days, self._tod = clock.start, clock.day_prefixes, clock.times_of_day
        self._r, self._rd, self._rate = sim.r, sim._rd, sim.ctx.defect_rate
        self._append = sim.records.append

    def event(self, name: str, url: str = "", props: str = "{}") -> bool:
        """Emit the next event; False (and nothing written) once past the window end.

        ``props`` is CSV-ready JSON. This is the generator's hot loop, so id, time formatting
        and ``PersonSim.emit`` are inlined here (same results, a third of the calls).
        """
        sim, dev = self.sim, self.dev
        if self.n:
            t = self.t + _EVENT_GAPS[int(self._r() * 1024)]
            if t > self.end:
                return False
            ref = "" if dev.app else self.prev_url
            us = um = uc = ""
        else:
            t = self.t
            if t > self.end:
                return False
            ref, us, um, uc = self.utm
            if sim.first_seen is None:
                sim.first_seen = t
        if dev.app:
            url = ""
        sim._ids = n = sim._ids + 1
        y = ((self._id_base ^ n) * ID_MULTIPLIER) & MASK64
        day, sec = divmod(t - self._start, DAY)
        row = (
            f"evt_{y ^ (y >> 31):016x}",
            dev.anon,
            dev.uid,
            self._etypes.get(name, "track"),
            name,
            self._days[day] + self._tod[sec],
            url,
            ref,
            us,
            um,
            uc,
            dev.type,
            props,
        )
        seq = sim._seq
        sim._seq = seq + 2
        self._append((t, seq, self.src, row, None))
        if self._rd is not None and self._rd() < self._rate:
            sim.plant_defect(t, seq, self.src, row)
        if name in FUNNEL_EVENTS:
            sim.funnel_events.append((t, name, dev.type))
        self.t = t
        self.n += 1
        self.prev_url = url
        return True


_STATIC_PAGES = {
    "Home Page Viewed": f"{SHOP}/",
    "Pricing Viewed": f"{SHOP}/pricing",
    "Demo Requested": f"{SHOP}/demo",
    "Account Settings Viewed": f"{SHOP}/account/settings",
    "Review Prompt Clicked": f"{SHOP}/reviews/new",
    "Referral Sent": f"{SHOP}/account/referrals",
    "Logged In": f"{SHOP}/login",
    "Signed Up": f"{SHOP}/signup",
}
# event_type: views are pages on the web and screens in the app, everything else is a track.
_VIEWS = (
    "Home Page Viewed",
    "Blog Post Viewed",
    "Landing Page Viewed",
    "Pricing Viewed",
    "Product Viewed",
    "Help Center Viewed",
    "Account Settings Viewed",
)
_WEB_TYPES = dict.fromkeys(_VIEWS, "page")
_APP_TYPES = dict.fromkeys(_VIEWS, "screen")
# (page_url, properties) options of each non-funnel page; landing pages depend on the campaign.
_BROWSE_OPTIONS: dict[str, tuple[tuple[str, str], ...]] = {
    **{name: ((url, "{}"),) for name, url in _STATIC_PAGES.items()},
    "Referral Sent": ((_STATIC_PAGES["Referral Sent"], PROPS_REFERRAL),),
    "Blog Post Viewed": tuple((f"{SHOP}/blog/{slug}", "{}") for slug in BLOG_SLUGS),
    "Help Center Viewed": tuple((f"{SHOP}/help/{topic}", "{}") for topic in HELP_TOPICS),
    "Feature Used": tuple(_FEATURE_PAGES.values()),
    "Products Compared": tuple(
        (f"{SHOP}/compare", _json(product_ids=[a[0], b[0]]))
        for i, a in enumerate(PRODUCTS)
        for b in PRODUCTS[i + 1 : i + 4]
    ),
}


# Visits that an ad click brought (and that the ad platforms bill): the spend source counts them.
PAID_CHANNELS = frozenset(("paid_search", "paid_social", "retargeting"))

_WEB_ENTRY = {
    "paid_search": "Landing Page Viewed",
    "paid_social": "Landing Page Viewed",
    "email": "Landing Page Viewed",
    "retargeting": "Landing Page Viewed",
    "direct": "Home Page Viewed",
}


class PersonSim:
    """Rows, ids, devices and sessions shared by customers and prospects."""

    known = False  # customers set this once signed up: browse pages switch to the known pool

    persona: Persona  # drawn by the subclass, first thing from the genuine stream

    def __init__(self, ctx: SimContext, key: int) -> None:
        self.ctx = ctx
        self.key = key
        self.fmt = ctx.clock.fmt  # epoch seconds -> "2026-09-01T12:34:56Z"
        self._id_bits = ctx.ids.person_bits(key)
        self.r: Draw = person_rng(ctx.seed, key).random
        self._rd: Draw | None = (
            person_rng(ctx.seed, key, DEFECT_STREAM).random if ctx.defect_rate > 0 else None
        )
        self.records: list[Record] = []
        self.funnel_events: list[tuple[int, str, str]] = []
        self.devices: list[Device] = []
        self.paid_visits: list[tuple[int, str, str]] = []  # (time, channel, campaign) of ad clicks
        self.first_seen: int | None = None
        self.last_end = -(10**12)  # last event of the previous session
        self.cooldown_until = -(10**12)  # no funnel events before this (after an abandonment)
        self._seq = 0
        self._ids = 0
        self._defect_ids = DEFECT_ID_BASE

    # --- ids and rows -------------------------------------------------------------------
    def new_id(self, src: int) -> str:
        """A fresh id of a source's kind (same as ``ctx.ids.hex16``, inlined: once per row)."""
        self._ids += 1
        y = ((_DOMAIN_BITS[src] ^ self._id_bits ^ self._ids) * ID_MULTIPLIER) & MASK64
        return f"{_PREFIXES[src]}{y ^ (y >> 31):016x}"

    def ticket_id(self) -> str:
        self._ids += 1
        return "tkt_" + self.ctx.ids.hex16(TICKET_DOMAIN, self.key, self._ids)

    def _defect_id(self, src: int) -> str:
        self._defect_ids += 1
        return _PREFIXES[src] + self.ctx.ids.hex16(ID_DOMAIN[src], self.key, self._defect_ids)

    def emit(self, ts: int, src: int, row: tuple[str, ...]) -> bool:
        """Keep a genuine row (if inside the window) and maybe plant a defect next to it."""
        if ts > self.ctx.clock.end:
            return False
        seq = self._seq
        self._seq = seq + 2  # odd seqs are free for defect rows, right after their original
        self.records.append((ts, seq, src, row, None))
        if self._rd is not None and self._rd() < self.ctx.defect_rate:
            self.plant_defect(ts, seq, src, row)
        return True

    def plant_defect(self, ts: int, seq: int, src: int, row: tuple[str, ...]) -> None:
        """Add a corrupted copy of a genuine row right after it (seq + 1)."""
        rd = self._rd
        assert rd is not None
        kind = DEFECT_CHOICE[src].pick(rd)
        route, bad = corrupt(src, kind, row, ts, rd, self._defect_id, self.ctx.clock)
        defect = (kind, EXPECTED_OUTCOME[kind], META[src].record_key(bad))
        self.records.append((route, seq + 1, src, bad, defect))

    def new_device(self, dtype: str, app: bool) -> Device:
        anon = "a-" + self.ctx.ids.hex16(ANON_DOMAIN, self.key, len(self.devices))
        dev = Device(anon, dtype, app)
        self.devices.append(dev)
        return dev

    # --- sessions -----------------------------------------------------------------------
    def run_session(
        self,
        dev: Device,
        t: int,
        channel: str,
        campaign: str = "",
        *,
        signup: bool = False,
        attempt_p: float | None = None,
    ) -> None:
        """One session: entry, (login), browsing, (sign-up), (a purchase attempt)."""
        p, r = self.persona, self.r
        s = Session(self, dev, t, channel, campaign)
        self._entry(s, channel)
        self.on_session_start(s)
        attempt = self._may_attempt(s.t, p.attempt if attempt_p is None else attempt_p)
        # Keep the session within MAX_SESSION_EVENTS: an attempt takes up to 7 events, sign-up
        # and the body hook (a referral) one each.
        room = MAX_SESSION_EVENTS - s.n - 1 - (7 if attempt else 0) - (1 if signup else 0)
        pool = p.browse_post if self.known else p.browse_pre
        for _ in range(min(uniform_int(r, *p.session_events) - s.n, room)):
            self.browse(s, pool.pick(r), campaign)
        self.on_session_body(s)
        if signup:
            self.sign_up(s)
        can_attempt = s.t >= self.cooldown_until and s.t + ATTEMPT_HEADROOM <= s.end
        if attempt and can_attempt and not self._attempt(s):
            # Abandoned: no funnel events for > the funnel window, so attempts never blend.
            self.cooldown_until = s.t + FUNNEL_COOLDOWN_DAYS * DAY + int(r() * DAY)
        if s.n:
            self.last_end = s.t
            if channel in PAID_CHANNELS:
                self.paid_visits.append((t, channel, s.utm[3]))

    def _entry(self, s: Session, channel: str) -> None:
        dev = s.dev
        if dev.app:
            if not dev.installed:
                dev.installed = True
                s.event("Application Installed", props=PROPS_INSTALLED)
            s.event("Application Opened")
            return
        name = _WEB_ENTRY.get(channel)
        if name is None:  # organic and referral land on content or the home page
            name = "Blog Post Viewed" if self.r() < 0.6 else "Home Page Viewed"
        self.browse(s, name, s.utm[3])  # landing pages are named after the campaign

    def browse(self, s: Session, name: str, campaign: str = "") -> bool:
        """A non-funnel page or action (landing pages are named after the campaign)."""
        if name == "Landing Page Viewed":
            return s.event(name, f"{SHOP}/lp/{campaign or 'autumn-sale'}")
        options = _BROWSE_OPTIONS[name]
        url, props = options[int(self.r() * len(options))]
        return s.event(name, url, props)

    def _may_attempt(self, t: int, probability: float) -> bool:
        return t >= self.cooldown_until and self.r() < probability

    def _attempt(self, s: Session) -> bool:
        """view -> add -> checkout -> payment -> order; False when abandoned on the way."""
        p, r = self.persona, self.r
        product = PRODUCTS[0]
        for _ in range(uniform_int(r, 1, 3)):
            product = pick(r, PRODUCTS)
            s.event(VIEW, _PRODUCT_URL[product[0]], _PRODUCT_PROPS[product[0]])
        lift = self.step_lift(s.t)
        if r() >= min(MAX_STEP_RATE, p.add * lift):
            return False
        qty = 2 if r() < 0.2 else 1
        s.event(ADD, f"{SHOP}/cart", _ADD_PROPS[product[0], qty])
        if r() >= min(MAX_STEP_RATE, p.checkout * lift) or not self.ready_to_checkout(s):
            return False
        extra = pick(r, PRODUCTS)[2] if r() < 0.25 else 0.0  # sometimes a second item
        cart = product[2] * qty + extra
        items = qty + (extra > 0)
        s.event(CHECKOUT, f"{SHOP}/checkout", _json(cart_value=round(cart, 1), items=items))
        if r() >= PAYMENT_RATE[s.dev.type]:  # the planted drop-off depends on the device only
            self.payment_failed(s)
            return False
        s.event(PAYMENT, f"{SHOP}/checkout/payment", PROPS_PAYMENT)
        if r() >= p.order:
            return False
        self.place_order(s, cart, product[1])
        return True

    # --- hooks customers fill in ----------------------------------------------------------
    def on_session_start(self, s: Session) -> None:
        """After the entry event (customers log in here)."""

    def on_session_body(self, s: Session) -> None:
        """After browsing (customers send referrals here)."""

    def sign_up(self, s: Session) -> None:
        raise NotImplementedError

    def payment_failed(self, s: Session) -> None:
        """The payment step of an attempt failed (customers may write in about it)."""

    def ready_to_checkout(self, s: Session) -> bool:
        """Prospects never check out: only known customers can."""
        return False

    def step_lift(self, t: int) -> float:
        """Factor on the add-to-cart and checkout step probabilities at ``t`` (customers who
        clicked an email lately: the planted lift)."""
        return 1.0

    def place_order(self, s: Session, cart: float, product_name: str) -> None:
        raise NotImplementedError
