"""The journey map page rendered from hand-made report data (no warehouse)."""

from __future__ import annotations

import copy
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from journeymap.report import render_journey_map, summarize
from tests.helpers.report_sample import sample_report_data

STAGE_KEYS = ["awareness", "consideration", "purchase", "retention", "advocacy"]


def _stage(key: str, order: int, reached: int, to_next: int | None) -> dict:
    conversion = None if to_next is None else to_next / reached
    return {
        "journey_stage": key,
        "stage_order": order,
        "stage_label": key.capitalize(),
        "description": f"What customers do in {key}.",
        "customers_reached": reached,
        "customers_to_next_stage": to_next,
        "conversion_to_next_stage": conversion,
        "drop_off_rate": None if conversion is None else 1 - conversion,
        "customers_furthest_here": reached - (to_next or 0),
        "median_hours_to_next_stage": None if to_next is None else 24.0,
    }


def _funnel(rates_by_device: dict[str, tuple[int, list[float]]]) -> list[dict]:
    """Funnel rows: device -> (entrants, step conversions for steps 2..4); 'all' adds them up."""
    names = ["Viewed a product", "Added to cart", "Started checkout", "Entered payment"]
    counts = {}
    for device, (entrants, rates) in rates_by_device.items():
        numbers = [entrants]
        for rate in rates:
            numbers.append(round(numbers[-1] * rate))
        counts[("device_type", device)] = numbers
    counts[("all", "all")] = [sum(c[i] for c in counts.values()) for i in range(len(names))]
    rows = []
    for (breakdown, value), numbers in counts.items():
        for i, name in enumerate(names):
            entered = numbers[max(i - 1, 0)]
            completed = numbers[i]
            rows.append(
                {
                    "step_number": i + 1,
                    "step_name": name,
                    "canonical_event": name.lower().replace(" ", "_"),
                    "breakdown": breakdown,
                    "breakdown_value": value,
                    "entered": entered,
                    "completed": completed,
                    "conversion_from_previous": completed / entered,
                    "drop_off_rate": 1 - completed / entered,
                    "conversion_from_entry": completed / numbers[0],
                    "median_hours_from_previous": None if i == 0 else 0.5,
                }
            )
    return rows


def hand_made() -> dict:
    """Five stages given out of order; consideration loses the most (58%)."""
    stages = [
        _stage("retention", 4, 400, 300),
        _stage("awareness", 1, 1000, 600),
        _stage("advocacy", 5, 120, None),
        _stage("consideration", 2, 800, 336),
        _stage("purchase", 3, 350, 320),
    ]
    touchpoints = [
        {
            "journey_stage": "consideration",
            "stage_order": 2,
            "channel": "web",
            "touchpoint": "pricing page",
            "customers_reached": 500,
            "events": 1500,
            "customers_to_next_stage": 100,
            "conversion_to_next_stage": 0.2,
            "drop_off_rate": 0.8,
            "median_hours_in_stage": 12.0,
        },
        {
            "journey_stage": "consideration",
            "stage_order": 2,
            "channel": "web",
            "touchpoint": "product page",
            "customers_reached": 700,
            "events": 2100,
            "customers_to_next_stage": 315,
            "conversion_to_next_stage": 0.45,
            "drop_off_rate": 0.55,
            "median_hours_in_stage": 10.0,
        },
    ]
    return {
        "generated_at": "2026-09-01T06:00:00+00:00",
        "period": {"first_seen_at": "2026-06-01T00:00:00", "last_seen_at": "2026-08-30T00:00:00"},
        "customers": {"total": 1100, "known": 900, "ordering": 300},
        "stages": stages,
        "touchpoints": touchpoints,
        "funnel": {
            "name": "purchase",
            "rows": _funnel(
                {
                    "desktop": (500, [0.55, 0.60, 0.80]),
                    "mobile": (450, [0.54, 0.61, 0.48]),
                    "tablet": (60, [0.50, 0.60, 0.70]),
                }
            ),
        },
        "paths": {
            "grain": "customer",
            "max_steps": 6,
            "event_stages": {"product_viewed": "consideration", "order_placed": "purchase"},
            "transitions": [
                {
                    "step_index": 1,
                    "from_event": "product_viewed",
                    "to_event": "order_placed",
                    "is_path_end": False,
                    "paths": 40,
                },
                {
                    "step_index": 1,
                    "from_event": "product_viewed",
                    "to_event": "dropped off",
                    "is_path_end": True,
                    "paths": 60,
                },
                {
                    "step_index": 2,
                    "from_event": "order_placed",
                    "to_event": "converted",
                    "is_path_end": True,
                    "paths": 40,
                },
            ],
            "top_paths": [
                {
                    "path": "product_viewed",
                    "path_steps": 1,
                    "occurrences": 60,
                    "conversions": 0,
                    "conversion_rate": 0.0,
                    "share_of_paths": 0.6,
                    "frequency_rank": 1,
                },
            ],
        },
        "churn": {"scored_customers": 0, "bands": [], "reasons": []},
        "health": {
            "sources": [
                {
                    "source_name": "web_events",
                    "files": 2,
                    "landed_rows": 1000,
                    "raw_rows": 990,
                    "staged_rows": 980,
                    "deduplicated_rows": 10,
                    "quarantined_rows": 10,
                    "unaccounted_rows": 0,
                    "is_reconciled": True,
                },
            ],
            "unmapped_raw_names": 1,
            "unmapped_events": 7,
            "unmapped": [
                {
                    "source": "web_events",
                    "raw_event_name": "Legacy Widget Clicked",
                    "events": 7,
                    "customers": 3,
                }
            ],
        },
    }


class _Text(HTMLParser):
    """Visible text of an element found by id, whitespace collapsed."""

    def __init__(self) -> None:
        super().__init__()
        self.chunks: list[str] = []
        self._skip = 0

    BLOCKS = {
        "div",
        "p",
        "li",
        "ul",
        "ol",
        "h1",
        "h2",
        "h3",
        "h4",
        "header",
        "footer",
        "section",
        "article",
        "small",
        "svg",
        "g",
    }

    def handle_starttag(self, tag, attrs):
        if tag in ("style", "title", "script"):
            self._skip += 1
        if tag in self.BLOCKS:
            self.chunks.append(" ")

    def handle_endtag(self, tag):
        if tag in ("style", "title", "script"):
            self._skip -= 1
        if tag in self.BLOCKS:
            self.chunks.append(" ")

    def handle_data(self, data):
        if not self._skip:
            self.chunks.append(data)

    def text(self) -> str:
        return re.sub(r"\s+", " ", "".join(self.chunks)).strip()


def visible_text(fragment: str) -> str:
    parser = _Text()
    parser.feed(fragment)
    return parser.text()


def element(page: str, selector_attr: str) -> str:
    """The HTML from an opening tag carrying ``selector_attr`` to the next sibling of its kind."""
    start = page.index(selector_attr)
    start = page.rindex("<", 0, start)
    tag = re.match(r"<(\w+)", page[start:]).group(1)
    depth, pos = 0, start
    for match in re.finditer(rf"<(/?){tag}\b[^>]*>", page[start:]):
        depth += -1 if match.group(1) else 1
        if depth == 0:
            pos = start + match.end()
            break
    return page[start:pos]


def headline(page: str) -> str:
    return visible_text(element(page, 'class="hero"'))


def test_stages_render_left_to_right_in_journey_order():
    page = render_journey_map(hand_made())
    journey = element(page, 'id="journey"')
    positions = [journey.index(f'class="stage" data-stage="{key}"') for key in STAGE_KEYS]
    assert positions == sorted(positions)
    connectors = re.findall(r'class="connector[^"]*" data-from="(\w+)"', journey)
    assert connectors == STAGE_KEYS[:4]  # one between each pair, none after advocacy


def test_stage_figures_and_drop_off_between_stages():
    page = render_journey_map(hand_made())
    awareness = visible_text(element(page, 'data-stage="awareness"'))
    assert "1,000 customers reached" in awareness
    between = visible_text(element(page, 'data-from="consideration"'))
    assert "42% go on" in between  # 336 / 800
    assert "58% drop off" in between
    assert "biggest drop-off" in between
    assert 'class="connector worst" data-from="consideration"' in page
    assert page.count("connector worst") == 1
    first = visible_text(element(page, 'data-from="awareness"'))
    assert "40% drop off" in first and "biggest" not in first


def test_headline_names_the_worst_stage_and_the_device_gap():
    text = headline(render_journey_map(hand_made()))
    assert "Customers struggle most after Consideration: 58% drop off" in text
    assert "464 of the 800 customers who reached it never went on to Purchase" in text
    # the planted-like gap: payment converts 48% on mobile against 80% on desktop
    assert "mobile falls behind at Entered payment" in text
    assert "48% on mobile" in text and "80% on desktop" in text
    assert "32-point gap" in text


def test_device_gap_step_is_highlighted_in_the_funnel():
    page = render_journey_map(hand_made())
    assert re.findall(r'class="funnel-row gap" data-step="(\d)"', page) == ["4"]
    row = element(page, 'data-step="4"')
    assert 'class="dev worst" title="mobile:' in row
    assert 'class="dev" title="desktop:' in row
    callout = visible_text(page[page.index('class="callout"') :].split("</div>")[0])
    assert "48% on mobile" in callout and "80% on desktop" in callout


def test_no_device_gap_named_when_devices_convert_alike():
    data = hand_made()
    data["funnel"]["rows"] = _funnel(
        {"desktop": (500, [0.55, 0.60, 0.80]), "mobile": (450, [0.55, 0.60, 0.78])}
    )
    page = render_journey_map(data)
    assert "funnel-row gap" not in page
    assert "No step of the purchase funnel converts clearly worse on one device" in headline(page)


def test_touchpoints_sized_by_reach_and_high_drop_off_marked():
    page = render_journey_map(hand_made())
    pricing = element(page, 'data-touchpoint="pricing page"')
    product = element(page, 'data-touchpoint="product page"')
    assert 'class="tp flag"' in pricing  # 80% drop-off against 58% for the stage
    assert 'class="tp"' in product  # 55%: not marked
    assert "80% drop off vs 58% for the stage" in visible_text(pricing)
    widths = [float(w) for w in re.findall(r"width:([\d.]+)%;opacity", pricing + product)]
    assert widths == [pytest.approx(500 / 700 * 100, abs=0.1), 100.0]
    consideration = element(page, 'class="stage" data-stage="consideration"')
    assert consideration.index("product page") < consideration.index("pricing page")


MALICIOUS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def test_data_is_escaped_everywhere():
    data = hand_made()
    data["touchpoints"][0]["touchpoint"] = MALICIOUS
    data["touchpoints"][0]["channel"] = '"><b>channel</b>'
    data["stages"][1]["description"] = MALICIOUS
    data["funnel"]["rows"] = [
        dict(r, step_name=MALICIOUS) if r["step_number"] == 4 else r for r in data["funnel"]["rows"]
    ]
    data["paths"]["transitions"][0]["to_event"] = MALICIOUS
    data["paths"]["top_paths"][0]["path"] = MALICIOUS
    data["health"]["unmapped"][0]["raw_event_name"] = MALICIOUS
    page = render_journey_map(data)
    assert page.lower().count("<script") == 1  # the page's own, not the data's
    assert "<img" not in page.lower()
    assert "<b>channel" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert 'data-touchpoint="&lt;script&gt;' in page
    # the escaped name still reads as the name for people
    assert MALICIOUS in visible_text(element(page, 'class="stage" data-stage="consideration"'))


def test_page_is_self_contained():
    page = render_journey_map(sample_report_data())
    lowered = page.lower()
    for needle in ("<link", "src=", "href=", "@import", "url(", "@font-face", "fetch("):
        assert needle not in lowered, needle
    assert lowered.count("<script>") == 1 and "<script " not in lowered  # inline only
    # the only URL is the SVG namespace, which is never fetched
    assert re.findall(r"https?://[^\"' )]+", page) == ["http://www.w3.org/2000/svg"]
    assert page.startswith("<!doctype html>") and page.rstrip().endswith("</html>")


def test_sankey_nodes_carry_titles_for_hover():
    page = render_journey_map(hand_made())
    sankey = element(page, 'class="sankey"')
    assert sankey.count("<rect") == 4  # product viewed, order placed, dropped off, ordered
    assert sankey.count("<rect") == sankey.count("</rect>")
    assert "<title>Step 1: product viewed, 100 customers (100.0% of all paths)</title>" in sankey
    assert "product viewed → dropped off: 60 customers" in sankey


def test_churn_note_when_scores_do_not_exist_yet():
    page = render_journey_map(hand_made())
    churn = element(page, 'id="churn"')
    assert 'data-churn="not-scored"' in churn
    assert "No churn scores yet." in visible_text(churn)
    assert "not scored yet" in headline(page)


def test_churn_risk_by_stage_with_top_reason():
    data = hand_made()
    data["churn"] = {
        "scored_customers": 70,
        "bands": [
            {"current_stage": "retention", "churn_risk_band": "high", "customers": 20},
            {"current_stage": "retention", "churn_risk_band": "medium", "customers": 10},
            {"current_stage": "retention", "churn_risk_band": "low", "customers": 30},
            {"current_stage": "purchase", "churn_risk_band": "low", "customers": 10},
        ],
        "reasons": [
            {"current_stage": "retention", "churn_reason_1": "Short tenure", "customers": 15},
            {
                "current_stage": "retention",
                "churn_reason_1": "Repeated billing complaints",
                "customers": 40,
            },
        ],
    }
    page = render_journey_map(data)
    retention = visible_text(element(page, 'class="churn-row" data-stage="retention"'))
    assert "20 high · 10 medium · 30 low" in retention
    assert "Repeated billing complaints" in retention
    assert "top reason for 40 of 60 scored customers" in retention
    assert "no customers with a churn score" in visible_text(
        element(page, 'class="churn-row" data-stage="awareness"')
    )
    assert "No churn scores yet" not in page
    kpi = headline(page)
    assert "20 customers at high churn risk" in kpi


def test_data_health_footnote():
    page = render_journey_map(hand_made())
    footer = visible_text(element(page, 'id="data-health"'))
    assert (
        "1,000 rows landed in 2 files from 1 source (web_events); 10 quarantined (1.0%)" in footer
    )
    assert "Every landed row is accounted for." in footer
    assert "1 raw event name (7 events) are not in the event taxonomy yet" in footer
    assert "Legacy Widget Clicked (web_events, 7 events)" in footer
    data = hand_made()
    data["health"]["sources"][0].update(is_reconciled=False, unaccounted_rows=3)
    assert "Not reconciled: web_events (3 rows)." in visible_text(
        element(render_journey_map(data), 'id="data-health"')
    )


def test_empty_warehouse_still_renders():
    data = hand_made()
    for stage in data["stages"]:
        stage.update(
            customers_reached=0,
            customers_to_next_stage=0,
            conversion_to_next_stage=None,
            drop_off_rate=None,
        )
    data["touchpoints"] = []
    data["funnel"]["rows"] = []
    data["paths"]["transitions"] = []
    data["paths"]["top_paths"] = []
    data["health"]["sources"] = []
    page = render_journey_map(data)
    assert "No stage has customers yet" in headline(page)
    assert "No customer paths recorded yet." in page
    assert "has no customers yet" in page


def test_summary_metadata_is_json_able():
    data = copy.deepcopy(sample_report_data())
    summary = summarize(data, Path("build/journey_map.html"), 1234)
    meta = json.loads(json.dumps(summary.metadata()))
    assert meta["path"] == "build/journey_map.html"
    assert meta["bytes"] == 1234
    assert meta["customers"] == 2000
    assert meta["biggest_drop_off_stage"] == "retention"
    assert meta["device_gap_step"] == "Entered payment"
    assert meta["device_gap_worst_device"] == "mobile"
    assert meta["device_gap_compared_with"] == "desktop and tablet"
    assert meta["device_gap_points"] == pytest.approx(31.0, abs=0.5)
    assert meta["high_churn_risk_customers"] == 79


def test_churn_reason_counts_themes_of_at_risk_customers():
    data = hand_made()
    bands = {"high": 20, "medium": 10, "low": 70}
    data["churn"] = {
        "scored_customers": 100,
        "bands": [
            {"current_stage": "retention", "churn_risk_band": band, "customers": n}
            for band, n in bands.items()
        ],
        "reasons": [
            {
                "current_stage": "retention",
                "churn_risk_band": band,
                "churn_reason_1": text,
                "customers": n,
            }
            for band, text, n in [
                ("high", "3 support messages in the last 30 days", 5),
                ("high", "4 support messages in the last 30 days", 3),
                ("medium", "1 support message in the last 30 days", 1),
                ("medium", "subscribed 5 days ago", 6),
                ("low", "no further risk factor", 40),  # the model's "nothing else" slot
                ("low", "on the pro plan", 30),
            ]
        ],
    }
    row = visible_text(
        element(render_journey_map(data), 'class="churn-row" data-stage="retention"')
    )
    assert "“3 support messages in the last 30 days” and similar" in row
    assert "top reason for 9 of the 30 customers at high or medium risk" in row
    assert "pro plan" not in row and "no further risk factor" not in row
