"""The llm text backend against a local OpenAI-compatible server (127.0.0.1) that replays
recorded answers and fails on cue: 429, 500, 400, timeouts, malformed JSON, missing and
invalid items. No text leaves unmasked; nothing is labelled twice; nothing is dropped."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from journeymap.ml.text.labelling import label_texts
from journeymap.ml.text.llm import (
    PROMPT_VERSION,
    LLMBackend,
    LLMConfig,
    LLMConfigError,
    MemoryCache,
    WarehouseCache,
    answer_schema,
)
from journeymap.warehouse import DuckDBWarehouse
from tests.helpers.llm_server import ReplayServer


def _labels(intent, stage, sentiment, emotion):
    return {
        "intent": intent,
        "intent_confidence": 0.9,
        "journey_stage": stage,
        "journey_stage_confidence": 0.8,
        "sentiment": sentiment,
        "sentiment_confidence": 0.85,
        "emotion": emotion,
        "emotion_confidence": 0.7,
    }


# What the endpoint answered for these (masked) texts.
RECORDINGS = {
    "I was charged twice this month": _labels("billing_payment", "retention", -0.7, "frustration"),
    "where is my parcel": _labels("order_status", "purchase", -0.4, "anxiety"),
    "told my whole team to switch to you": _labels("praise_feedback", "advocacy", 0.9, "delight"),
    "I'm comparing your plan with Boxly": _labels(
        "product_question", "consideration", 0.0, "neutral"
    ),
    "mail me at [email] or call [phone], card [card]": _labels(
        "contact_human", "retention", -0.2, "neutral"
    ),
}
TEXTS = list(RECORDINGS)[:4]


def _config(server: ReplayServer, **overrides) -> LLMConfig:
    values = dict(
        base_url=server.url,
        model="replay-1",
        api_key="test-key",
        batch_size=2,
        concurrency=2,
        max_retries=2,
        timeout_seconds=0.5,
        backoff_seconds=0.01,
        input_price_per_mtok=2.0,
        output_price_per_mtok=8.0,
    )
    return LLMConfig(**{**values, **overrides})


def _run(script=None, texts=TEXTS, cache=None, **overrides):
    server = ReplayServer(RECORDINGS, script=script, delay_seconds=1.0)
    with server.running():
        backend = LLMBackend(_config(server, **overrides), cache=cache or MemoryCache())
        result = backend.label(texts)
    return server, backend, result


def test_recorded_answers_label_every_text_in_batches():
    server, backend, result = _run()
    labels = result.labels
    assert labels["intent"].tolist() == [RECORDINGS[t]["intent"] for t in TEXTS]
    assert labels["sentiment"].tolist() == [RECORDINGS[t]["sentiment"] for t in TEXTS]
    assert (labels["backend"] == "llm").all() and not labels["is_fallback"].any()
    assert (labels["model_version"] == f"llm:replay-1:{PROMPT_VERSION}").all()
    stats = result.stats
    assert stats["requests"] == 2 and stats["retries"] == 0  # 4 texts, 2 per request
    assert stats["prompt_tokens"] == 400 and stats["completion_tokens"] == 160
    assert stats["cost_usd"] == pytest.approx((400 * 2.0 + 160 * 8.0) / 1e6)
    assert stats["latency_p50_seconds"] >= 0 and stats["latency_total_seconds"] > 0
    body = server.requests[0]
    assert body["model"] == "replay-1" and body["temperature"] == 0
    assert body["response_format"]["json_schema"]["schema"] == answer_schema()
    assert PROMPT_VERSION.startswith("text-labels-v1+")


def test_personal_data_is_masked_before_it_leaves():
    raw = "mail me at jane.doe@example.com or call +1 555 010 2030, card 4111 1111 1111 1111"
    server, _, result = _run(texts=[raw])
    sent = json.dumps(server.requests)
    for secret in ("jane.doe@example.com", "555 010 2030", "4111 1111 1111 1111", "4111"):
        assert secret not in sent
    assert "[email]" in sent and "[phone]" in sent and "[card]" in sent
    assert result.labels["intent"].tolist() == ["contact_human"]  # the masked text's answer


@pytest.mark.parametrize(
    ("script", "retries"),
    [(["429"], 1), (["500", "500"], 2), (["timeout"], 1), (["malformed"], 1)],
)
def test_transient_failures_are_retried(script, retries):
    server, _, result = _run(script=script, batch_size=10)
    assert server.behaviours[: len(script)] == script
    assert result.stats["retries"] == retries and result.stats["failed_batches"] == 0
    assert (result.labels["backend"] == "llm").all()
    assert result.labels["intent"].tolist() == [RECORDINGS[t]["intent"] for t in TEXTS]


@pytest.mark.parametrize(
    ("script", "reason", "requests"),
    [
        (["malformed"] * 3, "malformed_answer", 3),
        (["500"] * 3, "http_500", 3),
        (["timeout"] * 3, "timeout", 3),
        (["400"], "http_400", 1),  # a client error is not retried
    ],
)
def test_a_failed_batch_falls_back_to_the_embedded_model_and_is_flagged(script, reason, requests):
    server, _, result = _run(script=script, batch_size=10, max_retries=2)
    labels = result.labels
    assert len(labels) == len(TEXTS)  # nothing dropped
    assert labels["is_fallback"].all() and (labels["backend"] == "embedded").all()
    assert (labels["fallback_reason"] == reason).all()
    assert labels["intent"].notna().all() and labels["intent_confidence"].between(0, 1).all()
    assert result.stats["requests"] == requests and result.stats["failed_batches"] == 1


def test_missing_and_invalid_items_fall_back_one_by_one():
    _, _, result = _run(script=["partial", "invalid"], batch_size=2)
    labels = result.labels.set_index(pd.Index(TEXTS))
    flagged = labels[labels["is_fallback"]]
    assert len(flagged) == 2  # the first text of each batch
    assert set(flagged["fallback_reason"].str.split(":").str[0]) == {
        "missing_in_answer",
        "invalid_label",
    }
    assert (labels.loc[~labels["is_fallback"], "backend"] == "llm").all()


def test_the_warehouse_cache_means_no_text_is_sent_twice(tmp_path):
    with DuckDBWarehouse(tmp_path / "w.duckdb") as warehouse:
        cache = WarehouseCache(warehouse)
        first, _, result = _run(cache=cache)
        assert result.stats["texts_sent"] == 4 and len(first.requests) == 2
        again, _, result = _run(cache=cache, texts=[*TEXTS, TEXTS[0]])
        assert again.requests == [] and result.stats["cache_hits"] == 4
        assert result.labels["intent"].tolist()[-1] == RECORDINGS[TEXTS[0]]["intent"]
        rows = warehouse.query_df("select * from ml.text_label_cache")
        assert len(rows) == 4 and set(rows["prompt_version"]) == {PROMPT_VERSION}
        # Another model is another key: asked again.
        other, _, _ = _run(cache=cache, model="replay-2")
        assert len(other.requests) == 2


def test_fallback_rows_are_retried_on_the_next_run_and_the_rest_kept():
    texts = pd.DataFrame(
        {
            "text_key": [f"k{i}" for i in range(4)],
            "source": "support_messages",
            "source_text_id": [f"m{i}" for i in range(4)],
            "customer_key": "c1",
            "occurred_at": pd.Timestamp("2026-10-01"),
            "channel": "support",
            "body": TEXTS,
        }
    )
    cache = MemoryCache()
    server = ReplayServer(RECORDINGS, script=["500"] * 3)  # the first batch fails for good
    with server.running():
        backend = LLMBackend(_config(server, max_retries=2, concurrency=1), cache=cache)
        first = label_texts(texts, None, backend)
        assert first.fallbacks == 2 and first.labelled_now == 4
        second = label_texts(texts, first.labels, backend)
    assert second.reused == 2 and second.labelled_now == 2 and second.fallbacks == 0
    assert (second.labels["backend"] == "llm").all()
    # Run 1: three failed tries of the first batch and the second batch; run 2: one request.
    assert server.behaviours == ["500", "500", "500", "ok", "ok"]


def test_configuration_comes_from_the_environment():
    with pytest.raises(LLMConfigError, match="JOURNEYMAP_LLM_BASE_URL"):
        LLMConfig.from_env({})
    config = LLMConfig.from_env(
        {
            "JOURNEYMAP_LLM_BASE_URL": "http://127.0.0.1:11434/v1/",
            "JOURNEYMAP_LLM_MODEL": "llama3.1",
            "JOURNEYMAP_LLM_BATCH_SIZE": "5",
            "JOURNEYMAP_LLM_RESPONSE_FORMAT": "json_object",
        }
    )
    assert config.base_url == "http://127.0.0.1:11434/v1" and config.batch_size == 5
    assert config.response_format == "json_object" and config.api_key == ""
    with pytest.raises(LLMConfigError, match="BATCH_SIZE"):
        LLMConfig.from_env(
            {
                "JOURNEYMAP_LLM_BASE_URL": "x",
                "JOURNEYMAP_LLM_MODEL": "m",
                "JOURNEYMAP_LLM_BATCH_SIZE": "x",
            }
        )
