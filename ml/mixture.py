"""A latent class (finite mixture) model for customers described by counts, rates and scores,
fitted by expectation-maximisation. The textbook model of behavioural segmentation (Wedel and
Kamakura, "Market Segmentation", ch. 6-7): every customer belongs to one of k classes, and
given the class, each block of their data is drawn independently:

* ``Categorical`` counts over categories (events by kind, sessions by channel): multinomial
  with class probabilities θ_kc; log f = Σ_c n_c log θ_kc (+ a constant). With ``groups``,
  the probabilities sum to one within each group (transitions a > b grouped by a form a
  first-order Markov chain);
* ``Rate``: a count with an exposure (sessions over weeks, events over sessions): Poisson
  with mean λ_k · exposure; log f = n log λ_k - λ_k · exposure (+ a constant);
* ``Proportion``: successes out of trials (emails opened of those delivered): binomial;
* ``Score``: a measurement (a review score): normal with class mean and variance, the
  variance at least the rounding variance of the scale's ``resolution`` (h²/12, Sheppard): a
  normal's likelihood grows without bound as a class's variance shrinks, so without the floor
  a handful of customers who all gave 4 stars make a class of their own;
* ``Duration``: a waiting time (days to sign up): exponential with class rate.

Every block may mark customers for whom it is unobserved (``mask`` 0, or a NaN value): they
add nothing to that block's likelihood, so a missing review neither counts as a bad nor as a
good one.

All five are exponential families, so a customer's log-likelihood under class k is a dot
product of their sufficient statistics T(x) with the class's natural parameters η_k, and the
maximum-likelihood M-step needs only the responsibility-weighted sums of T(x). ``Design``
stacks every block's sufficient statistics into one matrix once; an EM iteration is then two
matrix products (customers x statistics x classes) and closed-form updates:

    E-step: log π_k + T(x) · η_k, normalised per customer (log-sum-exp);
    M-step: S = responsibilities' · T, then θ = (S_c + s) / Σ (S + s) (categorical, a
    pseudo-count s so no probability is 0), λ = S_n / S_exposure (rate),
    p = (S_successes + s) / (S_trials + 2s) (proportion), mean and variance (score, with a
    floor), rate = S_observed / S_duration (duration).

Iterations stop when the log-likelihood improves by less than ``tolerance`` (relative); the
best of ``restarts`` fits from random starting responsibilities (Dirichlet, seeded) is kept.
Log-likelihoods leave out the terms that do not depend on the parameters (multinomial
coefficients, log n!), the same for every k, so BIC comparisons across k are unaffected.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

SCORE_VARIANCE_FLOOR = 1e-3  # no class collapses onto a single score value
SMOOTHING = 0.5
TINY = 1e-9


def _observed(values: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """1.0 where a block is observed (its mask, and a finite value), else 0.0."""
    values = np.asarray(values, dtype=float)
    base = np.ones(len(values)) if mask is None else np.asarray(mask, dtype=float)
    return base * np.isfinite(values)


@dataclass(frozen=True)
class Categorical:
    name: str
    counts: np.ndarray  # customers x categories
    categories: tuple[str, ...]
    groups: np.ndarray | None = None  # group number per category (Markov chains)


@dataclass(frozen=True)
class Rate:
    name: str
    counts: np.ndarray
    exposure: np.ndarray
    mask: np.ndarray | None = None

    @property
    def observed(self) -> np.ndarray:
        return _observed(self.counts, self.mask)


@dataclass(frozen=True)
class Proportion:
    name: str
    successes: np.ndarray
    trials: np.ndarray


@dataclass(frozen=True)
class _Measured:
    name: str
    values: np.ndarray  # NaN where unobserved
    mask: np.ndarray | None = None

    @property
    def observed(self) -> np.ndarray:
        return _observed(self.values, self.mask)


@dataclass(frozen=True)
class Score(_Measured):
    """A measurement per customer (normal within a class) on a scale of steps ``resolution``
    (1 for whole stars or NPS points; 0 for a continuous one)."""

    resolution: float = 0.0

    @property
    def variance_floor(self) -> float:
        return max(SCORE_VARIANCE_FLOOR, self.resolution**2 / 12)


@dataclass(frozen=True)
class Duration(_Measured):
    """A waiting time per customer, > 0 (exponential within a class)."""


Block = Categorical | Rate | Proportion | Score | Duration


@dataclass(frozen=True)
class Design:
    """Every block's sufficient statistics side by side (customers x statistics), and which
    columns belong to which block."""

    stats: np.ndarray
    blocks: tuple[Block, ...]  # the blocks' kinds, names and categories (their data unused)
    columns: tuple[slice, ...]

    @property
    def n(self) -> int:
        return self.stats.shape[0]

    def take(self, rows: np.ndarray) -> Design:
        """The design of ``rows`` (a bootstrap or subsample)."""
        return Design(self.stats[rows], self.blocks, self.columns)


def _statistics(block: Block) -> np.ndarray:
    """A block's sufficient statistics per customer (unobserved rows are all zero)."""
    if isinstance(block, Categorical):
        return np.asarray(block.counts, dtype=float)
    if isinstance(block, Rate):
        m = block.observed
        return np.column_stack([m * block.counts, m * block.exposure])
    if isinstance(block, Proportion):
        s, t = np.asarray(block.successes, float), np.asarray(block.trials, float)
        return np.column_stack([s, t - s])
    m = block.observed
    v = np.nan_to_num(np.asarray(block.values, dtype=float)) * m
    if isinstance(block, Score):
        return np.column_stack([m, v, v * v])
    return np.column_stack([m, v])  # Duration


def design(blocks: list[Block] | Design) -> Design:
    """The blocks' sufficient statistics in one matrix (built once per set of blocks)."""
    if isinstance(blocks, Design):
        return blocks
    parts, columns, start = [], [], 0
    for block in blocks:
        stats = _statistics(block)
        parts.append(stats)
        columns.append(slice(start, start + stats.shape[1]))
        start += stats.shape[1]
    return Design(np.hstack(parts), tuple(blocks), tuple(columns))


def take(blocks: list[Block] | Design, rows: np.ndarray) -> Design:
    return design(blocks).take(rows)


def _normalise(theta: np.ndarray, groups: np.ndarray | None) -> np.ndarray:
    """Rows (classes) summing to one, within each group of columns when grouped."""
    if groups is None:
        return theta / theta.sum(axis=1, keepdims=True)
    totals = np.zeros((theta.shape[0], int(groups.max()) + 1))
    for g in range(totals.shape[1]):
        totals[:, g] = theta[:, groups == g].sum(axis=1)
    return theta / totals[:, groups]


def log_sum_exp(values: np.ndarray) -> np.ndarray:
    """log Σ_k exp(values[:, k]) per row, without overflow."""
    top = values.max(axis=1)
    return top + np.log(np.exp(values - top[:, None]).sum(axis=1))


@dataclass
class MixtureModel:
    """Fitted class weights and per-block class parameters."""

    weights: np.ndarray  # k
    params: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    log_likelihood: float = float("nan")
    iterations: int = 0

    @property
    def k(self) -> int:
        return len(self.weights)

    def n_parameters(self, blocks: list[Block] | Design) -> int:
        """Free parameters (for BIC)."""
        count = self.k - 1
        for b in design(blocks).blocks:
            if isinstance(b, Categorical):
                groups = 1 if b.groups is None else int(b.groups.max()) + 1
                count += self.k * (len(b.categories) - groups)
            elif isinstance(b, Score):
                count += 2 * self.k
            else:
                count += self.k
        return count

    def bic(self, blocks: list[Block] | Design) -> float:
        d = design(blocks)
        return -2 * self.log_likelihood + self.n_parameters(d) * np.log(max(d.n, 1))

    def natural(self, d: Design) -> np.ndarray:
        """η: statistics x classes, so that T(x) · η_k is a customer's log f under k."""
        eta = np.zeros((d.stats.shape[1], self.k))
        for block, columns in zip(d.blocks, d.columns, strict=True):
            p = self.params[block.name]
            if isinstance(block, Categorical):
                eta[columns] = np.log(p["theta"]).T
            elif isinstance(block, Rate):
                eta[columns] = np.vstack([np.log(p["rate"]), -p["rate"]])
            elif isinstance(block, Proportion):
                eta[columns] = np.vstack([np.log(p["p"]), np.log1p(-p["p"])])
            elif isinstance(block, Score):
                mean, var = p["mean"], p["var"]
                constant = -0.5 * np.log(2 * np.pi * var) - mean**2 / (2 * var)
                eta[columns] = np.vstack([constant, mean / var, -1 / (2 * var)])
            else:  # Duration
                eta[columns] = np.vstack([np.log(p["rate"]), -p["rate"]])
        return eta

    def class_log_likelihoods(self, blocks: list[Block] | Design) -> np.ndarray:
        """log π_k + Σ_blocks log f(data | class k), customers x k."""
        d = design(blocks)
        return d.stats @ self.natural(d) + np.log(np.maximum(self.weights, 1e-300))

    def responsibilities(self, blocks: list[Block] | Design) -> tuple[np.ndarray, float]:
        """Class probabilities per customer and the total log-likelihood."""
        joint = self.class_log_likelihoods(blocks)
        total = log_sum_exp(joint)
        return np.exp(joint - total[:, None]), float(total.sum())

    def predict(self, blocks: list[Block] | Design) -> np.ndarray:
        return self.class_log_likelihoods(blocks).argmax(axis=1)


def m_step(blocks: list[Block] | Design, resp: np.ndarray) -> MixtureModel:
    """Responsibility-weighted maximum-likelihood parameters (see the module docstring)."""
    d = design(blocks)
    sums = resp.T @ d.stats  # classes x statistics
    model = MixtureModel(weights=np.maximum(resp.mean(axis=0), 1e-12))
    for block, columns in zip(d.blocks, d.columns, strict=True):
        s = sums[:, columns]
        if isinstance(block, Categorical):
            model.params[block.name] = {"theta": _normalise(s + SMOOTHING, block.groups)}
        elif isinstance(block, Rate):
            rate = (s[:, 0] + SMOOTHING * 1e-3) / (s[:, 1] + 1e-3)
            model.params[block.name] = {"rate": np.maximum(rate, TINY)}
        elif isinstance(block, Proportion):
            p = (s[:, 0] + SMOOTHING) / (s[:, 0] + s[:, 1] + 2 * SMOOTHING)
            model.params[block.name] = {"p": np.clip(p, TINY, 1 - TINY)}
        elif isinstance(block, Score):
            weight = s[:, 0] + TINY
            mean = s[:, 1] / weight
            var = s[:, 2] / weight - mean**2
            model.params[block.name] = {
                "mean": mean,
                "var": np.maximum(var, block.variance_floor),
            }
        else:  # Duration
            model.params[block.name] = {"rate": (s[:, 0] + 1e-3) / (s[:, 1] + 1e-3)}
    return model


def fit_from(
    blocks: list[Block] | Design,
    resp: np.ndarray,
    *,
    max_iter: int = 300,
    tolerance: float = 1e-7,
) -> MixtureModel:
    """EM from starting responsibilities until the log-likelihood settles."""
    d = design(blocks)
    previous = -np.inf
    model = m_step(d, resp)
    iterations = 0
    while iterations < max_iter:
        iterations += 1
        resp, total = model.responsibilities(d)
        model = m_step(d, resp)
        if total - previous <= tolerance * abs(total):
            break
        previous = total
    model.log_likelihood = model.responsibilities(d)[1]
    model.iterations = iterations
    return model


def fit_mixture(
    blocks: list[Block] | Design,
    k: int,
    *,
    seed: int = 0,
    restarts: int = 5,
    start: np.ndarray | None = None,
    max_iter: int = 300,
    tolerance: float = 1e-7,
) -> MixtureModel:
    """The best of ``restarts`` EM fits from random responsibilities (seeded), and from
    ``start`` when given (e.g. the previous run's memberships; it wins ties)."""
    d = design(blocks)
    if d.n < k:
        raise ValueError(f"cannot fit {k} classes to {d.n} customers")
    rng = np.random.default_rng(seed)
    starts = [start] if start is not None else []
    starts += [rng.dirichlet(np.ones(k), size=d.n) for _ in range(restarts)]
    best: MixtureModel | None = None
    for resp in starts:
        model = fit_from(d, resp, max_iter=max_iter, tolerance=tolerance)
        if best is None or model.log_likelihood > best.log_likelihood + 1e-9 * abs(
            best.log_likelihood
        ):
            best = model
    assert best is not None
    return best


def n_customers(blocks: list[Block] | Design) -> int:
    return design(blocks).n
