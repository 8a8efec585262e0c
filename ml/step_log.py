"""Journeys as integer arrays: the input of the next-step and drop-off models.

A ``StepLog`` holds one row per step, sorted by journey and time, with every string column
coded as integers against a small vocabulary (so 10M steps cost a few hundred MB, not a few
GB of Python strings). It is made from a frame of strings (``log_from_frame``: a CSV process
log, or a test) or from codes a warehouse query computed (``journeymap.ml.next_step_io``).

Derived per-step arrays (``position``, ``furthest_stage``, ``lagged``...) only ever look at
the step itself and the steps before it in its journey: a prefix never sees its future.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

SECONDS_PER_DAY = 86_400


@dataclass(frozen=True)
class StepLog:
    """Steps sorted by (journey, time). Codes index their vocabularies; -1 means missing.

    keys: the journey (customer) key of each journey code.
    journey, t (int64 epoch seconds), step: one entry per step (codes are int32 when read
        from a warehouse or a frame: 10M steps).
    stage: the stage order of the step's journey stage (NaN when it maps to none).
    channel, device, intent: codes into channels, devices, intents (intent: the latest text
        the customer wrote at or before the step; intent_at: when, NaN when none).
    stage_names: stage order -> name (empty when the data maps no stage).
    """

    keys: np.ndarray
    journey: np.ndarray
    t: np.ndarray
    step: np.ndarray
    steps: np.ndarray
    stage: np.ndarray
    channel: np.ndarray
    channels: np.ndarray
    device: np.ndarray
    devices: np.ndarray
    intent: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    intents: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=object))
    intent_at: np.ndarray = field(default_factory=lambda: np.zeros(0))
    stage_names: dict[int, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.journey)
        if len(self.intent) != n:  # no texts: every step without an intent
            object.__setattr__(self, "intent", np.full(n, -1, dtype=np.int64))
            object.__setattr__(self, "intent_at", np.full(n, np.nan))
        for name in ("t", "step", "stage", "channel", "device", "intent", "intent_at"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"StepLog.{name} has {len(getattr(self, name))} rows, not {n}")
        if n and np.any(np.diff(self.journey) < 0):
            raise ValueError("StepLog steps must be sorted by journey")

    def __len__(self) -> int:
        return len(self.journey)

    @property
    def has_stages(self) -> bool:
        """True when the data maps steps to at least two journey stages (min and max, not a
        sort of every step: this is asked often)."""
        known = self.stage[~np.isnan(self.stage)]
        return bool(len(known)) and bool(known.min() != known.max())

    @property
    def final_stage(self) -> float:
        return float(max(self.stage_names)) if self.stage_names else np.nan

    def subset(self, mask: np.ndarray) -> StepLog:
        """The steps where ``mask`` is true (journey codes and vocabularies unchanged; the log
        itself when every step is kept, so a cutoff after the data copies nothing)."""
        if mask.all():
            return self
        return replace(
            self,
            journey=self.journey[mask],
            t=self.t[mask],
            step=self.step[mask],
            stage=self.stage[mask],
            channel=self.channel[mask],
            device=self.device[mask],
            intent=self.intent[mask],
            intent_at=self.intent_at[mask],
        )

    # --- what each step knows of its past ---------------------------------------------------

    def starts(self) -> np.ndarray:
        """True for the first step of each journey."""
        first = np.ones(len(self), dtype=bool)
        first[1:] = self.journey[1:] != self.journey[:-1]
        return first

    def position(self) -> np.ndarray:
        """0 for a journey's first step, 1 for its second..."""
        index = np.arange(len(self))
        first_index = np.maximum.accumulate(np.where(self.starts(), index, 0))
        return index - first_index

    def journey_start(self) -> np.ndarray:
        """The time of each step's journey's first step."""
        index = np.arange(len(self))
        first_index = np.maximum.accumulate(np.where(self.starts(), index, 0))
        return self.t[first_index]

    def lagged(self, values: np.ndarray, lag: int, fill: float | int) -> np.ndarray:
        """``values`` of the step ``lag`` steps earlier in the same journey (else ``fill``)."""
        if lag == 0:
            return values.copy()
        out = np.full(len(values), fill, dtype=np.result_type(values, np.asarray(fill)))
        if lag < len(values):
            same = self.journey[lag:] == self.journey[:-lag]
            out[lag:] = np.where(same, values[:-lag], fill)
        return out

    def furthest_stage(self) -> np.ndarray:
        """The furthest stage order reached so far in the journey (0 before any stage)."""
        stage = pd.Series(np.nan_to_num(self.stage, nan=0.0))
        return stage.groupby(self.journey).cummax().to_numpy()

    def running_count(self, flags: np.ndarray) -> np.ndarray:
        """How many steps so far in the journey (this one included) have ``flags``."""
        return pd.Series(flags.astype(np.int64)).groupby(self.journey).cumsum().to_numpy()


def _epoch_seconds(values: pd.Series) -> np.ndarray:
    stamps = pd.to_datetime(values, utc=True, format="mixed")
    if stamps.isna().any():
        raise ValueError(f"{int(stamps.isna().sum())} steps have no readable timestamp")
    epoch = pd.Timestamp("1970-01-01", tz="UTC")
    return ((stamps - epoch) // pd.Timedelta(seconds=1)).to_numpy(dtype=np.int64)


class _Vocabulary:
    """Codes of one string column across batches: first-seen codes while reading, renumbered
    to the sorted vocabulary at the end (so codes do not depend on how rows were batched)."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}

    def codes(self, values: pd.Series, blank_is_missing: bool = True) -> np.ndarray:
        text = values.astype(object).where(values.notna(), None)
        if blank_is_missing:
            text = text.where(text.astype(str).str.strip() != "", None)
        local, uniques = pd.factorize(text)
        words = pd.Index(uniques.astype(str), dtype=object)
        for word in words[~words.isin(list(self.index))]:  # new words only: few after a batch
            self.index[word] = len(self.index)
        mapped = np.asarray(words.map(self.index), dtype=np.int32)
        codes = np.where(local >= 0, mapped[np.maximum(local, 0)] if len(mapped) else -1, -1)
        return codes.astype(np.int32)  # half the memory of int64 over 10M steps

    def sorted(self, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``codes`` renumbered against the sorted vocabulary, and that vocabulary."""
        words = np.asarray(list(self.index), dtype=object)
        order = np.argsort(words, kind="stable")
        rank = np.empty(len(words), dtype=np.int32)
        rank[order] = np.arange(len(words))
        coded = np.where(codes >= 0, rank[np.maximum(codes, 0)] if len(rank) else -1, -1)
        return coded.astype(np.int32), words[order]


def log_from_frame(
    frame: pd.DataFrame,
    stage_orders: dict[str, int] | None = None,
    texts: pd.DataFrame | None = None,
) -> StepLog:
    """A log from a frame of strings: journey_key, occurred_at, step and optionally
    journey_stage, channel, device_type and tie_breaker (steps at the same second are
    ordered by a fixed hash of it, else by their order in the frame). ``texts``
    (journey_key, occurred_at, intent) are the texts customers wrote."""
    return log_from_batches([frame], stage_orders, texts)


def log_from_batches(
    batches: Iterable[pd.DataFrame],
    stage_orders: dict[str, int] | None = None,
    texts: pd.DataFrame | None = None,
) -> StepLog:
    """A log from frames of strings (the columns of ``log_from_frame``), coded batch by batch
    so only integer arrays outlive a batch: a warehouse's ten million events cost a few
    hundred MB. Steps at the same second are ordered by a fixed hash of ``tie_breaker``
    (an event key: arbitrary but the same on every run and warehouse, without keeping the
    keys or sorting by them), else kept in the order they arrive in."""
    orders = stage_orders or {}
    vocab = {name: _Vocabulary() for name in ("journey", "step", "channel", "device")}
    parts: dict[str, list[np.ndarray]] = {name: [] for name in (*vocab, "t", "stage", "tie")}
    for frame in batches:
        missing = [c for c in ("journey_key", "occurred_at", "step") if c not in frame.columns]
        if missing:
            raise ValueError(f"a step log needs the columns {missing}")
        if frame.empty:
            continue
        empty = pd.Series([None] * len(frame), dtype=object, index=frame.index)
        keys = frame["journey_key"].astype(str)
        parts["journey"].append(vocab["journey"].codes(keys, blank_is_missing=False))
        parts["t"].append(_epoch_seconds(frame["occurred_at"]))
        parts["step"].append(vocab["step"].codes(frame["step"]))
        parts["channel"].append(vocab["channel"].codes(frame.get("channel", empty)))
        parts["device"].append(vocab["device"].codes(frame.get("device_type", empty)))
        stage = frame["journey_stage"].map(orders) if "journey_stage" in frame else empty
        parts["stage"].append(stage.to_numpy(dtype=float))
        tie = frame.get("tie_breaker")
        parts["tie"].append(
            np.zeros(len(frame), np.uint64)
            if tie is None
            else pd.util.hash_array(tie.astype(str).to_numpy(dtype=object))
        )
    # One column at a time, each freed once joined and ordered: peak memory stays near
    # two copies of one column, not of the whole log.
    columns: dict[str, np.ndarray] = {}
    for name in list(parts):
        chunks = parts.pop(name)
        columns[name] = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int64)
        del chunks
    words: dict[str, np.ndarray] = {}
    for name, v in vocab.items():
        columns[name], words[name] = v.sorted(columns[name])
    if (columns["step"] < 0).any():
        raise ValueError(f"{int((columns['step'] < 0).sum())} steps have no name")
    order = np.lexsort((columns.pop("tie"), columns["t"], columns["journey"]))  # stable
    for name in list(columns):
        columns[name] = columns[name][order]
    log = StepLog(
        keys=words["journey"],
        journey=columns.pop("journey"),
        t=columns.pop("t").astype(np.int64),
        step=columns.pop("step"),
        steps=words["step"],
        stage=columns.pop("stage").astype(float),
        channel=columns.pop("channel"),
        channels=words["channel"],
        device=columns.pop("device"),
        devices=words["device"],
        stage_names={int(order): name for name, order in orders.items()},
    )
    if texts is not None and len(texts):
        log = with_texts(
            log,
            journey=pd.Index(log.keys).get_indexer(texts["journey_key"].astype(str)),
            t=_epoch_seconds(texts["occurred_at"]),
            intent=texts["intent"],
        )
    return log


def with_texts(log: StepLog, journey: np.ndarray, t: np.ndarray, intent: pd.Series) -> StepLog:
    """The log with each step's latest text (at or before the step) and its intent."""
    vocabulary = _Vocabulary()
    codes, intents = vocabulary.sorted(vocabulary.codes(pd.Series(intent).reset_index(drop=True)))
    keep = (np.asarray(journey) >= 0) & (codes >= 0)
    # The latest text at or before each step: a binary search over (journey, time) packed in
    # one int64 (times are offset to the earliest, so they fit 32 bits for a century).
    origin = min(int(log.t.min()), int(np.asarray(t)[keep].min())) if keep.any() else 0
    text_t = np.asarray(t, dtype=np.int64)[keep]
    text_key = (np.asarray(journey, dtype=np.int64)[keep] << 32) | (text_t - origin)
    order = np.argsort(text_key, kind="stable")  # equal keys: the later text wins, as before
    text_key, text_t, text_intent = text_key[order], text_t[order], codes[keep][order]
    step_key = (log.journey.astype(np.int64) << 32) | (log.t - origin)
    found = np.searchsorted(text_key, step_key, side="right") - 1
    has = found >= 0
    has[has] = (text_key[found[has]] >> 32) == log.journey[has]  # the same customer's text
    intent_codes = np.full(len(log), -1, dtype=np.int64)
    intent_codes[has] = text_intent[found[has]]
    intent_at = np.full(len(log), np.nan)
    intent_at[has] = text_t[found[has]]
    return replace(
        log,
        intent=intent_codes,
        intents=intents,
        intent_at=intent_at,
    )
