"""The page's "What happens next" section, from hand-made data."""

from __future__ import annotations

from journeymap.report import next_steps
from journeymap.report.render import render_journey_map
from tests.helpers.report_sample import sample_report_data

DROP_OFF = [
    {
        "current_stage": "awareness",
        "stage_order": 1,
        "open_journeys": 420,
        "mean_drop_off_probability": 0.61,
        "expected_drop_offs": 256.2,
        "likely_next_step": "product_viewed",
    },
    {
        "current_stage": "purchase",
        "stage_order": 3,
        "open_journeys": 80,
        "mean_drop_off_probability": 0.35,
        "expected_drop_offs": 28.0,
        "likely_next_step": "<b>order_placed</b>",
    },
]
LIFT = [
    {
        "experiment": "x",
        "action": "retention_offer",
        "goal": "churn",
        "assigned_customers": 900,
        "open_customers": 0,
        "treated_customers": 810,
        "holdout_customers": 90,
        "churned_difference": -0.14,
        "churned_ci_low": -0.22,
        "churned_ci_high": -0.06,
        "verdict": "helps: churn lower when treated",
    },
    {
        "experiment": "x",
        "action": "review_request",
        "goal": "revenue",
        "assigned_customers": 40,
        "open_customers": 40,
        "treated_customers": 0,
        "holdout_customers": 0,
        "revenue_difference": None,
        "revenue_ci_low": None,
        "revenue_ci_high": None,
        "verdict": "too early to tell: 0 held out, 0 treated so far",
    },
]


def _section(data: dict) -> str:
    page = render_journey_map(data)
    start = page.index('id="next"')
    return page[start : page.index("</section>", start)]


def test_drop_off_by_stage_and_the_lift_table_are_on_the_page():
    data = {**sample_report_data(), "next_steps": {"drop_off": DROP_OFF, "lift": LIFT}}
    section = _section(data)
    assert section.index('data-stage="awareness"') < section.index('data-stage="purchase"')
    assert "61%" in section and "420" in section
    assert "&lt;b&gt;order placed&lt;/b&gt;" in section  # escaped, in words
    assert "product viewed" in section and "product_viewed" not in section.replace('"', " ")
    offer = section[section.index('data-action="retention_offer"') :]
    assert "-14.0 pts" in offer and "-22.0 to -6.0 pts" in offer
    assert 'class="nx-verdict helps"' in offer
    waiting = section[section.index('data-action="review_request"') :]
    assert "review request" in waiting and "revenue per customer" in waiting
    assert "40 assigned customers, all still inside the outcome window" in waiting


def test_before_the_models_ran_the_section_says_so():
    section = _section({**sample_report_data(), "next_steps": {}})
    assert 'data-next="no-predictions"' in section and 'data-next="no-actions"' in section


def test_collect_reads_nothing_when_the_marts_do_not_exist():
    def records(warehouse, sql):
        return [{"n": 0}] if "information_schema" in sql else [{"unexpected": sql}]

    assert next_steps.collect(records, None) == {"drop_off": [], "lift": []}
