"""Which backend labels texts: ``JOURNEYMAP_TEXT_BACKEND`` (``embedded``, the default, or
``llm``), the same for the Dagster asset and the ``classify-text`` command."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from journeymap.ml.text.labelling import EmbeddedBackend, TextBackend
from journeymap.ml.text.labels import BACKENDS

BACKEND_ENV = "JOURNEYMAP_TEXT_BACKEND"


def configured_backend(env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    name = env.get(BACKEND_ENV) or "embedded"
    if name not in BACKENDS:
        raise ValueError(f"{BACKEND_ENV} must be one of {', '.join(BACKENDS)}, not {name!r}")
    return name


def make_backend(
    name: str | None = None,
    warehouse: Any = None,
    schema: str = "ml",
    env: Mapping[str, str] | None = None,
) -> TextBackend:
    """The backend ``name`` (default: the configured one). The llm backend caches in
    ``<schema>.text_label_cache`` of ``warehouse`` when given, else in memory."""
    name = name or configured_backend(env)
    if name == "embedded":
        return EmbeddedBackend()
    if name not in BACKENDS:
        raise ValueError(f"unknown text backend {name!r}; one of {', '.join(BACKENDS)}")
    from journeymap.ml.text.llm import LLMBackend, LLMConfig, MemoryCache, WarehouseCache

    cache = WarehouseCache(warehouse, schema) if warehouse is not None else MemoryCache()
    return LLMBackend(LLMConfig.from_env(env), cache=cache)
