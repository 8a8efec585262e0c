"""A latent class (finite mixture) model for customers described by counts, rates and scores,
fitted by expectation-maximisation. The textbook model of behavioural segmentation (Wedel and
Kamakura, "Market Segmentation", ch. 6-7): every customer belongs to one of k classes, and
given the class, each block of their data is drawn independently:

* ``Categorical`` counts over categories (events by kind, sessions by channel): multinomial
  with class probabilities θ_kc; log f = Σ_c n_c log θ_kc (+ a constant);
* ``Rate``: a count with an exposure (sessions over weeks, events over sessions): Poisson
  with mean λ_k · exposure; log f = n log λ_k - λ_k · exposure;
* ``Proportion``: successes out of trials (emails opened of those delivered): binomial;
* ``Score``: a measurement (a review score): normal with class mean and variance;
* ``Duration``: a waiting time (days to sign up): exponential with class rate.

Every block may mark customers for whom it is unobserved (``mask`` 0): they add nothing to
that block's likelihood, so a missing review neither counts as a bad nor as a good one.

EM: the E-step gives each customer's class probabilities (responsibilities) from the current
parameters; the M-step sets every parameter to its responsibility-weighted maximum-likelihood
value (closed form for all five blocks; categorical and proportion estimates carry a
pseudo-count of ``smoothing`` so no probability is ever 0). Iterations stop when the
log-likelihood improves by less than ``tolerance`` (relative). The best of ``restarts`` fits
from random starting responsibilities (Dirichlet, seeded) is kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import sparse
from scipy.special import logsumexp

SCORE_VARIANCE_FLOOR = 1e-3  # of a standardized score: no class collapses onto one value


@dataclass(frozen=True)
class Categorical:
    """Counts over categories. With ``groups`` (a group number per category) the class
    probabilities sum to one within each group: transitions ``a > b`` grouped by ``a`` make
    a first-order Markov chain, P(b | a) per class."""

    name: str
    counts: np.ndarray | sparse.csr_matrix  # customers x categories
    categories: tuple[str, ...]
    groups: np.ndarray | None = None


def _observed(values: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """1.0 where a block is observed (its mask, and a finite value), else 0.0."""
    values = np.asarray(values, dtype=float)
    base = np.ones(len(values)) if mask is None else np.asarray(mask, dtype=float)
    return base * np.isfinite(values)


@dataclass(frozen=True)
class Rate:
    name: str
    counts: np.ndarray
    exposure: np.ndarray
    mask: np.ndarray | None = None
    observed: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "observed", _observed(self.counts, self.mask))


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
    observed: np.ndarray = field(init=False, repr=False, compare=False)
    filled: np.ndarray = field(init=False, repr=False, compare=False)  # NaN as 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "observed", _observed(self.values, self.mask))
        object.__setattr__(self, "filled", np.nan_to_num(np.asarray(self.values, dtype=float)))


@dataclass(frozen=True)
class Score(_Measured):
    """A measurement per customer (normal within a class)."""


@dataclass(frozen=True)
class Duration(_Measured):
    """A waiting time per customer, > 0 (exponential within a class)."""


Block = Categorical | Rate | Proportion | Score | Duration


def take(blocks: list[Block], rows: np.ndarray) -> list[Block]:
    """The blocks restricted to ``rows`` (a bootstrap or subsample)."""
    out: list[Block] = []
    for b in blocks:
        if isinstance(b, Categorical):
            out.append(Categorical(b.name, b.counts[rows], b.categories, b.groups))
        elif isinstance(b, Rate):
            mask = None if b.mask is None else b.mask[rows]
            out.append(Rate(b.name, b.counts[rows], b.exposure[rows], mask))
        elif isinstance(b, Proportion):
            out.append(Proportion(b.name, b.successes[rows], b.trials[rows]))
        else:
            mask = None if b.mask is None else b.mask[rows]
            out.append(type(b)(b.name, b.values[rows], mask))
    return out


def n_customers(blocks: list[Block]) -> int:
    first = blocks[0]
    if isinstance(first, Categorical | Rate):
        return first.counts.shape[0]
    if isinstance(first, Proportion):
        return len(first.successes)
    return len(first.values)


@dataclass
class MixtureModel:
    """Fitted class weights and per-block class parameters."""

    weights: np.ndarray  # k
    params: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    log_likelihood: float = float("nan")
    iterations: int = 0
    smoothing: float = 0.5

    @property
    def k(self) -> int:
        return len(self.weights)

    def n_parameters(self, blocks: list[Block]) -> int:
        """Free parameters (for BIC)."""
        count = self.k - 1
        for b in blocks:
            if isinstance(b, Categorical):
                groups = 1 if b.groups is None else int(b.groups.max()) + 1
                count += self.k * (b.counts.shape[1] - groups)
            elif isinstance(b, Score):
                count += 2 * self.k
            else:
                count += self.k
        return count

    def bic(self, blocks: list[Block]) -> float:
        n = n_customers(blocks)
        return -2 * self.log_likelihood + self.n_parameters(blocks) * np.log(max(n, 1))

    def class_log_likelihoods(self, blocks: list[Block]) -> np.ndarray:
        """log π_k + Σ_blocks log f(data | class k), customers x k."""
        n = n_customers(blocks)
        out = np.tile(np.log(np.maximum(self.weights, 1e-300)), (n, 1))
        for b in blocks:
            p = self.params[b.name]
            if isinstance(b, Categorical):
                out += np.asarray(b.counts @ np.log(p["theta"]).T)
            elif isinstance(b, Rate):
                m = b.observed
                lam = p["rate"]
                out += m[:, None] * (
                    b.counts[:, None] * np.log(lam)[None, :] - b.exposure[:, None] * lam[None, :]
                )
            elif isinstance(b, Proportion):
                q = p["p"]
                out += b.successes[:, None] * np.log(q)[None, :]
                out += (b.trials - b.successes)[:, None] * np.log1p(-q)[None, :]
            elif isinstance(b, Score):
                m = b.observed
                v = b.filled[:, None]
                mean, var = p["mean"][None, :], p["var"][None, :]
                out += m[:, None] * (-0.5 * np.log(2 * np.pi * var) - (v - mean) ** 2 / (2 * var))
            else:  # Duration
                m = b.observed
                v = b.filled[:, None]
                rate = p["rate"][None, :]
                out += m[:, None] * (np.log(rate) - v * rate)
        return out

    def responsibilities(self, blocks: list[Block]) -> tuple[np.ndarray, float]:
        """Class probabilities per customer and the total log-likelihood."""
        joint = self.class_log_likelihoods(blocks)
        total = logsumexp(joint, axis=1)
        return np.exp(joint - total[:, None]), float(total.sum())

    def predict(self, blocks: list[Block]) -> np.ndarray:
        return self.responsibilities(blocks)[0].argmax(axis=1)


def _normalise(theta: np.ndarray, groups: np.ndarray | None) -> np.ndarray:
    """Rows (classes) summing to one, within each group of columns when grouped."""
    if groups is None:
        return theta / theta.sum(axis=1, keepdims=True)
    totals = np.zeros((theta.shape[0], int(groups.max()) + 1))
    for g in range(totals.shape[1]):
        totals[:, g] = theta[:, groups == g].sum(axis=1)
    return theta / totals[:, groups]


def m_step(blocks: list[Block], resp: np.ndarray, smoothing: float = 0.5) -> MixtureModel:
    """Responsibility-weighted maximum-likelihood parameters (see the module docstring)."""
    n, k = resp.shape
    weight = resp.sum(axis=0)
    model = MixtureModel(weights=np.maximum(weight / n, 1e-12), smoothing=smoothing)
    for b in blocks:
        if isinstance(b, Categorical):
            theta = np.asarray((b.counts.T @ resp).T) + smoothing
            model.params[b.name] = {"theta": _normalise(theta, b.groups)}
        elif isinstance(b, Rate):
            r = resp * b.observed[:, None]
            events = r.T @ b.counts + smoothing * 1e-3
            exposure = r.T @ b.exposure + 1e-3
            model.params[b.name] = {"rate": np.maximum(events / exposure, 1e-9)}
        elif isinstance(b, Proportion):
            q = (resp.T @ b.successes + smoothing) / (resp.T @ b.trials + 2 * smoothing)
            model.params[b.name] = {"p": np.clip(q, 1e-9, 1 - 1e-9)}
        elif isinstance(b, Score):
            r = resp * b.observed[:, None]
            v = b.filled
            total = r.sum(axis=0) + 1e-9
            mean = (r.T @ v) / total
            var = (r * (v[:, None] - mean[None, :]) ** 2).sum(axis=0) / total
            model.params[b.name] = {"mean": mean, "var": np.maximum(var, SCORE_VARIANCE_FLOOR)}
        else:  # Duration
            r = resp * b.observed[:, None]
            v = b.filled
            rate = (r.sum(axis=0) + 1e-3) / (r.T @ v + 1e-3)
            model.params[b.name] = {"rate": rate}
    return model


def fit_from(
    blocks: list[Block],
    resp: np.ndarray,
    *,
    max_iter: int = 300,
    tolerance: float = 1e-7,
    smoothing: float = 0.5,
) -> MixtureModel:
    """EM from starting responsibilities until the log-likelihood settles."""
    previous = -np.inf
    model = m_step(blocks, resp, smoothing)
    iterations = 0
    while iterations < max_iter:
        iterations += 1
        resp, total = model.responsibilities(blocks)
        model = m_step(blocks, resp, smoothing)
        if total - previous <= tolerance * abs(total):
            break
        previous = total
    model.log_likelihood = model.responsibilities(blocks)[1]
    model.iterations = iterations
    return model


def fit_mixture(
    blocks: list[Block],
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
    n = n_customers(blocks)
    if n < k:
        raise ValueError(f"cannot fit {k} classes to {n} customers")
    rng = np.random.default_rng(seed)
    starts = [start] if start is not None else []
    starts += [rng.dirichlet(np.ones(k), size=n) for _ in range(restarts)]
    best: MixtureModel | None = None
    for resp in starts:
        model = fit_from(blocks, resp, max_iter=max_iter, tolerance=tolerance)
        if best is None or model.log_likelihood > best.log_likelihood + 1e-9 * abs(
            best.log_likelihood
        ):
            best = model
    assert best is not None
    return best
