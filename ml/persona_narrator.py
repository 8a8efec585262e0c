"""Persona narratives by a language model: the LLM backend of the text model (``ml.text.llm``:
an OpenAI-compatible chat-completions endpoint, its configuration, retries and figures) asked
to describe a persona card from the card's facts alone.

The model sees only the card's display facts (``narrative.card_facts``: names, counts, shares
and phrases already aggregated over a segment - no customer, no text a customer wrote) and is
told to use no number that is not among them. ``narrative.write_narrative`` then checks that
every number in its answer is on the card, and uses the template's text when one is not.

Which narrator writes (``JOURNEYMAP_PERSONA_NARRATOR``): ``template`` or ``llm``; by default
the LLM when an endpoint is configured (``JOURNEYMAP_LLM_BASE_URL`` and
``JOURNEYMAP_LLM_MODEL``), else the template.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from journeymap.ml.narrative import MAX_NARRATIVE_CHARS, card_facts
from journeymap.ml.text.llm import FactsWriter, LLMConfig, llm_chosen

SYSTEM_PROMPT = f"""You write the short description on a persona card: a customer segment of
an online business, described for its marketing and customer-experience teams. You get the
card's facts as JSON. Write two to four plain sentences (at most {MAX_NARRATIVE_CHARS}
characters) on who these customers are and what sets them apart. Use only the facts given.
Every number you write must appear in the facts exactly as written there (same rounding, same
unit): do not compute, round, convert or add any number; leave a fact out rather than change
it. Answer with the description only."""


class NarratorFailed(RuntimeError):
    """The endpoint gave no usable answer (the reason is the message)."""


class LLMNarrator(FactsWriter):
    """A ``narrative.Narrator``: the card's facts in, the model's description out."""

    def __init__(self, config: LLMConfig) -> None:
        super().__init__(config, SYSTEM_PROMPT)

    def request_body(self, card: Mapping[str, Any]) -> dict[str, Any]:
        return self.facts_body(card_facts(card))

    def __call__(self, card: Mapping[str, Any]) -> str:
        text, reason = self.write(card_facts(card))
        if text is None:
            raise NarratorFailed(reason)
        return text

    def stats(self) -> dict[str, Any]:
        """What the narratives cost, for Dagster metadata."""
        return self.cost("narrator")


def narrator_from_env(env: Mapping[str, str] | None = None) -> LLMNarrator | None:
    """The configured narrator: None for the template (see the module docstring)."""
    env = os.environ if env is None else env
    chosen = llm_chosen(env, "JOURNEYMAP_PERSONA_NARRATOR")
    return LLMNarrator(LLMConfig.from_env(env)) if chosen else None
