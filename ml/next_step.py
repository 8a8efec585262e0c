"""What happens next: each open journey's next step (top three, "journey ends" included) and
the probability that the customer drops off before reaching the next stage.

Definitions
-----------
* **Step**: an event the customer did (``fct_events`` without the events that happen *to*
  them, ``PASSIVE_EVENTS``): its canonical event, or its raw event name where the taxonomy
  maps none, so a bring-your-own log works before (and without) a taxonomy.
* **Journey**: one customer's steps in time order. **Horizon** ``H``: dbt var
  ``next_step_horizon_days`` (default 14 days).
* **Next step of a prefix** (a journey up to one of its steps, at that step's time ``t``):
  the following step when it comes within ``H`` days, else ``journey_ends`` - the journey
  ends after ``H`` days without a step, as a session ends after 30 minutes. Unknown
  (censored, left out) when the data ends less than ``H`` days after ``t`` with no step since.
* **Stage** of a prefix: the furthest journey stage reached so far (orders from the
  ``journey_stages`` seed). **Drop-off**: no later stage is reached within ``H`` days of
  ``t`` (a funnel's drop-off with an ``H``-day window); undefined at the final stage. Where
  the data maps no stages (a process log), drop-off is the journey ending: no step within
  ``H`` days.
* **Open journey** at ``as_of``: the last step lies less than ``H`` days before ``as_of``.
  Predictions are made at that last step (as every prefix is evaluated); the output says
  how long ago it was.

Evaluation on held-out time (the predictive process monitoring protocol with leakage
prevention, e.g. Weytjens & De Weerdt 2021): journeys are ordered by their first step; the
first ``train_share`` (70%) are training journeys, cut at ``T``, the first step of the
earliest held-out journey, with labels as observed before ``T``; every prefix of the later
journeys is a test case, with labels as observed by ``as_of``. Nothing at or after ``T``
reaches training. Figures: top-1 and top-3 accuracy of the next step, AUC and Brier score
of drop-off. At scale the test cases are every prefix of a uniform random sample of the
held-out journeys (seeded), about ``max_eval_prefixes`` (150,000) prefixes in all; the
model report states the cap and how many held-out journeys were scored. The booster trains
on a seeded random sample of ``max_boosting_prefixes`` (25,000) training prefixes; the
Markov models count every training prefix.

Models (``journeymap.ml.sequence_models``): ``most_frequent`` (the training distribution of
next steps), ``first_order_markov`` (the last step, Witten-Bell smoothed towards it),
``variable_order_markov`` (the last 1..``max_order`` steps, Witten-Bell back-off) and
``gradient_boosting`` (the last ``history_steps`` steps, time since the previous step, steps
so far, journey age, stage, channel, device, support contacts and the intent of the latest
text, hour and weekday). Drop-off: ``stage_rate`` (the stage's training drop-off rate), the
same two Markov models on (stage, last steps), and a boosted classifier on the same features.
**Choice**: the challenger with the best held-out top-1 accuracy (drop-off: Brier score) is
used only if it beats ``first_order_markov``: its gain has a 95% bootstrap interval (journeys
resampled) above zero. Otherwise first-order Markov is used. The chosen models are refitted
on every journey, labels as observed by ``as_of``, and score the open journeys.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from journeymap.ml.churn import fast_auc
from journeymap.ml.features import as_cutoff
from journeymap.ml.outputs import NEXT_STEP_PREDICTIONS
from journeymap.ml.sequence_models import BackoffModel, BoostedModel, BoostingParams, pack_keys
from journeymap.ml.step_log import SECONDS_PER_DAY, StepLog

MODEL_VERSION = "next-step-v1"
END_STEP = "journey_ends"
OTHER_STEP = "other"
DEFAULT_HORIZON_DAYS = 14
NEXT_STEP_MODELS = (
    "most_frequent",
    "first_order_markov",
    "variable_order_markov",
    "gradient_boosting",
)
DROP_OFF_MODELS = ("stage_rate", "first_order_markov", "variable_order_markov", "gradient_boosting")
BASELINE = "first_order_markov"
CONTEXT_BITS = 8  # step codes in back-off contexts (max_classes + 3 must fit)
HOUR = 3_600


@dataclass(frozen=True)
class NextStepConfig:
    """Knobs of a run (the defaults are what the asset and the tests use)."""

    horizon_days: float = DEFAULT_HORIZON_DAYS
    train_share: float = 0.7
    max_order: int = 3  # longest context of the variable-order Markov model
    history_steps: int = 3  # last steps the booster sees
    max_classes: int = 60  # steps predicted by name; rarer ones are one "other" class
    max_boosting_prefixes: int = 25_000  # the booster trains on a random sample beyond this
    max_eval_prefixes: int = 150_000  # held-out journeys sampled beyond this
    bootstrap_samples: int = 1000
    intent_days: float = 30.0  # a text's intent counts for this long
    random_state: int = 0
    n_threads: int | None = 1  # OpenMP threads of the booster (one is fastest on busy cores)
    boosting: BoostingParams = BoostingParams()

    def __post_init__(self) -> None:
        if self.horizon_days <= 0:
            raise ValueError("the next-step horizon must be a positive number of days")
        if not 0.0 < self.train_share < 1.0:
            raise ValueError("train_share must lie between 0 and 1")
        if self.max_classes + 3 > 1 << CONTEXT_BITS:
            raise ValueError(f"max_classes must be at most {(1 << CONTEXT_BITS) - 3}")

    @property
    def horizon_seconds(self) -> int:
        return int(round(self.horizon_days * SECONDS_PER_DAY))


# --- classes and labels -----------------------------------------------------------------------


@dataclass(frozen=True)
class Classes:
    """The next steps predicted by name (the most frequent in training), then ``other`` and
    ``journey_ends``; ``bos`` marks "before the journey" in contexts."""

    names: tuple[str, ...]
    code_of_step: np.ndarray  # step code -> class index (``other`` for rare steps)

    @classmethod
    def from_log(cls, log: StepLog, max_classes: int) -> Classes:
        counts = np.bincount(log.step, minlength=len(log.steps))
        order = np.lexsort((np.arange(len(counts)), -counts))
        named = [int(s) for s in order[:max_classes] if counts[s] > 0]
        named.sort(key=lambda s: str(log.steps[s]))
        code = np.full(len(log.steps), len(named), dtype=np.int64)
        code[named] = np.arange(len(named))
        names = (*(str(log.steps[s]) for s in named), OTHER_STEP, END_STEP)
        return cls(names=names, code_of_step=code)

    @property
    def n(self) -> int:
        return len(self.names)

    @property
    def other(self) -> int:
        return self.n - 2

    @property
    def end(self) -> int:
        return self.n - 1

    @property
    def bos(self) -> int:
        return self.n

    def encode(self, log: StepLog) -> np.ndarray:
        return self.code_of_step[log.step]


def next_step_labels(
    log: StepLog, classes: Classes, horizon_s: int, observed_until: int
) -> np.ndarray:
    """The class of each prefix's next step (``journey_ends`` when none comes within the
    horizon), -1 when unknown: the data ends within the horizon with no step since."""
    codes = classes.encode(log)
    n = len(log)
    label = np.full(n, classes.end, dtype=np.int64)
    observed = (observed_until - log.t) >= horizon_s
    if n > 1:
        same = (log.journey[1:] == log.journey[:-1]) & (log.t[1:] < observed_until)
        within = same & ((log.t[1:] - log.t[:-1]) <= horizon_s)
        label[:-1] = np.where(within, codes[1:], classes.end)
        observed[:-1] |= same  # a later step was seen: the outcome is known
    label[~observed] = -1
    return label


def drop_off_labels(log: StepLog, horizon_s: int, observed_until: int) -> np.ndarray:
    """1 when the prefix's customer reaches no later stage within the horizon, 0 when they
    do, NaN when unknown (censored) or undefined (the final stage). Without stages: 1 when
    no step follows within the horizon (the journey ends)."""
    n = len(log)
    out = np.full(n, np.nan)
    if n == 0:
        return out
    if log.has_stages:
        furthest = log.furthest_stage()
        advance = np.zeros(n, dtype=bool)
        advance[1:] = (furthest[1:] > furthest[:-1]) & (log.journey[1:] == log.journey[:-1])
        points = np.flatnonzero(advance)
        nxt = np.searchsorted(points, np.arange(n), side="right")
        has = nxt < len(points)
        target = points[np.minimum(nxt, len(points) - 1)] if len(points) else np.zeros(n, int)
        has &= (log.journey[target] == log.journey) & (log.t[target] < observed_until)
        reached = has & ((log.t[target] - log.t) <= horizon_s)
        known = reached | ((observed_until - log.t) >= horizon_s)
        out[known] = (~reached[known]).astype(float)
        out[furthest >= log.final_stage] = np.nan
        return out
    return journey_end_labels(log, horizon_s, observed_until)


def journey_end_labels(log: StepLog, horizon_s: int, observed_until: int) -> np.ndarray:
    """1 when no step follows within the horizon, 0 when one does, NaN when unknown."""
    n = len(log)
    follows = np.zeros(n, dtype=bool)
    seen_after = np.zeros(n, dtype=bool)
    if n > 1:
        same = (log.journey[1:] == log.journey[:-1]) & (log.t[1:] < observed_until)
        follows[:-1] = same & ((log.t[1:] - log.t[:-1]) <= horizon_s)
        seen_after[:-1] = same
    known = follows | seen_after | ((observed_until - log.t) >= horizon_s)
    out = np.full(n, np.nan)
    out[known] = (~follows[known]).astype(float)
    return out


# --- features ---------------------------------------------------------------------------------


def step_contexts(
    log: StepLog, classes: Classes, order: int, stage: bool, rows: np.ndarray | None = None
) -> list[np.ndarray]:
    """Back-off contexts of the prefixes ``rows`` (default all), coarsest first: a constant,
    then (with ``stage``) the furthest stage, then the last 1..``order`` steps (``bos``
    before the journey's start)."""
    pick = slice(None) if rows is None else rows
    codes = classes.encode(log)
    n = len(log) if rows is None else len(rows)
    contexts = [np.zeros(n, dtype=np.int64)]
    prefix: list[np.ndarray] = []
    if stage:
        prefix = [log.furthest_stage().astype(np.int64)[pick]]
        contexts.append(pack_keys(prefix, CONTEXT_BITS))
    for lag in range(order):
        prefix = [*prefix, log.lagged(codes, lag, classes.bos)[pick]]
        contexts.append(pack_keys(prefix, CONTEXT_BITS))
    return contexts


@dataclass(frozen=True)
class FeatureSpec:
    names: tuple[str, ...]
    categorical: tuple[bool, ...]


def prefix_features(
    log: StepLog, classes: Classes, config: NextStepConfig, rows: np.ndarray | None = None
) -> tuple[np.ndarray, FeatureSpec]:
    """One row per prefix (of ``rows``, default all) for the booster (NaN = missing);
    categorical columns hold codes. Only the rows asked for are kept: a matrix of every
    prefix of 10M steps would take over a GB."""
    pick = slice(None) if rows is None else rows
    codes = classes.encode(log).astype(float)
    columns: dict[str, np.ndarray] = {}
    categorical: list[bool] = []
    for lag in range(config.history_steps):
        columns[f"step_{lag + 1}_back" if lag else "last_step"] = log.lagged(
            codes, lag, float(classes.bos)
        )[pick]
        categorical.append(True)
    previous_t = log.lagged(log.t.astype(float), 1, np.nan)
    extra = {
        "hours_since_previous_step": ((log.t - previous_t) / HOUR, False),
        "steps_so_far": (log.position() + 1.0, False),
        "journey_days": ((log.t - log.journey_start()) / SECONDS_PER_DAY, False),
        "stage": (log.stage, False),
        "furthest_stage": (log.furthest_stage(), False),
        "channel": (_capped(log.channel), True),
        "device": (_capped(log.device), True),
        "support_contacts_so_far": (log.running_count(_is_support(log)).astype(float), False),
        "hour_of_day": (((log.t % SECONDS_PER_DAY) // HOUR).astype(float), False),
        "weekday": ((((log.t // SECONDS_PER_DAY) + 3) % 7).astype(float), False),
    }
    recent = (log.t - log.intent_at) <= config.intent_days * SECONDS_PER_DAY
    extra["recent_intent"] = (np.where(recent & (log.intent >= 0), log.intent, np.nan), True)
    for name, (values, is_categorical) in extra.items():
        columns[name] = np.asarray(values, dtype=float)[pick]
        categorical.append(is_categorical)
    n = len(log) if rows is None else len(rows)
    matrix = np.column_stack(list(columns.values())) if columns else np.zeros((n, 0))
    return matrix, FeatureSpec(tuple(columns), tuple(categorical))


def _capped(codes: np.ndarray, limit: int = 250) -> np.ndarray:
    """Codes as floats for a categorical feature (missing as NaN; rare codes share one)."""
    out = codes.astype(float)
    out[codes < 0] = np.nan
    out[codes >= limit] = limit
    return out


def _is_support(log: StepLog) -> np.ndarray:
    support = [i for i, name in enumerate(log.channels) if str(name).lower() == "support"]
    return np.isin(log.channel, support)


# --- the models -------------------------------------------------------------------------------


class PrefixModel(Protocol):
    """A model fitted on some prefixes of one log, scoring prefixes of another."""

    def fit(self, log: StepLog, rows: np.ndarray, labels: np.ndarray) -> PrefixModel: ...

    def predict_proba(self, log: StepLog, rows: np.ndarray) -> np.ndarray: ...


class Frequencies:
    """The training distribution of the labels, for every prefix (``most_frequent``)."""

    def __init__(self, n_classes: int) -> None:
        self.n_classes = n_classes
        self.proba = np.full(n_classes, 1.0 / n_classes)

    def fit(self, log: StepLog, rows: np.ndarray, labels: np.ndarray) -> Frequencies:
        counts = np.bincount(labels, minlength=self.n_classes).astype(float)
        self.proba = counts / counts.sum() if counts.sum() else self.proba
        return self

    def predict_proba(self, log: StepLog, rows: np.ndarray) -> np.ndarray:
        return np.tile(self.proba, (len(rows), 1))


class Markov:
    """Witten-Bell back-off over the last ``order`` steps (and the stage, for drop-off)."""

    def __init__(self, classes: Classes, n_classes: int, order: int, stage: bool) -> None:
        self.classes, self.order, self.stage = classes, order, stage
        self.model = BackoffModel(n_classes)

    def fit(self, log: StepLog, rows: np.ndarray, labels: np.ndarray) -> Markov:
        self.model.fit(step_contexts(log, self.classes, self.order, self.stage, rows), labels)
        return self

    def predict_proba(self, log: StepLog, rows: np.ndarray) -> np.ndarray:
        return self.model.predict_proba(
            step_contexts(log, self.classes, self.order, self.stage, rows)
        )


class Boosted:
    """Gradient boosting on ``prefix_features``."""

    def __init__(self, classes: Classes, n_classes: int, config: NextStepConfig) -> None:
        self.classes, self.config = classes, config
        self.n_classes = n_classes
        self.model: BoostedModel | None = None
        self.spec: FeatureSpec | None = None
        self.used = np.zeros(0, dtype=bool)

    def fit(self, log: StepLog, rows: np.ndarray, labels: np.ndarray) -> Boosted:
        keep = _sample(np.arange(len(rows)), self.config.max_boosting_prefixes, 1)
        matrix, self.spec = prefix_features(log, self.classes, self.config, rows[keep])
        # A feature missing on every training row carries nothing (and breaks the binner).
        self.used = ~np.isnan(matrix).all(axis=0)
        categorical = [c for c, used in zip(self.spec.categorical, self.used, strict=True) if used]
        self.model = BoostedModel(self.n_classes, categorical, self.config.boosting)
        self.model.fit(matrix[:, self.used], labels[keep])
        return self

    def predict_proba(self, log: StepLog, rows: np.ndarray) -> np.ndarray:
        assert self.model is not None
        features, _ = prefix_features(log, self.classes, self.config, rows)
        return self.model.predict_proba(features[:, self.used])


def next_step_model(name: str, classes: Classes, config: NextStepConfig) -> PrefixModel:
    if name == "most_frequent":
        return Frequencies(classes.n)
    if name == "first_order_markov":
        return Markov(classes, classes.n, 1, stage=False)
    if name == "variable_order_markov":
        return Markov(classes, classes.n, config.max_order, stage=False)
    if name == "gradient_boosting":
        return Boosted(classes, classes.n, config)
    raise ValueError(f"unknown next-step model {name!r}; known: {', '.join(NEXT_STEP_MODELS)}")


def drop_off_model(name: str, classes: Classes, config: NextStepConfig) -> PrefixModel:
    if name == "stage_rate":
        return Markov(classes, 2, 0, stage=True)
    if name == "first_order_markov":
        return Markov(classes, 2, 1, stage=True)
    if name == "variable_order_markov":
        return Markov(classes, 2, config.max_order, stage=True)
    if name == "gradient_boosting":
        return Boosted(classes, 2, config)
    raise ValueError(f"unknown drop-off model {name!r}; known: {', '.join(DROP_OFF_MODELS)}")


# --- evaluation -------------------------------------------------------------------------------


def top_k(proba: np.ndarray, k: int, exclude: tuple[int, ...] = ()) -> np.ndarray:
    """The ``k`` most probable classes per row, best first (ties: lower class first)."""
    scores = proba.copy()
    if exclude:
        scores[:, list(exclude)] = -np.inf
    k = min(k, scores.shape[1])
    return np.argsort(-scores, axis=1, kind="stable")[:, :k]


def top_k_hits(proba: np.ndarray, labels: np.ndarray, k: int, classes: Classes) -> np.ndarray:
    """1 where the true next step is among the ``k`` best named steps (or journey end)."""
    best = top_k(proba, k, exclude=(classes.other,))
    return (best == labels[:, None]).any(axis=1).astype(float) * (labels != classes.other)


def paired_gain(
    groups: np.ndarray, better: np.ndarray, baseline: np.ndarray, samples: int, seed: int
) -> dict[str, float]:
    """Mean of ``better - baseline`` per row, with a 95% percentile bootstrap interval that
    resamples whole groups (journeys: prefixes of one journey are not independent)."""
    difference = np.asarray(better, dtype=float) - np.asarray(baseline, dtype=float)
    if len(difference) == 0:
        return {"gain": float("nan"), "ci_low": float("nan"), "ci_high": float("nan")}
    codes, _ = pd.factorize(groups)
    sums = np.bincount(codes, weights=difference)
    counts = np.bincount(codes).astype(float)
    rng = np.random.default_rng(seed)
    estimates = np.empty(samples)
    for start in range(0, samples, 100):
        stop = min(samples, start + 100)
        picks = rng.integers(0, len(sums), size=(stop - start, len(sums)))
        estimates[start:stop] = sums[picks].sum(axis=1) / counts[picks].sum(axis=1)
    low, high = np.percentile(estimates, [2.5, 97.5])
    return {"gain": float(difference.mean()), "ci_low": float(low), "ci_high": float(high)}


def choose(
    scores: dict[str, np.ndarray],
    groups: np.ndarray,
    higher_is_better: bool,
    config: NextStepConfig,
) -> tuple[str, dict[str, Any]]:
    """The best challenger when it beats ``first_order_markov`` (95% interval of the gain
    above zero), else ``first_order_markov``; and the comparison behind the choice."""
    challengers = [m for m in scores if m not in (BASELINE, "most_frequent", "stage_rate")]
    sign = 1.0 if higher_is_better else -1.0
    best = max(challengers, key=lambda m: (sign * scores[m].mean(), -challengers.index(m)))
    gain = paired_gain(
        groups,
        sign * scores[best],
        sign * scores[BASELINE],
        config.bootstrap_samples,
        config.random_state,
    )
    chosen = best if gain["ci_low"] > 0 else BASELINE
    return chosen, {"best_challenger": best, **gain, "beats_first_order_markov": chosen == best}


@dataclass
class Evaluation:
    """Held-out figures of every model, the choices, and the held-out predictions."""

    top1: dict[str, float]
    top3: dict[str, float]
    chosen: str
    comparison: dict[str, Any]
    drop_off_auc: dict[str, float | None]
    drop_off_brier: dict[str, float | None]
    drop_off_chosen: str
    drop_off_comparison: dict[str, Any]
    window: dict[str, Any]
    classes: Classes
    held_out: pd.DataFrame = field(default_factory=pd.DataFrame)


def split_journeys(log: StepLog, train_share: float) -> tuple[np.ndarray, int]:
    """Journeys ordered by their first step: the training ones (a boolean per journey) and
    ``T``, the first step of the earliest held-out journey."""
    starts = pd.Series(log.t).groupby(log.journey).min()
    order = starts.sort_values(kind="mergesort")
    cut = int(np.ceil(train_share * len(order)))
    if cut >= len(order) or cut == 0:
        raise ValueError(
            f"not enough journeys to hold some out: {len(order)} journeys "
            f"(train_share {train_share})"
        )
    split_t = int(order.iloc[cut])
    train = np.zeros(len(log.keys), dtype=bool)
    train[order.index[order < split_t].to_numpy()] = True
    return train, split_t


def _sample(rows: np.ndarray, limit: int, seed: int) -> np.ndarray:
    if len(rows) <= limit:
        return rows
    return np.sort(np.random.default_rng(seed).choice(rows, limit, replace=False))


def _sample_journeys(log: StepLog, rows: np.ndarray, limit: int, seed: int) -> np.ndarray:
    """Every prefix of a random sample of journeys, about ``limit`` prefixes in all."""
    if len(rows) <= limit:
        return rows
    journeys = np.unique(log.journey[rows])
    share = limit / len(rows)
    picked = np.random.default_rng(seed).random(len(journeys)) < share
    return rows[np.isin(log.journey[rows], journeys[picked])]


def _require(rows: np.ndarray, what: str, minimum: int = 20) -> None:
    if len(rows) < minimum:
        raise ValueError(
            f"too little history to evaluate next steps: {len(rows)} {what} with a known "
            f"outcome (at least {minimum} needed; more journeys, or a longer history than "
            "the horizon)"
        )


def evaluate(log: StepLog, as_of: int, config: NextStepConfig = NextStepConfig()) -> Evaluation:
    """Train on earlier journeys cut at ``T``, test on every prefix of the later ones."""
    horizon = config.horizon_seconds
    log = log.subset(log.t < as_of)
    train_journeys, split_t = split_journeys(log, config.train_share)
    in_train = train_journeys[log.journey]
    train_log = log.subset(in_train & (log.t < split_t))
    test_log = log.subset(~in_train)
    classes = Classes.from_log(train_log, config.max_classes)

    y_train = next_step_labels(train_log, classes, horizon, split_t)
    y_test = next_step_labels(test_log, classes, horizon, as_of)
    train_rows = np.flatnonzero(y_train >= 0)
    test_rows = _sample_journeys(test_log, np.flatnonzero(y_test >= 0), config.max_eval_prefixes, 2)
    _require(train_rows, "training prefixes")
    _require(test_rows, "held-out prefixes")
    groups = test_log.journey[test_rows]
    truth = y_test[test_rows]

    top1: dict[str, float] = {}
    top3: dict[str, float] = {}
    hits: dict[str, np.ndarray] = {}
    predictions: dict[str, np.ndarray] = {}
    for name in NEXT_STEP_MODELS:
        model = next_step_model(name, classes, config).fit(
            train_log, train_rows, y_train[train_rows]
        )
        proba = model.predict_proba(test_log, test_rows)
        hits[name] = top_k_hits(proba, truth, 1, classes)
        top1[name] = float(hits[name].mean())
        top3[name] = float(top_k_hits(proba, truth, 3, classes).mean())
        predictions[name] = top_k(proba, 1, exclude=(classes.other,))[:, 0]
    chosen, comparison = choose(hits, groups, True, config)

    d_train = drop_off_labels(train_log, horizon, split_t)
    d_test = drop_off_labels(test_log, horizon, as_of)
    d_train_rows = np.flatnonzero(~np.isnan(d_train))
    d_test_rows = _sample_journeys(
        test_log, np.flatnonzero(~np.isnan(d_test)), config.max_eval_prefixes, 4
    )
    auc: dict[str, float | None] = {}
    brier: dict[str, float | None] = {}
    d_chosen, d_comparison = BASELINE, {"reason": "too few prefixes with a drop-off outcome"}
    if len(d_train_rows) >= 20 and len(d_test_rows) >= 20:
        outcome = d_test[d_test_rows]
        errors: dict[str, np.ndarray] = {}
        for name in DROP_OFF_MODELS:
            model = drop_off_model(name, classes, config).fit(
                train_log, d_train_rows, d_train[d_train_rows].astype(np.int64)
            )
            p = model.predict_proba(test_log, d_test_rows)[:, 1]
            errors[name] = -((p - outcome) ** 2)  # negative squared error: higher is better
            value = fast_auc(outcome, p)
            auc[name] = None if np.isnan(value) else value
            brier[name] = float(np.mean((p - outcome) ** 2))
        d_chosen, d_comparison = choose(errors, test_log.journey[d_test_rows], True, config)
        d_comparison.update(  # back to the change in Brier score
            gain=-d_comparison["gain"],
            ci_low=-d_comparison["ci_high"],
            ci_high=-d_comparison["ci_low"],
        )
        d_comparison["note"] = "gain is the change in Brier score (negative = better)"
    held_out = pd.DataFrame(
        {
            "journey_key": test_log.keys[test_log.journey[test_rows]],
            "occurred_at": pd.to_datetime(test_log.t[test_rows], unit="s"),
            "next_step": np.asarray(classes.names, dtype=object)[truth],
            **{
                f"predicted_{name}": np.asarray(classes.names, dtype=object)[predictions[name]]
                for name in NEXT_STEP_MODELS
            },
        }
    )
    window = {
        "split_at": pd.Timestamp(split_t, unit="s").isoformat(),
        "as_of": pd.Timestamp(as_of, unit="s").isoformat(),
        "training_journeys": int(train_journeys.sum()),
        "held_out_journeys": int(len(log.keys) - train_journeys.sum()),
        "training_prefixes": int(len(train_rows)),
        "held_out_prefixes": int(len(test_rows)),
        "held_out_journeys_scored": int(len(np.unique(groups))),
        "held_out_prefix_cap": config.max_eval_prefixes,
        "drop_off_training_prefixes": int(len(d_train_rows)),
        "drop_off_held_out_prefixes": int(len(d_test_rows)),
        "held_out_drop_off_rate": float(np.mean(d_test[d_test_rows])) if len(d_test_rows) else None,
    }
    return Evaluation(
        top1=top1,
        top3=top3,
        chosen=chosen,
        comparison=comparison,
        drop_off_auc=auc,
        drop_off_brier=brier,
        drop_off_chosen=d_chosen,
        drop_off_comparison=d_comparison,
        window=window,
        classes=classes,
        held_out=held_out,
    )


# --- scoring the open journeys ----------------------------------------------------------------


def open_journeys(log: StepLog, as_of: int, horizon_s: int) -> np.ndarray:
    """The row of each open journey's last step: within the horizon before ``as_of``."""
    last = np.ones(len(log), dtype=bool)
    last[:-1] = log.journey[1:] != log.journey[:-1]
    return np.flatnonzero(last & (log.t < as_of) & (as_of - log.t < horizon_s))


def predict_open_journeys(
    log: StepLog,
    as_of: int,
    chosen: str,
    drop_chosen: str,
    config: NextStepConfig,
    predicted_at: pd.Timestamp,
) -> pd.DataFrame:
    """Refit the chosen models on every journey (labels as observed by ``as_of``) and
    predict each open journey's next steps and drop-off."""
    horizon = config.horizon_seconds
    log = log.subset(log.t < as_of)
    classes = Classes.from_log(log, config.max_classes)
    rows = open_journeys(log, as_of, horizon)
    if len(rows) == 0:
        return NEXT_STEP_PREDICTIONS.empty()
    labels = next_step_labels(log, classes, horizon, as_of)
    fit_rows = np.flatnonzero(labels >= 0)
    _require(fit_rows, "prefixes")
    model = next_step_model(chosen, classes, config).fit(log, fit_rows, labels[fit_rows])
    proba = model.predict_proba(log, rows)
    best = top_k(proba, 3, exclude=(classes.other,))
    names = np.asarray(classes.names, dtype=object)

    drop = drop_off_labels(log, horizon, as_of)
    drop_rows = np.flatnonzero(~np.isnan(drop))
    furthest = log.furthest_stage()[rows]
    drop_p = np.full(len(rows), np.nan)
    if len(drop_rows) >= 20 and len(np.unique(drop[drop_rows])) == 2:
        d_model = drop_off_model(drop_chosen, classes, config).fit(
            log, drop_rows, drop[drop_rows].astype(np.int64)
        )
        drop_p = d_model.predict_proba(log, rows)[:, 1]
    if log.has_stages:
        drop_p[furthest >= log.final_stage] = np.nan  # no later stage to reach
    stage_name, next_stage = _stage_names(log, furthest)
    frame = pd.DataFrame(
        {
            "customer_key": log.keys[log.journey[rows]],
            "last_step": log.steps[log.step[rows]],
            "last_step_at": pd.to_datetime(log.t[rows], unit="s"),
            "steps": log.position()[rows] + 1,
            "current_stage": stage_name if log.has_stages else None,
            **{
                column: values
                for k in range(3)
                for column, values in (
                    (f"next_step_{k + 1}", names[best[:, k]] if best.shape[1] > k else None),
                    (
                        f"next_step_{k + 1}_probability",
                        proba[np.arange(len(rows)), best[:, k]] if best.shape[1] > k else None,
                    ),
                )
            },
            "journey_end_probability": proba[:, classes.end],
            "drop_off_probability": drop_p,
            "next_stage": next_stage,
            "horizon_days": int(round(config.horizon_days)),
            "model": chosen,
            "drop_off_model": drop_chosen,
            "model_version": MODEL_VERSION,
            "cutoff_at": pd.Timestamp(as_of, unit="s"),
            "predicted_at": predicted_at,
        }
    )
    return NEXT_STEP_PREDICTIONS.conform(frame)


def _stage_names(log: StepLog, furthest: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The name of each furthest stage and of the stage after it (None without stages),
    looked up once per distinct stage, not once per journey."""
    values, inverse = np.unique(furthest, return_inverse=True)
    names = np.array([log.stage_names.get(int(s)) for s in values], dtype=object)
    later = np.array(
        [_next_stage(log.stage_names, s) if log.has_stages else None for s in values],
        dtype=object,
    )
    return names[inverse], later[inverse]


def _next_stage(stage_names: dict[int, str], furthest: float) -> str | None:
    later = [order for order in stage_names if order > furthest]
    return stage_names[min(later)] if later else None


# --- the run ----------------------------------------------------------------------------------


@dataclass
class NextStepRun:
    """What one run wrote and how the models did on held-out time."""

    predictions: pd.DataFrame
    evaluation: Evaluation
    config: NextStepConfig
    runtime_seconds: float = 0.0

    def report_entry(self) -> dict[str, Any]:
        """The ``next_step`` entry of build/model_report.json."""
        e = self.evaluation
        return {
            "top1": dict(e.top1),
            "top3": dict(e.top3),
            "chosen": e.chosen,
            "comparison": e.comparison,
            "drop_off": {
                "auc": dict(e.drop_off_auc),
                "brier": dict(e.drop_off_brier),
                "chosen": e.drop_off_chosen,
                "comparison": e.drop_off_comparison,
            },
            "model_version": MODEL_VERSION,
            "table": f"ml.{NEXT_STEP_PREDICTIONS.table}",
            "task": (
                f"the next step within {self.config.horizon_days:g} days (or the journey "
                "ends), and not reaching the next stage within them"
            ),
            "horizon_days": self.config.horizon_days,
            "training_window": e.window,
            "classes": len(e.classes.names),
            "rows_written": len(self.predictions),
        }

    def metadata(self) -> dict[str, Any]:
        e = self.evaluation
        table = evaluation_table(self.report_entry())
        return {
            "model_version": MODEL_VERSION,
            "chosen": e.chosen,
            "drop_off_chosen": e.drop_off_chosen,
            **{f"top1_{k}": v for k, v in e.top1.items()},
            **{f"top3_{k}": v for k, v in e.top3.items()},
            "open_journeys": len(self.predictions),
            "held_out_prefixes": e.window["held_out_prefixes"],
            "evaluation": table,
            "comparison": json.dumps(e.comparison),
            "runtime_seconds": round(self.runtime_seconds, 3),
        }


def evaluation_table(entry: dict[str, Any]) -> str:
    """The report entry as a plain-text table: one row per model."""
    drop = entry.get("drop_off") or {}
    names = list(dict.fromkeys([*entry["top1"], *(drop.get("auc") or {})]))

    def fmt(value: Any) -> str:
        return "-" if value is None else f"{value:.3f}"

    lines = [f"{'model':<24}{'top-1':>8}{'top-3':>8}{'drop-off AUC':>14}{'Brier':>8}"]
    for name in names:
        lines.append(
            f"{name:<24}{fmt(entry['top1'].get(name)):>8}{fmt(entry['top3'].get(name)):>8}"
            f"{fmt((drop.get('auc') or {}).get(name)):>14}"
            f"{fmt((drop.get('brier') or {}).get(name)):>8}"
        )
    lines.append(f"next step: {entry['chosen']} is used ({_why(entry['comparison'])})")
    if drop.get("chosen"):
        lines.append(f"drop-off: {drop['chosen']} is used ({_why(drop.get('comparison') or {})})")
    return "\n".join(lines)


def _why(comparison: dict[str, Any]) -> str:
    if "best_challenger" not in comparison:
        return comparison.get("reason", "")
    best, gain = comparison["best_challenger"], comparison
    interval = f"{gain['gain']:+.3f}, 95% CI {gain['ci_low']:+.3f} to {gain['ci_high']:+.3f}"
    if comparison.get("beats_first_order_markov"):
        return f"it beats first_order_markov on held-out journeys: {interval}"
    return f"the best challenger, {best}, does not clearly beat it: {interval}"


def score_next_steps(
    log: StepLog,
    as_of: datetime | pd.Timestamp,
    config: NextStepConfig = NextStepConfig(),
    predicted_at: datetime | pd.Timestamp | None = None,
) -> NextStepRun:
    """Evaluate on held-out time, then predict every open journey (frames in, frames out)."""
    started = time.perf_counter()
    as_of_s = int(as_cutoff(as_of).value // 1_000_000_000)
    predicted = as_cutoff(predicted_at or datetime.now(UTC))
    with threadpool_limits(limits=config.n_threads, user_api="openmp"):
        evaluation = evaluate(log, as_of_s, config)
        predictions = predict_open_journeys(
            log, as_of_s, evaluation.chosen, evaluation.drop_off_chosen, config, predicted
        )
    return NextStepRun(predictions, evaluation, config, time.perf_counter() - started)
