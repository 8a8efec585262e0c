"""The page's "What happens next" section: predicted drop-off of open journeys by stage
(enriched.mart_predicted_drop_off) and the next-best-action lift table
(enriched.mart_action_lift) with each action's verdict.

``collect`` reads the marts into plain dicts (empty lists before the models have run);
``render`` turns them into HTML. Values are escaped.
"""

from __future__ import annotations

from typing import Any

from journeymap.report.fmt import count, esc, event_label, pct, plural
from journeymap.report.style import STAGE_COLOURS

CSS = """
/* what happens next */
#next h3 { margin: 22px 0 4px; }
.nx-table { width: 100%; border-collapse: collapse; font-size: 14px; margin-top: 8px; }
.nx-table th, .nx-table td { text-align: left; padding: 6px 8px;
  border-bottom: 1px solid var(--line); }
.nx-table td.num, .nx-table th.num { text-align: right; font-variant-numeric: tabular-nums; }
.nx-bar { display: inline-block; height: 10px; border-radius: 5px; background: var(--bad);
  vertical-align: middle; margin-right: 6px; }
.nx-verdict.helps { color: var(--good, #2e7d32); font-weight: 700; }
.nx-verdict.hurts { color: var(--bad); font-weight: 700; }
"""


def _table_exists(records, warehouse: Any, schema: str, table: str) -> bool:
    rows = records(
        warehouse,
        "select count(*) as n from information_schema.tables "
        f"where lower(table_schema) = '{schema}' and lower(table_name) = '{table}'",
    )
    return bool(rows and rows[0]["n"])


def collect(records, warehouse: Any, enriched_schema: str = "enriched") -> dict[str, Any]:
    """The section's data; ``records`` is journeymap.report.data.records."""
    e = enriched_schema
    out: dict[str, Any] = {"drop_off": [], "lift": []}
    if _table_exists(records, warehouse, e, "mart_predicted_drop_off"):
        out["drop_off"] = records(
            warehouse,
            f"""
            select current_stage, stage_order, open_journeys, mean_drop_off_probability,
                expected_drop_offs, likely_next_step
            from {e}.mart_predicted_drop_off order by stage_order
            """,
        )
    if _table_exists(records, warehouse, e, "mart_action_lift"):
        out["lift"] = records(
            warehouse,
            f"""
            select experiment, action, goal, assigned_customers, open_customers,
                treated_customers, holdout_customers, treated_churned, holdout_churned,
                churned_difference, churned_ci_low, churned_ci_high,
                treated_reached_next_stage, holdout_reached_next_stage,
                reached_next_stage_difference, reached_next_stage_ci_low,
                reached_next_stage_ci_high, revenue_difference, revenue_ci_low,
                revenue_ci_high, verdict
            from {e}.mart_action_lift order by experiment, assigned_customers desc, action
            """,
        )
    return out


def _points(value: Any) -> str:
    return "-" if value is None else f"{100 * float(value):+.1f} pts"


def _interval(low: Any, high: Any, money: bool = False) -> str:
    if low is None or high is None:
        return "-"
    if money:
        return f"{float(low):+.2f} to {float(high):+.2f}"
    return f"{100 * float(low):+.1f} to {100 * float(high):+.1f} pts"


GOAL_WORDS = {
    "churn": "churn (lower is better)",
    "next_stage": "reaching the next stage",
    "revenue": "revenue per customer",
}
GOAL_COLUMNS = {
    "churn": ("churned", False),
    "next_stage": ("reached_next_stage", False),
    "revenue": ("revenue", True),
}


def _drop_off(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return (
            '<p class="note" data-next="no-predictions">No next-step predictions yet: once the '
            "next-step model has run, this shows each stage's open journeys and their chance "
            "of dropping off before the next stage.</p>"
        )
    body = "".join(
        f'<tr data-stage="{esc(r["current_stage"])}"><td>'
        f'<i class="dot" style="background:{STAGE_COLOURS.get(r["current_stage"], "#999")}">'
        f"</i> {esc(str(r['current_stage']).capitalize())}</td>"
        f'<td class="num">{esc(count(r["open_journeys"]))}</td>'
        f'<td class="num"><span class="nx-bar" style="width:'
        f'{60 * float(r["mean_drop_off_probability"] or 0):.0f}px"></span>'
        f"{esc(pct(r['mean_drop_off_probability']))}</td>"
        f'<td class="num">{esc(count(r["expected_drop_offs"]))}</td>'
        f"<td>{esc(event_label(r['likely_next_step']) or '-')}</td></tr>"
        for r in rows
    )
    return (
        '<table class="nx-table" data-next="drop-off"><thead><tr><th>Stage now</th>'
        '<th class="num">Open journeys</th><th class="num">Predicted drop-off</th>'
        '<th class="num">Expected drop-offs</th><th>Most likely next step</th></tr></thead>'
        f"<tbody>{body}</tbody></table>"
    )


def _verdict_words(row: dict[str, Any]) -> str:
    """The mart's verdict, said plainly when no assigned customer's window has passed yet."""
    waiting = not (row.get("treated_customers") or row.get("holdout_customers"))
    if waiting and row.get("open_customers"):
        waiting_n = plural(row["open_customers"], "assigned customer")
        return f"too early to tell: {waiting_n}, all still inside the outcome window"
    return str(row["verdict"] or "")


def _lift(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return '<p class="note" data-next="no-actions">No next-best-action assignments yet.</p>'
    cells = []
    for r in rows:
        column, money = GOAL_COLUMNS.get(r["goal"], ("reached_next_stage", False))
        verdict = _verdict_words(r)
        kind = verdict.split(":")[0] if verdict.startswith(("helps", "hurts")) else "early"
        difference = r.get(f"{column}_difference")
        interval = _interval(r.get(f"{column}_ci_low"), r.get(f"{column}_ci_high"), money)
        shown = (
            "-"
            if difference is None
            else (f"{float(difference):+.2f}" if money else _points(difference))
        )
        cells.append(
            f'<tr data-action="{esc(r["action"])}"><td>{esc(event_label(r["action"]))}</td>'
            f"<td>{esc(GOAL_WORDS.get(r['goal'], event_label(r['goal'])))}</td>"
            f'<td class="num">{esc(count(r["treated_customers"]))} / '
            f"{esc(count(r['holdout_customers']))}</td>"
            f'<td class="num">{esc(count(r["open_customers"]))}</td>'
            f'<td class="num">{esc(shown)}</td>'
            f'<td class="num">{esc(interval)}</td>'
            f'<td class="nx-verdict {esc(kind)}">{esc(verdict)}</td></tr>'
        )
    return (
        '<table class="nx-table" data-next="lift"><thead><tr><th>Action</th><th>Goal</th>'
        '<th class="num">Treated / held out</th><th class="num">Still in their window</th>'
        '<th class="num">Difference on goal</th><th class="num">95% interval</th>'
        f"<th>Verdict</th></tr></thead><tbody>{''.join(cells)}</tbody></table>"
    )


def render(data: dict[str, Any]) -> str:
    section = data.get("next_steps") or {}
    return (
        '<section class="card" id="next" aria-labelledby="next-title">'
        '<h2 id="next-title">What happens next</h2>'
        '<p class="lede">For every customer whose journey is still open, the next-step model '
        "predicts where they go next and how likely they are to drop off before the next stage. "
        "Next best actions are then measured honestly: a fixed random share of the eligible "
        "customers is held out, and once an action's outcome window has passed the treated and "
        "held-out customers are compared.</p>"
        "<h3>Predicted drop-off of open journeys</h3>"
        f"{_drop_off(section.get('drop_off') or [])}"
        "<h3>Does acting help? Next best action against its holdout</h3>"
        f"{_lift(section.get('lift') or [])}"
        "</section>"
    )
