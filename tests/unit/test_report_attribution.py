"""The page's attribution section, rendered from hand-made data shaped like the marts."""

from __future__ import annotations

import copy
import re

from journeymap.report import render_journey_map
from journeymap.report.attribution import (
    MODEL_COLUMNS,
    collect_attribution,
    last_touch_gaps,
    render_attribution,
)
from tests.helpers.report_sample import ATTRIBUTION_SHARES, sample_report_data
from tests.unit.test_report_render import element, visible_text

MALICIOUS = '<script>alert("x")</script>'


def section(data: dict) -> str:
    return element(render_attribution(data), 'id="attribution"')


def cells(html: str, tag: str = "td") -> list[str]:
    return [visible_text(cell) for cell in re.findall(rf"<{tag}[^>]*>(.*?)</{tag}>", html)]


def test_every_model_side_by_side_for_every_channel():
    html = section(sample_report_data())
    headings = visible_text(element(html, "<thead"))
    for _, title in MODEL_COLUMNS:
        assert title in headings
    for channel in ATTRIBUTION_SHARES:
        row = visible_text(element(html, f'data-channel="{channel}"'))
        assert row.startswith(channel)
    display = cells(element(html, 'data-channel="display"'))
    # spend, then first, last, linear, time decay, position, Markov, Shapley, change, cost
    assert display == [
        "display", "560", "4.0%", "14.0%", "7.0%", "8.0%", "8.0%", "7.0%", "17.0%", "-7.0",
        "5.33",
    ]  # fmt: skip
    assert html.count('class="ddm"') == 2 * len(ATTRIBUTION_SHARES)  # Markov and Shapley shaded


def test_headline_names_what_last_touch_over_and_under_credits():
    data = sample_report_data()
    gaps = last_touch_gaps(data["attribution"])
    assert gaps[0][0] == "display" and gaps[-1][0] == "paid_search"
    assert "direct" not in dict(gaps)  # not a marketing channel
    text = visible_text(element(section(data), 'data-attribution="headline"'))
    assert "Last touch over-credits display most: 14% of conversions, against 7% under" in text
    assert "(Shapley 17%) - 7 points more." in text
    assert "paid_search is under-credited most: 8% under last touch, 15% under Markov" in text


def test_top_channel_paths_to_conversion_and_to_non_conversion():
    html = section(sample_report_data())
    converting = cells(element(html, 'data-paths="conversion"'), "li")
    assert converting == [
        "145 (10%)direct",
        "63 (4%)email",
        "21 (1%)paid_social → email → display",
    ]
    assert "ended without one" in visible_text(element(html, 'data-paths="non-conversion"'))


def test_before_the_data_driven_models_have_run_only_the_heuristics_show():
    data = copy.deepcopy(sample_report_data())
    attribution = data["attribution"]
    attribution["comparison"] = [
        r for r in attribution["comparison"] if r["model_family"] == "heuristic"
    ]
    html = section(data)
    assert "after the attribution model has run" in visible_text(html)
    assert "Markov" in visible_text(element(html, "<thead"))


def test_no_conversions_yet():
    data = copy.deepcopy(sample_report_data())
    data["attribution"] = {"conversions": 0, "comparison": []}
    assert "No conversions with marketing touches yet." in visible_text(section(data))


def test_attribution_data_is_escaped():
    data = copy.deepcopy(sample_report_data())
    for row in data["attribution"]["comparison"]:
        if row["channel"] == "display":
            row["channel"] = MALICIOUS
    data["attribution"]["paths_to_conversion"][0]["path"] = MALICIOUS
    page = render_journey_map(data)
    assert page.lower().count("<script") == 1
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page


def test_the_page_holds_the_section_between_paths_and_churn():
    page = render_journey_map(sample_report_data())
    assert page.index('id="paths"') < page.index('id="attribution"') < page.index('id="churn"')
    assert "The most common paths to a first order" in page


def test_collect_reads_the_comparison_mart_and_the_path_marts():
    queries: list[str] = []

    def query(sql: str) -> list[dict]:
        queries.append(sql)
        if "select\n            (select count(*)" in sql:
            return [{"conversions": 12, "revenue": 900.0, "non_conversions": 30}]
        return []

    data = collect_attribution(query, "m", "e")
    assert data["conversions"] == 12 and data["non_conversions"] == 30
    joined = " ".join(queries)
    assert "e.mart_attribution_comparison" in joined
    assert "m.mart_conversion_paths" in joined and "m.mart_non_conversion_paths" in joined
