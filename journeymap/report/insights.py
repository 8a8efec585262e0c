"""What the page says in words: pure functions over the report data (plain dicts).

The data shape is the one ``journeymap.report.data.collect_report_data`` returns; tests build
it by hand.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from typing import Any

# Devices whose funnel rows are compared; 'unknown' is not a device a team can fix.
DEVICE_ORDER = ("desktop", "mobile", "tablet")
# A device needs this many customers entering a step before its rate is compared.
MIN_ENTERED_FOR_GAP = 30
# A gap must be this many standard errors wide (two-proportion z test, ~95%) to be named.
MIN_GAP_Z = 1.96
# ... and at least this wide (share points) to be worth a headline.
MIN_GAP = 0.05
# A touchpoint is marked when its drop-off is this much above its stage's drop-off ...
TOUCHPOINT_FLAG_MARGIN = 0.10
# ... and it reached at least this share of the stage's customers (and 10 people).
TOUCHPOINT_FLAG_MIN_SHARE = 0.05
RISK_BANDS = ("high", "medium", "low")
# What the churn model writes in a reason slot when nothing else raises the risk.
NO_REASON_TEXTS = frozenset({"no further risk factor"})


def stages_in_order(data: dict[str, Any]) -> list[dict[str, Any]]:
    return sorted(data.get("stages") or [], key=lambda s: s["stage_order"])


def next_stage_label(data: dict[str, Any], stage: dict[str, Any]) -> str | None:
    for other in stages_in_order(data):
        if other["stage_order"] == stage["stage_order"] + 1:
            return other["stage_label"]
    return None


def biggest_stage_drop_off(data: dict[str, Any]) -> dict[str, Any] | None:
    """The stage whose customers most often do not reach the next one (earliest on a tie).
    A stage nobody in the data reaches (no event maps to it: a help desk log has no advocacy)
    is no drop-off of the stage before it."""
    reached = {s["stage_order"]: s.get("customers_reached") or 0 for s in stages_in_order(data)}
    candidates = [
        s
        for s in stages_in_order(data)
        if s.get("drop_off_rate") is not None
        and (s.get("customers_reached") or 0) > 0
        and reached.get(s["stage_order"] + 1, 0) > 0
    ]
    if not candidates:
        return None
    stage = max(candidates, key=lambda s: (s["drop_off_rate"], -s["stage_order"]))
    reached = stage["customers_reached"] or 0
    to_next = stage.get("customers_to_next_stage") or 0
    return {
        "journey_stage": stage["journey_stage"],
        "stage_label": stage["stage_label"],
        "stage_order": stage["stage_order"],
        "next_stage_label": next_stage_label(data, stage),
        "drop_off_rate": stage["drop_off_rate"],
        "customers_reached": reached,
        "customers_lost": max(reached - to_next, 0),
    }


def funnel_rows(data: dict[str, Any], breakdown: str = "all") -> list[dict[str, Any]]:
    rows = (data.get("funnel") or {}).get("rows") or []
    return sorted(
        (r for r in rows if r.get("breakdown") == breakdown),
        key=lambda r: (str(r.get("breakdown_value")), r["step_number"]),
    )


def funnel_steps(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The overall funnel, step by step."""
    return sorted(funnel_rows(data, "all"), key=lambda r: r["step_number"])


def funnel_devices(data: dict[str, Any]) -> list[str]:
    """Device types present in the funnel breakdown, known ones first, 'unknown' left out."""
    present = {r["breakdown_value"] for r in funnel_rows(data, "device_type")}
    known = [d for d in DEVICE_ORDER if d in present]
    others = sorted(d for d in present if d not in DEVICE_ORDER and d not in (None, "unknown"))
    return known + others


def funnel_by_device(data: dict[str, Any]) -> dict[str, dict[int, dict[str, Any]]]:
    """device -> step_number -> row."""
    by_device: dict[str, dict[int, dict[str, Any]]] = defaultdict(dict)
    for row in funnel_rows(data, "device_type"):
        by_device[row["breakdown_value"]][row["step_number"]] = row
    return dict(by_device)


def _z(p1: float, n1: int, p2: float, n2: int) -> float:
    """Two-proportion z statistic (pooled)."""
    pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return math.inf if p1 != p2 else 0.0
    return abs(p1 - p2) / se


def biggest_device_gap(
    data: dict[str, Any],
    min_entered: int = MIN_ENTERED_FOR_GAP,
    min_z: float = MIN_GAP_Z,
    min_gap: float = MIN_GAP,
) -> dict[str, Any] | None:
    """The funnel step where one device converts furthest below the other devices.

    Per step (from step 2), each device with at least ``min_entered`` customers entering the
    step is compared with the other such devices pooled (so a small device with a lucky rate
    does not set the bar). Gaps must be wide (``min_gap``) and not noise (``min_z``, a
    two-proportion z test); the widest is returned, or None when no step qualifies.
    """
    steps = {r["step_number"]: r for r in funnel_steps(data)}
    by_device = funnel_by_device(data)
    found: dict[str, Any] | None = None
    for step_number in sorted(steps):
        if step_number == 1:
            continue
        eligible = []
        for device in funnel_devices(data):
            row = by_device.get(device, {}).get(step_number)
            if not row or row.get("conversion_from_previous") is None:
                continue
            if (row.get("entered") or 0) < min_entered:
                continue
            eligible.append((device, row))
        if len(eligible) < 2:
            continue
        for device, row in eligible:
            others = [(d, r) for d, r in eligible if d != device]
            others_entered = sum(r["entered"] for _, r in others)
            others_completed = sum(r["completed"] for _, r in others)
            others_rate = others_completed / others_entered
            rate = row["conversion_from_previous"]
            gap = others_rate - rate
            if gap < min_gap:
                continue
            z = _z(others_rate, others_entered, rate, row["entered"])
            if z < min_z or (found is not None and gap <= found["gap"]):
                continue
            previous = steps.get(step_number - 1)
            found = {
                "step_number": step_number,
                "step_name": steps[step_number]["step_name"],
                "previous_step_name": previous["step_name"] if previous else None,
                "worst_device": device,
                "worst_rate": rate,
                "worst_entered": row["entered"],
                "compared_devices": [d for d, _ in others],
                "compared_rate": others_rate,
                "compared_entered": others_entered,
                "gap": gap,
                "z": z,
                "customers_lost": round(gap * row["entered"]),
            }
    return found


def and_list(words: list[str]) -> str:
    """['desktop', 'tablet', 'tv'] -> 'desktop, tablet and tv'."""
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def is_high_drop_off(touchpoint: dict[str, Any], stage: dict[str, Any]) -> bool:
    """A touchpoint whose customers drop off clearly more often than the stage's average."""
    rate = touchpoint.get("drop_off_rate")
    stage_rate = stage.get("drop_off_rate")
    if rate is None or stage_rate is None:
        return False
    reached = touchpoint.get("customers_reached") or 0
    stage_reached = stage.get("customers_reached") or 0
    if reached < max(10, TOUCHPOINT_FLAG_MIN_SHARE * stage_reached):
        return False
    return rate >= stage_rate + TOUCHPOINT_FLAG_MARGIN


def touchpoints_by_stage(data: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """stage -> touchpoints, most reached first."""
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for tp in data.get("touchpoints") or []:
        grouped[tp["journey_stage"]].append(tp)
    for rows in grouped.values():
        rows.sort(key=lambda t: (-(t.get("customers_reached") or 0), t["channel"], t["touchpoint"]))
    return dict(grouped)


def churn_by_stage(data: dict[str, Any]) -> list[dict[str, Any]] | None:
    """Per current stage: customers per risk band and the most common top reason.

    None when no churn score exists yet (the churn model has not run).
    """
    churn = data.get("churn") or {}
    if not churn.get("scored_customers"):
        return None
    bands: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(RISK_BANDS, 0))
    for row in churn.get("bands") or []:
        if row.get("churn_risk_band") in RISK_BANDS:
            bands[row["current_stage"]][row["churn_risk_band"]] += int(row["customers"] or 0)
    # Reasons carry each customer's figures ("3 support messages in the last 30 days"), so
    # they are counted by theme (figures and plurals ignored) and shown by their commonest text.
    # The reasons of customers at high or medium risk count when a stage has any.
    themes: dict[tuple[str, bool], Counter[str]] = defaultdict(Counter)
    texts: dict[tuple[str, bool, str], Counter[str]] = defaultdict(Counter)
    for row in churn.get("reasons") or []:
        reason = row.get("churn_reason_1")
        if reason is None or reason.strip().lower() in NO_REASON_TEXTS:
            continue
        theme, n = reason_theme(reason), int(row["customers"] or 0)
        at_risk = row.get("churn_risk_band") in ("high", "medium")
        for key in {False, at_risk}:
            themes[(row["current_stage"], key)][theme] += n
            texts[(row["current_stage"], key, theme)][reason] += n
    reasons: dict[str, tuple[str, int, int, bool]] = {}
    for stage in {stage for stage, _ in themes}:
        at_risk = (stage, True) in themes
        counter = themes[(stage, at_risk)]
        theme, n = min(counter.items(), key=lambda item: (-item[1], item[0]))
        variants = texts[(stage, at_risk, theme)]
        text = min(variants.items(), key=lambda item: (-item[1], item[0]))[0]
        reasons[stage] = (text, n, len(variants), at_risk)
    result = []
    for stage in stages_in_order(data):
        counts = bands.get(stage["journey_stage"], dict.fromkeys(RISK_BANDS, 0))
        top = reasons.get(stage["journey_stage"])
        result.append(
            {
                "journey_stage": stage["journey_stage"],
                "stage_label": stage["stage_label"],
                **counts,
                "scored": sum(counts.values()),
                "top_reason": top[0] if top else None,
                "top_reason_customers": top[1] if top else 0,
                "top_reason_variants": top[2] if top else 0,
                "top_reason_among_at_risk": top[3] if top else False,
            }
        )
    return result


def reason_theme(text: str) -> str:
    """A reason without its figures: '3 support messages in the last 30 days' and
    '1 support message in the last 30 days' share the theme '# support message in the last #
    day'."""
    theme = re.sub(r"\d+(?:[.,]\d+)*", "#", text.strip().lower())
    return re.sub(r"(\w{3,}?)s\b", r"\1", theme)


def high_risk_customers(data: dict[str, Any]) -> int | None:
    rows = churn_by_stage(data)
    return None if rows is None else sum(r["high"] for r in rows)
