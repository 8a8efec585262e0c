"""The simulated business in numbers: personas, catalog, channels and the planted truths.

Every behavioural knob lives here so the simulation code reads as logic, not magic numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

from journeymap.generator.rng import Weighted

# --- planted truths ----------------------------------------------------------------------
# checkout_started -> payment_info_entered: the slow mobile checkout step (0.80 x (1 - 0.40)).
PAYMENT_RATE = {"desktop": 0.80, "mobile": 0.80 * (1 - 0.40), "tablet": 0.80}
FUNNEL_WINDOW_HOURS = 168
FUNNEL_COOLDOWN_DAYS = 8  # > window: an abandoned attempt never leaks into the next one
# The churn driver: each billing complaint may tip a subscriber into cancelling, the first with
# this probability, every later one with the second; subscribers who never complain cancel
# with the baseline probability at a random time (after fading engagement).
CANCEL_AFTER_COMPLAINT = (0.10, 0.45)
BASELINE_CANCEL_PROBABILITY = 0.07
CANCEL_DELAY_DAYS = (1, 14)  # a cancellation follows the complaint that caused it by this many days
# Attribution: one channel with real lift, one with none (journeymap.generator.marketing).
# Email lifts purchases: a campaign click brings the customer to the shop in a visit of its
# own (one that would not happen without the email) whose purchase-attempt probability is the
# persona's times the boost of the campaign kind, and for EMAIL_LIFT_DAYS after the click the
# customer's purchase attempts go on from product_viewed to product_added and from there to
# checkout_started EMAIL_LIFT times as often (at most MAX_STEP_RATE): the offer in the email.
EMAIL_CLICK_ATTEMPT_BOOST = {"offer": 2.0, "promo": 2.0, "winback": 2.0}
EMAIL_CLICK_ATTEMPT_BOOST_OTHER = 1.5
MAX_ATTEMPT = 0.8
EMAIL_LIFT_DAYS = 14
EMAIL_LIFT = 1.6
MAX_STEP_RATE = 0.95
# Retargeting (display) has none: the ads follow customers already about to buy. A known
# customer's returning visit comes through a retargeting ad with the first probability when
# it holds a purchase attempt and the second when it does not; the visit, and whether it
# buys, is decided before the ad and does not depend on it.
RETARGETING_SHARE = (0.20, 0.01)

# --- population ----------------------------------------------------------------------------
PROSPECTS_PER_CUSTOMER = 0.6
PRE_EXISTING_SHARE = 0.10  # customers already in the CRM before the window
REGIONS = Weighted({"na": 0.45, "emea": 0.30, "apac": 0.15, "latam": 0.10})
CURRENCY_EMEA = Weighted({"EUR": 0.30, "GBP": 0.20, "USD": 0.50})
CONSENT_EMAIL = 0.75
CONSENT_SMS = 0.40
ORDER_STATUS = Weighted({"completed": 0.95, "refunded": 0.03, "cancelled": 0.02})
EMAIL_VARIANT_SHARE = 0.15  # ESP/support/review emails with odd case and whitespace
EMAIL_ROW_HAS_ID = 0.30
SUPPORT_ROW_HAS_ID = 0.70
REVIEW_ROW_HAS_ID = 0.60
NPS_SHARE = 0.35

# --- email ---------------------------------------------------------------------------------
EMAIL_BOUNCE = 0.01
EMAIL_DELIVERED = 0.97
EMAIL_UNSUBSCRIBE = 0.003
LAPSED_DAYS = 21  # win-back goes to customers without a session for this long, or churned

# --- web ------------------------------------------------------------------------------------
SHOP = "https://shop.example.com"
SESSION_GAP_MIN = 31 * 60  # > the warehouse's 30 minute session timeout
MAX_SESSION_EVENTS = 15

PRODUCTS: tuple[tuple[str, str, float], ...] = tuple(
    (f"P{i + 1:03d}", name, price)
    for i, (name, price) in enumerate(
        [
            ("Aero Blender", 89.0),
            ("Nimbus Kettle", 49.0),
            ("Drift Coffee Grinder", 129.0),
            ("Pulse Espresso Machine", 249.0),
            ("Terra Pour-Over Set", 39.0),
            ("Halo Desk Lamp", 59.0),
            ("Ember Cast Iron Pan", 69.0),
            ("Fjord Water Bottle", 24.0),
            ("Summit Backpack", 119.0),
            ("Loom Throw Blanket", 79.0),
            ("Cedar Cutting Board", 34.0),
            ("Orbit Bluetooth Speaker", 99.0),
            ("Vale Chef Knife", 109.0),
            ("Mist Aroma Diffuser", 44.0),
            ("Breeze Desk Fan", 54.0),
            ("Quill Notebook Set", 22.0),
            ("Harbor Mug Pair", 28.0),
            ("Atlas Travel Case", 149.0),
            ("Sprout Herb Garden", 64.0),
            ("Glow Candle Trio", 32.0),
            ("Pebble Wireless Charger", 39.0),
            ("Crest Yoga Mat", 58.0),
            ("Tide Shower Speaker", 36.0),
            ("Forge Toolkit", 89.0),
            ("Lumen Reading Light", 29.0),
            ("Canyon Hiking Poles", 74.0),
            ("Breeze Air Purifier", 199.0),
            ("Velvet Sleep Mask", 21.0),
            ("Nordic Wool Socks", 25.0),
            ("Zen Tea Set", 46.0),
        ]
    )
)
PLANS = ("basic", "pro", "team")
BLOG_SLUGS = (
    "how-to-brew-better-coffee",
    "kitchen-gear-guide",
    "minimal-desk-setup",
    "gift-ideas-under-50",
    "care-for-cast-iron",
    "subscription-faq",
    "sustainable-packaging",
)
HELP_TOPICS = ("shipping", "returns", "billing", "account", "subscriptions", "app")
FEATURES = ("wishlist", "order_tracking", "subscription_manager", "gift_cards", "saved_carts")
SEARCH_REFERRERS = ("https://www.google.com/", "https://www.google.com/", "https://www.bing.com/")
PARTNER_SITES = ("https://www.thekitchn.example/", "https://gearpatrol.example/best-of")
PAID_SEARCH_CAMPAIGNS = ("brand_search", "generic_search", "competitor_search")
PAID_SOCIAL_CAMPAIGNS = ("autumn_social", "carousel_ads", "lookalike")
RETARGETING_CAMPAIGN = "retargeting_cart"
# Cost per click of the paid channels (USD) by campaign tag; each day's spend varies by +-10%.
COST_PER_CLICK = {
    ("paid_search", "brand_search"): 0.60,
    ("paid_search", "generic_search"): 1.40,
    ("paid_search", "competitor_search"): 1.90,
    ("paid_social", "autumn_social"): 0.85,
    ("paid_social", "carousel_ads"): 0.70,
    ("paid_social", "lookalike"): 0.95,
    ("display", RETARGETING_CAMPAIGN): 0.55,
}
UNKNOWN_EVENTS = ("Legacy Widget Clicked", "tmp_debug_event", "Carousel Swiped v2")

# Browse pages (not funnel steps): before sign-up and once known.
BROWSE_PRE = {
    "Home Page Viewed": 0.22,
    "Blog Post Viewed": 0.22,
    "Pricing Viewed": 0.22,
    "Products Compared": 0.10,
    "Help Center Viewed": 0.06,
    "Landing Page Viewed": 0.04,
    "Demo Requested": 0.02,
}
BROWSE_POST = {
    "Feature Used": 0.28,
    "Home Page Viewed": 0.16,
    "Help Center Viewed": 0.10,
    "Account Settings Viewed": 0.10,
    "Pricing Viewed": 0.10,
    "Blog Post Viewed": 0.10,
    "Products Compared": 0.06,
    "Review Prompt Clicked": 0.04,
}


@dataclass(frozen=True)
class Persona:
    name: str
    weight: float
    devices: Weighted[str]
    app_share: float  # P(app | mobile or tablet)
    acquisition: Weighted[str]
    returning: Weighted[str]  # channel of later organic sessions
    pre_sessions: tuple[int, int]  # anonymous sessions before sign-up
    pre_gap_days: float  # mean gap between them (consideration length)
    session_rate: float  # organic sessions a day once signed up
    session_events: tuple[int, int]
    attempt: float  # P(a session holds a purchase attempt)
    add: float  # product_viewed -> product_added
    checkout: float  # product_added -> checkout_started
    order: float  # payment_info_entered -> order_placed
    subscribe: float  # P(a buyer starts a subscription); ~0.6 across personas
    email_open: float
    email_click: float  # of opens
    tickets_per_30d: float  # support tickets other than billing complaints
    complaints_per_30d: float  # billing complaint tickets once a buyer
    review: float  # P(review after an order)
    review_mean: float
    nps_mean: float
    referral: float  # P(Referral Sent in a session, once a buyer)
    second_device: float
    amount_factor: float
    plans: Weighted[str]
    browse_pre: Weighted[str]
    browse_post: Weighted[str]


def _browse(base: dict[str, float], boost: dict[str, float] | None = None) -> Weighted[str]:
    boost = boost or {}
    return Weighted({k: w * boost.get(k, 1.0) for k, w in base.items()})


_RETURNING = {
    "direct": 0.50,
    "organic": 0.25,
    "paid_search": 0.10,
    "paid_social": 0.10,
    "referral": 0.05,
}

PERSONAS: tuple[Persona, ...] = (
    Persona(
        name="researcher",
        weight=0.22,
        devices=Weighted({"desktop": 0.75, "mobile": 0.15, "tablet": 0.10}),
        app_share=0.15,
        acquisition=Weighted(
            {
                "organic": 0.45,
                "paid_search": 0.20,
                "referral": 0.15,
                "direct": 0.15,
                "paid_social": 0.05,
            }
        ),
        returning=Weighted({**_RETURNING, "organic": 0.40}),
        pre_sessions=(3, 9),
        pre_gap_days=2.5,
        session_rate=0.22,
        session_events=(4, 12),
        attempt=0.30,
        add=0.40,
        checkout=0.65,
        order=0.92,
        subscribe=0.55,
        email_open=0.30,
        email_click=0.15,
        tickets_per_30d=0.25,
        complaints_per_30d=0.04,
        review=0.15,
        review_mean=4.0,
        nps_mean=7.5,
        referral=0.01,
        second_device=0.40,
        amount_factor=1.2,
        plans=Weighted({"basic": 0.3, "pro": 0.6, "team": 0.1}),
        browse_pre=_browse(
            BROWSE_PRE,
            {
                "Blog Post Viewed": 2.0,
                "Products Compared": 2.0,
                "Pricing Viewed": 1.5,
                "Demo Requested": 3.0,
            },
        ),
        browse_post=_browse(BROWSE_POST, {"Blog Post Viewed": 2.0, "Products Compared": 2.0}),
    ),
    Persona(
        name="deal_seeker",
        weight=0.25,
        devices=Weighted({"desktop": 0.45, "mobile": 0.45, "tablet": 0.10}),
        app_share=0.30,
        acquisition=Weighted(
            {
                "paid_search": 0.25,
                "paid_social": 0.30,
                "organic": 0.15,
                "email": 0.15,
                "referral": 0.05,
                "direct": 0.10,
            }
        ),
        returning=Weighted({**_RETURNING, "paid_search": 0.20, "paid_social": 0.20}),
        pre_sessions=(1, 4),
        pre_gap_days=1.5,
        session_rate=0.09,
        session_events=(2, 8),  # most visits come from email clicks
        attempt=0.30,
        add=0.50,
        checkout=0.70,
        order=0.90,
        subscribe=0.50,
        email_open=0.50,
        email_click=0.30,
        tickets_per_30d=0.20,
        complaints_per_30d=0.05,
        review=0.10,
        review_mean=3.6,
        nps_mean=6.5,
        referral=0.01,
        second_device=0.30,
        amount_factor=0.7,
        plans=Weighted({"basic": 0.7, "pro": 0.25, "team": 0.05}),
        browse_pre=_browse(BROWSE_PRE, {"Pricing Viewed": 2.0, "Landing Page Viewed": 2.0}),
        browse_post=_browse(BROWSE_POST, {"Pricing Viewed": 2.0}),
    ),
    Persona(
        name="mobile_impulse",
        weight=0.23,
        devices=Weighted({"mobile": 0.85, "tablet": 0.15}),
        app_share=0.60,
        acquisition=Weighted(
            {
                "paid_social": 0.50,
                "paid_search": 0.15,
                "direct": 0.15,
                "referral": 0.10,
                "organic": 0.10,
            }
        ),
        returning=Weighted({**_RETURNING, "paid_social": 0.25}),
        pre_sessions=(0, 2),
        pre_gap_days=0.3,
        session_rate=0.30,
        session_events=(1, 5),
        attempt=0.45,
        add=0.55,
        checkout=0.75,
        order=0.93,
        subscribe=0.55,
        email_open=0.15,
        email_click=0.15,
        tickets_per_30d=0.15,
        complaints_per_30d=0.04,
        review=0.12,
        review_mean=3.9,
        nps_mean=7.0,
        referral=0.02,
        second_device=0.25,
        amount_factor=0.8,
        plans=Weighted({"basic": 0.6, "pro": 0.35, "team": 0.05}),
        browse_pre=_browse(BROWSE_PRE, {"Blog Post Viewed": 0.3, "Products Compared": 0.3}),
        browse_post=_browse(BROWSE_POST),
    ),
    Persona(
        name="loyal_advocate",
        weight=0.15,
        devices=Weighted({"desktop": 0.40, "mobile": 0.45, "tablet": 0.15}),
        app_share=0.50,
        acquisition=Weighted(
            {
                "referral": 0.35,
                "organic": 0.25,
                "direct": 0.20,
                "paid_search": 0.10,
                "paid_social": 0.10,
            }
        ),
        returning=Weighted({**_RETURNING, "direct": 0.70}),
        pre_sessions=(1, 4),
        pre_gap_days=1.5,
        session_rate=0.28,
        session_events=(3, 10),
        attempt=0.40,
        add=0.50,
        checkout=0.75,
        order=0.95,
        subscribe=0.70,
        email_open=0.45,
        email_click=0.20,
        tickets_per_30d=0.20,
        complaints_per_30d=0.03,
        review=0.50,
        review_mean=4.6,
        nps_mean=9.2,
        referral=0.12,
        second_device=0.45,
        amount_factor=1.1,
        plans=Weighted({"basic": 0.3, "pro": 0.5, "team": 0.2}),
        browse_pre=_browse(BROWSE_PRE),
        browse_post=_browse(BROWSE_POST, {"Review Prompt Clicked": 4.0, "Feature Used": 1.5}),
    ),
    Persona(
        name="at_risk",  # buys, then complains about billing and often leaves
        weight=0.15,
        devices=Weighted({"desktop": 0.50, "mobile": 0.40, "tablet": 0.10}),
        app_share=0.30,
        acquisition=Weighted(
            {"paid_search": 0.30, "paid_social": 0.30, "organic": 0.20, "direct": 0.20}
        ),
        returning=Weighted(_RETURNING),
        pre_sessions=(1, 3),
        pre_gap_days=2.0,
        session_rate=0.12,
        session_events=(1, 5),
        attempt=0.45,
        add=0.50,
        checkout=0.70,
        order=0.90,
        subscribe=0.85,
        email_open=0.10,
        email_click=0.10,
        tickets_per_30d=0.50,
        complaints_per_30d=1.80,
        review=0.15,
        review_mean=2.6,
        nps_mean=4.5,
        referral=0.0,
        second_device=0.15,
        amount_factor=0.9,
        plans=Weighted({"basic": 0.6, "pro": 0.35, "team": 0.05}),
        browse_pre=_browse(BROWSE_PRE),
        browse_post=_browse(
            BROWSE_POST, {"Help Center Viewed": 3.0, "Account Settings Viewed": 2.0}
        ),
    ),
)
PERSONA_CHOICE = Weighted({p: p.weight for p in PERSONAS})
