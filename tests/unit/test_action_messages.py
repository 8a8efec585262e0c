"""Next-best-action messages by the LLM writer, against the local recorded-answer server on
127.0.0.1: a grounded draft is used; a draft that invents an offer (a number or an offer word
the template does not make) falls back to the template and says why; a failing endpoint falls
back; facts are sent once per distinct set and cached across runs; held-out customers are not
written to."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from journeymap.ml import actions as na
from journeymap.ml.action_messages import (
    MessageCache,
    message_facts,
    ungrounded,
    write_messages,
    writer_from_env,
)
from journeymap.ml.text.llm import LLMConfigError
from tests.helpers.llm_server import ReplayServer
from tests.unit.test_actions import CATALOG, NOW, _customers

CONFIG = na.ActionConfig(experiment="messages", holdout_share=0.2)
# What the endpoint answers, by the action in the facts.
GROUNDED = (
    "We read your note about billing payment. While we fix it, your next month is on us - "
    "no action needed."
)
INVENTS_A_DISCOUNT = "Sorry about billing payment! Here is 20% off your next three months."
INVENTS_A_GIFT = "Sorry about billing payment. Your next month is on us, plus a free gift."


def _decisions(n: int = 40) -> pd.DataFrame:
    """Billing complainers at high churn risk: the retention offer (email) for each."""
    inputs = _customers(n, persona="price checkers")
    decided = na.assign_actions(inputs, CATALOG, CONFIG, NOW)
    return decided.merge(inputs[["customer_key", "persona", "recent_intent"]], on="customer_key")


def _env(server: ReplayServer) -> dict[str, str]:
    return {
        "JOURNEYMAP_LLM_BASE_URL": server.url,
        "JOURNEYMAP_LLM_MODEL": "replay-1",
        "JOURNEYMAP_LLM_MAX_RETRIES": "1",
        "JOURNEYMAP_LLM_BACKOFF_SECONDS": "0.01",
    }


def _write(answer: str, decisions: pd.DataFrame, cache: MessageCache | None = None, **server):
    with ReplayServer({}, reply=lambda body: answer, **server).running() as replay:
        writer = writer_from_env(_env(replay))
        written = write_messages(decisions, writer, cache or MessageCache())
    return written, replay, writer


def test_a_grounded_draft_is_used_for_every_treated_customer_from_one_request():
    decisions = _decisions()
    written, server, writer = _write(GROUNDED, decisions)
    treated = ~written["is_holdout"]
    assert treated.sum() > 20 and (~treated).sum() > 0
    assert (written.loc[treated, "message"] == GROUNDED).all()
    assert (written.loc[treated, "message_source"] == "llm").all()
    assert written["message_note"].isna().all()
    # Held-out customers are not contacted: the template's text, never sent.
    assert (written.loc[~treated, "message"] == decisions.loc[~treated, "message"]).all()
    assert (written.loc[~treated, "message_source"] == "template").all()
    # Every treated customer has the same facts: one request, and it holds only the facts.
    (request,) = server.requests
    system, user = request["messages"]
    assert "add none" in system["content"]
    facts = json.loads(user["content"])
    row = decisions[treated].iloc[0]
    assert facts == message_facts(row, row["message"])
    assert facts["template_text"] == (
        "We saw your message about billing payment. While we sort it out, your next month is on us."
    )
    assert writer.cost("writer")["writer_requests"] == 1


@pytest.mark.parametrize(
    ("answer", "note"),
    [
        (INVENTS_A_DISCOUNT, "draft uses numbers not in the facts: 20"),
        (INVENTS_A_GIFT, "draft makes an offer the template does not: free, gift"),
    ],
)
def test_a_draft_inventing_an_offer_falls_back_to_the_template(answer, note):
    decisions = _decisions()
    written, *_ = _write(answer, decisions)
    treated = ~written["is_holdout"]
    assert (written.loc[treated, "message"] == decisions.loc[treated, "message"]).all()
    assert (written.loc[treated, "message_source"] == "template").all()
    assert (written.loc[treated, "message_note"] == note).all()


def test_a_failing_endpoint_falls_back_and_the_cache_spares_a_second_request():
    decisions = _decisions()
    failed, server, _ = _write(GROUNDED, decisions, script=["500", "500"])
    treated = ~failed["is_holdout"]
    assert (failed.loc[treated, "message_note"] == "writer failed: http_500").all()
    assert server.behaviours == ["500", "500"]

    cache = MessageCache()
    first, server, _ = _write(GROUNDED, decisions, cache)
    again, server_again, _ = _write("never asked", decisions, cache)
    assert len(server.requests) == 1 and server_again.requests == []
    pd.testing.assert_frame_equal(first, again)


def test_grounding_accepts_the_templates_numbers_and_offers_only():
    facts = {"template_text": "Invite a friend and you both get a month free.", "stage": "x"}
    assert ungrounded("Bring a friend: a month free for each of you.", facts) is None
    assert ungrounded("Bring 2 friends: a month free.", facts) == (
        "draft uses numbers not in the facts: 2"
    )
    assert ungrounded("   ", facts) == "writer returned no text"
    assert ungrounded("Get a month free and a discount.", facts) == (
        "draft makes an offer the template does not: discount"
    )


def test_the_writer_is_chosen_by_the_environment():
    assert writer_from_env({}) is None
    configured = {"JOURNEYMAP_LLM_BASE_URL": "http://127.0.0.1:9/v1", "JOURNEYMAP_LLM_MODEL": "m"}
    assert writer_from_env(configured) is not None
    assert writer_from_env({**configured, "JOURNEYMAP_ACTION_WRITER": "template"}) is None
    with pytest.raises(LLMConfigError, match="JOURNEYMAP_ACTION_WRITER"):
        writer_from_env({"JOURNEYMAP_ACTION_WRITER": "gpt"})
