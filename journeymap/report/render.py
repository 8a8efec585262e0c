"""Rendering: the report data (plain dicts) -> one self-contained HTML page.

No network is needed to open the page: inline CSS, inline SVG, system fonts and one small
optional inline script (Sankey highlighting; the page reads the same without it). Every value
that comes from the data goes through ``esc``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from journeymap.report import insights, next_steps, voice
from journeymap.report.attribution import ATTRIBUTION_CSS, render_attribution
from journeymap.report.customers import render_customers
from journeymap.report.fmt import count, duration, esc, event_label, pct, plural
from journeymap.report.sankey import layout_sankey, render_sankey_svg
from journeymap.report.style import (
    CSS,
    FALLBACK_COLOUR,
    FLOW_COLOURS,
    RISK_COLOURS,
    STAGE_COLOURS,
)

TOUCHPOINTS_SHOWN = 7

# The page's only script, optional: pointing at a Sankey step highlights the flows through it.
SCRIPT = """
(function () {
  var svg = document.querySelector("svg.sankey");
  if (!svg) { return; }
  var links = svg.querySelectorAll(".sankey-link");
  svg.querySelectorAll(".sankey-node").forEach(function (node) {
    var id = node.getAttribute("data-id");
    node.addEventListener("mouseenter", function () {
      svg.classList.add("focus");
      links.forEach(function (link) {
        var on = link.getAttribute("data-s") === id || link.getAttribute("data-t") === id;
        link.classList.toggle("on", on);
      });
    });
    node.addEventListener("mouseleave", function () {
      svg.classList.remove("focus");
      links.forEach(function (link) { link.classList.remove("on"); });
    });
  });
})();
"""


def stage_colour(stage: str | None) -> str:
    return STAGE_COLOURS.get(stage or "", FALLBACK_COLOUR)


def _date(value: str | None) -> str | None:
    if not value:
        return None
    try:
        day = dt.datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    return f"{day.day} {day:%b %Y}"


# --------------------------------------------------------------------------------- headline


def headline_sentences(data: dict[str, Any]) -> list[str]:
    """The page's opening sentences (HTML, data escaped): the worst stage and the device gap."""
    sentences = []
    worst = insights.biggest_stage_drop_off(data)
    if worst is None:
        sentences.append("No stage has customers yet, so there is no drop-off to show.")
    else:
        next_label = worst["next_stage_label"] or "the next stage"
        sentences.append(
            f"Customers struggle most after <strong>{esc(worst['stage_label'])}</strong>: "
            f'<span class="mark">{esc(pct(worst["drop_off_rate"]))} drop off</span> '
            f"&mdash; {esc(count(worst['customers_lost']))} of the "
            f"{esc(count(worst['customers_reached']))} customers who reached it never went on "
            f"to {esc(next_label)}."
        )
    funnel_name = (data.get("funnel") or {}).get("name") or "purchase"
    gap = insights.biggest_device_gap(data)
    if gap is not None:
        previous = gap["previous_step_name"] or "the previous step"
        sentences.append(
            f"In the {esc(funnel_name)} funnel, <strong>{esc(gap['worst_device'])}</strong> "
            f"falls behind at <strong>{esc(gap['step_name'])}</strong>: of the customers who "
            f"reached &ldquo;{esc(previous)}&rdquo;, only "
            f'<span class="mark">{esc(pct(gap["worst_rate"]))} on {esc(gap["worst_device"])}'
            f"</span> went on, against <strong>{esc(pct(gap['compared_rate']))} on "
            f"{esc(insights.and_list(gap['compared_devices']))}</strong> &mdash; a "
            f"{esc(round(gap['gap'] * 100))}-point "
            f"gap, about {esc(plural(gap['customers_lost'], 'customer'))} lost at this step."
        )
    elif insights.funnel_steps(data):
        sentences.append(
            f"No step of the {esc(funnel_name)} funnel converts clearly worse on one device than "
            "on another."
        )
    return sentences


def _kpis(data: dict[str, Any]) -> str:
    customers = data.get("customers") or {}
    stages = {s["journey_stage"]: s for s in insights.stages_in_order(data)}
    total = customers.get("total") or 0
    cards = [("", count(total), f"people in the journey ({count(customers.get('known'))} known)")]
    purchase = stages.get("purchase")
    if purchase is not None:
        share = purchase["customers_reached"] / total if total else None
        cards.append(("", count(purchase["customers_reached"]), f"reached purchase ({pct(share)})"))
    steps = insights.funnel_steps(data)
    if steps:
        last = steps[-1]
        cards.append(
            (
                "",
                pct(last.get("conversion_from_entry")),
                f"of funnel entrants reached &ldquo;{esc(last['step_name'])}&rdquo;",
            )
        )
    high = insights.high_risk_customers(data)
    if high is None:
        cards.append(("", "&ndash;", "at high churn risk (not scored yet)"))
    else:
        cards.append(("alert" if high else "", count(high), "customers at high churn risk"))
    return (
        '<div class="kpis">'
        + "".join(
            f'<div class="kpi {cls}"><div class="value">{value}</div>'
            f'<div class="label">{label}</div></div>'
            for cls, value, label in cards
        )
        + "</div>"
    )


def _hero(data: dict[str, Any]) -> str:
    period = data.get("period") or {}
    first, last = _date(period.get("first_seen_at")), _date(period.get("last_seen_at"))
    span = f" &middot; activity from {esc(first)} to {esc(last)}" if first and last else ""
    sentences = "".join(f'<p class="headline">{s}</p>' for s in headline_sentences(data))
    return (
        '<header class="hero">'
        f'<p class="eyebrow">Customer journey map{span}</p>'
        "<h1>Where customers struggle</h1>"
        f"{sentences}{_kpis(data)}</header>"
    )


# ------------------------------------------------------------------------------ journey map


def _touchpoint(tp: dict[str, Any], stage: dict[str, Any], widest: int) -> str:
    reached = tp.get("customers_reached") or 0
    stage_reached = stage.get("customers_reached") or 0
    share = reached / stage_reached if stage_reached else 0
    width = 100 * reached / widest if widest else 0
    flagged = insights.is_high_drop_off(tp, stage)
    name, channel = tp["touchpoint"], tp["channel"]
    if tp.get("conversion_to_next_stage") is None:
        note = f"{pct(share)} of the stage"
    else:
        note = f"{pct(tp['conversion_to_next_stage'])} went on"
    if flagged:
        note = (
            f"&#9888; {pct(tp['drop_off_rate'])} drop off vs {pct(stage['drop_off_rate'])} "
            "for the stage"
        )
    tip = (
        f"{name} ({channel}): {count(reached)} customers ({pct(share)} of the stage), "
        f"{count(tp.get('events'))} events"
    )
    if tp.get("conversion_to_next_stage") is not None:
        tip += (
            f"; {pct(tp['conversion_to_next_stage'])} went on to the next stage, "
            f"{pct(tp['drop_off_rate'])} dropped off"
        )
    if tp.get("median_hours_in_stage") is not None:
        tip += f"; median time in stage {duration(tp['median_hours_in_stage'])}"
    return (
        f'<li class="tp{" flag" if flagged else ""}" title="{esc(tip)}" '
        f'data-touchpoint="{esc(name)}" data-channel="{esc(channel)}">'
        f'<div class="tp-line"><span class="tp-name">{esc(name)}</span>'
        f'<span class="tp-value">{esc(count(reached))}</span></div>'
        f'<div class="tp-bar"><span style="width:{width:.1f}%;opacity:{0.45 + 0.55 * share:.2f}">'
        f"</span></div>"
        f'<div class="tp-note"><span class="tp-channel">{esc(channel)}</span> {note}</div></li>'
    )


def _stage_column(stage: dict[str, Any], touchpoints: list[dict[str, Any]]) -> str:
    key = stage["journey_stage"]
    shown = touchpoints[:TOUCHPOINTS_SHOWN]
    widest = max((t.get("customers_reached") or 0 for t in shown), default=0)
    items = "".join(_touchpoint(t, stage, widest) for t in shown)
    hidden = touchpoints[TOUCHPOINTS_SHOWN:]
    if hidden:
        flagged = sum(insights.is_high_drop_off(t, stage) for t in hidden)
        extra = f", {flagged} with high drop-off" if flagged else ""
        items += f'<li class="tp-more">+ {len(hidden)} smaller touchpoints{esc(extra)}</li>'
    if not touchpoints:
        items = '<li class="tp-more">No touchpoints recorded.</li>'
    furthest = stage.get("customers_furthest_here")
    stop = '<p class="stage-stop empty"></p>'
    if furthest is not None:
        stop = (
            f'<p class="stage-stop">Furthest stage so far for '
            f"<strong>{esc(count(furthest))}</strong></p>"
        )
    return (
        f'<article class="stage" data-stage="{esc(key)}" '
        f'style="--stage:{esc(stage_colour(key))}">'
        f'<div class="stage-head"><span class="stage-num">{esc(stage["stage_order"])}</span>'
        f"<h3>{esc(stage['stage_label'])}</h3></div>"
        f'<p class="stage-reach"><strong>{esc(count(stage["customers_reached"]))}</strong> '
        f"customers reached</p>"
        f'<p class="stage-desc">{esc(stage.get("description") or "")}</p>'
        f"{stop}"
        f'<h4>Touchpoints by reach</h4><ul class="touchpoints">{items}</ul></article>'
    )


def _connector(stage: dict[str, Any], worst_key: str | None) -> str:
    worst = stage["journey_stage"] == worst_key
    conversion, drop = stage.get("conversion_to_next_stage"), stage.get("drop_off_rate")
    time = stage.get("median_hours_to_next_stage")
    tip = (
        f"Of {count(stage['customers_reached'])} customers in {stage['stage_label']}, "
        f"{count(stage.get('customers_to_next_stage'))} went on ({pct(conversion)}); "
        f"{pct(drop)} dropped off"
    )
    tag = '<span class="tag">biggest drop-off</span>' if worst else ""
    time_html = f'<p class="time">median {esc(duration(time))} to move on</p>' if time else ""
    return (
        f'<div class="connector{" worst" if worst else ""}" '
        f'data-from="{esc(stage["journey_stage"])}" title="{esc(tip)}">'
        '<div class="arrow" aria-hidden="true"></div>'
        f'<p class="go"><strong>{esc(pct(conversion))}</strong> go on</p>'
        f'<p class="drop">{tag} <strong>{esc(pct(drop))}</strong> drop off</p>'
        f"{time_html}</div>"
    )


def _journey(data: dict[str, Any]) -> str:
    stages = insights.stages_in_order(data)
    by_stage = insights.touchpoints_by_stage(data)
    worst = insights.biggest_stage_drop_off(data)
    worst_key = worst["journey_stage"] if worst else None
    cells = []
    for i, stage in enumerate(stages):
        cells.append(_stage_column(stage, by_stage.get(stage["journey_stage"], [])))
        if i < len(stages) - 1:
            cells.append(_connector(stage, worst_key))
    return (
        '<section class="card" id="journey" aria-labelledby="journey-title">'
        '<h2 id="journey-title">The journey, stage by stage</h2>'
        '<p class="lede">Read left to right: how many customers reached each stage, the share '
        "that went on to the next one and the share that dropped off. Under each stage, the "
        "touchpoints that reached them; the bar is the reach, and a red mark means customers "
        "who used that touchpoint dropped off clearly more often than the stage as a whole.</p>"
        f'<div class="journey">{"".join(cells)}</div>'
        '<div class="legend"><span><i style="background:#8a94a6"></i>bar length = customers '
        'reached</span><span><i style="background:var(--bad-wash);border:2px solid '
        'var(--bad)"></i>drop-off 10+ points above the stage</span>'
        "<span>Hover any touchpoint for its figures.</span></div></section>"
    )


# ----------------------------------------------------------------------------------- funnel


def _device_bars(
    step_number: int, devices: list[str], by_device: dict, gap: dict[str, Any] | None
) -> str:
    rows = []
    for device in devices:
        row = by_device.get(device, {}).get(step_number)
        if row is None:
            continue
        rate = row.get("conversion_from_previous")
        is_worst = gap is not None and (gap["step_number"], gap["worst_device"]) == (
            step_number,
            device,
        )
        cls = " worst" if is_worst else ""
        tip = (
            f"{device}: {count(row.get('completed'))} of {count(row.get('entered'))} went on "
            f"({pct(rate, 1)})"
        )
        if row.get("median_hours_from_previous") is not None:
            tip += f"; median {duration(row['median_hours_from_previous'])} from previous step"
        width = 100 * rate if rate is not None else 0
        rows.append(
            f'<div class="dev{cls}" title="{esc(tip)}" data-device="{esc(device)}">'
            f'<span class="dname">{esc(device)}</span>'
            f'<span class="dbar"><span style="width:{width:.1f}%"></span></span>'
            f'<span class="rate">{esc(pct(rate))}</span></div>'
        )
    return f'<div class="devices">{"".join(rows)}</div>'


def _funnel(data: dict[str, Any]) -> str:
    funnel = data.get("funnel") or {}
    name = funnel.get("name") or "purchase"
    steps = insights.funnel_steps(data)
    if not steps:
        return (
            '<section class="card" id="funnel"><h2>Funnel</h2>'
            f'<p class="note">The {esc(name)} funnel has no customers yet.</p></section>'
        )
    devices = insights.funnel_devices(data)
    by_device = insights.funnel_by_device(data)
    gap = insights.biggest_device_gap(data)
    entrants = steps[0].get("entered") or 0
    rows = [
        '<div class="funnel-head">Step</div><div class="funnel-head">Customers who reached it'
        '</div><div class="funnel-head">Went on from the previous step, by device</div>'
    ]
    for step in steps:
        n = step["step_number"]
        completed = step.get("completed") or 0
        width = 100 * completed / entrants if entrants else 0
        label_cls = "out" if width > 30 else ""
        label_left = "8px" if width > 30 else f"calc({width:.1f}% + 8px)"
        if n == 1:
            sub = "funnel entry"
        else:
            sub = (
                f"{pct(step.get('conversion_from_previous'))} of the previous step"
                f" &middot; {esc(count((step.get('entered') or 0) - completed))}"
                " dropped off"
            )
            if step.get("median_hours_from_previous") is not None:
                sub += f" &middot; median {esc(duration(step['median_hours_from_previous']))}"
        is_gap = gap is not None and gap["step_number"] == n
        device_html = (
            _device_bars(n, devices, by_device, gap)
            if n > 1
            else '<div class="fsub">everyone starts here</div>'
        )
        rows.append(
            f'<div class="funnel-row{" gap" if is_gap else ""}" data-step="{esc(n)}">'
            f'<div class="step-name">{esc(n)}. {esc(step["step_name"])}'
            f"<small>{esc(event_label(step.get('canonical_event')))}</small></div>"
            f'<div><div class="fbar" title="{esc(step["step_name"])}: {esc(count(completed))} '
            f'customers, {esc(pct(step.get("conversion_from_entry"), 1))} of entrants">'
            f'<span style="width:{width:.1f}%"></span>'
            f'<em class="{label_cls}" style="left:{label_left}">{esc(count(completed))} '
            f"&middot; {esc(pct(step.get('conversion_from_entry')))}</em></div>"
            f'<div class="fsub">{sub}</div></div>'
            f"<div>{device_html}</div></div>"
        )
        if is_gap:
            others = insights.and_list(gap["compared_devices"])
            rows.append(
                f'<div class="callout"><strong>Biggest device gap.</strong> Of the customers '
                f"who reached &ldquo;{esc(gap['previous_step_name'])}&rdquo;, "
                f"{esc(pct(gap['worst_rate']))} on {esc(gap['worst_device'])} went on to "
                f"&ldquo;{esc(gap['step_name'])}&rdquo; against "
                f"{esc(pct(gap['compared_rate']))} on {esc(others)}. If "
                f"{esc(gap['worst_device'])} converted like {esc(others)}, about "
                f"{esc(plural(gap['customers_lost'], 'more customer'))} would have gone on "
                "(this step only).</div>"
            )
    lede = (
        f"The {esc(name)} funnel: customers who entered it at &ldquo;"
        f"{esc(steps[0]['step_name'])}&rdquo; ({esc(count(entrants))}) and how many reached each "
        "later step. On the right, each step's conversion from the step before, split by the "
        "device the customer entered on."
    )
    if gap is None:
        lede += " No step shows a clear gap between devices."
    return (
        '<section class="card" id="funnel" aria-labelledby="funnel-title">'
        f'<h2 id="funnel-title">{esc(name.capitalize())} funnel and devices</h2>'
        f'<p class="lede">{lede}</p><div class="funnel">{"".join(rows)}</div></section>'
    )


# ------------------------------------------------------------------------------------ paths


def _paths(data: dict[str, Any]) -> str:
    paths = data.get("paths") or {}
    max_steps = paths.get("max_steps") or 6
    event_stages = paths.get("event_stages") or {}
    colours = {event: stage_colour(stage) for event, stage in event_stages.items()}
    colours.update(FLOW_COLOURS)
    stage_rank = {stage: i for i, stage in enumerate(STAGE_COLOURS)}
    layout = layout_sankey(
        paths.get("transitions") or [],
        max_steps=max_steps,
        event_rank={event: stage_rank.get(stage, 99) for event, stage in event_stages.items()},
        max_nodes_per_column=5,
        height=470,
        min_link_share=0.004,
    )
    if not layout.nodes:
        body = '<p class="note">No customer paths recorded yet.</p>'
    else:
        outcome = {kind: 0.0 for kind in ("converted", "dropped", "more")}
        for n in layout.nodes:
            if n.kind in outcome:
                outcome[n.kind] += n.value
        total = layout.total_paths or 1
        if outcome["converted"]:
            ordered = (
                f"<strong>{esc(count(outcome['converted']))}</strong> customers "
                f"({esc(pct(outcome['converted'] / total))}) placed their first order and"
            )
        elif not (data.get("customers") or {}).get("ordering"):
            ordered = (
                "nobody converted: no event of this data is a conversion (the event taxonomy "
                "marks none with <code>is_conversion</code>), so paths run to the end of the "
                "data;"
            )
        else:
            ordered = "no customer placed a first order;"
        summary = (
            f'<p class="paths-outcome">Within the first {esc(max_steps)} steps, {ordered} '
            f'<strong class="bad">{esc(count(outcome["dropped"]))}</strong> '
            f"({esc(pct(outcome['dropped'] / total))}) stopped without one"
        )
        if outcome["more"]:
            summary += (
                f"; <strong>{esc(count(outcome['more']))}</strong> "
                f"({esc(pct(outcome['more'] / total))}) take more steps than that"
            )
        summary += ".</p>"
        svg = render_sankey_svg(
            layout,
            colours,
            title=f"Customer paths: the first {max_steps} steps",
            description=(
                f"Flows of {count(layout.total_paths)} customers from step to step until their "
                "first order, ending in ordered, dropped off or more steps."
            ),
        )
        present = sorted(
            {event_stages.get(n.event) for n in layout.nodes if n.kind == "event"} - {None},
            key=lambda s: list(STAGE_COLOURS).index(s) if s in STAGE_COLOURS else 99,
        )
        legend = "".join(
            f'<span><i style="background:{esc(stage_colour(s))}"></i>{esc(s)} event</span>'
            for s in present
        )
        legend += (
            f'<span><i style="background:{FLOW_COLOURS["converted"]}"></i>ordered</span>'
            f'<span><i style="background:{FLOW_COLOURS["dropped"]}"></i>dropped off (path ended '
            "without an order)</span>"
            "<span>Point at a step to follow its flows; hover for the numbers.</span>"
        )
        body = f'{summary}{svg}<div class="legend">{legend}</div>'
    top = paths.get("top_paths") or []
    top_html = ""
    if top:
        items = []
        for row in top:
            steps = [s.strip() for s in str(row["path"]).split(">")]
            chips = ' <span class="sep">&rarr;</span> '.join(
                f'<span class="step">{esc(event_label(s))}</span>' for s in steps
            )
            items.append(
                f'<li><span class="rank">{esc(row.get("frequency_rank"))}.</span>'
                f'<span class="steps">{chips}</span>'
                f'<span class="figs">{esc(count(row.get("conversions")))} customers</span></li>'
            )
        top_html = (
            "<h4>The most common paths to a first order</h4>"
            f'<ol class="top-paths">{"".join(items)}</ol>'
        )
    return (
        '<section class="card" id="paths" aria-labelledby="paths-title">'
        '<h2 id="paths-title">How customers move, step by step</h2>'
        f'<p class="lede">Each customer&rsquo;s path up to their first order, repeats collapsed. '
        f"Columns are steps 1 to {esc(max_steps)}; the band widths are customers. Paths that "
        "end feed the <strong>ordered</strong> or <strong>dropped off</strong> blocks in the "
        "next column.</p>"
        f'<div class="paths-grid"><div>{body}</div><div>{top_html}</div></div></section>'
    )


# ------------------------------------------------------------------------------------ churn


def _churn(data: dict[str, Any]) -> str:
    rows = insights.churn_by_stage(data)
    head = (
        '<section class="card" id="churn" aria-labelledby="churn-title">'
        '<h2 id="churn-title">Churn risk by current stage</h2>'
    )
    if rows is None:
        return (
            head + '<p class="note" data-churn="not-scored"><strong>No churn scores yet.</strong> '
            "The churn model has not scored this warehouse, so risk by stage cannot be shown: it "
            "scores active subscribers and learns from past cancellations, so it needs "
            "subscriptions and a few months of history (build/model_report.json says what was "
            "missing). Once it has scored, this section shows how many customers in each stage "
            "are at high, medium and low risk, and why.</p></section>"
        )
    total = data["churn"]["scored_customers"]
    cells = [
        '<div class="funnel-head">Current stage</div>'
        '<div class="funnel-head">Scored customers by risk</div>'
        '<div class="funnel-head">Most common top reason</div>'
    ]
    for row in rows:
        scored = row["scored"]
        if scored:
            bar = "".join(
                f'<span style="width:{100 * row[band] / scored:.2f}%;'
                f'background:{RISK_COLOURS[band]}" '
                f'title="{esc(band)} risk: {esc(count(row[band]))} customers '
                f'({esc(pct(row[band] / scored))})"></span>'
                for band in insights.RISK_BANDS
                if row[band]
            )
            figures = (
                f'<span class="bad">{esc(count(row["high"]))} high</span> &middot; '
                f"{esc(count(row['medium']))} medium &middot; {esc(count(row['low']))} low"
            )
        else:
            bar, figures = "", "no customers with a churn score in this stage"
        if row["top_reason"]:
            similar = " and similar" if row["top_reason_variants"] > 1 else ""
            if row["top_reason_among_at_risk"]:
                among = (
                    f"the {plural(row['high'] + row['medium'], 'customer')} at high or medium risk"
                )
            else:
                among = plural(scored, "scored customer")
            reason = (
                f'<span class="reason">&ldquo;{esc(row["top_reason"])}&rdquo;{similar}'
                f"<small>top reason for {esc(count(row['top_reason_customers']))} of "
                f"{esc(among)}</small></span>"
            )
        elif scored:
            reason = '<span class="reason"><small>no single reason stands out</small></span>'
        else:
            reason = '<span class="reason"><small>&ndash;</small></span>'
        risk = f'<div class="riskbar">{bar}</div>' if bar else ""
        cells.append(
            f'<div class="churn-row" data-stage="{esc(row["journey_stage"])}">'
            f"<div><strong>{esc(row['stage_label'])}</strong></div>"
            f'<div>{risk}<div class="riskfig">{figures}</div></div>'
            f"<div>{reason}</div></div>"
        )
    legend = "".join(
        f'<span><i style="background:{c}"></i>{esc(b)} risk</span>' for b, c in RISK_COLOURS.items()
    )
    return (
        head + f'<p class="lede">{esc(count(total))} customers with a subscription carry a churn '
        "score from the latest model run. Where they are in the journey, how risky they are, and "
        "the reason the model gives most often for their risk.</p>"
        f'<div class="churn">{"".join(cells)}</div><div class="legend">{legend}</div></section>'
    )


# ------------------------------------------------------------------------------ data health


def _health(data: dict[str, Any]) -> str:
    health = data.get("health") or {}
    sources = health.get("sources") or []
    landed = sum(s.get("landed_rows") or 0 for s in sources)
    quarantined = sum(s.get("quarantined_rows") or 0 for s in sources)
    deduplicated = sum(s.get("deduplicated_rows") or 0 for s in sources)
    files = sum(s.get("files") or 0 for s in sources)
    with_rows = [s for s in sources if s.get("landed_rows")]
    broken = [s for s in sources if not s.get("is_reconciled")]
    parts = []
    if sources:
        text = (
            f"<strong>Data health.</strong> {esc(count(landed))} rows landed in "
            f"{esc(plural(files, 'file'))} from {esc(plural(len(with_rows), 'source'))} "
            f"({esc(', '.join(s['source_name'] for s in with_rows) or 'none yet')}); "
            f"{esc(count(quarantined))} quarantined "
            f"({esc(pct(quarantined / landed if landed else 0, 1))}) and "
            f"{esc(count(deduplicated))} duplicates removed. "
        )
        if broken:
            names = ", ".join(
                f"{esc(s['source_name'])} ({esc(count(s.get('unaccounted_rows')))} rows)"
                for s in broken
            )
            text += f'<span class="bad">Not reconciled: {names}.</span>'
        else:
            text += "Every landed row is accounted for."
        parts.append(f'<p data-health="reconciliation">{text}</p>')
    else:
        parts.append("<p><strong>Data health.</strong> No load has been reconciled yet.</p>")
    names = health.get("unmapped_raw_names") or 0
    if names:
        shown = ", ".join(
            f"<code>{esc(u['raw_event_name'])}</code> ({esc(u['source'])}, "
            f"{esc(plural(u.get('events'), 'event'))})"
            for u in health.get("unmapped") or []
        )
        more = names - len(health.get("unmapped") or [])
        tail = f" and {esc(more)} more" if more > 0 else ""
        parts.append(
            f'<p data-health="unmapped">{esc(plural(names, "raw event name"))} '
            f"({esc(plural(health.get('unmapped_events'), 'event'))}) are not in the event "
            f"taxonomy yet and are left out of the journey: {shown}{tail}. Add them to the "
            "<code>event_taxonomy</code> seed.</p>"
        )
    else:
        parts.append(
            '<p data-health="unmapped">Every raw event name is mapped by the taxonomy.</p>'
        )
    generated = data.get("generated_at")
    if generated:
        parts.append(f"<p>Generated {esc(generated)} (UTC) from the journeymap marts.</p>")
    return f'<footer class="health" id="data-health">{"".join(parts)}</footer>'


# ------------------------------------------------------------------------------------- page


def render_journey_map(data: dict[str, Any]) -> str:
    """The whole page as one HTML string."""
    return (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>Journey map &middot; where customers struggle</title>"
        f"<style>{CSS}{voice.CSS}{ATTRIBUTION_CSS}{next_steps.CSS}</style></head><body>"
        '<div class="page">'
        f"{_hero(data)}<main>{_journey(data)}{_funnel(data)}{_paths(data)}"
        f"{render_attribution(data)}{voice.render(data)}{_churn(data)}"
        f"{render_customers(data)}{next_steps.render(data)}</main>"
        f"{_health(data)}</div><script>{SCRIPT}</script></body></html>\n"
    )
