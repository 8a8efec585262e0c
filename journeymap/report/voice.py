"""The page's "What customers say and feel" section: the emotional curve across the five
stages (mean sentiment of the texts each stage shows, with the emotion mix) and, under each
stage, its top friction themes with two masked example quotes.

``collect`` reads the enriched marts (mart_emotional_journey, mart_friction_themes) into
plain dicts; ``render`` turns them into HTML with an inline SVG. Values are escaped.
"""

from __future__ import annotations

from typing import Any

from journeymap.report.fmt import count, esc, pct, plural
from journeymap.report.style import STAGE_COLOURS

EMOTION_COLOURS = {
    "frustration": "#c0392b",
    "disappointment": "#e07b39",
    "anxiety": "#e0a030",
    "confusion": "#8f6bb3",
    "neutral": "#a3acb9",
    "satisfaction": "#7fb069",
    "delight": "#2e7d32",
}
THEMES_PER_STAGE = 3
MIN_THEME_CUSTOMERS = 5  # smaller themes stay in the mart, not on the page
CSS = """
/* what customers say and feel */
.voice-curve { width: 100%; height: auto; display: block; }
.voice-curve text { font-size: 12px; fill: var(--muted); }
.voice-curve .v-label { fill: var(--ink); font-weight: 700; }
.voice-stages { display: grid; grid-template-columns: repeat(5, minmax(0, 1fr)); gap: 14px;
  margin-top: 10px; }
.voice-stage { border-top: 4px solid var(--stage); padding-top: 8px; }
.voice-stage h3 { margin-bottom: 4px; }
.voice-fig { color: var(--muted); font-size: 13px; }
.emobar { display: flex; height: 10px; border-radius: 5px; overflow: hidden; margin: 6px 0; }
.emobar span { display: block; height: 100%; }
.theme { border: 1px solid var(--line); border-radius: 10px; padding: 8px 10px;
  margin-top: 10px; background: var(--paper); }
.theme .tlabel { font-weight: 700; }
.theme .tfig { color: var(--muted); font-size: 12px; margin-top: 2px; }
.theme blockquote { margin: 6px 0 0; padding-left: 8px; border-left: 3px solid var(--line);
  font-size: 13px; color: var(--ink); }
.theme.worse { border-color: var(--bad); }
"""


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def collect(records, warehouse: Any, enriched_schema: str = "enriched") -> dict[str, Any]:
    """The section's data; ``records`` is journeymap.report.data.records."""
    e = enriched_schema
    stages = records(
        warehouse,
        f"""
        select journey_stage, min(stage_order) as stage_order, sum(texts) as texts,
            sum(mean_sentiment * texts) / sum(texts) as mean_sentiment,
            sum(negative_texts) * 1.0 / sum(texts) as share_negative,
            {
            ", ".join(
                f"sum({emotion}_share * texts) / sum(texts) as {emotion}_share"
                for emotion in EMOTION_COLOURS
            )
        }
        from {e}.mart_emotional_journey
        group by journey_stage
        order by min(stage_order)
        """,
    )
    themes = records(
        warehouse,
        f"""
        select journey_stage, theme_id, theme_rank, theme_label, texts, customers,
            share_of_stage_negative_texts, trend, example_text_1, example_text_2,
            churn_rate_raised, churn_rate_others, next_stage_rate_raised, next_stage_rate_others
        from {e}.mart_friction_themes
        where theme_rank <= {THEMES_PER_STAGE} and customers >= {MIN_THEME_CUSTOMERS}
        order by stage_order, theme_rank
        """,
    )
    for stage in stages:
        stage["texts"] = int(stage["texts"] or 0)
        stage["mix"] = {
            emotion: _float(stage.pop(f"{emotion}_share")) for emotion in EMOTION_COLOURS
        }
    return {"stages": stages, "themes": themes}


def _curve(stages: list[dict[str, Any]], order: list[str]) -> str:
    """Mean sentiment per stage as a line over a zero baseline (-1 at the bottom, +1 on top)."""
    width, height, pad_x, top, bottom = 1000, 220, 100, 30, 50
    step = (width - 2 * pad_x) / max(len(order) - 1, 1)
    by_stage = {s["journey_stage"]: s for s in stages}

    def y(value: float) -> float:
        return top + (1 - (value + 1) / 2) * (height - top - bottom)

    points = []
    parts = [
        f'<line x1="{pad_x - 40}" x2="{width - pad_x + 40}" y1="{y(0):.1f}" y2="{y(0):.1f}" '
        'stroke="#dde2e8" stroke-dasharray="4 4"/>',
        f'<text x="{pad_x - 44}" y="{y(0) + 4:.1f}" text-anchor="end">neutral</text>',
        f'<text x="{pad_x - 44}" y="{y(1) + 4:.1f}" text-anchor="end">positive</text>',
        f'<text x="{pad_x - 44}" y="{y(-1) + 4:.1f}" text-anchor="end">negative</text>',
    ]
    for i, key in enumerate(order):
        x = pad_x + i * step
        stage = by_stage.get(key)
        parts.append(
            f'<text x="{x:.1f}" y="{height - 18}" text-anchor="middle" class="v-label">'
            f"{esc(key.capitalize())}</text>"
        )
        if stage is None or stage.get("mean_sentiment") is None:
            parts.append(
                f'<text x="{x:.1f}" y="{y(0) - 10:.1f}" text-anchor="middle">no texts</text>'
            )
            continue
        value = float(stage["mean_sentiment"])
        points.append((x, y(value)))
        tip = (
            f"{key}: mean sentiment {value:+.2f} over {count(stage['texts'])} texts, "
            f"{pct(stage.get('share_negative'))} negative"
        )
        parts.append(
            f'<circle cx="{x:.1f}" cy="{y(value):.1f}" r="7" '
            f'fill="{STAGE_COLOURS.get(key, "#8a94a6")}" data-stage="{esc(key)}">'
            f"<title>{esc(tip)}</title></circle>"
            f'<text x="{x:.1f}" y="{y(value) - 14:.1f}" text-anchor="middle" class="v-label">'
            f"{value:+.2f}</text>"
        )
    if len(points) > 1:
        path = " ".join(f"{x:.1f},{y_:.1f}" for x, y_ in points)
        parts.insert(
            0, f'<polyline points="{path}" fill="none" stroke="#1f2733" stroke-width="2"/>'
        )
    return (
        f'<svg class="voice-curve" viewBox="0 0 {width} {height}" role="img" '
        'aria-labelledby="voice-curve-title"><title id="voice-curve-title">Mean sentiment of '
        "customer texts at each journey stage, from -1 (negative) to +1 (positive)</title>"
        f"{''.join(parts)}</svg>"
    )


def _mix(mix: dict[str, float | None]) -> str:
    spans = "".join(
        f'<span style="width:{100 * (share or 0):.2f}%;background:{colour}" '
        f'title="{esc(emotion)}: {esc(pct(share))}"></span>'
        for emotion, colour in EMOTION_COLOURS.items()
        if (share := mix.get(emotion))
    )
    return f'<div class="emobar">{spans}</div>'


def _theme(theme: dict[str, Any], stage_label: str) -> str:
    raised, others = theme.get("churn_rate_raised"), theme.get("churn_rate_others")
    worse = raised is not None and others is not None and raised > others
    figures = [
        f"{esc(plural(theme.get('customers'), 'customer'))}, "
        f"{esc(pct(theme.get('share_of_stage_negative_texts')))} of the negative "
        f"{esc(stage_label)} texts, {esc(theme.get('trend') or 'steady')}"
    ]
    if raised is not None and others is not None:
        figures.append(f"churn afterwards {esc(pct(raised))} vs {esc(pct(others))} for the others")
    if theme.get("next_stage_rate_raised") is not None:
        figures.append(
            f"went on to the next stage {esc(pct(theme['next_stage_rate_raised']))} vs "
            f"{esc(pct(theme.get('next_stage_rate_others')))}"
        )
    quotes = "".join(
        f"<blockquote>&ldquo;{esc(text)}&rdquo;</blockquote>"
        for text in (theme.get("example_text_1"), theme.get("example_text_2"))
        if text
    )
    return (
        f'<div class="theme{" worse" if worse else ""}" data-theme="{esc(theme["theme_id"])}">'
        f'<div class="tlabel">{esc(theme["theme_label"])}</div>'
        f'<div class="tfig">{"; ".join(figures)}</div>{quotes}</div>'
    )


def render(data: dict[str, Any]) -> str:
    voice = data.get("voice") or {}
    stages = voice.get("stages") or []
    order = list(STAGE_COLOURS)
    head = (
        '<section class="card" id="voice" aria-labelledby="voice-title">'
        '<h2 id="voice-title">What customers say and feel</h2>'
    )
    if not stages:
        return (
            head + '<p class="note" data-voice="empty">No customer texts have been labelled '
            "yet. Once the text model has run, this section shows how customers feel at each "
            "stage and what they complain about.</p></section>"
        )
    by_stage = {s["journey_stage"]: s for s in stages}
    themes = voice.get("themes") or []
    columns = []
    for key in order:
        stage = by_stage.get(key)
        label = key.capitalize()
        if stage is None:
            body = '<p class="voice-fig">no texts show this stage</p>'
        else:
            dominant = max(stage["mix"], key=lambda e: stage["mix"][e] or 0)
            body = (
                f'<p class="voice-fig">{esc(plural(stage["texts"], "text"))}, '
                f"{esc(pct(stage.get('share_negative')))} negative; mostly "
                f"{esc(dominant)}</p>{_mix(stage['mix'])}"
            )
        stage_themes = [t for t in themes if t["journey_stage"] == key]
        if stage_themes:
            body += "<h4>Top friction themes</h4>" + "".join(
                _theme(t, label.lower()) for t in stage_themes
            )
        columns.append(
            f'<article class="voice-stage" data-stage="{esc(key)}" '
            f'style="--stage:{STAGE_COLOURS[key]}"><h3>{esc(label)}</h3>{body}</article>'
        )
    legend = "".join(
        f'<span><i style="background:{colour}"></i>{esc(emotion)}</span>'
        for emotion, colour in EMOTION_COLOURS.items()
    )
    return (
        head + '<p class="lede">Every support message, chat, call transcript, review and NPS '
        "answer, placed at the journey stage its words show and read for sentiment and emotion. "
        "The curve is the mean sentiment per stage; under each stage, the emotion mix and the "
        "themes its negative texts fall into, with two typical quotes (personal data masked). A "
        "red frame marks a theme whose customers churned more often afterwards than the rest of "
        "the stage.</p>"
        f"{_curve(stages, order)}"
        f'<div class="voice-stages">{"".join(columns)}</div>'
        f'<div class="legend">{legend}</div></section>'
    )
