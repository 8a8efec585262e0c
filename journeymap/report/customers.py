"""The page's "who the customers are" part: the persona cards (enriched.dim_personas), the
latest week's biggest changes among them (enriched.mart_persona_trends) and a retention
cohort triangle (marts.mart_retention_cohorts, first-order cohorts, all customers).

``collect_customers`` reads (plain SQL, DuckDB and Snowflake) into
``data["customer_groups"]`` and ``render_customers`` draws; the page inserts each with one
line (data.py, render.py). The section carries its own small stylesheet, scoped to its
classes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from journeymap.report.fmt import count, esc, event_label, pct

TRIANGLE_WEEKS = 12  # weeks since the cohort week shown (columns)
TRIANGLE_COHORTS = 14  # latest cohort weeks shown (rows)
PATH_STEPS_SHOWN = 5
CHANGES_SHOWN = 3  # the latest week's biggest changes among the personas

CSS = """
.personas { display: grid; grid-template-columns: repeat(auto-fill, minmax(280px, 1fr));
  gap: 14px; }
.persona { border: 1px solid var(--line); border-radius: 10px; padding: 14px 14px 12px;
  display: flex; flex-direction: column; gap: 8px; }
.persona h3 { font-size: 16px; }
.persona .size { color: var(--muted); font-size: 12.5px; font-variant-numeric: tabular-nums; }
.persona .sharebar { height: 6px; background: #eef1f5; border-radius: 3px; overflow: hidden; }
.persona .sharebar span { display: block; height: 100%; background: #4e79a7; }
.persona ul { margin: 0; padding-left: 18px; font-size: 13px; }
.persona .path { font-size: 12px; color: var(--muted); }
.persona .path b { color: var(--ink); font-weight: 600; }
.persona .figs { display: grid; grid-template-columns: 1fr 1fr; gap: 6px; font-size: 12px;
  color: var(--muted); border-top: 1px solid var(--line); padding-top: 8px; }
.persona .figs strong { display: block; font-size: 17px; color: var(--ink);
  font-variant-numeric: tabular-nums; }
.persona .figs .risky strong { color: var(--bad); }
.persona .mix { font-size: 12px; color: var(--muted); margin: 0; }
.persona .story { font-size: 12.5px; color: var(--muted); }
.changes-title { font-size: 14px; margin: 16px 0 0; }
.changes { margin: 6px 0 0; padding-left: 18px; font-size: 13px; }
.persona .story summary { cursor: pointer; }
.triangle { border-collapse: collapse; font-size: 12px; font-variant-numeric: tabular-nums;
  margin-top: 8px; }
.triangle th { font-weight: 600; color: var(--muted); padding: 3px 6px; text-align: right;
  white-space: nowrap; }
.triangle td { width: 46px; height: 24px; text-align: center; border: 1px solid #fff;
  color: var(--ink); }
.triangle td.partial { font-style: italic; opacity: 0.7; }
.triangle td.empty { background: none; }
@media (max-width: 1000px) { .triangle td { width: 34px; } }
"""


Records = Callable[[Any, str], list[dict[str, Any]]]


def collect_customers(
    records: Records, warehouse: Any, schema: str, enriched_schema: str
) -> dict[str, Any]:
    """The persona cards, the latest week's biggest changes among them and the first-order
    retention triangle, as plain dicts (``records``: the page's query helper, rows as dicts
    with plain values)."""
    personas = records(
        warehouse,
        f"""
        select segment_id, persona_name, customers, share, difference_1, difference_2,
            difference_3, difference_4, typical_path, typical_path_share, main_channels,
            top_intents, top_emotions, churn_scored_customers, mean_churn_score,
            high_churn_risk_share, valued_customers, mean_predicted_value,
            mean_probability_alive, narrative, narrative_source
        from {enriched_schema}.dim_personas
        order by customers desc, segment_id
        """,
    )
    triangle = records(
        warehouse,
        f"""
        select cohort_week, weeks_since, cohort_customers, active_customers,
            ordering_customers, active_rate, ordering_rate, is_complete_week
        from {schema}.mart_retention_cohorts
        where cohort_type = 'first_order' and breakdown = 'all'
            and weeks_since <= {TRIANGLE_WEEKS}
        order by cohort_week, weeks_since
        """,
    )
    changes = records(
        warehouse,
        f"""
        select week_start, segment_id, persona_name, change_summary, change_rank
        from {enriched_schema}.mart_persona_trends
        where week_start = (select max(week_start) from {enriched_schema}.mart_persona_trends)
            and previous_customers is not null and change_rank <= {CHANGES_SHOWN}
        order by change_rank
        """,
    )
    return {"personas": personas, "retention": triangle, "changes": changes}


# ---------------------------------------------------------------------------- rendering


def _path(path: str | None) -> str:
    if not path:
        return ""
    steps = path.split(" > ")[:PATH_STEPS_SHOWN]
    return " &rsaquo; ".join(f"<b>{esc(event_label(step))}</b>" for step in steps)


def _persona(card: dict[str, Any]) -> str:
    differences = [card[f"difference_{i}"] for i in range(1, 5) if card.get(f"difference_{i}")]
    items = "".join(f"<li>{esc(d)}</li>" for d in differences)
    path = ""
    if card.get("typical_path"):
        path = (
            f'<p class="path">Typical path: {_path(card["typical_path"])} '
            f"({esc(pct(card.get('typical_path_share')))} start this way)</p>"
        )
    churn = (
        f'<div class="{"risky" if (card.get("high_churn_risk_share") or 0) >= 0.2 else ""}">'
        f"<strong>{esc(pct(card.get('mean_churn_score')))}</strong>mean churn risk of "
        f"{esc(count(card.get('churn_scored_customers')))} subscribers</div>"
        if card.get("mean_churn_score") is not None
        else "<div><strong>&ndash;</strong>no churn scores</div>"
    )
    value = (
        f"<div><strong>{esc(count(card.get('mean_predicted_value')))}</strong>predicted 90-day "
        f"value per buyer ({esc(count(card.get('valued_customers')))} buyers)</div>"
        if card.get("mean_predicted_value") is not None
        else "<div><strong>&ndash;</strong>no buyers valued</div>"
    )
    mixes = [
        f'<p class="mix">{label}: {esc(str(card[key]).replace("_", " "))}</p>'
        for key, label in (
            ("main_channels", "Channels"),
            ("top_intents", "Their texts are about"),
            ("top_emotions", "Feelings in their texts"),
        )
        if card.get(key)
    ]
    share = float(card.get("share") or 0)
    return (
        f'<article class="persona" data-segment="{esc(card["segment_id"])}">'
        f"<h3>{esc(card['persona_name'])}</h3>"
        f'<p class="size">{esc(count(card["customers"]))} customers &middot; '
        f"{esc(pct(share))} of those segmented</p>"
        f'<div class="sharebar"><span style="width:{100 * share:.1f}%"></span></div>'
        f"<ul>{items}</ul>{path}{''.join(mixes)}"
        f'<div class="figs">{churn}{value}</div>'
        f'<details class="story"><summary>In a few words</summary>'
        f"<p>{esc(card.get('narrative'))}</p></details></article>"
    )


def _personas(data: dict[str, Any]) -> str:
    cards = data.get("personas") or []
    head = (
        '<section class="card" id="personas" aria-labelledby="personas-title">'
        '<h2 id="personas-title">Who the customers are</h2>'
    )
    if not cards:
        return (
            head + '<p class="note" data-personas="none"><strong>No personas yet.</strong> '
            "Once the segmentation model has run, this section shows each behavioural segment: "
            "its size, what sets it apart, its typical path, churn risk and value.</p></section>"
        )
    total = sum(int(c["customers"]) for c in cards)
    return (
        head + f'<p class="lede">{esc(count(total))} known customers with a web or app visit, '
        f"in {esc(len(cards))} behavioural segments found by the segmentation model. Each card "
        "says what sets the segment apart from everyone else, in its own numbers.</p>"
        f'<div class="personas">{"".join(_persona(c) for c in cards)}</div>'
        f"{_changes(data.get('changes') or [])}</section>"
    )


def _changes(changes: list[dict[str, Any]]) -> str:
    """The latest week's biggest moves among the personas, biggest first."""
    if not changes:
        return ""
    week = str(changes[0]["week_start"])[:10]
    items = "".join(
        f'<li data-segment="{esc(c["segment_id"])}">{esc(c["change_summary"])}</li>'
        for c in changes
    )
    return (
        f'<h3 class="changes-title">What changed in the week of {esc(week)}</h3>'
        f'<ol class="changes" data-week="{esc(week)}">{items}</ol>'
    )


def _shade(rate: float) -> str:
    """A blue whose depth follows the rate (0-1)."""
    alpha = 0.08 + 0.82 * max(0.0, min(1.0, rate))
    return f"rgba(78,121,167,{alpha:.2f})"


def _triangle(data: dict[str, Any]) -> str:
    rows = data.get("retention") or []
    head = (
        '<section class="card" id="retention" aria-labelledby="retention-title">'
        '<h2 id="retention-title">Retention by first-order week</h2>'
    )
    if not rows:
        return head + '<p class="note">No orders yet, so no cohorts to follow.</p></section>'
    weeks = sorted({r["cohort_week"] for r in rows})[-TRIANGLE_COHORTS:]
    by_cell = {(r["cohort_week"], int(r["weeks_since"])): r for r in rows}
    last = max(int(r["weeks_since"]) for r in rows)
    header = "".join(f"<th>{week}</th>" for week in range(last + 1))
    body = []
    for week in weeks:
        first = by_cell.get((week, 0))
        size = int(first["cohort_customers"]) if first else 0
        cells = []
        for since in range(last + 1):
            cell = by_cell.get((week, since))
            if cell is None:
                cells.append('<td class="empty"></td>')
                continue
            rate = float(cell["active_rate"] or 0)
            title = (
                f"{count(cell['active_customers'])} of {count(size)} active, "
                f"{count(cell['ordering_customers'])} ordered"
                + ("" if cell["is_complete_week"] else " (week not over yet)")
            )
            partial = "" if cell["is_complete_week"] else ' class="partial"'
            cells.append(
                f'<td{partial} style="background:{_shade(rate)}" title="{esc(title)}">'
                f"{esc(pct(rate))}</td>"
            )
        body.append(
            f'<tr data-cohort="{esc(week)}"><th>{esc(str(week)[:10])}</th>'
            f"<th>{esc(count(size))}</th>{''.join(cells)}</tr>"
        )
    return (
        head + '<p class="lede">Customers grouped by the week of their first order: the share '
        "of each cohort active (any visit, email open or order of their own) week by week since. "
        "Hover a cell for the counts; italics mark a week not over yet.</p>"
        f'<table class="triangle"><thead><tr><th>cohort</th><th>customers</th>{header}</tr>'
        f"</thead><tbody>{''.join(body)}</tbody></table></section>"
    )


def render_customers(data: dict[str, Any]) -> str:
    """The personas and the retention triangle (with their stylesheet)."""
    customers = data.get("customer_groups") or {}
    return f"<style>{CSS}</style>{_personas(customers)}{_triangle(customers)}"
