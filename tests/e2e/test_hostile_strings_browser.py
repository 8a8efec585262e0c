"""Hostile strings reach the journey map page as text: event names, stage descriptions,
touchpoints, theme labels and customer quotes carrying <script>, <img onerror>, Jinja and SQL
quotes are shown literally in real headless Chromium, and no script of theirs runs."""

from __future__ import annotations

import copy
from typing import Any

from journeymap.report.render import render_journey_map
from tests.e2e.test_report_browser import browser  # noqa: F401 (fixture)
from tests.helpers.report_sample import sample_report_data

PAYLOADS = (
    "<script>window.__pwned = 1</script>",
    '<img src="x" onerror="window.__pwned = 2">',
    "{{ 7 * 7 }}{% raw %}",
    "'; drop table marts.dim_customers; --",
)
# Strings the page shows (names from data, texts customers wrote).
DISPLAYED = (
    "description",
    "stage_label",
    "step_name",
    "touchpoint",
    "churn_reason_1",
    "theme_label",
    "example_text_1",
    "raw_event_name",
    "breakdown_value",
)


def _poisoned(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: f"{v} {' '.join(PAYLOADS)}"
            if k in DISPLAYED and isinstance(v, str)
            else _poisoned(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_poisoned(v) for v in value]
    return value


def test_hostile_strings_render_as_text_and_never_run(browser, tmp_path):  # noqa: F811
    data = _poisoned(copy.deepcopy(sample_report_data()))
    html = render_journey_map(data)
    assert "<script>window.__pwned" not in html and '<img src="x"' not in html
    path = tmp_path / "journey_map.html"
    path.write_text(html, encoding="utf-8")
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(path.as_uri(), wait_until="load")
    page.wait_for_timeout(300)  # an onerror handler would have fired by now
    assert page.evaluate("window.__pwned") is None
    assert page.evaluate("document.querySelectorAll('img[src=\"x\"]').length") == 0
    assert errors == []
    text = page.locator("body").inner_text()
    for payload in PAYLOADS:
        assert payload in text, payload  # shown literally, as the customer or system wrote it
    context.close()
