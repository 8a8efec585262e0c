"""A hand-made report data set shaped like the marts: previews and tests of the page without a
warehouse. It mirrors the sample business, including a slow mobile payment step."""

from __future__ import annotations

from typing import Any

STAGES = [
    (
        "awareness",
        "Awareness",
        "The customer first meets the brand: content, campaigns, ads, first visits, email reach.",
        1850,
        1110,
        610,
        30.5,
    ),
    (
        "consideration",
        "Consideration",
        "The customer evaluates: product and pricing pages, "
        "comparisons, sign-up, demo requests, email clicks.",
        1240,
        520,
        700,
        52.0,
    ),
    (
        "purchase",
        "Purchase",
        "The customer buys: cart, checkout, payment, orders and subscription starts.",
        560,
        470,
        85,
        20.0,
    ),
    (
        "retention",
        "Retention",
        "The customer uses and stays: logins, feature use, support "
        "contacts, refunds and cancellations.",
        480,
        130,
        340,
        300.0,
    ),
    (
        "advocacy",
        "Advocacy",
        "The customer recommends: referrals, reviews and NPS answers.",
        140,
        None,
        140,
        None,
    ),
]

TOUCHPOINTS = {
    "awareness": [
        ("web", "blog", 820, 0.52),
        ("web", "home page", 760, 0.63),
        ("email", "email campaign", 640, 0.58),
        ("web", "paid social ad", 410, 0.41),
        ("web", "search landing page", 300, 0.66),
        ("app", "app store page", 120, 0.7),
    ],
    "consideration": [
        ("web", "product page", 980, 0.45),
        ("web", "pricing page", 610, 0.5),
        ("app", "product page", 330, 0.4),
        ("web", "signup form", 280, 0.62),
        ("email", "email click", 260, 0.47),
        ("web", "demo request", 60, 0.7),
    ],
    "purchase": [
        ("web", "cart", 500, 0.88),
        ("web", "checkout", 470, 0.86),
        ("app", "checkout", 150, 0.62),
        ("store", "order", 460, 0.9),
        ("store", "subscription", 300, 0.93),
    ],
    "retention": [
        ("app", "app", 380, 0.3),
        ("web", "account", 300, 0.27),
        ("support", "chat support", 160, 0.14),
        ("support", "email support", 90, 0.2),
        ("store", "subscription", 120, 0.1),
        ("email", "newsletter", 260, 0.3),
    ],
    "advocacy": [
        ("reviews", "product review", 90, None),
        ("reviews", "nps survey", 70, None),
        ("web", "referral", 25, None),
    ],
}

FUNNEL_STEPS = [
    (1, "Viewed a product", "product_viewed"),
    (2, "Added to cart", "product_added"),
    (3, "Started checkout", "checkout_started"),
    (4, "Entered payment", "payment_info_entered"),
    (5, "Placed an order", "order_placed"),
]
# breakdown value -> (entrants, step conversions 2..5)
FUNNEL = {
    ("device_type", "desktop"): (700, [0.56, 0.62, 0.80, 0.92]),
    ("device_type", "mobile"): (600, [0.54, 0.60, 0.48, 0.90]),
    ("device_type", "tablet"): (100, [0.55, 0.58, 0.72, 0.9]),
    ("channel", "web"): (1050, [0.56, 0.62, 0.70, 0.91]),
    ("channel", "app"): (350, [0.53, 0.58, 0.55, 0.9]),
}

# A small Markov model of customer paths: (event -> [(next event, share)]), the rest ends.
START = [
    ("content_viewed", 0.42),
    ("home_viewed", 0.33),
    ("ad_clicked", 0.15),
    ("email_opened", 0.10),
]
NEXT = {
    "content_viewed": [("product_viewed", 0.45), ("home_viewed", 0.2), ("email_opened", 0.1)],
    "home_viewed": [("product_viewed", 0.55), ("pricing_viewed", 0.15), ("signed_up", 0.05)],
    "ad_clicked": [("product_viewed", 0.6), ("home_viewed", 0.1)],
    "email_opened": [("email_clicked", 0.4), ("product_viewed", 0.15)],
    "email_clicked": [("product_viewed", 0.6)],
    "pricing_viewed": [("product_viewed", 0.4), ("signed_up", 0.3)],
    "signed_up": [("product_viewed", 0.6)],
    "product_viewed": [("product_added", 0.45), ("pricing_viewed", 0.12)],
    "product_added": [("checkout_started", 0.62), ("product_viewed", 0.1)],
    "checkout_started": [("payment_info_entered", 0.66)],
    "payment_info_entered": [("order_placed", 0.9)],
    "order_placed": [],
}
EVENT_STAGES = {
    "content_viewed": "awareness",
    "home_viewed": "awareness",
    "ad_clicked": "awareness",
    "email_opened": "awareness",
    "email_clicked": "consideration",
    "pricing_viewed": "consideration",
    "signed_up": "consideration",
    "product_viewed": "consideration",
    "product_added": "purchase",
    "checkout_started": "purchase",
    "payment_info_entered": "purchase",
    "order_placed": "purchase",
}


def _funnel_rows() -> list[dict[str, Any]]:
    rows = []
    # The overall funnel adds up the devices.
    counts = {key: [entrants] for key, (entrants, _) in FUNNEL.items()}
    for key, (_, rates) in FUNNEL.items():
        for rate in rates:
            counts[key].append(round(counts[key][-1] * rate))
    overall = [sum(counts[k][i] for k in counts if k[0] == "device_type") for i in range(5)]
    counts[("all", "all")] = overall
    for (breakdown, value), numbers in counts.items():
        for i, (step_number, step_name, event) in enumerate(FUNNEL_STEPS):
            entered = numbers[0] if i == 0 else numbers[i - 1]
            completed = numbers[i]
            conversion = completed / entered if entered else None
            rows.append(
                {
                    "step_number": step_number,
                    "step_name": step_name,
                    "canonical_event": event,
                    "breakdown": breakdown,
                    "breakdown_value": value,
                    "entered": entered,
                    "completed": completed,
                    "conversion_from_previous": conversion,
                    "drop_off_rate": None if conversion is None else 1 - conversion,
                    "conversion_from_entry": completed / numbers[0],
                    "median_hours_from_previous": None if i == 0 else [0.1, 0.3, 0.2, 0.05][i - 1],
                }
            )
    return rows


def _transitions(customers: int = 1900, max_steps: int = 6) -> list[dict[str, Any]]:
    flows: dict[tuple[int, str, str, bool], int] = {}
    current = {event: customers * share for event, share in START}
    for step in range(1, max_steps + 1):
        following: dict[str, float] = {}
        for event, n in current.items():
            moved = 0.0
            for target, share in NEXT.get(event, []):
                flow = n * share
                following[target] = following.get(target, 0) + flow
                flows[(step, event, target, False)] = round(flow)
                moved += flow
            end = "converted" if event == "order_placed" else "dropped off"
            flows[(step, event, end, True)] = round(n - moved)
        current = following
    return [
        {
            "step_index": step,
            "from_event": source,
            "to_event": target,
            "source_node": f"{step}. {source}",
            "target_node": target if end else f"{step + 1}. {target}",
            "is_path_end": end,
            "paths": paths,
        }
        for (step, source, target, end), paths in flows.items()
        if paths > 0
    ]


def sample_voice() -> dict[str, Any]:
    """What customers say and feel: sentiment dips at purchase, one theme hurts there."""
    mixes = {
        "awareness": (40, 0.05, 0.0, 0.1),
        "consideration": (120, 0.08, -0.05, 0.2),
        "purchase": (300, 0.45, -0.42, 0.1),
        "retention": (900, 0.38, -0.3, 0.1),
        "advocacy": (250, 0.12, 0.55, 0.05),
    }
    stages = []
    for order, (stage, (texts, negative, sentiment, confusion)) in enumerate(mixes.items(), 1):
        frustration = negative * 0.7
        positive = max(0.0, 1 - negative - confusion - 0.3)
        stages.append(
            {
                "journey_stage": stage,
                "stage_order": order,
                "texts": texts,
                "mean_sentiment": sentiment,
                "share_negative": negative,
                "mix": {
                    "frustration": frustration,
                    "disappointment": negative * 0.2,
                    "anxiety": negative * 0.1,
                    "confusion": confusion,
                    "neutral": 0.3,
                    "satisfaction": positive * 0.6,
                    "delight": positive * 0.4,
                },
            }
        )
    theme = {
        "journey_stage": "purchase",
        "theme_id": "purchase-01",
        "theme_rank": 1,
        "theme_label": "payment · phone · checkout",
        "texts": 85,
        "customers": 80,
        "share_of_stage_negative_texts": 0.31,
        "trend": "rising",
        "example_text_1": "Payment failed again on my phone, call me on [phone]",
        "example_text_2": "The pay button on your app does nothing.",
        "churn_rate_raised": 0.21,
        "churn_rate_others": 0.09,
        "next_stage_rate_raised": 0.55,
        "next_stage_rate_others": 0.71,
    }
    second = dict(
        theme,
        theme_id="purchase-02",
        theme_rank=2,
        theme_label="parcel · late · tracking",
        customers=40,
        trend="steady",
        example_text_1="My parcel is a week late.",
        example_text_2=None,
        churn_rate_raised=0.05,
    )
    return {"stages": stages, "themes": [theme, second]}


def sample_report_data(churn_scored: bool = True) -> dict[str, Any]:
    stages = []
    for order, (key, label, description, reached, to_next, furthest, hours) in enumerate(
        STAGES, start=1
    ):
        conversion = None if to_next is None else to_next / reached
        stages.append(
            {
                "journey_stage": key,
                "stage_order": order,
                "stage_label": label,
                "description": description,
                "customers_reached": reached,
                "customers_to_next_stage": to_next,
                "conversion_to_next_stage": conversion,
                "drop_off_rate": None if conversion is None else 1 - conversion,
                "customers_furthest_here": furthest,
                "median_hours_to_next_stage": hours,
            }
        )
    touchpoints = []
    for order, (key, *_rest) in enumerate(STAGES, start=1):
        for channel, touchpoint, reached, conversion in TOUCHPOINTS[key]:
            touchpoints.append(
                {
                    "journey_stage": key,
                    "stage_order": order,
                    "channel": channel,
                    "touchpoint": touchpoint,
                    "customers_reached": reached,
                    "events": reached * 3,
                    "customers_to_next_stage": None
                    if conversion is None
                    else round(reached * conversion),
                    "conversion_to_next_stage": conversion,
                    "drop_off_rate": None if conversion is None else 1 - conversion,
                    "median_hours_in_stage": 24.0,
                }
            )
    bands, reasons = [], []
    if churn_scored:
        for stage, (high, medium, low), reason in [
            ("purchase", (12, 30, 48), "Few logins in the last 30 days"),
            ("retention", (64, 95, 180), "Repeated billing complaints"),
            ("advocacy", (3, 15, 110), "Few logins in the last 30 days"),
        ]:
            for band, n in (("high", high), ("medium", medium), ("low", low)):
                bands.append({"current_stage": stage, "churn_risk_band": band, "customers": n})
            reasons.append(
                {
                    "current_stage": stage,
                    "churn_reason_1": reason,
                    "customers": (high + medium + low) // 2,
                }
            )
            reasons.append(
                {
                    "current_stage": stage,
                    "churn_reason_1": "Short tenure",
                    "customers": (high + medium + low) // 4,
                }
            )
    scored = sum(b["customers"] for b in bands)
    return {
        "generated_at": "2026-09-01T06:00:00+00:00",
        "period": {"first_seen_at": "2026-06-01T00:03:00", "last_seen_at": "2026-08-30T23:58:00"},
        "customers": {"total": 2000, "known": 1620, "ordering": 470},
        "stages": stages,
        "touchpoints": touchpoints,
        "funnel": {"name": "purchase", "rows": _funnel_rows()},
        "paths": {
            "grain": "customer",
            "max_steps": 6,
            "transitions": _transitions(),
            "event_stages": dict(EVENT_STAGES),
            # The most common paths to a first order (mart_path_summary, conversions > 0).
            "top_paths": [
                {
                    "path": "landing_viewed > product_viewed > product_added > checkout_started "
                    "> payment_info_entered > order_placed",
                    "path_steps": 6,
                    "occurrences": 45,
                    "conversions": 45,
                    "conversion_rate": 1.0,
                    "share_of_paths": 0.02,
                    "frequency_rank": 1,
                },
                {
                    "path": "email_clicked > landing_viewed > product_viewed > product_added > "
                    "checkout_started > payment_info_entered > order_placed",
                    "path_steps": 7,
                    "occurrences": 31,
                    "conversions": 31,
                    "conversion_rate": 1.0,
                    "share_of_paths": 0.015,
                    "frequency_rank": 2,
                },
            ],
        },
        "attribution": _attribution(),
        "churn": {"scored_customers": scored, "bands": bands, "reasons": reasons},
        "voice": sample_voice(),
        "health": {
            "sources": [
                {
                    "source_name": name,
                    "files": 3,
                    "landed_rows": landed,
                    "raw_rows": landed - q,
                    "staged_rows": landed - q - d,
                    "deduplicated_rows": d,
                    "quarantined_rows": q,
                    "unaccounted_rows": 0,
                    "is_reconciled": True,
                }
                for name, landed, q, d in [
                    ("web_events", 61000, 120, 300),
                    ("app_events", 18000, 40, 80),
                    ("email_events", 22000, 11, 0),
                    ("orders", 900, 4, 0),
                    ("crm_contacts", 1700, 2, 0),
                ]
            ],
            "unmapped_raw_names": 2,
            "unmapped_events": 57,
            "unmapped": [
                {
                    "source": "web_events",
                    "raw_event_name": "Legacy Widget Clicked",
                    "events": 41,
                    "customers": 30,
                },
                {
                    "source": "app_events",
                    "raw_event_name": "ar_preview_opened",
                    "events": 16,
                    "customers": 9,
                },
            ],
        },
    }


# Share of conversions per channel and model, as mart_attribution_comparison holds them: last
# touch over-credits retargeting (display), the data-driven models credit email.
ATTRIBUTION_SHARES = {
    "direct": (0.36, 0.34, 0.35, 0.35, 0.35, 0.26, 0.28),
    "email": (0.09, 0.18, 0.13, 0.15, 0.13, 0.12, 0.25),
    "display": (0.04, 0.14, 0.07, 0.08, 0.08, 0.07, 0.17),
    "paid_search": (0.13, 0.08, 0.11, 0.10, 0.11, 0.15, 0.06),
    "paid_social": (0.18, 0.11, 0.15, 0.13, 0.15, 0.17, 0.08),
    "organic_search": (0.17, 0.13, 0.16, 0.15, 0.15, 0.18, 0.14),
    "referral": (0.03, 0.02, 0.03, 0.04, 0.03, 0.05, 0.02),
}
ATTRIBUTION_MODELS = (
    "first_touch",
    "last_touch",
    "linear",
    "time_decay",
    "position_based",
    "markov_1",
    "shapley",
)
ATTRIBUTION_SPEND = {"display": 560.0, "paid_search": 3790.0, "paid_social": 3270.0}


def _attribution() -> dict[str, Any]:
    conversions = 1500
    rows = []
    for channel, shares in ATTRIBUTION_SHARES.items():
        last = shares[1]
        for model, share in zip(ATTRIBUTION_MODELS, shares, strict=True):
            spend = ATTRIBUTION_SPEND.get(channel)
            rows.append(
                {
                    "channel": channel,
                    "attribution_model": model,
                    "model_family": "data_driven"
                    if model in ("markov_1", "shapley")
                    else "heuristic",
                    "attributed_conversions": share * conversions,
                    "share_of_conversions": share,
                    "share_change_from_last_touch": share - last,
                    "spend": spend,
                    "cost_per_conversion": spend / (share * conversions) if spend else None,
                    "return_on_spend": None,
                }
            )
    return {
        "comparison": rows,
        "conversions": conversions,
        "revenue": 140000.0,
        "non_conversions": 3100,
        "paths_to_conversion": [
            {"path": "direct", "journeys": 145},
            {"path": "email", "journeys": 63},
            {"path": "paid_social > email > display", "journeys": 21},
        ],
        "paths_to_non_conversion": [
            {"path": "direct", "journeys": 326},
            {"path": "paid_social > direct", "journeys": 124},
        ],
    }
