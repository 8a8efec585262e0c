"""Labelling every customer text, incrementally: the one entry point for both backends.

``label_texts`` (frames in, frames out) keeps the labels of a text whose prepared wording
(``text_hash``) and labelling model (backend and version) are unchanged since the last run
and labels the rest: new texts, changed texts, texts the configured backend has not labelled
yet (after a switch of backend or model) and texts an LLM run had to leave to the embedded
fallback. The metadata of every row (customer, time, channel) is refreshed from the mart on
every run, so re-stitched customers never keep a stale key. ``run_text_labelling`` reads
``marts.fct_customer_texts`` and the previous ``ml.text_labels`` and replaces the latter.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import pandas as pd

from journeymap.ml.outputs import TEXT_LABELS, consented, write_output
from journeymap.ml.text.embedded import LABEL_COLUMNS, embedded_model
from journeymap.ml.text.labels import polarity
from journeymap.ml.text.normalise import prepare_text, text_hash
from journeymap.warehouse import Warehouse, table_exists

KEY = list(TEXT_LABELS.key)
TEXT_COLUMNS = ("text_key", "source", "source_text_id", "customer_key", "occurred_at", "channel")


@dataclass
class BackendLabels:
    """What a backend returns for a list of texts: ``LABEL_COLUMNS`` plus backend,
    model_version, is_fallback and fallback_reason, row for row; and its run figures."""

    labels: pd.DataFrame
    stats: dict[str, Any] = field(default_factory=dict)


class TextBackend(Protocol):
    name: str

    @property
    def version(self) -> str: ...

    def label(self, texts: list[str]) -> BackendLabels: ...


class EmbeddedBackend:
    """The default backend: scikit-learn and VADER, offline (journeymap.ml.text.embedded)."""

    name = "embedded"

    @property
    def version(self) -> str:
        return embedded_model().version

    def label(self, texts: list[str]) -> BackendLabels:
        started = time.perf_counter()
        model = embedded_model()
        labels = model.label(texts)
        labels["backend"] = self.name
        labels["model_version"] = model.version
        labels["is_fallback"] = False
        labels["fallback_reason"] = None
        seconds = time.perf_counter() - started
        return BackendLabels(labels, {"texts": len(texts), "seconds": seconds})


@dataclass
class LabellingRun:
    labels: pd.DataFrame  # the whole ml.text_labels
    texts: int
    labelled_now: int
    reused: int
    fallbacks: int
    backend: str
    model_version: str
    backend_stats: dict[str, Any]
    seconds: float = 0.0

    def metadata(self) -> dict[str, Any]:
        return {
            "texts": self.texts,
            "labelled_now": self.labelled_now,
            "reused_from_previous_runs": self.reused,
            "fallbacks_to_embedded": self.fallbacks,
            "backend": self.backend,
            "model_version": self.model_version,
            "seconds": round(self.seconds, 2),
            **{f"backend_{k}": v for k, v in self.backend_stats.items()},
        }


def _reusable(texts: pd.DataFrame, previous: pd.DataFrame | None, backend: TextBackend):
    """A boolean per text: its previous labels still hold."""
    if previous is None or previous.empty:
        return pd.Series(False, index=texts.index)
    keep = previous[
        (previous["backend"] == backend.name)
        & (previous["model_version"] == backend.version)
        & ~previous["is_fallback"].astype(bool)
    ]
    merged = texts[[*KEY, "text_hash"]].merge(
        keep[[*KEY, "text_hash"]], on=[*KEY, "text_hash"], how="left", indicator=True
    )
    return pd.Series((merged["_merge"] == "both").to_numpy(), index=texts.index)


def label_texts(
    texts: pd.DataFrame,
    previous: pd.DataFrame | None,
    backend: TextBackend,
    now: datetime | None = None,
) -> LabellingRun:
    """ml.text_labels for ``texts`` (``TEXT_COLUMNS`` and body), reusing ``previous``."""
    started = time.perf_counter()
    now = now or datetime.now(UTC).replace(tzinfo=None)
    texts = texts.reset_index(drop=True).copy()
    texts["prepared"] = texts["body"].map(prepare_text)
    texts["text_hash"] = texts["prepared"].map(text_hash)
    reuse = _reusable(texts, previous, backend)
    kept_columns = [*LABEL_COLUMNS, "backend", "model_version", "is_fallback", "fallback_reason"]
    kept = texts[reuse]
    if len(kept):
        kept = kept.merge(previous[[*KEY, *kept_columns, "labelled_at"]], on=KEY, how="left")
    fresh = texts[~reuse]
    result = BackendLabels(pd.DataFrame(), {})
    if len(fresh):
        result = backend.label(fresh["prepared"].tolist())
        fresh = pd.concat(
            [fresh.reset_index(drop=True), result.labels.reset_index(drop=True)], axis=1
        )
        fresh["labelled_at"] = now
    frame = pd.concat([kept, fresh], ignore_index=True) if len(kept) else fresh
    frame = frame.sort_values(KEY).reset_index(drop=True) if len(frame) else frame
    if len(frame):
        frame["polarity"] = frame["sentiment"].astype(float).map(polarity)
    labels = (
        TEXT_LABELS.conform(frame[list(TEXT_LABELS.column_names)])
        if len(frame)
        else (TEXT_LABELS.empty())
    )
    return LabellingRun(
        labels=labels,
        texts=len(texts),
        labelled_now=len(texts) - int(reuse.sum()),
        reused=int(reuse.sum()),
        fallbacks=int(labels["is_fallback"].sum()) if len(labels) else 0,
        backend=backend.name,
        model_version=backend.version,
        backend_stats=result.stats,
        seconds=time.perf_counter() - started,
    )


# --- warehouse I/O --------------------------------------------------------------------------


def _query(warehouse: Warehouse, sql: str) -> pd.DataFrame:
    frame = warehouse.query_df(sql)
    frame.columns = [str(c).lower() for c in frame.columns]
    return frame


def read_texts(warehouse: Warehouse, marts: str = "marts") -> pd.DataFrame:
    """The texts to label: those of customers who did not refuse analytics."""
    return _query(
        warehouse,
        f"select {', '.join(TEXT_COLUMNS)}, body "
        f"from {consented(warehouse, f'{marts}.fct_customer_texts', marts)} as texts",
    )


def read_previous_labels(warehouse: Warehouse, ml: str = "ml") -> pd.DataFrame | None:
    if not table_exists(warehouse, ml, TEXT_LABELS.table):
        return None
    return _query(warehouse, f"select * from {ml}.{TEXT_LABELS.table}")


def run_text_labelling(
    warehouse: Warehouse, backend: TextBackend, marts: str = "marts", ml: str = "ml"
) -> LabellingRun:
    """Label the texts of ``marts.fct_customer_texts`` that need it; replace ml.text_labels."""
    started = time.perf_counter()
    run = label_texts(read_texts(warehouse, marts), read_previous_labels(warehouse, ml), backend)
    write_output(warehouse, TEXT_LABELS, run.labels, schema=ml)
    run.seconds = time.perf_counter() - started
    return run
