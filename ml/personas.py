"""Persona cards: what each segment is, in numbers and in plain words.

A card holds the segment's size and share; what sets it apart (``differences``): the profile
features (``ml.segment_features``) whose segment mean lies furthest from the population's,
measured in population standard deviations (the standardized mean difference, Cohen's d with
the population's spread), at most one per family of features and only from
``MIN_DIFFERENCE`` on, each phrased from its numbers ("orders 2.3x as often", "72% of visits
on mobile (vs 41% overall)"); the typical path (the modal customer path, ``typical_path``);
the main channels; support topics, and intents and emotions when text labels exist; churn
risk (mean churn score of the members the churn model scored) and lifetime value (mean
predicted value and probability alive of the members the value model scored); a name made
from the strongest difference (``NAMES``); and a narrative written from the card's own
numbers (``ml.narrative``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

MIN_DIFFERENCE = 0.25  # standardized difference a feature needs to set a segment apart
MAX_DIFFERENCES = 4
TYPICAL_PATH_MIN_SHARE = 0.10  # the typical path stops where fewer members follow it
TYPICAL_PATH_MAX_STEPS = 6
PATH_SEPARATOR = " > "


@dataclass(frozen=True)
class Feature:
    """How to speak about one profile feature: its family (a card shows at most one
    difference per family), its kind (``rate``: compared as a ratio; ``share``: two
    percentages; ``level``: two values) and its wording: for a rate, the phrase for "more"
    ({ratio}) and for "less" ({pct}); for a share or a level, one phrase with {segment} and
    {population}."""

    family: str
    kind: str
    more: str
    less: str = ""


def _label(value: str) -> str:
    return value.replace("_", " ")


_FIXED: dict[str, Feature] = {
    "visits_per_week": Feature(
        "visits", "rate", "visits {ratio}x as often", "visits {pct} less often"
    ),
    "events_per_visit": Feature(
        "depth",
        "rate",
        "views {ratio}x as many pages per visit",
        "views {pct} fewer pages per visit",
    ),
    "orders_per_30_days": Feature(
        "orders", "rate", "orders {ratio}x as often", "orders {pct} less often"
    ),
    "support_contacts_per_30_days": Feature(
        "support", "rate", "contacts support {ratio}x as often", "contacts support {pct} less often"
    ),
    "billing_complaints_per_30_days": Feature(
        "billing",
        "rate",
        "complains about billing {ratio}x as often",
        "complains about billing {pct} less often",
    ),
    "revenue_per_order": Feature(
        "spend", "level", "spends {segment} per order (vs {population} overall)"
    ),
    "email_open_rate": Feature(
        "email", "share", "opens {segment} of marketing emails (vs {population} overall)"
    ),
    "visits_before_signup": Feature(
        "consideration",
        "level",
        "visits {segment} times before signing up (vs {population} overall)",
    ),
    "days_to_signup": Feature(
        "consideration",
        "level",
        "takes {segment} days from first visit to sign-up (vs {population} overall)",
    ),
    "subscriber_share": Feature(
        "subscription", "share", "{segment} subscribe (vs {population} overall)"
    ),
    "review_score": Feature(
        "review", "level", "gives {segment} review stars on average (vs {population} overall)"
    ),
    "nps_score": Feature(
        "nps", "level", "answers NPS with {segment} on average (vs {population} overall)"
    ),
    "app_share": Feature(
        "platform", "share", "{segment} of visits in the app (vs {population} overall)"
    ),
}
# Share features by prefix: wording, and whether each item is its own family (the shares of
# devices or channels mirror each other, so a card shows one of them; different events do not).
_FAMILIES: dict[str, tuple[str, bool]] = {
    "event_share": ("{segment} of their activity is {item} (vs {population} overall)", True),
    "channel_share": ("{segment} of web visits from {item} (vs {population} overall)", False),
    "device_share": ("{segment} of visits on {item} (vs {population} overall)", False),
    "intent_share": ("{segment} of their texts are about {item} (vs {population} overall)", True),
    "sentiment_share": ("{segment} of their texts are {item} (vs {population} overall)", False),
}


def describe(column: str) -> Feature:
    """The wording of a profile column (``ml.segment_features``)."""
    if column in _FIXED:
        return _FIXED[column]
    prefix, _, item = column.partition(":")
    if prefix in _FAMILIES:
        words, per_item = _FAMILIES[prefix]
        family = f"{prefix}:{item}" if per_item else prefix
        return Feature(family, "share", words.replace("{item}", _label(item)))
    return Feature(column, "level", f"{_label(column)} {{segment}} (vs {{population}} overall)")


# Persona names: (feature, direction) -> name; the strongest difference with a name wins.
NAMES: dict[tuple[str, int], str] = {
    ("device_share:mobile", 1): "Mobile shoppers",
    ("device_share:desktop", 1): "Desktop shoppers",
    ("device_share:tablet", 1): "Tablet shoppers",
    ("app_share", 1): "App regulars",
    ("channel_share:paid_social", 1): "Social ad arrivals",
    ("channel_share:paid_search", 1): "Search ad arrivals",
    ("channel_share:organic_search", 1): "Search-led researchers",
    ("channel_share:referral", 1): "Referred visitors",
    ("channel_share:email", 1): "Email responders",
    ("channel_share:direct", 1): "Direct regulars",
    ("event_share:content_viewed", 1): "Content readers",
    ("event_share:products_compared", 1): "Comparers",
    ("event_share:pricing_viewed", 1): "Price checkers",
    ("event_share:review_prompt_clicked", 1): "Reviewers",
    ("event_share:referral_sent", 1): "Referrers",
    ("event_share:feature_used", 1): "Feature power users",
    ("event_share:help_viewed", 1): "Help seekers",
    ("event_share:landing_viewed", 1): "Campaign clickers",
    ("event_share:demo_requested", 1): "Demo requesters",
    ("event_share:product_viewed", 1): "Product browsers",
    ("billing_complaints_per_30_days", 1): "Billing complainers",
    ("support_contacts_per_30_days", 1): "Support-heavy customers",
    ("review_score", 1): "Happy reviewers",
    ("review_score", -1): "Unhappy reviewers",
    ("nps_score", 1): "Promoters",
    ("nps_score", -1): "Detractors",
    ("orders_per_30_days", 1): "Frequent buyers",
    ("orders_per_30_days", -1): "Rare buyers",
    ("visits_per_week", 1): "Regular visitors",
    ("visits_per_week", -1): "Occasional visitors",
    ("events_per_visit", 1): "Deep browsers",
    ("events_per_visit", -1): "Quick visitors",
    ("email_open_rate", 1): "Email readers",
    ("email_open_rate", -1): "Email skippers",
    ("days_to_signup", 1): "Slow deciders",
    ("days_to_signup", -1): "Quick deciders",
    ("visits_before_signup", 1): "Long considerers",
    ("subscriber_share", 1): "Subscribers",
}


def _fmt_number(value: float) -> str:
    """A number as cards print it: 1,234 / 12.3 / 4.37."""
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}".rstrip("0").rstrip(".")
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _pct(value: float) -> str:
    """0.72 -> '72%'; small shares keep a decimal: 0.012 -> '1.2%'."""
    if abs(value) < 0.1:
        return f"{value * 100:.1f}%".replace(".0%", "%")
    return f"{value * 100:.0f}%"


def phrase(feature: Feature, segment: float, population: float) -> str:
    """A difference in plain words, from the two means."""
    if feature.kind == "rate" and population > 0:
        ratio = segment / population
        if ratio >= 1:
            return feature.more.format(ratio=_fmt_number(ratio))
        return feature.less.format(pct=_pct(1 - ratio))
    show = _pct if feature.kind == "share" else _fmt_number
    return feature.more.format(segment=show(segment), population=show(population))


def differences(
    profile: pd.DataFrame, members: np.ndarray, limit: int = MAX_DIFFERENCES
) -> list[dict[str, Any]]:
    """The features furthest from the population (standardized mean difference), one per
    family, strongest first."""
    rows = []
    for column in profile.columns:
        values = profile[column].to_numpy(dtype=float)
        observed = np.isfinite(values)
        inside = values[members & observed]
        everyone = values[observed]
        if len(inside) < 5 or len(everyone) < 10 or np.std(everyone) == 0:
            continue
        segment_mean, population_mean = float(inside.mean()), float(everyone.mean())
        d = (segment_mean - population_mean) / float(np.std(everyone))
        rows.append((column, d, segment_mean, population_mean))
    rows.sort(key=lambda row: (-abs(row[1]), row[0]))
    out, families = [], set()
    for column, d, segment_mean, population_mean in rows:
        feature = describe(column)
        if abs(d) < MIN_DIFFERENCE or feature.family in families:
            continue
        families.add(feature.family)
        out.append(
            {
                "feature": column,
                "phrase": phrase(feature, segment_mean, population_mean),
                "segment_value": segment_mean,
                "population_value": population_mean,
                "standardized_difference": d,
            }
        )
        if len(out) == limit:
            break
    return out


def persona_name(found: list[dict[str, Any]], taken: set[str]) -> str:
    """The name of the strongest named difference not taken yet (two names joined when the
    first is taken; "Segment" as a last resort)."""
    names = [
        NAMES[(d["feature"], 1 if d["standardized_difference"] > 0 else -1)]
        for d in found
        if (d["feature"], 1 if d["standardized_difference"] > 0 else -1) in NAMES
    ]
    for name in names:
        if name not in taken:
            return name
    if len(names) >= 2 and f"{names[0]}, {names[1].lower()}" not in taken:
        return f"{names[0]}, {names[1].lower()}"
    base = names[0] if names else "Segment"
    number = 2
    while f"{base} {number}" in taken:
        number += 1
    return f"{base} {number}"


def typical_path(
    paths: pd.Series,
    min_share: float = TYPICAL_PATH_MIN_SHARE,
    max_steps: int = TYPICAL_PATH_MAX_STEPS,
) -> tuple[str | None, float | None]:
    """The modal path of a set of customer paths ("a > b > c"): the most common first step,
    then the most common next step among those who took it, and so on while at least
    ``min_share`` of all the paths still follow it. Returns the path and that share."""
    steps = [p.split(PATH_SEPARATOR) for p in paths.dropna().astype(str) if p]
    if not steps:
        return None, None
    total = len(steps)
    chosen: list[str] = []
    following = steps
    while len(chosen) < max_steps:
        nexts = pd.Series([s[len(chosen)] for s in following if len(s) > len(chosen)])
        if nexts.empty:
            break
        counts = nexts.value_counts()
        top = sorted(counts[counts == counts.iloc[0]].index)[0]
        keep = [s for s in following if len(s) > len(chosen) and s[len(chosen)] == top]
        if len(keep) / total < min_share:
            break
        chosen.append(top)
        following = keep
    if not chosen:
        return None, None
    return PATH_SEPARATOR.join(chosen), len(following) / total


def _mean(values: pd.Series) -> float | None:
    values = pd.to_numeric(values, errors="coerce").dropna()
    return float(values.mean()) if len(values) else None


@dataclass(frozen=True)
class CardInputs:
    """Per-customer facts the cards summarise, all indexed by customer_key (any may be
    empty): the profile and label counts of ``ml.segment_features``, the segment of each
    customer, their journey path, churn scores (churn_score, risk_band) and lifetime values
    (predicted_value, probability_alive)."""

    profile: pd.DataFrame
    counts: Mapping[str, pd.DataFrame]
    segments: pd.Series
    paths: pd.Series
    churn: pd.DataFrame
    value: pd.DataFrame
    horizon_days: int = 90


def build_cards(inputs: CardInputs) -> list[dict[str, Any]]:
    """One card per segment, largest first (see the module docstring)."""
    segments = inputs.segments
    total = len(segments)
    sizes = segments.value_counts()
    order = sorted(sizes.index, key=lambda s: (-sizes[s], s))
    profile = inputs.profile.reindex(segments.index)
    taken: set[str] = set()
    cards = []
    for segment_id in order:
        members = (segments == segment_id).to_numpy()
        keys = segments.index[members]
        found = differences(profile, members)
        name = persona_name(found, taken)
        taken.add(name)
        path, path_share = typical_path(inputs.paths.reindex(keys))
        churn = inputs.churn.reindex(keys).dropna(subset=["churn_score"])
        value = inputs.value.reindex(keys).dropna(subset=["predicted_value"])
        card = {
            "segment_id": int(segment_id),
            "persona_name": name,
            "customers": int(members.sum()),
            "share": float(members.sum() / total) if total else 0.0,
            "differences": found,
            "typical_path": path,
            "typical_path_share": path_share,
            "main_channels": _top_counts(inputs.counts.get("web_visit_channels"), keys),
            "support_topics": _top_counts(inputs.counts.get("support_topics"), keys),
            "top_intents": _top_counts(inputs.counts.get("intents"), keys),
            "top_emotions": _top_counts(inputs.counts.get("emotions"), keys),
            "churn_scored_customers": len(churn),
            "mean_churn_score": _mean(churn["churn_score"]),
            "high_churn_risk_share": (
                float((churn["risk_band"] == "high").mean()) if len(churn) else None
            ),
            "valued_customers": len(value),
            "mean_predicted_value": _mean(value["predicted_value"]),
            "mean_probability_alive": _mean(value["probability_alive"]),
            "horizon_days": inputs.horizon_days,
        }
        cards.append(card)
    return cards


def _top_counts(
    counts: pd.DataFrame | None, keys: pd.Index, limit: int = 3
) -> list[dict[str, Any]]:
    """The labels most counted among ``keys`` and their shares of all their counts."""
    if counts is None or counts.empty:
        return []
    totals = counts.reindex(keys).sum()
    whole = float(totals.sum())
    if whole <= 0:
        return []
    totals = totals.sort_index().sort_values(ascending=False, kind="stable")
    return [
        {"label": str(label), "share": float(count / whole)}
        for label, count in totals.iloc[:limit].items()
        if count > 0
    ]


def card_json(card: Mapping[str, Any]) -> str:
    """The card as JSON (what the narrative must stay within; stored with the card)."""

    def plain(value: Any) -> Any:
        if isinstance(value, float) and not math.isfinite(value):
            return None
        if isinstance(value, np.generic):
            return value.item()
        return value

    return json.dumps(card, default=plain, sort_keys=True)
