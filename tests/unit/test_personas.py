"""Persona cards and their narratives: differences phrased from their numbers, names, typical
paths, and a narrative whose every number is on the card - a narrator (a language model) that
invents one is overruled by the template, on a recorded narrator and on a local
OpenAI-compatible server (127.0.0.1) replaying answers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from journeymap.ml.narrative import (
    Narrative,
    card_facts,
    card_numbers,
    invented_numbers,
    narrate_all,
    numbers_in,
    template_narrative,
    write_narrative,
)
from journeymap.ml.persona_narrator import LLMNarrator, narrator_from_env
from journeymap.ml.personas import (
    CardInputs,
    build_cards,
    describe,
    differences,
    persona_name,
    phrase,
    typical_path,
)
from journeymap.ml.text.llm import LLMConfigError
from tests.helpers.llm_server import ReplayServer

RECORDED = json.loads(
    (Path(__file__).resolve().parents[1] / "helpers" / "persona_narratives.json").read_text()
)


def test_phrases_say_the_numbers_in_plain_words():
    orders = describe("orders_per_30_days")
    assert phrase(orders, 2.3, 1.0) == "orders 2.3x as often"
    assert phrase(orders, 0.4, 1.0) == "orders 60% less often"
    mobile = describe("device_share:mobile")
    assert phrase(mobile, 0.72, 0.41) == "72% of visits on mobile (vs 41% overall)"
    assert phrase(describe("event_share:referral_sent"), 0.012, 0.003) == (
        "1.2% of their activity is referral sent (vs 0.3% overall)"
    )
    assert phrase(describe("review_score"), 4.6, 4.13) == (
        "gives 4.6 review stars on average (vs 4.13 overall)"
    )


def _profile(n: int = 200) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(1)
    keys = pd.Index([f"C{i:03d}" for i in range(n)], name="customer_key")
    segment = pd.Series(np.where(np.arange(n) < 50, 1, 2), index=keys)
    inside = (segment == 1).to_numpy()
    profile = pd.DataFrame(
        {
            "orders_per_30_days": np.where(inside, 3.0, 1.0) + rng.normal(0, 0.2, n),
            "device_share:mobile": np.where(inside, 0.9, 0.3) + rng.normal(0, 0.05, n),
            "device_share:desktop": np.where(inside, 0.1, 0.7) + rng.normal(0, 0.05, n),
            "visits_per_week": 1 + rng.normal(0, 0.3, n),
            "review_score": np.where(rng.random(n) < 0.3, 4.0, np.nan),
        },
        index=keys,
    )
    return profile, segment


def test_differences_rank_by_standardized_distance_one_per_family():
    profile, segment = _profile()
    found = differences(profile, (segment == 1).to_numpy())
    features = [d["feature"] for d in found]
    assert features[0] in ("orders_per_30_days", "device_share:mobile", "device_share:desktop")
    assert "orders_per_30_days" in features
    assert sum(f.startswith("device_share") for f in features) == 1  # one per family
    assert "visits_per_week" not in features  # no real difference
    orders = next(d for d in found if d["feature"] == "orders_per_30_days")
    assert orders["phrase"].startswith("orders ") and orders["phrase"].endswith("x as often")
    assert orders["standardized_difference"] > 1


def test_names_come_from_the_strongest_named_difference_and_never_repeat():
    found = [
        {"feature": "orders_per_30_days", "standardized_difference": 1.5},
        {"feature": "device_share:mobile", "standardized_difference": 1.2},
    ]
    assert persona_name(found, set()) == "Frequent buyers"
    assert persona_name(found, {"Frequent buyers"}) == "Mobile shoppers"
    assert persona_name(found, {"Frequent buyers", "Mobile shoppers"}) == (
        "Frequent buyers, mobile shoppers"
    )
    assert persona_name([], {"Segment 2"}) == "Segment 3"


def test_the_typical_path_is_the_modal_path_while_enough_follow_it():
    paths = pd.Series(["a > b > c"] * 5 + ["a > b > d"] * 3 + ["a > e"] * 1 + ["f > g"] * 1)
    path, share = typical_path(paths, min_share=0.3)
    assert path == "a > b > c" and share == pytest.approx(0.5)
    path, share = typical_path(paths, min_share=0.6)
    assert path == "a > b" and share == pytest.approx(0.8)
    assert typical_path(pd.Series([], dtype=object)) == (None, None)


def _card_inputs() -> CardInputs:
    profile, segment = _profile()
    keys = segment.index
    churn = pd.DataFrame(
        {"churn_score": np.where(segment == 1, 0.4, 0.1), "risk_band": "low"}, index=keys
    ).iloc[::2]
    value = pd.DataFrame(
        {"predicted_value": np.where(segment == 1, 200.0, 50.0), "probability_alive": 0.8},
        index=keys,
    ).iloc[::3]
    channels = pd.DataFrame(
        {"paid_social": np.where(segment == 1, 3.0, 0.0), "direct": 1.0}, index=keys
    )
    return CardInputs(
        profile=profile,
        counts={"web_visit_channels": channels},
        segments=segment,
        paths=pd.Series("a > b", index=keys),
        churn=churn,
        value=value,
    )


def test_cards_add_up_and_carry_churn_risk_and_value_of_their_members():
    cards = build_cards(_card_inputs())
    assert [c["segment_id"] for c in cards] == [2, 1]  # largest first
    assert sum(c["customers"] for c in cards) == 200
    assert sum(c["share"] for c in cards) == pytest.approx(1.0)
    small = cards[1]
    assert small["mean_churn_score"] == pytest.approx(0.4)
    assert small["churn_scored_customers"] == 25
    assert small["mean_predicted_value"] == pytest.approx(200.0)
    assert small["main_channels"][0] == {"label": "paid_social", "share": 0.75}
    assert small["typical_path"] == "a > b" and small["typical_path_share"] == 1.0
    assert len({c["persona_name"] for c in cards}) == 2


def test_the_template_uses_only_the_cards_numbers():
    for card in build_cards(_card_inputs()):
        text = template_narrative(card)
        assert invented_numbers(text, card) == []
        assert card["persona_name"] in text
        assert f"{card['customers']:,}" in text


# --------------------------------------------------------------------------- narrators


CARD = {
    "segment_id": 4,
    "persona_name": "Price checkers",
    "customers": 1200,
    "share": 0.25,
    "differences": [
        {"feature": "visits_per_week", "phrase": "visits 1.5x as often"},
        {
            "feature": "event_share:pricing_viewed",
            "phrase": "40% of their activity is pricing viewed (vs 14% overall)",
        },
    ],
    "typical_path": "home_viewed > pricing_viewed",
    "typical_path_share": 0.31,
    "main_channels": [{"label": "direct", "share": 0.5}],
    "support_topics": [],
    "top_intents": [],
    "top_emotions": [],
    "churn_scored_customers": 300,
    "mean_churn_score": 0.12,
    "high_churn_risk_share": 0.04,
    "valued_customers": 500,
    "mean_predicted_value": 85.2,
    "mean_probability_alive": 0.9,
    "horizon_days": 90,
}


def replay(name: str):
    """A narrator that answers with a recorded answer, whatever the card."""
    return lambda card: RECORDED[name]


def test_a_grounded_answer_is_used():
    narrative = write_narrative(CARD, replay("grounded"))
    assert narrative.source == "llm" and narrative.rejected is None
    assert narrative.text == RECORDED["grounded"]


@pytest.mark.parametrize(
    ("answer", "invented"),
    [("invents_a_number", "38"), ("rounds_differently", "25.1")],
)
def test_an_answer_with_a_number_not_on_the_card_falls_back_to_the_template(answer, invented):
    narrative = write_narrative(CARD, replay(answer))
    assert narrative.source == "template"
    assert narrative.text == template_narrative(CARD)
    assert narrative.rejected == f"narrator used numbers not on the card: {invented}"


def test_an_answer_without_numbers_is_grounded():
    assert write_narrative(CARD, replay("no_numbers")).source == "llm"


def test_a_failing_or_silent_narrator_falls_back_to_the_template():
    def broken(card):
        raise TimeoutError("no answer in 30 s")

    failed = write_narrative(CARD, broken)
    assert failed.source == "template" and "TimeoutError" not in failed.rejected
    assert failed.rejected == "narrator failed: no answer in 30 s"
    silent = write_narrative(CARD, lambda card: "  ")
    assert silent.source == "template" and silent.rejected == "narrator returned no text"
    assert write_narrative(CARD).source == "template"


def test_numbers_are_compared_as_the_card_shows_them():
    assert numbers_in("1,200 customers, 25% and 1.50x; 07 weeks") == ["1200", "25", "1.5", "7"]
    allowed = card_numbers(CARD)
    assert {"1200", "25", "1.5", "40", "14", "31", "12", "4", "85", "90"} <= allowed
    assert invented_numbers("about 1,200 people, 13% at risk", CARD) == ["13"]


# ------------------------------------------------------- the LLM narrator, on a local server


def _narrator_env(server: ReplayServer, **extra: str) -> dict[str, str]:
    return {
        "JOURNEYMAP_LLM_BASE_URL": server.url,
        "JOURNEYMAP_LLM_MODEL": "replay-1",
        "JOURNEYMAP_LLM_MAX_RETRIES": "1",
        "JOURNEYMAP_LLM_BACKOFF_SECONDS": "0.01",
        **extra,
    }


def _replaying(name: str) -> ReplayServer:
    return ReplayServer({}, reply=lambda body: RECORDED[name])


def test_the_llm_narrator_sends_the_cards_facts_and_its_grounded_answer_is_used():
    with _replaying("grounded").running() as server:
        narrator = narrator_from_env(_narrator_env(server))
        narrative = write_narrative(CARD, narrator)
    assert narrative == Narrative(RECORDED["grounded"], "llm")
    (request,) = server.requests
    assert request["model"] == "replay-1" and request["temperature"] == 0
    system, user = request["messages"]
    assert "Every number you write must appear in the facts" in system["content"]
    assert json.loads(user["content"]) == card_facts(CARD)  # the facts, nothing else
    assert narrator.stats()["narrator_requests"] == 1
    assert narrator.stats()["narrator_completion_tokens"] == 40


def test_the_llm_narrators_invented_number_is_rejected_for_the_template():
    with _replaying("invents_a_number").running() as server:
        narrative = write_narrative(CARD, narrator_from_env(_narrator_env(server)))
    assert narrative.source == "template" and narrative.text == template_narrative(CARD)
    assert narrative.rejected == "narrator used numbers not on the card: 38"


def test_a_failing_endpoint_is_retried_then_falls_back_to_the_template():
    server = ReplayServer({}, script=["500", "500"], reply=lambda body: RECORDED["grounded"])
    with server.running():
        narrator = narrator_from_env(_narrator_env(server))
        failed = write_narrative(CARD, narrator)
        recovered = write_narrative(CARD, narrator)  # the script is spent: the next card is fine
    assert failed.source == "template" and failed.rejected == "narrator failed: http_500"
    assert recovered.source == "llm"
    assert server.behaviours == ["500", "500", "ok"]
    assert narrator.stats()["narrator_retries"] == 1
    assert narrator.stats()["narrator_failures"] == 1


def test_every_card_of_a_run_is_narrated_from_its_own_facts():
    """The server answers each card with its own name and size, and one card with a made-up
    share: that card alone gets the template."""

    def reply(body):
        facts = json.loads(body["messages"][-1]["content"])
        if facts["name"] == cards[0]["persona_name"]:
            return f"{facts['name']} are 3% of customers."
        return f"{facts['name']} are {facts['customers']} customers ({facts['share']})."

    cards = build_cards(_card_inputs())
    with ReplayServer({}, reply=reply).running() as server:
        narratives = narrate_all(cards, narrator_from_env(_narrator_env(server)))
    assert [n.source for n in narratives] == ["template"] + ["llm"] * (len(cards) - 1)
    assert all(card["persona_name"] in n.text for card, n in zip(cards, narratives, strict=True))


def test_the_narrator_is_chosen_by_the_environment():
    assert narrator_from_env({}) is None  # no endpoint: the template
    configured = {"JOURNEYMAP_LLM_BASE_URL": "http://127.0.0.1:9/v1", "JOURNEYMAP_LLM_MODEL": "m"}
    assert isinstance(narrator_from_env(configured), LLMNarrator)
    assert narrator_from_env({**configured, "JOURNEYMAP_PERSONA_NARRATOR": "template"}) is None
    with pytest.raises(LLMConfigError, match="JOURNEYMAP_LLM_BASE_URL"):
        narrator_from_env({"JOURNEYMAP_PERSONA_NARRATOR": "llm"})
    with pytest.raises(LLMConfigError, match="must be one of template, llm"):
        narrator_from_env({**configured, "JOURNEYMAP_PERSONA_NARRATOR": "gpt"})
