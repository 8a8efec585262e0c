"""The journey map page's attribution section: which channels earned the conversions, by
every model side by side, and the most common channel paths to conversion and to
non-conversion. ``collect_attribution`` reads the marts (plain portable SQL) through the page's
query helper; ``render_attribution`` turns its dict into HTML (every data value escaped)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from journeymap.report.fmt import count, esc, pct, plural, points

TOP_CHANNEL_PATHS = 6
# Columns of the side-by-side table, in reading order: (model, heading).
MODEL_COLUMNS = (
    ("first_touch", "First touch"),
    ("last_touch", "Last touch"),
    ("linear", "Linear"),
    ("time_decay", "Time decay"),
    ("position_based", "Position"),
    ("markov_1", "Markov"),
    ("shapley", "Shapley"),
)
DATA_DRIVEN = "markov_1"  # the model the headline compares last touch with
# Not channels a marketer buys or runs: left out of the headline (not the table).
NOT_MARKETING = ("(none)", "direct")

ATTRIBUTION_CSS = """
table.attribution { width: 100%; border-collapse: collapse; font-size: 13.5px;
  font-variant-numeric: tabular-nums; }
table.attribution th { text-align: right; font-size: 12px; color: var(--muted); font-weight: 600;
  padding: 6px 8px; border-bottom: 2px solid var(--line); }
table.attribution td { text-align: right; padding: 7px 8px; border-bottom: 1px solid var(--line); }
table.attribution th:first-child, table.attribution td:first-child { text-align: left; }
table.attribution .ddm { background: var(--wash); }
table.attribution .up { color: var(--good); }
table.attribution .down { color: var(--bad); }
.attribution-paths { display: grid; grid-template-columns: 1fr 1fr; gap: 28px; margin-top: 18px; }
.attribution-paths ol { margin: 0; padding-left: 20px; font-size: 13.5px; }
.attribution-paths li { padding: 4px 0; border-bottom: 1px solid var(--line); }
.attribution-paths .figs { color: var(--muted); float: right; margin-left: 8px; }
@media (max-width: 760px) { .attribution-paths { grid-template-columns: 1fr; } }
"""


Query = Callable[[str], list[dict[str, Any]]]  # SQL -> rows as dicts (report.data.records)


def collect_attribution(
    query: Query, schema: str = "marts", enriched_schema: str = "enriched"
) -> dict[str, Any]:
    """Attribution by model and channel, and the top channel paths, as plain dicts."""
    m, e = schema, enriched_schema
    comparison = query(
        f"""
        select channel, attribution_model, model_family, attributed_conversions,
            share_of_conversions, share_change_from_last_touch, spend, cost_per_conversion,
            return_on_spend
        from {e}.mart_attribution_comparison
        order by channel, attribution_model
        """,
    )
    totals = query(
        f"""
        select
            (select count(*) from {m}.mart_conversion_paths) as conversions,
            (select coalesce(sum(revenue), 0) from {m}.mart_conversion_paths) as revenue,
            (select count(*) from {m}.mart_non_conversion_paths) as non_conversions
        """,
    )[0]
    to_conversion = query(
        f"""
        select coalesce(channel_path, '(none)') as path, count(*) as journeys
        from {m}.mart_conversion_paths
        group by coalesce(channel_path, '(none)')
        order by journeys desc, path
        limit {TOP_CHANNEL_PATHS}
        """,
    )
    to_non_conversion = query(
        f"""
        select channel_path as path, count(*) as journeys
        from {m}.mart_non_conversion_paths
        group by channel_path
        order by journeys desc, path
        limit {TOP_CHANNEL_PATHS}
        """,
    )
    return {
        "comparison": comparison,
        "conversions": int(totals["conversions"] or 0),
        "revenue": float(totals["revenue"] or 0),
        "non_conversions": int(totals["non_conversions"] or 0),
        "paths_to_conversion": to_conversion,
        "paths_to_non_conversion": to_non_conversion,
    }


def shares_by_channel(data: dict[str, Any]) -> dict[str, dict[str, dict[str, Any]]]:
    """channel -> model -> its comparison row."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for row in data.get("comparison") or []:
        out.setdefault(row["channel"], {})[row["attribution_model"]] = row
    return out


def last_touch_gaps(data: dict[str, Any], model: str = DATA_DRIVEN) -> list[tuple[str, float]]:
    """(channel, share under last touch - share under ``model``), largest over-credit first;
    marketing channels only (no direct visits, no conversions without touches)."""
    gaps = []
    for channel, models in shares_by_channel(data).items():
        if channel in NOT_MARKETING or "last_touch" not in models or model not in models:
            continue
        last = models["last_touch"]["share_of_conversions"] or 0.0
        gaps.append((channel, last - (models[model]["share_of_conversions"] or 0.0)))
    return sorted(gaps, key=lambda gap: (-gap[1], gap[0]))


def _headline(data: dict[str, Any]) -> str:
    by_channel = shares_by_channel(data)
    gaps = last_touch_gaps(data)
    if not gaps:
        return (
            "<p>Only the heuristic models have run so far; the data-driven models (Markov, "
            "Shapley) appear here after the attribution model has run.</p>"
        )
    over, gap = gaps[0]
    under, under_gap = gaps[-1]

    def share(channel: str, model: str) -> str:
        row = by_channel[channel].get(model)
        return pct(row["share_of_conversions"] if row else None)

    text = (
        f"Last touch over-credits <strong>{esc(over)}</strong> most: "
        f"{esc(share(over, 'last_touch'))} of conversions, against "
        f"{esc(share(over, DATA_DRIVEN))} under the Markov model, which asks how many "
        f"conversions would be lost without it (Shapley {esc(share(over, 'shapley'))}) - "
        f"<strong>{esc(points(gap))}</strong> more."
    )
    if under_gap < 0:
        text += (
            f" <strong>{esc(under)}</strong> is under-credited most: "
            f"{esc(share(under, 'last_touch'))} under last touch, "
            f"{esc(share(under, DATA_DRIVEN))} under Markov."
        )
    return f'<p class="headline" data-attribution="headline">{text}</p>'


def _cell(row: dict[str, Any] | None, column: str) -> str:
    if row is None:
        return '<td class="ddm">&ndash;</td>' if column in ("markov_1", "shapley") else "<td></td>"
    cls = ' class="ddm"' if row["model_family"] == "data_driven" else ""
    return f"<td{cls}>{esc(pct(row['share_of_conversions'], 1))}</td>"


def _table(data: dict[str, Any]) -> str:
    by_channel = shares_by_channel(data)
    ordered = sorted(
        by_channel,
        key=lambda c: -(by_channel[c].get("last_touch", {}).get("attributed_conversions") or 0),
    )
    head = "".join(f"<th>{esc(title)}</th>" for _, title in MODEL_COLUMNS)
    rows = []
    for channel in ordered:
        models = by_channel[channel]
        any_row = next(iter(models.values()))
        markov = models.get(DATA_DRIVEN)
        change = markov["share_change_from_last_touch"] if markov else None
        arrow = ""
        if change is not None and abs(change) >= 0.005:
            arrow = f'<span class="{"up" if change > 0 else "down"}">{"+" if change > 0 else "-"}'
            arrow += f"{abs(change) * 100:.1f}</span>"
        spend = any_row.get("spend")
        cost = markov.get("cost_per_conversion") if markov else None
        rows.append(
            f'<tr data-channel="{esc(channel)}"><td><strong>{esc(channel)}</strong></td>'
            f"<td>{esc(count(spend)) if spend is not None else '&ndash;'}</td>"
            + "".join(_cell(models.get(model), model) for model, _ in MODEL_COLUMNS)
            + f"<td>{arrow or '&ndash;'}</td>"
            f"<td>{esc(f'{cost:,.2f}') if cost is not None else '&ndash;'}</td></tr>"
        )
    return (
        '<table class="attribution"><thead><tr><th>Channel</th><th>Spend</th>'
        f"{head}<th>Markov vs last touch (points)</th><th>Cost per conversion (Markov)</th>"
        f"</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _path_list(rows: list[dict[str, Any]], total: int, title: str, kind: str) -> str:
    if not rows:
        return f'<div><h4>{esc(title)}</h4><p class="note">None yet.</p></div>'
    items = "".join(
        f'<li><span class="figs">{esc(count(row["journeys"]))} '
        f"({esc(pct(row['journeys'] / total if total else None))})</span>"
        f"{esc(str(row['path']).replace(' > ', ' → '))}</li>"
        for row in rows
    )
    return f'<div data-paths="{esc(kind)}"><h4>{esc(title)}</h4><ol>{items}</ol></div>'


def render_attribution(data: dict[str, Any]) -> str:
    """The attribution section of the page."""
    attribution = data.get("attribution") or {}
    head = (
        '<section class="card" id="attribution" aria-labelledby="attribution-title">'
        '<h2 id="attribution-title">Which touches earned the conversions</h2>'
    )
    conversions = attribution.get("conversions") or 0
    if not conversions:
        return head + '<p class="note">No conversions with marketing touches yet.</p></section>'
    lede = (
        f"{esc(plural(conversions, 'conversion'))} and "
        f"{esc(plural(attribution.get('non_conversions'), 'journey'))} that ended without one. "
        "Each column shares the conversions among the channels of the paths that led to them: "
        "first and last touch give all to one touch, linear splits evenly, time decay favours "
        "recent touches, position based favours the first and the last; the data-driven "
        "models (shaded) learn from converting and non-converting paths alike - Markov by the "
        "conversions lost without a channel, Shapley by what each channel adds to the "
        "conversion rate of the channel combinations it is in."
    )
    paths = (
        '<div class="attribution-paths">'
        + _path_list(
            attribution.get("paths_to_conversion") or [],
            conversions,
            "Top channel paths to conversion",
            "conversion",
        )
        + _path_list(
            attribution.get("paths_to_non_conversion") or [],
            attribution.get("non_conversions") or 0,
            "Top channel paths that ended without one",
            "non-conversion",
        )
        + "</div>"
    )
    return (
        f'{head}<p class="lede">{lede}</p>{_headline(attribution)}{_table(attribution)}'
        f"{paths}</section>"
    )
