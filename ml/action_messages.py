"""Next-best-action messages written by a language model, grounded in the action's template.

The template's draft (``journeymap.ml.actions.fill_message``: the catalog's message with the
customer's stage, persona and recent intent) is the default. With a writer configured
(``JOURNEYMAP_ACTION_WRITER``: ``template`` or ``llm``; by default the LLM when an endpoint is
configured, ``JOURNEYMAP_LLM_BASE_URL`` and ``JOURNEYMAP_LLM_MODEL``) the model rewrites it from
the facts of the decision alone (``message_facts``: action, channel, stage, persona, recent
intent and the template's text, which holds the offer), through the one LLM client
(``ml.text.llm.FactsWriter``). Its draft is kept only when it is grounded in those facts:

* every number in it is one of the facts' numbers (``narrative.numbers_in``);
* every offer word in it (free, discount, % off, coupon, voucher, refund, credit, gift, "on
  us", trial, upgrade, cashback, waive...) is one the template's text uses: the model may
  reword the offer, never promise another;
* it is not empty and fits ``MAX_MESSAGE_CHARS``.

Otherwise the row keeps the template's text, ``message_source`` says ``template`` and
``message_note`` why. Customers in the holdout are not contacted: their row keeps the template.

Facts repeat (an action x stage x persona x intent), so each distinct set is sent once, and
answers are cached in ``ml.action_message_cache`` by (sha256 of the facts, prompt version,
model): a re-run sends nothing it has sent before, and a stricter check needs no new request.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from journeymap.ml.narrative import numbers_in
from journeymap.ml.outputs import MLOutput, _columns
from journeymap.ml.text.llm import (
    FactsWriter,
    LLMConfig,
    MemoryCache,
    WarehouseCache,
    llm_chosen,
)

MAX_MESSAGE_CHARS = 400
SYSTEM_PROMPT = f"""You write one short message from an online business to one customer. You
get the facts as JSON: the action, its channel, the customer's journey stage, their persona
(a plural noun phrase such as "price checkers") and their recent request, and the approved
template text. Rewrite the template text so it reads naturally for this customer, in at most
{MAX_MESSAGE_CHARS} characters and the same language. Keep every promise of the template
exactly as it is and add none: no discount, gift, credit, refund, free period, trial or
upgrade the template does not make, and no number that is not in the facts. Answer with the
message only."""
PROMPT_VERSION = "action-messages-v1+" + hashlib.sha256(SYSTEM_PROMPT.encode()).hexdigest()[:8]
# Words that make an offer: a draft may use one only when the template's text does.
OFFER_WORDS = re.compile(
    r"\b(free|discount\w*|off|coupon\w*|voucher\w*|refund\w*|credit\w*|gift\w*|on us|"
    r"trial\w*|upgrade\w*|cash ?back|waive\w*|bonus\w*|complimentary|reward\w*|promo\w*|"
    r"sale|save|saving\w*)\b|%",
    re.IGNORECASE,
)
MESSAGE_CACHE = MLOutput(
    table="action_message_cache",
    columns=_columns(
        "facts_hash varchar, prompt_version varchar, model varchar, draft varchar, "
        "cached_at timestamp"
    ),
    key=("facts_hash", "prompt_version", "model"),
)


def message_facts(row: Mapping[str, Any], template_text: str) -> dict[str, str]:
    """What the writer may use: the decision's facts and the template's filled text."""
    facts = {
        "action": str(row["action"]).replace("_", " "),
        "channel": str(row.get("channel") or ""),
        "stage": str(row.get("current_stage") or "unknown"),
        "persona": str(row.get("persona") or "customers like you"),
        "recent_request": str(row.get("recent_intent") or "none").replace("_", " "),
        "template_text": template_text,
    }
    return facts


def facts_hash(facts: Mapping[str, str]) -> str:
    return hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()


def offer_words(text: str) -> set[str]:
    return {match.group(0).lower() for match in OFFER_WORDS.finditer(text)}


def ungrounded(draft: str, facts: Mapping[str, str]) -> str | None:
    """Why ``draft`` is not grounded in ``facts`` (None when it is)."""
    if not draft.strip():
        return "writer returned no text"
    if len(draft) > MAX_MESSAGE_CHARS:
        return f"draft too long ({len(draft)} > {MAX_MESSAGE_CHARS} characters)"
    allowed = {number for value in facts.values() for number in numbers_in(value)}
    invented = sorted({n for n in numbers_in(draft) if n not in allowed})
    if invented:
        return f"draft uses numbers not in the facts: {', '.join(invented)}"
    offers = sorted(offer_words(draft) - offer_words(facts["template_text"]))
    if offers:
        return f"draft makes an offer the template does not: {', '.join(offers)}"
    return None


@dataclass(frozen=True)
class Message:
    text: str
    source: str  # "template" or "llm"
    note: str | None = None  # why the template's text was used although a writer was asked


Writer = Callable[[Mapping[str, str]], tuple[str | None, str | None]]


def write_message(facts: Mapping[str, str], answer: str | None, failure: str | None) -> Message:
    """The writer's ``answer`` when grounded in ``facts``, else the template's text."""
    template = facts["template_text"]
    if answer is None:
        return Message(template, "template", f"writer failed: {failure or 'no answer'}")
    draft = answer.strip()
    reason = ungrounded(draft, facts)
    if reason:
        return Message(template, "template", reason)
    return Message(draft, "llm")


class MessageCache:
    """Drafts by facts hash in ``<ml>.action_message_cache``, or in memory (``warehouse=None``):
    the text labels' cache (``ml.text.llm``) on this table."""

    def __init__(self, warehouse: Any = None, schema: str = "ml") -> None:
        self._rows = (
            MemoryCache(MESSAGE_CACHE)
            if warehouse is None
            else WarehouseCache(warehouse, schema, MESSAGE_CACHE)
        )

    def get(self, hashes: list[str], model: str) -> dict[str, str]:
        found = self._rows.get(hashes, PROMPT_VERSION, model)
        return {key: row["draft"] for key, row in found.items()}

    def put(self, answers: dict[str, str], model: str) -> None:
        if not answers:
            return
        rows = pd.DataFrame(
            {
                "facts_hash": list(answers),
                "prompt_version": PROMPT_VERSION,
                "model": model,
                "draft": list(answers.values()),
                "cached_at": pd.Timestamp.now("UTC").tz_localize(None),
            }
        )
        self._rows.put(MESSAGE_CACHE.conform(rows))


class LLMMessageWriter(FactsWriter):
    """Drafts through the configured endpoint, one request per distinct set of facts."""

    def __init__(self, config: LLMConfig) -> None:
        super().__init__(config, SYSTEM_PROMPT)


def write_messages(
    decisions: pd.DataFrame,
    writer: LLMMessageWriter | None,
    cache: MessageCache,
) -> pd.DataFrame:
    """``decisions`` (``ml.action_assignments`` rows with the inputs' ``persona`` and
    ``recent_intent``) with the writer's grounded draft as ``message`` for every treated
    customer with an action (``message_source`` llm), the template's text for the rest
    (``message_note`` says why, where the writer was asked)."""
    out = decisions.copy()
    if writer is None:
        return out
    contacted = out["action"].notna() & ~out["is_holdout"].astype(bool) & out["message"].notna()
    facts = {i: message_facts(out.loc[i], out.at[i, "message"]) for i in out.index[contacted]}
    hashes = {i: facts_hash(f) for i, f in facts.items()}
    model = writer.config.model
    answers = cache.get(sorted(set(hashes.values())), model)
    failures: dict[str, str | None] = {}
    fresh: dict[str, str] = {}
    for i, key in hashes.items():
        if key in answers or key in failures:
            continue
        text, failure = writer.write(facts[i])
        if text is None:
            failures[key] = failure
        else:
            answers[key] = fresh[key] = text
    cache.put(fresh, model)
    for i, key in hashes.items():
        message = write_message(facts[i], answers.get(key), failures.get(key))
        out.at[i, "message"] = message.text
        out.at[i, "message_source"] = message.source
        out.at[i, "message_note"] = message.note
    return out


def writer_from_env(env: Mapping[str, str] | None = None) -> LLMMessageWriter | None:
    """The configured writer: None for the template (see the module docstring)."""
    env = os.environ if env is None else env
    chosen = llm_chosen(env, "JOURNEYMAP_ACTION_WRITER")
    return LLMMessageWriter(LLMConfig.from_env(env)) if chosen else None
