"""Churn scoring: who of today's subscribers is likely to cancel soon, and why.

Definitions
-----------
* **Active subscriber at a cutoff**: a customer with a subscription that started before the
  cutoff and was not cancelled before it (``ml.features.active_subscriptions``).
* **Label** at cutoff ``c`` with horizon ``h`` (default 30 days): 1 when one of the
  subscriptions the customer had active at ``c`` is cancelled in ``[c, c + h)``, else 0. Only
  cutoffs with ``c + h <= as_of`` are labelled: the whole horizon must be observed.
* **Cutoffs**, from ``as_of`` (the scoring time, default the end of the data): the
  evaluation cutoff is ``as_of - h``; training cutoffs lie ``train_gap_days`` before it and
  then every ``snapshot_step_days`` further back (at most ``max_train_snapshots``), none
  earlier than ``min_history_days`` after the first event. Every customer contributes one row
  per cutoff at which they are an active subscriber (weekly snapshots: there are few
  cancellations in a short history, and one snapshot would leave a handful of churners).
* **Held-out customers, cross-validated**: customers are split into ``cv_folds`` folds by a
  hash of their key (stable between runs). For each fold, a model is trained on the *other*
  folds' rows at the training cutoffs and scores the fold's customers at the evaluation
  cutoff. Every evaluated customer is thus scored by a model that never saw them, at any
  cutoff; pooling the folds' out-of-fold scores gives metrics over all active subscribers at
  the evaluation cutoff (a single held-out share of a few hundred subscribers holds a dozen
  churners, and its AUC swung by +-0.1 between splits). Training label windows may reach into
  the evaluation period (the same calendar weeks), never with an evaluated customer's
  outcome; set ``train_gap_days`` to the horizon to keep them out of it altogether.
* **Final model**: refitted on every labelled row (all customers, training and evaluation
  cutoffs), then scores every active subscriber at ``as_of``.

Model: ``HistGradientBoostingClassifier`` (fixed ``random_state``, no early stopping, plan as
a native categorical feature). Risk bands: ``high`` from ``HIGH_RISK_THRESHOLD``, ``medium``
from ``MEDIUM_RISK_THRESHOLD``, else ``low`` (predicted probability of cancelling within the
horizon). Reasons: see ``ml.churn_reasons``.

``run_churn_scoring`` is the entry point the Dagster asset calls; ``score_churn`` is the same
pipeline on frames, without a warehouse.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import rankdata
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import brier_score_loss, roc_auc_score
from threadpoolctl import threadpool_limits

from journeymap.ml.churn_io import (
    WarehouseSchemas,
    read_churn_frames,
    write_churn_scores,
)
from journeymap.ml.churn_reasons import (
    reason_contributions,
    reference_values,
    top_reason_groups,
    top_reasons,
)
from journeymap.ml.features import (
    CATEGORICAL_FEATURES,
    FEATURE_COLUMNS,
    ChurnFrames,
    active_subscribers,
    active_subscriptions,
    as_cutoff,
    build_features,
    prepare_frames,
)
from journeymap.ml.outputs import CHURN_SCORES
from journeymap.ml.warehouse_io import resolve_as_of
from journeymap.warehouse import Warehouse

MODEL_VERSION = "churn-hgb-v1"


class NotEnoughDataError(ValueError):
    """The data cannot train a churn model (no subscriptions, too short a history, no
    churners): the run writes no scores and says why instead of failing the pipeline."""


DEFAULT_HORIZON_DAYS = 30
# Risk bands on the predicted probability of cancelling within the horizon. With a base rate
# around 10%, "medium" is about twice the base rate and "high" means more likely than not.
HIGH_RISK_THRESHOLD = 0.5
MEDIUM_RISK_THRESHOLD = 0.2
SCORE_COLUMNS = CHURN_SCORES.column_names
CALIBRATION_BINS = 10
# +1: the risk can only rise with the feature; -1: only fall. Other features are free.
MONOTONIC_FEATURES: dict[str, int] = {
    "billing_complaints_30d": 1,
    "billing_complaints_total": 1,
    "days_since_last_billing_complaint": -1,
    "negative_messages_30d": 1,
    "negative_messages_total": 1,
    "topic_cancellation": 1,
    "days_since_last_event": 1,
    "days_since_last_session": 1,
    "email_unsubscribed": 1,
    "sessions_7d": -1,
    "sessions_30d": -1,
    "sessions_per_week": -1,
    "session_rate_change": -1,
    "feature_uses_per_week": -1,
    "email_open_rate": -1,
}


@dataclass(frozen=True)
class ChurnConfig:
    """Knobs of a churn run (the defaults are what the tests and the asset use)."""

    cv_folds: int = 5
    train_gap_days: int = 7
    snapshot_step_days: int = 7
    max_train_snapshots: int | None = None
    min_history_days: int = 7
    random_state: int = 0
    # A small, strongly regularised booster (3-leaf trees, slow learning rate, L2): a 90-day
    # history holds a few dozen churners, and every step towards a more flexible model
    # lowered the cross-validated AUC on generated businesses.
    max_iter: int = 100
    learning_rate: float = 0.03
    max_leaf_nodes: int = 3
    min_samples_leaf: int = 10
    l2_regularization: float = 5.0
    # Domain knowledge as monotonic constraints (MONOTONIC_FEATURES): more complaints never
    # lower the risk, more use never raises it. A strong regulariser when churners are few.
    monotonic: bool = True
    # OpenMP threads for the booster. One is fastest here: the trees are small, and on a
    # busy machine OpenMP's spinning threads made fitting and prediction ~25x slower.
    # None leaves scikit-learn's default (all cores).
    n_threads: int | None = 1
    importance_repeats: int = 5
    importance_max_rows: int = 5_000  # pooled held-out rows shuffled (a sample)
    high_risk_threshold: float = HIGH_RISK_THRESHOLD
    medium_risk_threshold: float = MEDIUM_RISK_THRESHOLD


# --- labels, cutoffs, split ---------------------------------------------------------------


def churn_labels(
    subscriptions: pd.DataFrame, cutoff: datetime | pd.Timestamp, horizon_days: int
) -> pd.Series:
    """1 when an active subscriber at ``cutoff`` cancels within ``horizon_days``, else 0.

    Indexed by customer_key (the active subscribers at the cutoff, sorted).
    """
    cutoff = as_cutoff(cutoff)
    active = active_subscriptions(subscriptions, cutoff)
    ends = cutoff + pd.Timedelta(days=horizon_days)
    cancels = active["cancelled_at"].notna() & (active["cancelled_at"] < ends)
    labels = cancels.groupby(active["customer_id"]).any().astype(int)
    labels.index.name = "customer_key"
    return labels.sort_index().rename("churned")


@dataclass(frozen=True)
class Cutoffs:
    train: tuple[pd.Timestamp, ...]
    evaluation: pd.Timestamp
    score: pd.Timestamp


def churn_cutoffs(
    data_start: datetime | pd.Timestamp,
    as_of: datetime | pd.Timestamp,
    horizon_days: int,
    config: ChurnConfig = ChurnConfig(),
) -> Cutoffs:
    """The training, evaluation and scoring cutoffs (see the module docstring)."""
    if horizon_days < 1:
        raise ValueError("horizon_days must be at least 1")
    as_of = as_cutoff(as_of)
    horizon = pd.Timedelta(days=horizon_days)
    earliest = as_cutoff(data_start) + pd.Timedelta(days=config.min_history_days)
    evaluation = as_of - horizon
    first = evaluation - pd.Timedelta(days=config.train_gap_days)
    train: list[pd.Timestamp] = []
    cutoff = first
    while cutoff >= earliest and (
        config.max_train_snapshots is None or len(train) < config.max_train_snapshots
    ):
        train.append(cutoff)
        cutoff -= pd.Timedelta(days=config.snapshot_step_days)
    if not train:
        raise NotEnoughDataError(
            f"not enough history for churn scoring: the first training cutoff {first} "
            f"({config.train_gap_days} days before the evaluation cutoff, as_of minus the "
            f"{horizon_days}-day horizon) lies before {earliest} (the first event plus "
            f"{config.min_history_days} days)"
        )
    return Cutoffs(train=tuple(train), evaluation=evaluation, score=as_of)


def customer_folds(customers: pd.Index, folds: int) -> np.ndarray:
    """The cross-validation fold (0 .. folds-1) of each customer: a stable hash of the key."""
    if folds < 2:
        raise ValueError("cv_folds must be at least 2")
    if len(customers) == 0:
        return np.zeros(0, dtype=int)
    hashes = pd.util.hash_pandas_object(pd.Index(customers.astype(str)), index=False)
    return (hashes.to_numpy(dtype=np.uint64) % np.uint64(folds)).astype(int)


def risk_bands(
    scores: np.ndarray | pd.Series,
    high: float = HIGH_RISK_THRESHOLD,
    medium: float = MEDIUM_RISK_THRESHOLD,
) -> np.ndarray:
    """``high`` for score >= high, ``medium`` for score >= medium, else ``low``."""
    values = np.asarray(scores, dtype=float)
    return np.where(values >= high, "high", np.where(values >= medium, "medium", "low")).astype(
        object
    )


# --- the model ---------------------------------------------------------------------------


@dataclass
class ChurnModel:
    """A fitted classifier and how to turn a feature frame into its input matrix."""

    estimator: HistGradientBoostingClassifier
    feature_names: tuple[str, ...]
    categories: dict[str, tuple[str, ...]]

    def matrix(self, features: pd.DataFrame) -> np.ndarray:
        columns = []
        for name in self.feature_names:
            if name in self.categories:
                lookup = {value: code for code, value in enumerate(self.categories[name])}
                codes = features[name].map(lookup)
                columns.append(pd.to_numeric(codes, errors="coerce").to_numpy(dtype=float))
            else:
                columns.append(features[name].to_numpy(dtype=float))
        return np.column_stack(columns) if columns else np.empty((len(features), 0))

    def predict(self, features: pd.DataFrame) -> np.ndarray:
        """Probability of churning within the horizon, per row."""
        if len(features) == 0:
            return np.zeros(0)
        return self.estimator.predict_proba(self.matrix(features))[:, 1]


def fit_churn_model(
    features: pd.DataFrame, labels: pd.Series | np.ndarray, config: ChurnConfig = ChurnConfig()
) -> ChurnModel:
    y = np.asarray(labels, dtype=int)
    if len(np.unique(y)) < 2:
        raise NotEnoughDataError(
            f"churn training data needs churners and non-churners: {len(y)} labelled rows, "
            f"{int(y.sum())} churners (too little history or too few subscribers)"
        )
    # A feature missing on every training row carries nothing (and breaks the binner).
    names = tuple(name for name in FEATURE_COLUMNS if features[name].notna().any())
    categories = {
        name: tuple(sorted(features[name].dropna().astype(str).unique()))
        for name in CATEGORICAL_FEATURES
        if name in names
    }
    estimator = HistGradientBoostingClassifier(
        max_iter=config.max_iter,
        learning_rate=config.learning_rate,
        max_leaf_nodes=config.max_leaf_nodes,
        min_samples_leaf=config.min_samples_leaf,
        l2_regularization=config.l2_regularization,
        categorical_features=[name in categories for name in names],
        monotonic_cst=(
            [MONOTONIC_FEATURES.get(name, 0) for name in names] if config.monotonic else None
        ),
        early_stopping=False,
        random_state=config.random_state,
    )
    model = ChurnModel(estimator=estimator, feature_names=names, categories=categories)
    estimator.fit(model.matrix(features), y)
    return model


# --- evaluation --------------------------------------------------------------------------


def calibration_table(
    labels: np.ndarray, scores: np.ndarray, bins: int = CALIBRATION_BINS
) -> list[dict[str, Any]]:
    """Equal-width score bins over [0, 1]: rows, mean predicted score and observed churn rate
    (None for empty bins)."""
    labels, scores = np.asarray(labels, dtype=float), np.asarray(scores, dtype=float)
    index = np.minimum((scores * bins).astype(int), bins - 1)
    table = []
    for b in range(bins):
        inside = index == b
        n = int(inside.sum())
        table.append(
            {
                "bin": b,
                "lower": round(b / bins, 10),
                "upper": round((b + 1) / bins, 10),
                "count": n,
                "mean_predicted": float(scores[inside].mean()) if n else None,
                "observed_rate": float(labels[inside].mean()) if n else None,
            }
        )
    return table


def fast_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """ROC AUC as the Mann-Whitney statistic (ties count half); NaN with a single class."""
    labels = np.asarray(labels, dtype=bool)
    positives = int(labels.sum())
    negatives = len(labels) - positives
    if positives == 0 or negatives == 0:
        return float("nan")
    ranks = rankdata(scores)
    return float((ranks[labels].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def permutation_importances(
    models: list[ChurnModel],
    matrices: list[np.ndarray],
    labels: list[np.ndarray],
    config: ChurnConfig,
) -> dict[str, float]:
    """Mean drop in pooled out-of-fold AUC when one feature is shuffled.

    Each fold's held-out rows are shuffled within the fold and scored by that fold's model;
    the pooled scores give the AUC (``importance_repeats`` shuffles, seeded by
    ``random_state``; the drop in Brier skill when there is a single class). The same idea
    as ``sklearn.inspection.permutation_importance``, with all shuffles of a feature in one
    prediction call per fold (the sklearn helper's per-call overhead made it the slowest step).
    """
    rng = np.random.default_rng(config.random_state)
    pooled = np.concatenate(labels) if labels else np.zeros(0, dtype=int)
    both_classes = len(np.unique(pooled)) == 2

    def score(probabilities: np.ndarray) -> float:
        if both_classes:
            return fast_auc(pooled, probabilities)
        return -float(np.mean((probabilities - pooled) ** 2))

    def predict(model: ChurnModel, matrix: np.ndarray) -> np.ndarray:
        if len(matrix) == 0:
            return np.zeros(0)
        return model.estimator.predict_proba(matrix)[:, 1]

    base = score(np.concatenate([predict(m, x) for m, x in zip(models, matrices, strict=True)]))
    repeats = config.importance_repeats
    out: dict[str, float] = {}
    for name in FEATURE_COLUMNS:
        shuffled = np.zeros((repeats, len(pooled)))
        start = 0
        for model, matrix in zip(models, matrices, strict=True):
            n = len(matrix)
            stacked = np.tile(matrix, (repeats, 1))
            if name in model.feature_names:  # a feature the fold's model never saw: no effect
                j = model.feature_names.index(name)
                for r in range(repeats):
                    stacked[r * n : (r + 1) * n, j] = rng.permutation(matrix[:, j])
            shuffled[:, start : start + n] = predict(model, stacked).reshape(repeats, n)
            start += n
        out[name] = float(np.mean([base - score(row) for row in shuffled]))
    return dict(sorted(out.items(), key=lambda pair: (-pair[1], pair[0])))


def evaluation_metrics(labels: np.ndarray, scores: np.ndarray) -> dict[str, Any]:
    """AUC (None with a single class), Brier score and the calibration table."""
    y = np.asarray(labels, dtype=int)
    return {
        "auc": float(roc_auc_score(y, scores)) if len(np.unique(y)) == 2 else None,
        "brier": float(brier_score_loss(y, scores, labels=[0, 1])) if len(y) else None,
        "calibration": calibration_table(y, scores),
    }


@dataclass
class CrossValidation:
    """Out-of-fold scores and reasons at the evaluation cutoff, and what they say."""

    metrics: dict[str, Any]
    feature_importances: dict[str, float]
    held_out: pd.DataFrame


def cross_validate(
    snapshots: list[tuple[pd.Timestamp, pd.DataFrame, pd.Series]],
    eval_x: pd.DataFrame,
    eval_y: pd.Series,
    evaluation_cutoff: pd.Timestamp,
    config: ChurnConfig,
) -> CrossValidation:
    """Train on earlier cutoffs without fold k's customers, score fold k at the evaluation
    cutoff, for every fold; pool the out-of-fold scores."""
    folds = customer_folds(eval_x.index, config.cv_folds)
    models, matrices, labels, parts = [], [], [], []
    importance_rows = max(1, config.importance_max_rows // config.cv_folds)
    for fold in range(config.cv_folds):
        keep = [customer_folds(x.index, config.cv_folds) != fold for _, x, _ in snapshots]
        train_x = pd.concat([x[k] for (_, x, _), k in zip(snapshots, keep, strict=True)])
        train_y = pd.concat([y[k] for (_, _, y), k in zip(snapshots, keep, strict=True)])
        test_x, test_y = eval_x[folds == fold], eval_y[folds == fold]
        model = fit_churn_model(train_x, train_y, config)
        scores = model.predict(test_x)
        contributions = reason_contributions(test_x, model.predict, reference_values(train_x))
        parts.append(
            pd.concat(
                [
                    pd.DataFrame(
                        {
                            "customer_key": test_x.index.to_numpy(),
                            "fold": fold,
                            "cutoff_at": evaluation_cutoff,
                            "churned": test_y.to_numpy(),
                            "churn_score": scores,
                        }
                    ),
                    top_reasons(test_x, contributions).reset_index(drop=True),
                    top_reason_groups(contributions).reset_index(drop=True),
                ],
                axis=1,
            )
        )
        rows = np.arange(len(test_y))
        if len(rows) > importance_rows:
            rng = np.random.default_rng(config.random_state + fold)
            rows = np.sort(rng.choice(rows, importance_rows, replace=False))
        models.append(model)
        matrices.append(model.matrix(test_x.iloc[rows]))
        labels.append(test_y.to_numpy()[rows])
    held_out = pd.concat(parts, ignore_index=True)
    metrics = evaluation_metrics(held_out["churned"].to_numpy(), held_out["churn_score"].to_numpy())
    train_y = pd.concat([y for _, _, y in snapshots])
    metrics.update(
        n_train=len(train_y),
        n_test=len(held_out),
        positive_rate_train=float(train_y.mean()) if len(train_y) else None,
        positive_rate_test=float(held_out["churned"].mean()) if len(held_out) else None,
        cv_folds=config.cv_folds,
    )
    importances = permutation_importances(models, matrices, labels, config)
    return CrossValidation(metrics=metrics, feature_importances=importances, held_out=held_out)


# --- the run -----------------------------------------------------------------------------


@dataclass
class ChurnRun:
    """The outcome of one churn run: what was written, how good the model is, and when.

    scores: the frame written to ml.churn_scores (``SCORE_COLUMNS``).
    metrics: out-of-fold evaluation at the evaluation cutoff - ``auc``, ``brier``,
        ``calibration`` (10 bins: count, mean_predicted, observed_rate), ``n_test`` (active
        subscribers at the evaluation cutoff, each scored by a model that never saw them),
        ``positive_rate_test``, ``n_train`` / ``positive_rate_train`` (labelled rows at the
        training cutoffs; each fold trains on the other folds' share), ``cv_folds``,
        ``n_final_train`` / ``positive_rate_final_train`` (the final model's rows).
    feature_importances: permutation importance (drop in pooled held-out AUC), largest first.
    held_out: the out-of-fold scores, labels and reasons at the evaluation cutoff.
    """

    scores: pd.DataFrame
    metrics: dict[str, Any]
    feature_importances: dict[str, float]
    model_version: str = MODEL_VERSION
    horizon_days: int = DEFAULT_HORIZON_DAYS
    cutoffs: Cutoffs | None = None
    held_out: pd.DataFrame = field(default_factory=pd.DataFrame)
    runtime_seconds: float = 0.0

    def metadata(self) -> dict[str, Any]:
        """Flat, JSON-able values for Dagster asset metadata."""
        bands = self.scores["risk_band"].value_counts() if len(self.scores) else pd.Series()
        calibration = [
            abs(row["mean_predicted"] - row["observed_rate"])
            for row in self.metrics.get("calibration", [])
            if row["count"]
        ]
        top = list(self.feature_importances)[:5]
        meta: dict[str, Any] = {
            "model_version": self.model_version,
            "horizon_days": int(self.horizon_days),
            "auc": self.metrics.get("auc"),
            "brier": self.metrics.get("brier"),
            "n_train": self.metrics.get("n_train"),
            "n_test": self.metrics.get("n_test"),
            "positive_rate_train": self.metrics.get("positive_rate_train"),
            "positive_rate_test": self.metrics.get("positive_rate_test"),
            "calibration_max_gap": float(max(calibration)) if calibration else None,
            "calibration": json.dumps(self.metrics.get("calibration", [])),
            "top_features": ", ".join(top),
            "n_scored": len(self.scores),
            "n_high_risk": int(bands.get("high", 0)),
            "n_medium_risk": int(bands.get("medium", 0)),
            "n_low_risk": int(bands.get("low", 0)),
            "mean_churn_score": float(self.scores["churn_score"].mean())
            if len(self.scores)
            else None,
            "runtime_seconds": round(float(self.runtime_seconds), 3),
            "not_scored": self.metrics.get("not_scored"),
        }
        if self.cutoffs is not None:
            meta["cutoff_at"] = self.cutoffs.score.isoformat()
            meta["evaluation_cutoff"] = self.cutoffs.evaluation.isoformat()
            meta["training_cutoffs"] = ", ".join(c.isoformat() for c in self.cutoffs.train)
        return meta

    def report_entry(self) -> dict[str, Any]:
        """This run's entry in build/model_report.json: version, training window, held-out
        metrics beside the baselines, rows written."""
        held_out = {
            name: self.metrics.get(name)
            for name in ("auc", "brier", "n_test", "positive_rate_test", "cv_folds")
        }
        window = None
        if self.cutoffs is not None:
            window = {
                "training_cutoffs": [c.isoformat() for c in self.cutoffs.train],
                "evaluation_cutoff": self.cutoffs.evaluation.isoformat(),
                "scored_at_cutoff": self.cutoffs.score.isoformat(),
            }
        return {
            "model_version": self.model_version,
            "table": f"ml.{CHURN_SCORES.table}",
            "task": f"cancels within {self.horizon_days} days (active subscribers)",
            "training_window": window,
            "held_out": held_out,
            "baselines": self.metrics.get("baselines"),
            "n_train": self.metrics.get("n_train"),
            "rows_written": len(self.scores),
            "top_features": list(self.feature_importances)[:5],
            "not_scored": self.metrics.get("not_scored"),
        }


def _snapshot(
    frames: ChurnFrames, cutoff: pd.Timestamp, horizon_days: int
) -> tuple[pd.DataFrame, pd.Series]:
    labels = churn_labels(frames.subscriptions, cutoff, horizon_days)
    features = build_features(frames, labels.index, cutoff)
    return features, labels


def baseline_metrics(
    eval_x: pd.DataFrame, eval_y: pd.Series, train_positive_rate: float
) -> dict[str, float | None]:
    """What the model is compared with on the same held-out customers: the Brier score of
    predicting the training churn rate for everyone, and the AUC of recency alone (days since
    the customer's last own event, the classic churn heuristic)."""
    y = eval_y.to_numpy(dtype=int)
    if len(y) == 0:
        return {"brier_base_rate": None, "auc_recency": None}
    recency = eval_x["days_since_last_event"].fillna(eval_x["days_since_last_event"].max())
    return {
        "brier_base_rate": float(np.mean((y - train_positive_rate) ** 2)),
        "auc_recency": fast_auc(y, recency.to_numpy(dtype=float)) if len(set(y)) == 2 else None,
    }


def score_churn(
    frames: ChurnFrames,
    as_of: datetime | pd.Timestamp,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    model_version: str = MODEL_VERSION,
    scored_at: datetime | pd.Timestamp | None = None,
    config: ChurnConfig = ChurnConfig(),
) -> ChurnRun:
    """Train, evaluate and score on frames (no I/O): the whole churn run."""
    if config.n_threads is None:
        return _score_churn(frames, as_of, horizon_days, model_version, scored_at, config)
    with threadpool_limits(limits=config.n_threads, user_api="openmp"):
        return _score_churn(frames, as_of, horizon_days, model_version, scored_at, config)


def _score_churn(
    frames: ChurnFrames,
    as_of: datetime | pd.Timestamp,
    horizon_days: int,
    model_version: str,
    scored_at: datetime | pd.Timestamp | None,
    config: ChurnConfig,
) -> ChurnRun:
    started = time.perf_counter()
    frames = prepare_frames(frames)
    as_of = as_cutoff(as_of)
    scored_at = as_cutoff(scored_at or datetime.now(UTC))
    times = frames.events["occurred_at"]
    times = times[times < as_of]
    if frames.subscriptions.empty:
        raise NotEnoughDataError("no subscriptions in the data: there is no churn to learn")
    if times.empty:
        raise NotEnoughDataError(f"no events before {as_of}: nothing to learn churn from")
    cutoffs = churn_cutoffs(times.min(), as_of, horizon_days, config)

    # Time-based, customer-held-out evaluation: earlier cutoffs train, the later one tests.
    snapshots = [(c, *_snapshot(frames, c, horizon_days)) for c in cutoffs.train]
    eval_x, eval_y = _snapshot(frames, cutoffs.evaluation, horizon_days)
    validation = cross_validate(snapshots, eval_x, eval_y, cutoffs.evaluation, config)
    metrics = validation.metrics
    metrics["baselines"] = baseline_metrics(
        eval_x, eval_y, float(metrics.get("positive_rate_train") or 0.0)
    )

    # Final model: every labelled row, then today's active subscribers.
    all_x = pd.concat([x for _, x, _ in snapshots] + [eval_x])
    all_y = pd.concat([y for _, _, y in snapshots] + [eval_y])
    final = fit_churn_model(all_x, all_y, config)
    metrics.update(n_final_train=len(all_y), positive_rate_final_train=float(all_y.mean()))

    customers = active_subscribers(frames.subscriptions, as_of)
    if len(customers) == 0:
        scores = CHURN_SCORES.empty()
    else:
        features = build_features(frames, customers, as_of)
        churn_score = final.predict(features)
        contributions = reason_contributions(features, final.predict, reference_values(all_x))
        reasons = top_reasons(features, contributions)
        scores = pd.DataFrame(
            {
                "customer_key": customers.to_numpy(),
                "churn_score": churn_score,
                "risk_band": risk_bands(
                    churn_score, config.high_risk_threshold, config.medium_risk_threshold
                ),
                "reason_1": reasons["reason_1"].to_numpy(),
                "reason_2": reasons["reason_2"].to_numpy(),
                "reason_3": reasons["reason_3"].to_numpy(),
                "model_version": model_version,
                "cutoff_at": as_of,
                "scored_at": scored_at,
            }
        )
        scores = CHURN_SCORES.conform(scores)
    return ChurnRun(
        scores=scores,
        metrics=metrics,
        feature_importances=validation.feature_importances,
        model_version=model_version,
        horizon_days=horizon_days,
        cutoffs=cutoffs,
        held_out=validation.held_out,
        runtime_seconds=time.perf_counter() - started,
    )


def run_churn_scoring(
    warehouse: Warehouse,
    as_of: datetime | None = None,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    model_version: str = MODEL_VERSION,
    *,
    config: ChurnConfig | None = None,
    schemas: WarehouseSchemas | None = None,
) -> ChurnRun:
    """Read the marts, train, evaluate, score every active subscriber at ``as_of`` (default:
    the end of the data) and replace ``ml.churn_scores``. Returns what was written and how
    good the model is."""
    schemas = schemas or WarehouseSchemas()
    started = time.perf_counter()
    frames = read_churn_frames(warehouse, schemas)
    as_of = resolve_as_of(warehouse, as_of, schemas)
    try:
        run = score_churn(
            frames,
            as_of=as_of,
            horizon_days=horizon_days,
            model_version=model_version,
            config=config or ChurnConfig(),
        )
    except NotEnoughDataError as error:
        run = ChurnRun(
            scores=CHURN_SCORES.empty(),
            metrics={"not_scored": str(error)},
            feature_importances={},
            model_version=model_version,
            horizon_days=horizon_days,
        )
    write_churn_scores(warehouse, run.scores, schemas)
    run.runtime_seconds = time.perf_counter() - started
    return run
