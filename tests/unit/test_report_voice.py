"""The page's "What customers say and feel" section, from hand-made data."""

from __future__ import annotations

from journeymap.report.render import render_journey_map
from tests.helpers.report_sample import sample_report_data

MALICIOUS = '<script>alert("x")</script>'


def _section(page: str) -> str:
    start = page.index('id="voice"')
    return page[start : page.index("</section>", start)]


def test_emotional_curve_has_a_point_per_stage_in_journey_order():
    section = _section(render_journey_map(sample_report_data()))
    order = [section.index(f'circle cx="{x}') for x in ("100.0", "300.0", "500.0")]
    assert order == sorted(order)
    stages = ["awareness", "consideration", "purchase", "retention", "advocacy"]
    points = [section.index(f'data-stage="{s}">') for s in stages]
    assert points == sorted(points)  # left to right
    assert "-0.42" in section and "+0.55" in section  # mean sentiment labels
    assert section.count("<polyline") == 1


def test_friction_themes_sit_under_their_stage_with_quotes():
    section = _section(render_journey_map(sample_report_data()))
    purchase = section[section.index('class="voice-stage" data-stage="purchase"') :]
    purchase = purchase[: purchase.index("</article>")]
    assert purchase.index("purchase-01") < purchase.index("purchase-02")
    assert "&ldquo;Payment failed again on my phone, call me on [phone]&rdquo;" in purchase
    assert "churn afterwards 21% vs 9% for the others" in purchase
    assert 'class="theme worse" data-theme="purchase-01"' in purchase  # churns more
    assert 'class="theme" data-theme="purchase-02"' in purchase
    retention = section[section.index('class="voice-stage" data-stage="retention"') :]
    assert "Top friction themes" not in retention[: retention.index("</article>")]


def test_voice_data_is_escaped():
    data = sample_report_data()
    data["voice"]["themes"][0]["theme_label"] = MALICIOUS
    data["voice"]["themes"][0]["example_text_1"] = MALICIOUS
    page = render_journey_map(data)
    assert page.lower().count("<script") == 1
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in _section(page)


def test_voice_section_before_any_text_is_labelled():
    data = sample_report_data()
    data["voice"] = {"stages": [], "themes": []}
    assert 'data-voice="empty"' in _section(render_journey_map(data))
