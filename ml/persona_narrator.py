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

import json
import os
from collections.abc import Mapping
from typing import Any

from journeymap.ml.narrative import MAX_NARRATIVE_CHARS, card_facts
from journeymap.ml.text.llm import LLMClient, LLMConfig, LLMConfigError, RunFigures, parse_content

NARRATORS = ("template", "llm")

SYSTEM_PROMPT = f"""You write the short description on a persona card: a customer segment of
an online business, described for its marketing and customer-experience teams. You get the
card's facts as JSON. Write two to four plain sentences (at most {MAX_NARRATIVE_CHARS}
characters) on who these customers are and what sets them apart. Use only the facts given.
Every number you write must appear in the facts exactly as written there (same rounding, same
unit): do not compute, round, convert or add any number; leave a fact out rather than change
it. Answer with the description only."""


class NarratorFailed(RuntimeError):
    """The endpoint gave no usable answer (the reason is the message)."""


class LLMNarrator:
    """A ``narrative.Narrator``: the card's facts in, the model's description out."""

    def __init__(self, config: LLMConfig) -> None:
        self.config = config
        self.client = LLMClient(config)
        self.figures = RunFigures()

    def request_body(self, card: Mapping[str, Any]) -> dict[str, Any]:
        facts = json.dumps(card_facts(card), ensure_ascii=False, indent=1)
        return {
            "model": self.config.model,
            "temperature": 0,
            "messages": [
                {"role": "system", "content": SYSTEM_PROMPT},
                {"role": "user", "content": facts},
            ],
        }

    def __call__(self, card: Mapping[str, Any]) -> str:
        text, reason = self.client.send(self.request_body(card), self.figures, parse_content)
        if text is None:
            raise NarratorFailed(reason)
        return text

    def stats(self) -> dict[str, Any]:
        """What the narratives cost, for Dagster metadata."""
        figures = self.figures
        return {
            "narrator_model": self.config.model,
            "narrator_requests": figures.requests,
            "narrator_retries": figures.retries,
            "narrator_failures": figures.failed_batches,
            "narrator_prompt_tokens": figures.prompt_tokens,
            "narrator_completion_tokens": figures.completion_tokens,
        }


def narrator_from_env(env: Mapping[str, str] | None = None) -> LLMNarrator | None:
    """The configured narrator: None for the template (see the module docstring)."""
    env = os.environ if env is None else env
    configured = bool(env.get("JOURNEYMAP_LLM_BASE_URL") and env.get("JOURNEYMAP_LLM_MODEL"))
    choice = env.get("JOURNEYMAP_PERSONA_NARRATOR") or ("llm" if configured else "template")
    if choice not in NARRATORS:
        raise LLMConfigError(
            f"JOURNEYMAP_PERSONA_NARRATOR must be one of {', '.join(NARRATORS)}, not {choice!r}"
        )
    return LLMNarrator(LLMConfig.from_env(env)) if choice == "llm" else None
