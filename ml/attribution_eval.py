"""How well each Markov chain describes journeys it has not seen: the chain as a classifier.

A journey's path is complete, so the chain's probability that it converted is that of its last
state ending in ``(conversion)`` rather than ``(null)``: ``P(conversion | last state) =
transitions to (conversion) / transitions to either`` (for order k the last state is the last
window of k channels; ChannelAttribution's ``choose_order`` scores orders the same way). A
state the chain never saw end a journey scores the training conversion rate.

Journeys are split by customer (a stable hash of the customer key), so a held-out customer's
journeys are never in the training table. Metrics are weighted by journeys: the AUC and Brier
score of every order on the held-out journeys, beside two baselines - the Brier score of the
training conversion rate for everyone, and the AUC of the path length alone.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from journeymap.ml.attribution import PathTable, markov_chain, path_states

HOLDOUT_BUCKETS = 100


def holdout_mask(customer_keys: Iterable[str], holdout_share: float) -> np.ndarray:
    """True for the customers held out: a stable hash of the key below the share."""
    limit = round(holdout_share * HOLDOUT_BUCKETS)
    return np.array(
        [
            int.from_bytes(hashlib.sha256(str(key).encode()).digest()[:4], "big") % HOLDOUT_BUCKETS
            < limit
            for key in customer_keys
        ],
        dtype=bool,
    )


def last_state_scores(train: PathTable, test: PathTable, order: int) -> np.ndarray:
    """P(conversion | last state) of every path of ``test`` under ``train``'s chain."""
    chain = markov_chain(train, order)
    index = {state: i for i, state in enumerate(chain.states)}
    ended = chain.to_conversion + chain.to_null
    base_rate = train.total_conversions / (train.total_conversions + train.total_nulls)
    scores = np.full(len(test.paths), base_rate)
    for row, path in enumerate(test.paths):
        state = index.get(path_states(path, order)[-1])
        if state is not None and ended[state] > 0:
            scores[row] = chain.to_conversion[state] / ended[state]
    return scores


def _weighted(test: PathTable, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(labels, scores, weights): each path once as converted and once as not."""
    labels = np.r_[np.ones(len(scores)), np.zeros(len(scores))]
    return labels, np.r_[scores, scores], np.r_[test.conversions, test.nulls]


def auc(test: PathTable, scores: np.ndarray) -> float | None:
    labels, both, weights = _weighted(test, scores)
    if test.total_conversions <= 0 or test.total_nulls <= 0:
        return None
    return float(roc_auc_score(labels, both, sample_weight=weights))


def brier(test: PathTable, scores: np.ndarray) -> float | None:
    labels, both, weights = _weighted(test, scores)
    total = weights.sum()
    return float(np.sum(weights * (labels - both) ** 2) / total) if total > 0 else None


def evaluate_orders(
    train: PathTable, test: PathTable, orders: Iterable[int]
) -> dict[str, dict[str, float | None]]:
    """Held-out AUC and Brier score per order, and the baselines."""
    result: dict[str, dict[str, float | None]] = {}
    for order in orders:
        scores = last_state_scores(train, test, order)
        result[f"markov_{order}"] = {"auc": auc(test, scores), "brier": brier(test, scores)}
    base_rate = train.total_conversions / max(train.total_conversions + train.total_nulls, 1)
    lengths = np.array([len(path) for path in test.paths], dtype=float)
    result["baselines"] = {
        "brier_base_rate": brier(test, np.full(len(test.paths), base_rate)),
        "auc_path_length": auc(test, lengths),
    }
    return result


def split_journeys(
    journeys: pd.DataFrame, holdout_share: float, separator: str = ">"
) -> tuple[PathTable, PathTable]:
    """(training, held-out) path tables of journey rows (customer_key, path, conversions,
    nulls, revenue), split by customer."""
    held_out = holdout_mask(journeys["customer_key"], holdout_share)
    train, test = (path_table(journeys[mask], separator) for mask in (~held_out, held_out))
    return train, test


def path_table(journeys: pd.DataFrame, separator: str = ">") -> PathTable:
    """The path table of journey rows (path, conversions, nulls, revenue); equal paths are
    added up before they are parsed."""
    counts = ["conversions", "nulls", "revenue"]
    paths = journeys.assign(path=journeys["path"].fillna(""))
    grouped = paths.groupby("path", sort=True)[counts].sum().reset_index()
    return PathTable.from_frame(grouped, "path", "conversions", separator, "revenue", "nulls")
