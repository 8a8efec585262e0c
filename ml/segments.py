"""Behavioural segments: customers grouped by how they travel the journey, with segment ids
that stay put from run to run.

Model: a latent class model (``ml.mixture``) on the blocks of ``ml.segment_features``; each
customer's segment is their most probable class, ``membership_probability`` its probability.

Number of segments (``choose_k``), a stated criterion
------------------------------------------------------
For every k in ``k_min .. k_max``, on a sample of at most ``selection_sample`` customers
(chosen by a hash of the key, so it hardly moves between runs):

1. fit the model (best of ``restarts`` seeded EM runs) and take its BIC;
2. refit on ``bootstrap_samples`` bootstrap resamples and classify every sampled customer
   with each; a segment's stability is its mean Jaccard similarity with the most similar
   segment of each bootstrap fit (Hennig 2007, "Cluster-wise assessment of cluster
   stability": >= 0.75 is a stable cluster).

k is the one with the lowest BIC among those whose every segment is stable (minimum
stability >= ``stability_threshold``); when none is, the k whose least stable segment is the
most stable. BIC alone keeps adding segments on large samples of real behaviour (customers
vary more than any finite mixture allows); stability keeps only segments the data
reproduces.

Stable ids (``stable_ids``)
----------------------------
A run reads the previous run's memberships. The new segments are matched one-to-one to the
previous ids by member overlap (Jaccard over customers in both runs, Hungarian assignment,
``min_overlap`` at least); a segment without a predecessor gets a new id, never one used
before. The previous memberships also seed one of the EM starts (when k is unchanged), so a
run with one more day of data starts where the last one ended, and a run with no new data
reproduces it exactly.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import adjusted_rand_score
from threadpoolctl import threadpool_limits

from journeymap.ml.mixture import Block, Design, MixtureModel, design, fit_from, fit_mixture


@dataclass(frozen=True)
class SegmentConfig:
    k_min: int = 2
    k_max: int = 8
    restarts: int = 4
    bootstrap_samples: int = 3
    bootstrap_restarts: int = 2
    stability_threshold: float = 0.75
    selection_sample: int = 4_000
    min_overlap: float = 0.2
    seed: int = 0
    # BLAS threads for the EM's matrix products. One is fastest here: the products are small,
    # and on a busy machine spinning BLAS threads made the fits over ten times slower.
    # None leaves the library's default (all cores).
    blas_threads: int | None = 1


class NotEnoughCustomersError(ValueError):
    """Too few customers with a session to segment (a help desk log, a tiny export): the run
    writes no segments and says why instead of failing the pipeline."""


def _digest(key: str) -> int:
    return int.from_bytes(hashlib.blake2b(str(key).encode(), digest_size=8).digest(), "big")


def hash_sample(customers: pd.Index, size: int) -> np.ndarray:
    """Positions of at most ``size`` customers, the smallest by a hash of their key (a new
    customer rarely displaces an old one, so the sample is nearly the same run to run)."""
    if len(customers) <= size:
        return np.arange(len(customers))
    digests = np.array(
        [
            int.from_bytes(hashlib.blake2b(k.encode(), digest_size=8).digest(), "big")
            for k in customers
        ],
        dtype=np.uint64,
    )
    return np.sort(np.argsort(digests, kind="stable")[:size])


def jaccard_stability(reference: np.ndarray, others: list[np.ndarray]) -> np.ndarray:
    """Per reference segment: the mean over ``others`` of the best Jaccard similarity with
    one of their segments (the same customers labelled by each)."""
    k = int(reference.max()) + 1
    out = np.zeros(k)
    for other in others:
        for segment in range(k):
            members = reference == segment
            best = 0.0
            for candidate in np.unique(other):
                theirs = other == candidate
                union = np.sum(members | theirs)
                if union:
                    best = max(best, np.sum(members & theirs) / union)
            out[segment] += best
    return out / max(len(others), 1)


@dataclass
class Candidate:
    k: int
    bic: float
    log_likelihood: float
    stability: list[float]

    @property
    def min_stability(self) -> float:
        return min(self.stability) if self.stability else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "k": self.k,
            "bic": self.bic,
            "log_likelihood": self.log_likelihood,
            "min_segment_stability": self.min_stability,
            "segment_stability": self.stability,
        }


def evaluate_k(
    blocks: list[Block] | Design, k: int, config: SegmentConfig
) -> tuple[Candidate, MixtureModel]:
    """BIC and bootstrap stability of k segments on ``blocks`` (see the module docstring)."""
    blocks = design(blocks)
    model = fit_mixture(blocks, k, seed=config.seed + k, restarts=config.restarts)
    reference = model.predict(blocks)
    rng = np.random.default_rng(config.seed + 1000 * k)
    n = len(reference)
    others = []
    for _ in range(config.bootstrap_samples):
        rows = rng.integers(0, n, size=n)
        boot = fit_mixture(
            blocks.take(rows),
            k,
            seed=int(rng.integers(1 << 31)),
            restarts=config.bootstrap_restarts,
        )
        others.append(boot.predict(blocks))
    stability = jaccard_stability(reference, others)
    candidate = Candidate(k, model.bic(blocks), model.log_likelihood, stability.tolist())
    return candidate, model


def choose_k(
    blocks: list[Block] | Design, config: SegmentConfig = SegmentConfig()
) -> tuple[int, list[Candidate], dict[int, MixtureModel]]:
    """The number of segments by the module's criterion, every candidate's figures, and the
    model fitted for each k (on these blocks)."""
    blocks = design(blocks)
    candidates, models = [], {}
    for k in range(config.k_min, config.k_max + 1):
        candidate, model = evaluate_k(blocks, k, config)
        candidates.append(candidate)
        models[k] = model
    stable = [c for c in candidates if c.min_stability >= config.stability_threshold]
    if stable:
        chosen = min(stable, key=lambda c: (c.bic, c.k))
    else:
        chosen = max(candidates, key=lambda c: (c.min_stability, -c.k))
    return chosen.k, candidates, models


def stable_ids(
    customers: pd.Index,
    labels: np.ndarray,
    previous: pd.Series | None,
    *,
    used_ids: set[int] | frozenset[int] = frozenset(),
    min_overlap: float = 0.2,
) -> tuple[np.ndarray, dict[int, int | None]]:
    """Segment ids for this run's ``labels`` (0..k-1 per customer): each label's predecessor
    among ``previous`` (customer_key -> segment_id) by member overlap, else a new id above
    every id in ``previous`` and ``used_ids``. New ids go to the larger segments first.
    Returns the ids per customer and, per label, the predecessor id (None if new)."""
    k = int(labels.max()) + 1 if len(labels) else 0
    predecessor: dict[int, int | None] = dict.fromkeys(range(k))
    taken = set(used_ids)
    if previous is not None and len(previous):
        before = previous.reindex(customers)
        common = before.notna().to_numpy()
        old_ids = sorted(int(v) for v in before[common].unique())
        taken |= {int(v) for v in previous.unique()}
        if old_ids:
            overlap = np.zeros((k, len(old_ids)))
            old = before[common].astype(int).to_numpy()
            new = labels[common]
            for i in range(k):
                mine = new == i
                for j, old_id in enumerate(old_ids):
                    theirs = old == old_id
                    union = np.sum(mine | theirs)
                    overlap[i, j] = np.sum(mine & theirs) / union if union else 0.0
            rows, cols = linear_sum_assignment(-overlap)
            for i, j in zip(rows, cols, strict=True):
                if overlap[i, j] >= min_overlap:
                    predecessor[int(i)] = old_ids[j]
    next_id = max(taken, default=0) + 1
    sizes = np.bincount(labels, minlength=k)
    mapping: dict[int, int] = {}
    present = [i for i in range(k) if sizes[i] > 0]  # a class nobody fell into gets no id
    for label in sorted(present, key=lambda i: (-sizes[i], i)):
        if predecessor[label] is not None:
            mapping[label] = int(predecessor[label])  # type: ignore[arg-type]
        else:
            mapping[label] = next_id
            next_id += 1
    ids = np.array([mapping[int(label)] for label in labels], dtype=np.int64)
    return ids, {label: predecessor[label] for label in present}


def warm_start(customers: pd.Index, previous: pd.Series | None, k: int) -> np.ndarray | None:
    """Starting responsibilities from the previous run's memberships when it had k segments
    (customers it did not know start undecided), else None."""
    if previous is None or previous.nunique() != k:
        return None
    old = previous.reindex(customers)
    order = {segment: i for i, segment in enumerate(sorted(int(v) for v in previous.unique()))}
    resp = np.full((len(customers), k), 1.0 / k)
    known = old.notna().to_numpy()
    positions = old[known].astype(int).map(order).to_numpy()
    resp[known] = 0.0
    resp[np.flatnonzero(known), positions] = 1.0
    return resp


@dataclass
class Segmentation:
    """The fitted model, every customer's segment, and how k was chosen."""

    customers: pd.Index
    segment_ids: np.ndarray
    membership_probability: np.ndarray
    model: MixtureModel
    k: int
    candidates: list[Candidate]
    predecessors: dict[int, int | None]
    label_ids: dict[int, int] = field(default_factory=dict)  # model class -> segment id

    def assignments(self) -> pd.Series:
        return pd.Series(self.segment_ids, index=self.customers, name="segment_id")


def segment_customers(
    customers: pd.Index,
    blocks: list[Block] | Design,
    previous: pd.Series | None = None,
    used_ids: set[int] | frozenset[int] = frozenset(),
    config: SegmentConfig = SegmentConfig(),
) -> Segmentation:
    """Choose k on a sample, fit on every customer, give stable ids."""
    if config.blas_threads is None:
        return _segment_customers(customers, blocks, previous, used_ids, config)
    with threadpool_limits(limits=config.blas_threads, user_api="blas"):
        return _segment_customers(customers, blocks, previous, used_ids, config)


def _segment_customers(
    customers: pd.Index,
    blocks: list[Block] | Design,
    previous: pd.Series | None,
    used_ids: set[int] | frozenset[int],
    config: SegmentConfig,
) -> Segmentation:
    if len(customers) < max(config.k_min * 10, 20):
        raise NotEnoughCustomersError(
            f"segmentation needs at least {max(config.k_min * 10, 20)} customers with a "
            f"session, found {len(customers)}"
        )
    blocks = design(blocks)
    sample = hash_sample(customers, config.selection_sample)
    k, candidates, models = choose_k(blocks.take(sample), config)
    # The sample model classifies everyone; EM on all customers refines it. The previous
    # run's memberships are a second start, and win ties (no new data: same answer).
    start = models[k].responsibilities(blocks)[0]
    model = fit_from(blocks, start)
    previous_start = warm_start(customers, previous, k)
    if previous_start is not None:
        continued = fit_from(blocks, previous_start)
        if continued.log_likelihood >= model.log_likelihood - 1e-9 * abs(model.log_likelihood):
            model = continued
    resp, _ = model.responsibilities(blocks)
    labels = resp.argmax(axis=1)
    ids, predecessors = stable_ids(
        customers, labels, previous, used_ids=used_ids, min_overlap=config.min_overlap
    )
    label_ids = {int(label): int(ids[labels == label][0]) for label in np.unique(labels)}
    return Segmentation(
        customers=customers,
        segment_ids=ids,
        membership_probability=resp.max(axis=1),
        model=model,
        k=k,
        candidates=candidates,
        predecessors=predecessors,
        label_ids=label_ids,
    )


def agreement_with(truth: pd.Series, assignments: pd.Series) -> dict[str, Any] | None:
    """Adjusted Rand index between segments and known groups (e.g. the generator's planted
    personas) over the customers in both, with the cross-tabulation."""
    both = pd.concat([truth.rename("truth"), assignments.rename("segment")], axis=1).dropna()
    if both.empty:
        return None
    table = pd.crosstab(both["truth"], both["segment"].astype(int))
    return {
        "ari": float(adjusted_rand_score(both["truth"], both["segment"])),
        "customers": len(both),
        "crosstab": {
            str(t): {str(s): int(v) for s, v in row.items()} for t, row in table.iterrows()
        },
    }
