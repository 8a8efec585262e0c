"""The page's persona cards and retention triangle, from hand-made data (no warehouse)."""

from __future__ import annotations

import re

from journeymap.report.customers import collect_customers, render_customers
from journeymap.report.render import render_journey_map
from tests.helpers.report_sample import sample_report_data


def _card(segment_id: int, name: str, customers: int, share: float, **extra) -> dict:
    return {
        "segment_id": segment_id,
        "persona_name": name,
        "customers": customers,
        "share": share,
        "difference_1": "orders 2.3x as often",
        "difference_2": "72% of visits on mobile (vs 41% overall)",
        "difference_3": None,
        "difference_4": None,
        "typical_path": "home_viewed > pricing_viewed > product_viewed",
        "typical_path_share": 0.31,
        "main_channels": "direct 50%",
        "churn_scored_customers": 120,
        "mean_churn_score": 0.08,
        "high_churn_risk_share": 0.02,
        "valued_customers": 300,
        "mean_predicted_value": 91.4,
        "mean_probability_alive": 0.9,
        "narrative": "Frequent buyers are 600 customers.",
        "narrative_source": "template",
        **extra,
    }


def _triangle() -> list[dict]:
    rows = []
    for c, week in enumerate(["2026-09-07", "2026-09-14", "2026-09-21"]):
        for since in range(3 - c):
            rows.append(
                {
                    "cohort_week": week,
                    "weeks_since": since,
                    "cohort_customers": 40,
                    "active_customers": 40 - 10 * since,
                    "ordering_customers": 40 if since == 0 else 5,
                    "active_rate": (40 - 10 * since) / 40,
                    "ordering_rate": 1.0 if since == 0 else 0.125,
                    "is_complete_week": since < 2 - c,
                }
            )
    return rows


def _data(personas=None, retention=None, changes=None) -> dict:
    groups = {"personas": personas or [], "retention": retention or [], "changes": changes or []}
    return {"customer_groups": groups}


def test_a_card_per_persona_with_its_differences_path_risk_and_value():
    html = render_customers(
        _data([_card(1, "Frequent buyers", 600, 0.6), _card(2, "Quick visitors", 400, 0.4)])
    )
    assert html.count('<article class="persona"') == 2
    assert "1,000 known customers" in html and "in 2 behavioural segments" in html
    assert "<li>orders 2.3x as often</li>" in html
    assert "<b>home viewed</b> &rsaquo; <b>pricing viewed</b>" in html
    assert "(31% start this way)" in html
    assert "<strong>8%</strong>mean churn risk of 120 subscribers" in html
    assert "<strong>91</strong>predicted 90-day value per buyer (300 buyers)" in html
    assert 'style="width:60.0%"' in html


def test_cards_show_channels_and_what_their_texts_say_when_known():
    with_texts = _card(
        1,
        "Billing complainers",
        10,
        1.0,
        top_intents="billing_payment 41%, refund_return 20%",
        top_emotions="frustration 52%, neutral 30%",
    )
    html = render_customers(_data([with_texts, _card(2, "Quiet ones", 5, 0.5)]))
    assert "Their texts are about: billing payment 41%, refund return 20%" in html
    assert "Feelings in their texts: frustration 52%, neutral 30%" in html
    assert html.count("Channels: direct 50%") == 2
    assert html.count("Their texts are about") == 1  # no texts, no line


def test_the_weeks_biggest_changes_are_called_out_in_rank_order():
    changes = [
        {
            "week_start": "2026-11-23 00:00:00",
            "segment_id": 2,
            "persona_name": "Quick visitors",
            "change_summary": "Quick visitors grew by 45 customers (share +2.1 points)",
            "change_rank": 1,
        },
        {
            "week_start": "2026-11-23 00:00:00",
            "segment_id": 1,
            "persona_name": "Frequent buyers",
            "change_summary": "Frequent buyers shrank by 12 customers (share -1.0 points)",
            "change_rank": 2,
        },
    ]
    html = render_customers(_data([_card(1, "Frequent buyers", 600, 1.0)], changes=changes))
    assert "What changed in the week of 2026-11-23" in html
    items = re.findall(r'<li data-segment="(\d+)">([^<]+)</li>', html)
    assert items == [("2", changes[0]["change_summary"]), ("1", changes[1]["change_summary"])]
    assert "What changed" not in render_customers(_data([_card(1, "Frequent buyers", 6, 1.0)]))


def test_a_risky_persona_is_marked():
    html = render_customers(
        _data([_card(1, "Billing complainers", 10, 1.0, high_churn_risk_share=0.3)])
    )
    assert '<div class="risky"><strong>' in html


def test_the_triangle_has_a_row_per_cohort_and_marks_unfinished_weeks():
    html = render_customers(_data(retention=_triangle()))
    rows = re.findall(r'<tr data-cohort="([^"]+)">', html)
    assert rows == ["2026-09-07", "2026-09-14", "2026-09-21"]
    first = html[html.index('data-cohort="2026-09-07"') :].split("</tr>")[0]
    assert [c for c in re.findall(r">(\d+%)</td>", first)] == ["100%", "75%", "50%"]
    assert first.count('class="partial"') == 1  # the last week is not over
    assert 'title="30 of 40 active, 5 ordered"' in first
    last = html[html.index('data-cohort="2026-09-21"') :].split("</tr>")[0]
    assert last.count('<td class="empty">') == 2  # a triangle


def test_empty_sections_say_what_they_will_show():
    html = render_customers({})
    assert 'data-personas="none"' in html and "No orders yet" in html


def test_everything_from_the_data_is_escaped():
    evil = "<script>alert(1)</script>"
    html = render_customers(
        _data([_card(1, evil, 5, 1.0, difference_1=evil, narrative=evil, typical_path=evil)])
    )
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_the_page_holds_the_section():
    data = sample_report_data()
    data.update(_data([_card(1, "Frequent buyers", 600, 1.0)], _triangle()))
    page = render_journey_map(data)
    assert 'id="personas"' in page and 'id="retention"' in page
    assert page.index('id="churn"') < page.index('id="personas"') < page.index('id="retention"')


def test_collect_reads_the_cards_and_first_order_cohorts():
    asked: list[str] = []

    def records(warehouse, sql):
        asked.append(" ".join(sql.split()))
        return [{"x": 1}]

    out = collect_customers(records, None, "marts", "enriched")
    assert out == {"personas": [{"x": 1}], "retention": [{"x": 1}], "changes": [{"x": 1}]}
    assert "from enriched.dim_personas" in asked[0]
    assert "cohort_type = 'first_order' and breakdown = 'all'" in asked[1]
    assert "from enriched.mart_persona_trends" in asked[2] and "change_rank <= 3" in asked[2]
