"""A persona card's short narrative, written from the card's own numbers.

By default a template writes it (``template_narrative``). A ``Narrator`` - any callable that
takes the card and returns text, e.g. a language model behind an OpenAI-compatible endpoint -
may write it instead; its text is kept only when it is grounded: every number in it (digits,
with or without thousands separators, decimals or a percent sign) must be one the card shows
(``card_numbers``). An invented number, an empty answer or a failing narrator falls back to
the template, and the card says why (``Narrative.rejected``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

Narrator = Callable[[Mapping[str, Any]], str]

NUMBER = re.compile(r"(?<![\w.])\d[\d,]*(?:\.\d+)?")
MAX_NARRATIVE_CHARS = 1200


def _fmt_count(value: float) -> str:
    return f"{round(value):,}"


def _fmt_pct(value: float) -> str:
    return f"{value * 100:.0f}%"


def _fmt_money(value: float) -> str:
    return f"{value:,.0f}"


def _join(parts: list[str]) -> str:
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def card_facts(card: Mapping[str, Any]) -> dict[str, str]:
    """The card's numbers and findings as display text (what the template and the page
    print, and what a narrator's numbers are checked against)."""
    facts = {
        "name": str(card["persona_name"]),
        "customers": _fmt_count(card["customers"]),
        "share": _fmt_pct(card["share"]),
        "horizon_days": str(card.get("horizon_days", 90)),
    }
    for i, difference in enumerate(card.get("differences") or [], start=1):
        facts[f"difference_{i}"] = difference["phrase"]
    if card.get("typical_path"):
        facts["typical_path"] = str(card["typical_path"]).replace("_", " ")
        facts["typical_path_share"] = _fmt_pct(card["typical_path_share"])
    for key in ("main_channels", "support_topics", "top_intents", "top_emotions"):
        items = card.get(key) or []
        if items:
            facts[key] = ", ".join(
                f"{item['label'].replace('_', ' ')} ({_fmt_pct(item['share'])})" for item in items
            )
    if card.get("mean_churn_score") is not None:
        facts["mean_churn_risk"] = _fmt_pct(card["mean_churn_score"])
        facts["high_churn_risk_share"] = _fmt_pct(card["high_churn_risk_share"] or 0.0)
        facts["churn_scored_customers"] = _fmt_count(card["churn_scored_customers"])
    if card.get("mean_predicted_value") is not None:
        facts["mean_predicted_value"] = _fmt_money(card["mean_predicted_value"])
        facts["mean_probability_alive"] = _fmt_pct(card["mean_probability_alive"])
        facts["valued_customers"] = _fmt_count(card["valued_customers"])
    return facts


TEMPLATE_DIFFERENCES = 2  # the narrative names the strongest ones; the card lists them all


def template_narrative(card: Mapping[str, Any]) -> str:
    """A few sentences from ``card_facts`` alone."""
    f = card_facts(card)
    sentences = [f"{f['name']} are {f['customers']} customers ({f['share']} of those segmented)."]
    found = [f[k] for k in sorted(f) if k.startswith("difference_")][:TEMPLATE_DIFFERENCES]
    if found:
        sentences.append(f"What sets them apart most: {_join(found)}.")
    if "typical_path" in f:
        sentences.append(f"Many start with {f['typical_path']} ({f['typical_path_share']}).")
    if "mean_churn_risk" in f:
        sentences.append(
            f"Their subscribers' churn risk averages {f['mean_churn_risk']} "
            f"({f['high_churn_risk_share']} at high risk)."
        )
    if "mean_predicted_value" in f:
        sentences.append(
            f"A buyer among them is worth {f['mean_predicted_value']} over the next "
            f"{f['horizon_days']} days on average."
        )
    return " ".join(sentences)


def _normal(number: str) -> str:
    """'1,234.50' -> '1234.5'; '07' -> '7'."""
    text = number.replace(",", "")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text.lstrip("0") or "0"


def numbers_in(text: str) -> list[str]:
    return [_normal(match) for match in NUMBER.findall(text)]


def card_numbers(card: Mapping[str, Any]) -> set[str]:
    """Every number the card shows: in its display facts, and its ids."""
    found: set[str] = set()
    for value in card_facts(card).values():
        found.update(numbers_in(value))
    found.add(str(int(card["segment_id"])))
    return found


def invented_numbers(text: str, card: Mapping[str, Any]) -> list[str]:
    """Numbers in ``text`` the card does not show."""
    allowed = card_numbers(card)
    return sorted({number for number in numbers_in(text) if number not in allowed})


@dataclass(frozen=True)
class Narrative:
    text: str
    source: str  # "template" or "llm"
    rejected: str | None = None  # why a narrator's answer was not used


def write_narrative(card: Mapping[str, Any], narrator: Narrator | None = None) -> Narrative:
    """The narrator's text when it is grounded in the card, else the template's."""
    if narrator is None:
        return Narrative(template_narrative(card), "template")
    try:
        text = str(narrator(card) or "").strip()
    except Exception as error:  # a narrator is an outside service: any failure falls back
        return Narrative(template_narrative(card), "template", f"narrator failed: {error}")
    if not text:
        return Narrative(template_narrative(card), "template", "narrator returned no text")
    if len(text) > MAX_NARRATIVE_CHARS:
        return Narrative(
            template_narrative(card),
            "template",
            f"narrator text too long ({len(text)} > {MAX_NARRATIVE_CHARS} characters)",
        )
    invented = invented_numbers(text, card)
    if invented:
        return Narrative(
            template_narrative(card),
            "template",
            f"narrator used numbers not on the card: {', '.join(invented)}",
        )
    return Narrative(text, "llm")


def narrate_all(
    cards: Iterable[Mapping[str, Any]], narrator: Narrator | None = None
) -> list[Narrative]:
    return [write_narrative(card, narrator) for card in cards]
