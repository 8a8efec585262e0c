"""The optional LLM backend: any OpenAI-compatible chat-completions endpoint (a hosted API,
or Ollama / vLLM / llama.cpp on your own machine), configured by environment variables.

* **Privacy**: every text is masked (``journeymap.privacy.mask_text``: emails, phone and
  card-like numbers) before it leaves the machine; only masked text is sent and cached.
* **Prompt**: the labelling guideline of ``labels.py`` itself, versioned by its content
  (``PROMPT_VERSION``: a changed guideline is a new prompt, and nothing cached under the old
  one is reused).
* **Structured output**: the request asks for JSON matching ``answer_schema()``
  (``response_format`` ``json_schema``, or ``json_object`` for servers without schemas);
  every answer is validated (pydantic) against the label sets and ranges.
* **Batching and bounded concurrency**: ``batch_size`` texts per request, at most
  ``concurrency`` requests in flight.
* **Retries with backoff**: 429 (honouring Retry-After), 5xx, timeouts, connection errors and
  malformed answers are retried up to ``max_retries`` times, waiting ``backoff * 2**attempt``
  plus jitter; other 4xx answers are not retried.
* **Cache** (``ml.text_label_cache``) keyed by (sha256 of the masked text, prompt version,
  model): a text is never sent twice.
* **Fallback**: a text whose batch failed, or whose item in the answer is missing or
  invalid, is labelled by the embedded model and flagged (``is_fallback``, with the reason);
  it is never dropped, and the next run tries the LLM again.
* **Figures** per run: requests, retries, failures, latency, tokens and cost (prices per
  million tokens from the environment), for Dagster metadata.

``LLMClient.send`` (one request, retried) also serves ``FactsWriter``: the persona narratives
(``ml.persona_narrator``) and the next-best-action messages (``ml.action_messages``).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Protocol, TypeVar

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from journeymap.ml.outputs import MLOutput, _columns
from journeymap.ml.text import labels as guideline
from journeymap.ml.text.embedded import LABEL_COLUMNS
from journeymap.ml.text.labelling import BackendLabels, EmbeddedBackend
from journeymap.ml.text.labels import EMOTIONS, INTENTS, STAGES
from journeymap.ml.text.normalise import text_hash
from journeymap.privacy import mask_text
from journeymap.warehouse import quote_literal, table_exists

PROMPT_TEMPLATE = """You label texts customers wrote to a company (support messages, chats,
reviews, survey answers). Follow this guideline exactly:

{guideline}

For every text you get (a JSON list of objects with "id" and "text"), answer one object with
the same "id", its "intent", "journey_stage", "sentiment" (a number from -1 to 1) and
"emotion", each from the sets above, and your confidence (0 to 1) in each. Emails, phone
and card numbers appear masked as [email], [phone] and [card]. Answer only JSON:
{{"labels": [{{"id": ..., "intent": ..., "intent_confidence": ..., "journey_stage": ...,
"journey_stage_confidence": ..., "sentiment": ..., "sentiment_confidence": ...,
"emotion": ..., "emotion_confidence": ...}}]}}"""
SYSTEM_PROMPT = PROMPT_TEMPLATE.format(guideline=(guideline.__doc__ or "").strip())
PROMPT_VERSION = "text-labels-v1+" + hashlib.sha256(SYSTEM_PROMPT.encode()).hexdigest()[:8]

LLM_CACHE = MLOutput(
    table="text_label_cache",
    columns=_columns(
        "text_hash varchar, prompt_version varchar, model varchar, intent varchar, "
        "intent_confidence double, journey_stage varchar, journey_stage_confidence double, "
        "sentiment double, sentiment_confidence double, emotion varchar, "
        "emotion_confidence double, cached_at timestamp"
    ),
    key=("text_hash", "prompt_version", "model"),
)
T = TypeVar("T")
RETRYABLE_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})


class LLMConfigError(ValueError):
    """The llm backend is selected but not configured."""


def _env_number(env: Mapping[str, str], name: str, default: float, kind: type = float) -> Any:
    raw = env.get(name)
    if raw in (None, ""):
        return kind(default)
    try:
        return kind(raw)
    except ValueError:
        raise LLMConfigError(f"{name} must be a number, not {raw!r}") from None


@dataclass(frozen=True)
class LLMConfig:
    """The endpoint and its limits.

    JOURNEYMAP_LLM_BASE_URL           e.g. https://api.openai.com/v1, http://127.0.0.1:11434/v1
    JOURNEYMAP_LLM_MODEL              the model name the endpoint knows
    JOURNEYMAP_LLM_API_KEY            sent as a bearer token (optional for local servers)
    JOURNEYMAP_LLM_BATCH_SIZE         texts per request (default 20)
    JOURNEYMAP_LLM_CONCURRENCY        requests in flight at most (default 4)
    JOURNEYMAP_LLM_MAX_RETRIES        retries per request (default 3)
    JOURNEYMAP_LLM_TIMEOUT_SECONDS    per request (default 60)
    JOURNEYMAP_LLM_BACKOFF_SECONDS    first retry wait, doubled each time (default 1)
    JOURNEYMAP_LLM_RESPONSE_FORMAT    json_schema (default) or json_object
    JOURNEYMAP_LLM_INPUT_PRICE_PER_MTOK / JOURNEYMAP_LLM_OUTPUT_PRICE_PER_MTOK
                                      prices per million tokens, for the cost figure (default 0)
    """

    base_url: str
    model: str
    api_key: str = ""
    batch_size: int = 20
    concurrency: int = 4
    max_retries: int = 3
    timeout_seconds: float = 60.0
    backoff_seconds: float = 1.0
    response_format: Literal["json_schema", "json_object"] = "json_schema"
    input_price_per_mtok: float = 0.0
    output_price_per_mtok: float = 0.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> LLMConfig:
        env = os.environ if env is None else env
        base_url, model = (
            env.get("JOURNEYMAP_LLM_BASE_URL", ""),
            env.get("JOURNEYMAP_LLM_MODEL", ""),
        )
        if not base_url or not model:
            raise LLMConfigError(
                "the llm text backend needs JOURNEYMAP_LLM_BASE_URL and JOURNEYMAP_LLM_MODEL"
            )
        response_format = env.get("JOURNEYMAP_LLM_RESPONSE_FORMAT", "json_schema")
        if response_format not in ("json_schema", "json_object"):
            raise LLMConfigError(
                f"JOURNEYMAP_LLM_RESPONSE_FORMAT must be json_schema or json_object, "
                f"not {response_format!r}"
            )
        config = cls(
            base_url=base_url.rstrip("/"),
            model=model,
            api_key=env.get("JOURNEYMAP_LLM_API_KEY", ""),
            batch_size=_env_number(env, "JOURNEYMAP_LLM_BATCH_SIZE", 20, int),
            concurrency=_env_number(env, "JOURNEYMAP_LLM_CONCURRENCY", 4, int),
            max_retries=_env_number(env, "JOURNEYMAP_LLM_MAX_RETRIES", 3, int),
            timeout_seconds=_env_number(env, "JOURNEYMAP_LLM_TIMEOUT_SECONDS", 60.0),
            backoff_seconds=_env_number(env, "JOURNEYMAP_LLM_BACKOFF_SECONDS", 1.0),
            response_format=response_format,  # type: ignore[arg-type]
            input_price_per_mtok=_env_number(env, "JOURNEYMAP_LLM_INPUT_PRICE_PER_MTOK", 0.0),
            output_price_per_mtok=_env_number(env, "JOURNEYMAP_LLM_OUTPUT_PRICE_PER_MTOK", 0.0),
        )
        if config.batch_size < 1 or config.concurrency < 1 or config.max_retries < 0:
            raise LLMConfigError("batch size and concurrency must be >= 1, retries >= 0")
        return config


# --- the answer's schema ---------------------------------------------------------------------

Confidence = Field(ge=0.0, le=1.0)


class _Item(BaseModel):
    model_config = ConfigDict(extra="ignore")


LabelItem = create_model(
    "LabelItem",
    __base__=_Item,
    id=(int, ...),
    intent=(Literal[INTENTS], ...),  # type: ignore[valid-type]
    intent_confidence=(float, Confidence),
    journey_stage=(Literal[STAGES], ...),  # type: ignore[valid-type]
    journey_stage_confidence=(float, Confidence),
    sentiment=(float, Field(ge=-1.0, le=1.0)),
    sentiment_confidence=(float, Confidence),
    emotion=(Literal[EMOTIONS], ...),  # type: ignore[valid-type]
    emotion_confidence=(float, Confidence),
)


def answer_schema() -> dict[str, Any]:
    """The JSON schema of an answer (``{"labels": [item, ...]}``), for ``response_format``."""
    item = LabelItem.model_json_schema()
    item.pop("title", None)
    item["additionalProperties"] = False
    return {
        "type": "object",
        "properties": {"labels": {"type": "array", "items": item}},
        "required": ["labels"],
        "additionalProperties": False,
    }


class MalformedAnswer(ValueError):
    """The endpoint answered, but not with the JSON the schema asks for."""


def parse_content(body: bytes) -> tuple[str, dict[str, int]]:
    """The message text of a chat-completions answer and its token usage."""
    try:
        payload = json.loads(body)
        content = payload["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError) as error:
        raise MalformedAnswer(f"not a chat-completions answer: {error}") from error
    if not isinstance(content, str):
        raise MalformedAnswer("the answer's content is not text")
    usage = payload.get("usage") or {}
    tokens = {
        "prompt_tokens": int(usage.get("prompt_tokens") or 0),
        "completion_tokens": int(usage.get("completion_tokens") or 0),
    }
    return content, tokens


def parse_answer(body: bytes) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """The raw label items of a chat-completions answer and its token usage."""
    content, tokens = parse_content(body)
    try:
        labels = json.loads(content)["labels"]
    except (ValueError, KeyError, TypeError) as error:
        raise MalformedAnswer(f"not a JSON answer with labels: {error}") from error
    if not isinstance(labels, list):
        raise MalformedAnswer("labels is not a list")
    return labels, tokens


def validate_items(items: list[Any], ids: list[int]) -> tuple[dict[int, dict], dict[int, str]]:
    """Valid labels by text id, and the reason for each id without one."""
    valid: dict[int, dict] = {}
    invalid: dict[int, str] = {}
    for raw in items:
        try:
            item = LabelItem.model_validate(raw).model_dump()
        except ValidationError as error:
            bad_id = raw.get("id") if isinstance(raw, dict) else None
            if isinstance(bad_id, int):
                invalid[bad_id] = f"invalid_label: {error.errors()[0]['msg']}"
            continue
        valid[item.pop("id")] = item
    reasons = {i: invalid.get(i, "missing_in_answer") for i in ids if i not in valid}
    return {i: valid[i] for i in ids if i in valid}, reasons


# --- the cache -------------------------------------------------------------------------------


class LabelCache(Protocol):
    def get(self, hashes: list[str], prompt_version: str, model: str) -> dict[str, dict]: ...

    def put(self, rows: pd.DataFrame) -> None: ...


class MemoryCache:
    """A cache for one process (the CLI), of the rows of ``output`` (the text labels' cache by
    default) keyed by their hash column (the first of the output's key)."""

    def __init__(self, output: MLOutput = LLM_CACHE) -> None:
        self.hash_column = output.key[0]
        self._rows: dict[tuple[str, str, str], dict] = {}

    def get(self, hashes: list[str], prompt_version: str, model: str) -> dict[str, dict]:
        found = ((h, self._rows.get((h, prompt_version, model))) for h in hashes)
        return {h: row for h, row in found if row is not None}

    def put(self, rows: pd.DataFrame) -> None:
        for row in rows.to_dict("records"):
            self._rows[(row[self.hash_column], row["prompt_version"], row["model"])] = row


class WarehouseCache:
    """``<ml>.<output table>`` (``ml.text_label_cache`` by default): appended to, read by
    prompt version and model, keyed by the output's hash column."""

    def __init__(self, warehouse: Any, schema: str = "ml", output: MLOutput = LLM_CACHE) -> None:
        self.warehouse, self.schema, self.output = warehouse, schema, output
        self.hash_column = output.key[0]

    def get(self, hashes: list[str], prompt_version: str, model: str) -> dict[str, dict]:
        table = self.output.table
        if not hashes or not table_exists(self.warehouse, self.schema, table):
            return {}
        frame = self.warehouse.query_df(
            f"select * from {self.schema}.{table} "
            f"where prompt_version = {quote_literal(prompt_version)} "
            f"and model = {quote_literal(model)}"
        )
        frame.columns = [str(c).lower() for c in frame.columns]
        wanted = set(hashes)
        return {
            row[self.hash_column]: row
            for row in frame.to_dict("records")
            if row[self.hash_column] in wanted
        }

    def put(self, rows: pd.DataFrame) -> None:
        if len(rows):
            self.warehouse.write_frame(
                self.schema, self.output.table, self.output.conform(rows), mode="append"
            )


# --- the client ------------------------------------------------------------------------------


@dataclass
class RunFigures:
    """What one labelling run cost (thread-safe counters)."""

    requests: int = 0
    retries: int = 0
    failed_batches: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latencies: list[float] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, **values: Any) -> None:
        with self._lock:
            for name, value in values.items():
                if name == "latency":
                    self.latencies.append(value)
                else:
                    setattr(self, name, getattr(self, name) + value)


class LLMClient:
    """One chat-completions request per batch, retried as the module docstring says."""

    def __init__(self, config: LLMConfig, seed: int = 0) -> None:
        self.config = config
        self._jitter = random.Random(seed)

    def request_body(self, texts: list[tuple[int, str]]) -> dict[str, Any]:
        user = json.dumps({"texts": [{"id": i, "text": t} for i, t in texts]}, ensure_ascii=False)
        if self.config.response_format == "json_schema":
            response_format: dict[str, Any] = {
                "type": "json_schema",
                "json_schema": {"name": "text_labels", "strict": True, "schema": answer_schema()},
            }
        else:
            response_format = {"type": "json_object"}
        return {
            "model": self.config.model,
            "temperature": 0,
            "messages": [
                {"role": "system", "content": SYSTEM_PROMPT},
                {"role": "user", "content": user},
            ],
            "response_format": response_format,
        }

    def _post(self, body: dict[str, Any]) -> bytes:
        headers = {"Content-Type": "application/json"}
        if self.config.api_key:
            headers["Authorization"] = f"Bearer {self.config.api_key}"
        request = urllib.request.Request(
            f"{self.config.base_url}/chat/completions",
            data=json.dumps(body).encode("utf-8"),
            headers=headers,
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=self.config.timeout_seconds) as response:
            return response.read()

    def _wait(self, attempt: int, retry_after: str | None) -> None:
        if retry_after:
            try:
                time.sleep(min(float(retry_after), 60.0))
                return
            except ValueError:
                pass
        base = self.config.backoff_seconds * 2**attempt
        time.sleep(base + self._jitter.uniform(0, self.config.backoff_seconds))

    def send(
        self, body: dict[str, Any], figures: RunFigures, parse: Callable[[bytes], tuple[T, dict]]
    ) -> tuple[T | None, str | None]:
        """``parse``'s reading of the answer to ``body`` (``(value, token usage)``), retried as
        the module docstring says; ``(None, reason)`` when every try failed."""
        reason = "no_answer"
        for attempt in range(self.config.max_retries + 1):
            if attempt:
                figures.add(retries=1)
            started = time.perf_counter()
            retry_after = None
            try:
                figures.add(requests=1)
                value, tokens = parse(self._post(body))
                figures.add(latency=time.perf_counter() - started, **tokens)
                return value, None
            except urllib.error.HTTPError as error:
                reason = f"http_{error.code}"
                if error.code not in RETRYABLE_STATUS:
                    break
                retry_after = error.headers.get("Retry-After") if error.headers else None
            except MalformedAnswer:
                reason = "malformed_answer"
            except TimeoutError:
                reason = "timeout"
            except urllib.error.URLError as error:
                is_timeout = isinstance(error.reason, TimeoutError)
                reason = "timeout" if is_timeout else "connection_error"
            figures.add(latency=time.perf_counter() - started)
            if attempt < self.config.max_retries:
                self._wait(attempt, retry_after)
        figures.add(failed_batches=1)
        return None, reason

    def label_batch(
        self, texts: list[tuple[int, str]], figures: RunFigures
    ) -> tuple[list[dict], str | None]:
        """The raw label items for a batch, or ``([], reason)`` when every try failed."""
        items, reason = self.send(self.request_body(texts), figures, parse_answer)
        return items or [], reason


WRITER_CHOICES = ("template", "llm")


def llm_chosen(env: Mapping[str, str], variable: str) -> bool:
    """Whether ``variable`` (template or llm) picks the LLM; unset, the LLM when an endpoint
    is configured (JOURNEYMAP_LLM_BASE_URL and JOURNEYMAP_LLM_MODEL)."""
    configured = bool(env.get("JOURNEYMAP_LLM_BASE_URL") and env.get("JOURNEYMAP_LLM_MODEL"))
    choice = env.get(variable) or ("llm" if configured else "template")
    if choice not in WRITER_CHOICES:
        raise LLMConfigError(
            f"{variable} must be one of {', '.join(WRITER_CHOICES)}, not {choice!r}"
        )
    return choice == "llm"


class FactsWriter:
    """One text per request: a system prompt and facts as JSON in, the model's text out (the
    persona narratives, the next-best-action messages)."""

    def __init__(self, config: LLMConfig, system_prompt: str) -> None:
        self.config = config
        self.system_prompt = system_prompt
        self.client = LLMClient(config)
        self.figures = RunFigures()

    def facts_body(self, facts: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "model": self.config.model,
            "temperature": 0,
            "messages": [
                {"role": "system", "content": self.system_prompt},
                {"role": "user", "content": json.dumps(facts, ensure_ascii=False, indent=1)},
            ],
        }

    def write(self, facts: Mapping[str, Any]) -> tuple[str | None, str | None]:
        """The model's text, or ``(None, reason)`` when every try failed."""
        return self.client.send(self.facts_body(facts), self.figures, parse_content)

    def cost(self, prefix: str) -> dict[str, Any]:
        """What the texts cost, for Dagster metadata."""
        figures = self.figures
        return {
            f"{prefix}_model": self.config.model,
            f"{prefix}_requests": figures.requests,
            f"{prefix}_retries": figures.retries,
            f"{prefix}_failures": figures.failed_batches,
            f"{prefix}_prompt_tokens": figures.prompt_tokens,
            f"{prefix}_completion_tokens": figures.completion_tokens,
        }


class LLMBackend:
    """Labels through an LLM, with the cache and the embedded fallback."""

    name = "llm"

    def __init__(
        self,
        config: LLMConfig,
        cache: LabelCache | None = None,
        fallback: EmbeddedBackend | None = None,
    ) -> None:
        self.config = config
        self.client = LLMClient(config)
        self.cache = cache or MemoryCache()
        self.fallback = fallback or EmbeddedBackend()

    @property
    def version(self) -> str:
        return f"llm:{self.config.model}:{PROMPT_VERSION}"

    def _ask(self, masked: dict[str, str], figures: RunFigures) -> tuple[dict, dict]:
        """Labels and failure reasons by text hash for texts not in the cache."""
        order = list(masked)
        size = self.config.batch_size
        batches = [order[i : i + size] for i in range(0, len(order), size)]

        def run(batch: list[str]) -> tuple[dict, dict]:
            items, reason = self.client.label_batch(
                [(i, masked[h]) for i, h in enumerate(batch)], figures
            )
            if reason is not None:
                return {}, dict.fromkeys(batch, reason)
            valid, reasons = validate_items(items, list(range(len(batch))))
            return (
                {batch[i]: labels for i, labels in valid.items()},
                {batch[i]: why for i, why in reasons.items()},
            )

        answers: dict[str, dict] = {}
        failures: dict[str, str] = {}
        with ThreadPoolExecutor(max_workers=self.config.concurrency) as pool:
            for valid, reasons in pool.map(run, batches):
                answers.update(valid)
                failures.update(reasons)
        return answers, failures

    def label(self, texts: list[str]) -> BackendLabels:
        started = time.perf_counter()
        figures = RunFigures()
        masked_texts = [mask_text(t) or "" for t in texts]
        hashes = [text_hash(t) for t in masked_texts]
        masked = dict(zip(hashes, masked_texts, strict=True))  # distinct texts, in order
        cached = self.cache.get(list(masked), PROMPT_VERSION, self.config.model)
        todo = {h: t for h, t in masked.items() if h not in cached}
        answers, failures = self._ask(todo, figures) if todo else ({}, {})
        self._remember(answers)
        found = {**{h: _labels_of(row) for h, row in cached.items()}, **answers}
        labels = self._assemble(texts, hashes, found, failures)
        return BackendLabels(labels, self._stats(figures, texts, masked, cached, failures, started))

    def _remember(self, answers: dict[str, dict]) -> None:
        if not answers:
            return
        rows = pd.DataFrame([{"text_hash": h, **labels} for h, labels in answers.items()])
        rows["prompt_version"] = PROMPT_VERSION
        rows["model"] = self.config.model
        rows["cached_at"] = datetime.now(UTC).replace(tzinfo=None)
        self.cache.put(rows[list(LLM_CACHE.column_names)])

    def _assemble(
        self, texts: list[str], hashes: list[str], found: dict[str, dict], failures: dict
    ) -> pd.DataFrame:
        """One row per text: the LLM's labels, or the embedded model's, flagged."""
        llm = {"backend": self.name, "model_version": self.version, "is_fallback": False}
        rows: list[dict | None] = [
            {**found[h], **llm, "fallback_reason": None} if h in found else None for h in hashes
        ]
        missing = [i for i, row in enumerate(rows) if row is None]
        if missing:
            fallback = self.fallback.label([texts[i] for i in missing]).labels
            for j, i in enumerate(missing):
                row = fallback.iloc[j].to_dict()
                row.update(is_fallback=True, fallback_reason=failures.get(hashes[i], "no_answer"))
                rows[i] = row
        columns = [*LABEL_COLUMNS, "backend", "model_version", "is_fallback", "fallback_reason"]
        return pd.DataFrame(rows, columns=columns)

    def _stats(self, figures, texts, masked, cached, failures, started) -> dict[str, Any]:
        latencies = np.array(figures.latencies) if figures.latencies else np.zeros(1)
        cost = (
            figures.prompt_tokens * self.config.input_price_per_mtok
            + figures.completion_tokens * self.config.output_price_per_mtok
        ) / 1_000_000
        return {
            "texts": len(texts),
            "distinct_texts": len(masked),
            "cache_hits": len(cached),
            "texts_sent": len(masked) - len(cached),
            "texts_failed": len(failures),
            "requests": figures.requests,
            "retries": figures.retries,
            "failed_batches": figures.failed_batches,
            "latency_p50_seconds": round(float(np.percentile(latencies, 50)), 3),
            "latency_p95_seconds": round(float(np.percentile(latencies, 95)), 3),
            "latency_total_seconds": round(float(latencies.sum()), 3),
            "prompt_tokens": figures.prompt_tokens,
            "completion_tokens": figures.completion_tokens,
            "cost_usd": round(cost, 6),
            "seconds": round(time.perf_counter() - started, 3),
            "prompt_version": PROMPT_VERSION,
            "model": self.config.model,
        }


def _labels_of(row: Mapping[str, Any]) -> dict[str, Any]:
    return {column: row[column] for column in LABEL_COLUMNS}
