"""Hostile strings reach the journey map page and the data docs as text: event names, stage
descriptions, touchpoints, theme labels and customer quotes carrying <script>, <img onerror>,
Jinja and SQL quotes, and the same strings as a GE check's failing values, are shown literally
in real headless Chromium, and no script of theirs runs."""

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
    text = _open_without_running_scripts(browser, path)
    for payload in PAYLOADS:
        assert payload in text, payload  # shown literally, as the customer or system wrote it


def test_data_docs_show_hostile_failing_values_as_text(browser, tmp_path):  # noqa: F811
    """A GE check fails on values carrying the payloads (risk bands of ml.churn_scores, a
    table outside raw and staging, so its failure samples quote values): the data docs page
    of the validation lists them as text and runs none of them."""
    import pandas as pd

    from journeymap.ml.outputs import CHURN_SCORES
    from journeymap.quality import build_data_docs, validate
    from journeymap.warehouse import DuckDBWarehouse

    scores = CHURN_SCORES.conform(
        pd.DataFrame(
            {
                "customer_key": [f"c{i}" for i in range(len(PAYLOADS))],
                "churn_score": 0.5,
                "risk_band": list(PAYLOADS),
                **{f"reason_{n}": "tenure" for n in (1, 2, 3)},
                "model_version": "v1",
                "cutoff_at": pd.Timestamp("2026-10-01"),
                "scored_at": pd.Timestamp("2026-10-02"),
            }
        )
    )
    with DuckDBWarehouse(tmp_path / "w.duckdb") as warehouse:
        warehouse.write_frame("ml", CHURN_SCORES.table, scores)
        warehouse.execute("create schema marts")
        warehouse.execute("create table marts.dim_customers (customer_key varchar)")
        outcome = validate(warehouse, "ml.churn_scores", now=pd.Timestamp("2026-10-03"))
    failed = [f for f in outcome.failures if f.column == "risk_band"]
    assert failed and failed[0].unexpected_count == len(PAYLOADS)
    build_data_docs([outcome], tmp_path / "docs")
    (page,) = (tmp_path / "docs" / "validations").rglob("*.html")
    # GX's pages load jQuery from a CDN, out of reach in the test sandbox.
    text = _open_without_running_scripts(browser, page, offline_errors=("$ is not defined",))
    for payload in PAYLOADS:
        assert payload in text, payload


def _open_without_running_scripts(chromium, path, offline_errors: tuple[str, ...] = ()) -> str:
    """The page's text in Chromium, after checking that no payload ran or made an element
    (``offline_errors``: script errors expected because the page's CDN is out of reach)."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(path.as_uri(), wait_until="load")
    page.wait_for_timeout(300)  # an onerror handler would have fired by now
    assert page.evaluate("window.__pwned") is None
    assert page.evaluate("document.querySelectorAll('img[src=\"x\"]').length") == 0
    assert [e for e in errors if e not in offline_errors] == []
    text = page.locator("body").inner_text()
    context.close()
    return text
