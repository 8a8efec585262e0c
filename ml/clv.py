"""Customer lifetime value: BG/NBD for how often a customer buys (and whether they are still a
customer at all), Gamma-Gamma for how much they spend, both fitted by maximum likelihood.

Pure functions on frames; the warehouse run is ``ml.clv_run``.

The customer summary (``rfm_summary``)
--------------------------------------
From a transaction log (customer, time, value) and a calibration end ``τ``: purchases on the
same calendar day are merged into one transaction (values summed); times are measured in
``time_unit_days`` (7 = weeks) from each customer's first transaction:

* ``frequency`` x: repeat transactions (transactions after the first) up to ``τ``;
* ``recency`` t_x: time from the first to the last transaction (0 when x = 0);
* ``T``: time from the first transaction to ``τ``;
* ``monetary_value`` z̄: mean value of the repeat transactions (the first excluded; NaN when
  x = 0), the Gamma-Gamma model's input.

BG/NBD (Fader, Hardie and Lee 2005, "Counting your customers the easy way")
--------------------------------------------------------------------------------
While alive, a customer buys as a Poisson process with rate λ ~ Gamma(r, α); after every
transaction they drop out with probability p ~ Beta(a, b). The likelihood of one customer is

    L(r, α, a, b | x, t_x, T) = B(a, b + x) / B(a, b) · Γ(r + x) α^r / (Γ(r) (α + T)^(r + x))
                                + δ(x > 0) · B(a + 1, b + x - 1) / B(a, b)
                                  · Γ(r + x) α^r / (Γ(r) (α + t_x)^(r + x))

and the parameters maximise Σ log L (customers with equal (x, t_x, T) counted once, with
their multiplicity as a weight). Per customer, for a horizon t:

    P(alive | x, t_x, T) = 1 / (1 + δ(x > 0) · a / (b + x - 1) · ((α + T) / (α + t_x))^(r + x))

    E[Y(t) | x, t_x, T] = (a + b + x - 1) / (a - 1)
        · [1 - ((α + T) / (α + T + t))^(r + x) · 2F1(r + x, b + x; a + b + x - 1; t / (α + T + t))]
        / (1 + δ(x > 0) · a / (b + x - 1) · ((α + T) / (α + t_x))^(r + x))

Gamma-Gamma (Fader, Hardie and Lee 2005, "RFM and CLV"; Fader and Hardie 2013, "The
Gamma-Gamma model of monetary value")
------------------------------------------------------------------------------------------
A customer's transaction values are Gamma(p, ν) with ν ~ Gamma(q, γ) across customers, so the
mean z̄ of x transactions has the density

    f(z̄ | p, q, γ; x) = Γ(px + q) / (Γ(px) Γ(q)) · γ^q · z̄^(px - 1) · x^(px) / (γ + x z̄)^(px + q)

fitted on the repeat buyers (x > 0). A customer's expected spend per transaction is

    E[Z | p, q, γ, z̄, x] = p (γ + x z̄) / (px + q - 1)

(the population mean p γ / (q - 1) when x = 0). The model assumes spend and frequency are
independent; ``spend_frequency_correlation`` reports how far the data is from that.

Predicted value over a horizon t = E[Y(t)] · E[Z] (undiscounted: the default horizon is 90
days).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import betaln, gammaln

SUMMARY_COLUMNS = ("customer_key", "frequency", "recency", "T", "monetary_value")
# Parameters are searched within [e^-20, e^20] (about 2e-9 .. 5e8).
LOG_BOUND = 20.0
SERIES_MAX_TERMS = 100_000  # a bound on the hypergeometric series (never reached in practice)


class CLVFitError(ValueError):
    """The data cannot support a fit (too few customers or repeat buyers, or no convergence)."""


# ------------------------------------------------------------------------ the RFM summary


def _day(values: pd.Series) -> pd.Series:
    """Calendar days (naive UTC midnight) of timestamps, dates or YYYYMMDD numbers."""
    if pd.api.types.is_integer_dtype(values) or pd.api.types.is_float_dtype(values):
        stamps = pd.to_datetime(values.astype("Int64").astype(str), format="%Y%m%d")
    else:
        stamps = pd.to_datetime(values, utc=True).dt.tz_localize(None)
    return stamps.dt.floor("D").astype("datetime64[ns]")


def merge_same_day(
    transactions: pd.DataFrame, customer: str = "customer_key", at: str = "at", value: str = "value"
) -> pd.DataFrame:
    """One row per customer and calendar day: ``customer_key``, ``day``, ``value`` (summed)."""
    frame = pd.DataFrame(
        {
            "customer_key": transactions[customer].astype(str).to_numpy(),
            "day": _day(transactions[at]).to_numpy(),
            "value": pd.to_numeric(transactions[value], errors="coerce").to_numpy(dtype=float),
        }
    )
    if frame["day"].isna().any():
        raise ValueError(f"{int(frame['day'].isna().sum())} transactions have no usable date")
    merged = frame.groupby(["customer_key", "day"], as_index=False, sort=True)["value"].sum()
    return merged


def rfm_summary(
    transactions: pd.DataFrame,
    calibration_end: str | pd.Timestamp,
    *,
    time_unit_days: float = 7.0,
    customer: str = "customer_key",
    at: str = "at",
    value: str = "value",
) -> pd.DataFrame:
    """The calibration-period summary of every customer whose first transaction is on or
    before ``calibration_end`` (a day; transactions after it are left out). See the module
    docstring for the definitions. Sorted by customer_key."""
    end = pd.Timestamp(calibration_end).floor("D")
    days = merge_same_day(transactions, customer, at, value)
    days = days[days["day"] <= end]
    grouped = days.groupby("customer_key", sort=True)
    first = grouped["day"].min()
    last = grouped["day"].max()
    count = grouped.size()
    total = grouped["value"].sum()
    first_value = days.loc[grouped["day"].idxmin(), ["customer_key", "value"]].set_index(
        "customer_key"
    )["value"]
    frequency = (count - 1).astype(int)
    repeat_total = total - first_value.reindex(total.index)
    unit = pd.Timedelta(days=time_unit_days)
    summary = pd.DataFrame(
        {
            "customer_key": first.index.to_numpy(),
            "frequency": frequency.to_numpy(),
            "recency": ((last - first) / unit).to_numpy(dtype=float),
            "T": ((end - first) / unit).to_numpy(dtype=float),
            "monetary_value": np.where(
                frequency > 0, repeat_total / frequency.where(frequency > 0), np.nan
            ),
            "first_purchase_day": first.to_numpy(),
        }
    )
    return summary.reset_index(drop=True)


def holdout_transactions(
    transactions: pd.DataFrame,
    calibration_end: str | pd.Timestamp,
    holdout_end: str | pd.Timestamp,
    *,
    customer: str = "customer_key",
    at: str = "at",
    value: str = "value",
) -> pd.Series:
    """Transactions (same-day purchases merged) per customer after ``calibration_end`` up to
    and including ``holdout_end``."""
    start, end = pd.Timestamp(calibration_end).floor("D"), pd.Timestamp(holdout_end).floor("D")
    days = merge_same_day(transactions, customer, at, value)
    inside = days[(days["day"] > start) & (days["day"] <= end)]
    return inside.groupby("customer_key").size().rename("holdout_transactions")


# ----------------------------------------------------------------------------- fitting


@dataclass(frozen=True)
class BGNBDParams:
    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float
    customers: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class GammaGammaParams:
    p: float
    q: float
    v: float  # γ, the scale of the spend distribution (named v as in the lifetimes package)
    log_likelihood: float
    customers: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def mean_spend(self) -> float:
        """The population's mean spend per transaction, p γ / (q - 1) (inf for q <= 1)."""
        return self.p * self.v / (self.q - 1) if self.q > 1 else math.inf


def _compress(*columns: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """Distinct rows of the columns and how often each occurs (likelihoods sum over
    customers; equal customers need computing once)."""
    stacked = np.column_stack(columns)
    unique, counts = np.unique(stacked, axis=0, return_counts=True)
    return [unique[:, i] for i in range(unique.shape[1])], counts.astype(float)


def bgnbd_log_likelihood(
    params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
) -> np.ndarray:
    """log L(r, α, a, b | x, t_x, T) per customer (the formula in the module docstring)."""
    r, alpha, a, b = params
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    common = gammaln(r + x) - gammaln(r) + r * np.log(alpha) - betaln(a, b)
    alive = betaln(a, b + x) - (r + x) * np.log(alpha + T)
    with np.errstate(divide="ignore", invalid="ignore"):
        dropped = betaln(a + 1, np.maximum(b + x - 1, 1e-300)) - (r + x) * np.log(alpha + t_x)
    dropped = np.where(x > 0, dropped, -np.inf)
    return common + np.logaddexp(alive, dropped)


def gamma_gamma_log_likelihood(params: np.ndarray, x: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """log f(z̄ | p, q, γ; x) per repeat buyer (the formula in the module docstring)."""
    p, q, v = params
    x, mean = np.asarray(x, dtype=float), np.asarray(mean, dtype=float)
    return (
        gammaln(p * x + q)
        - gammaln(p * x)
        - gammaln(q)
        + q * np.log(v)
        + (p * x - 1) * np.log(mean)
        + p * x * np.log(x)
        - (p * x + q) * np.log(v + x * mean)
    )


def _maximise(negative_ll, start: np.ndarray, what: str) -> tuple[np.ndarray, float]:
    """Minimise ``negative_ll`` over log-parameters (so every parameter stays positive),
    bounded to [e^-LOG_BOUND, e^LOG_BOUND] (a degenerate fit, e.g. no detectable drop-out,
    runs to a bound instead of overflowing): Nelder-Mead to get close, then L-BFGS-B to
    polish."""
    objective = lambda log_params: negative_ll(np.exp(log_params))  # noqa: E731
    bounds = [(-LOG_BOUND, LOG_BOUND)] * len(start)
    first = minimize(
        objective,
        np.log(start),
        method="Nelder-Mead",
        bounds=bounds,
        options={"maxiter": 4000, "xatol": 1e-8, "fatol": 1e-10},
    )
    polished = minimize(objective, first.x, method="L-BFGS-B", bounds=bounds)
    best = polished if polished.fun <= first.fun else first
    if not np.isfinite(best.fun) or best.fun >= 1e300:
        raise CLVFitError(f"{what}: the likelihood has no finite maximum on this data")
    return np.exp(best.x), -float(best.fun)


def fit_bgnbd(
    frequency: np.ndarray | pd.Series,
    recency: np.ndarray | pd.Series,
    T: np.ndarray | pd.Series,
    *,
    min_customers: int = 20,
) -> BGNBDParams:
    """Maximum-likelihood BG/NBD parameters for the customers' (x, t_x, T)."""
    x, t_x, big_t = (np.asarray(v, dtype=float) for v in (frequency, recency, T))
    n = len(x)
    if n < min_customers:
        raise CLVFitError(f"BG/NBD needs at least {min_customers} customers, got {n}")
    if not (x > 0).any():
        raise CLVFitError("BG/NBD needs repeat purchases: no customer bought twice")
    if ((t_x > big_t + 1e-9) | (t_x < 0) | (x < 0)).any():
        raise ValueError("every customer needs 0 <= recency <= T and frequency >= 0")
    (ux, ut, uT), weight = _compress(x, t_x, big_t)

    def negative_ll(params: np.ndarray) -> float:
        value = -float(np.dot(weight, bgnbd_log_likelihood(params, ux, ut, uT)))
        return value if np.isfinite(value) else 1e300

    # Start: unit shape parameters and the rate's scale at the mean customer age.
    start = np.array([1.0, max(float(np.mean(big_t)), 1e-3), 1.0, 1.0])
    params, ll = _maximise(negative_ll, start, "BG/NBD")
    r, alpha, a, b = (float(v) for v in params)
    return BGNBDParams(r=r, alpha=alpha, a=a, b=b, log_likelihood=ll, customers=n)


def fit_gamma_gamma(
    frequency: np.ndarray | pd.Series,
    monetary_value: np.ndarray | pd.Series,
    *,
    min_customers: int = 10,
) -> GammaGammaParams:
    """Maximum-likelihood Gamma-Gamma parameters on the repeat buyers (frequency > 0 and a
    positive mean repeat value; everyone else is left out)."""
    x = np.asarray(frequency, dtype=float)
    mean = np.asarray(monetary_value, dtype=float)
    keep = (x > 0) & np.isfinite(mean) & (mean > 0)
    x, mean = x[keep], mean[keep]
    if len(x) < min_customers:
        raise CLVFitError(
            f"Gamma-Gamma needs at least {min_customers} repeat buyers with a positive spend, "
            f"got {len(x)}"
        )
    (ux, um), weight = _compress(x, mean)

    def negative_ll(params: np.ndarray) -> float:
        value = -float(np.dot(weight, gamma_gamma_log_likelihood(params, ux, um)))
        return value if np.isfinite(value) else 1e300

    start = np.array([1.0, 1.0, max(float(np.mean(mean)), 1e-3)])
    params, ll = _maximise(negative_ll, start, "Gamma-Gamma")
    p, q, v = (float(value) for value in params)
    return GammaGammaParams(p=p, q=q, v=v, log_likelihood=ll, customers=len(x))


# --------------------------------------------------------------------------- predictions


def _dropout_odds(params: BGNBDParams, x: np.ndarray, t_x: np.ndarray, T: np.ndarray):
    """δ(x > 0) · a / (b + x - 1) · ((α + T) / (α + t_x))^(r + x): the odds that a customer
    with this history has dropped out."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        log_odds = (
            np.log(a)
            - np.log(np.maximum(b + x - 1, 1e-300))
            + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
        )
        odds = np.exp(np.minimum(log_odds, 700.0))
    return np.where(x > 0, odds, 0.0)


def probability_alive(
    params: BGNBDParams, frequency: np.ndarray, recency: np.ndarray, T: np.ndarray
) -> np.ndarray:
    """P(alive | x, t_x, T) per customer."""
    x, t_x, big_t = (np.asarray(v, dtype=float) for v in (frequency, recency, T))
    return 1.0 / (1.0 + _dropout_odds(params, x, t_x, big_t))


def expected_purchases(
    params: BGNBDParams,
    horizon: float,
    frequency: np.ndarray,
    recency: np.ndarray,
    T: np.ndarray,
) -> np.ndarray:
    """E[Y(t) | x, t_x, T]: expected transactions in the next ``horizon`` time units."""
    x, t_x, big_t = (np.asarray(v, dtype=float) for v in (frequency, recency, T))
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    t = float(horizon)
    if t <= 0:
        return np.zeros_like(x)
    if a == 1:  # the formula's removable singularity
        a = 1 + 1e-9
    z = t / (alpha + big_t + t)
    gap = _one_minus_scaled_hyp2f1(r + x, b + x, a + b + x - 1, z)
    numerator = (a + b + x - 1) / (a - 1) * gap
    return numerator / (1.0 + _dropout_odds(params, x, t_x, big_t))


def _one_minus_scaled_hyp2f1(
    a1: np.ndarray | float, b1: np.ndarray | float, c1: np.ndarray | float, z: np.ndarray | float
) -> np.ndarray:
    """1 - (1 - z)^a1 * 2F1(a1, b1; c1; z) for 0 <= z < 1, summing the series' terms (all
    positive) in logs. scipy's hyp2f1 loses all precision when b1 and c1 are large and close
    (a fit with a, b in the thousands: almost no drop-out), and this difference from 1 is what
    the expectations need."""
    a1, b1, c1, z = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (a1, b1, c1, z)))
    log_z = np.log(np.maximum(z, 1e-300))
    log_term = a1 * np.log1p(-z)  # k = 0
    total = log_term.copy()
    peak = a1 * z / np.maximum(1 - z, 1e-12)  # the terms grow until about here
    k = 0
    while k < SERIES_MAX_TERMS:
        log_term = (
            log_term + np.log(a1 + k) + np.log(b1 + k) - np.log(c1 + k) - np.log(k + 1) + log_z
        )
        total = np.logaddexp(total, log_term)
        k += 1
        if k > peak.max() and np.all((log_term < total - 40) | (z == 0)):
            break
    return np.where(z > 0, -np.expm1(total), 0.0)  # negative when c1 - b1 < 1 (a < 1)


def expected_spend(
    params: GammaGammaParams, frequency: np.ndarray, monetary_value: np.ndarray
) -> np.ndarray:
    """E[Z | p, q, γ, z̄, x] per customer (the population mean for customers without repeat
    purchases)."""
    x = np.asarray(frequency, dtype=float)
    mean = np.nan_to_num(np.asarray(monetary_value, dtype=float))
    p, q, v = params.p, params.q, params.v
    if q <= 1:
        raise CLVFitError(f"Gamma-Gamma expectations need q > 1 (fitted q = {q:.3f})")
    conditional = p * (v + x * mean) / (p * x + q - 1)
    return np.where((x > 0) & (mean > 0), conditional, params.mean_spend)


def population_expected_purchases(params: BGNBDParams, t: np.ndarray | float) -> np.ndarray:
    """E[X(t)]: expected transactions of a new customer in their first t time units (used for
    the tracking plot: cumulative repeat purchases of a cohort)."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    a = 1 + 1e-9 if a == 1 else a  # the formula's removable singularity
    t = np.asarray(t, dtype=float)
    z = t / (alpha + t)
    return (a + b - 1) / (a - 1) * _one_minus_scaled_hyp2f1(r, b, a + b - 1, z)


# ------------------------------------------------------------------------- evaluation


def spend_frequency_correlation(summary: pd.DataFrame) -> float | None:
    """Pearson correlation of frequency and mean repeat spend among repeat buyers (Gamma-Gamma
    assumes none)."""
    repeat = summary[summary["frequency"] > 0]
    if len(repeat) < 3 or repeat["monetary_value"].std() == 0:
        return None
    return float(repeat["frequency"].corr(repeat["monetary_value"]))


def holdout_check(
    summary: pd.DataFrame,
    actual: pd.Series,
    params: BGNBDParams,
    horizon: float,
    *,
    max_frequency_row: int = 7,
) -> dict[str, Any]:
    """Predicted vs actual transactions in the holdout period (``horizon`` time units after
    the calibration end) for the customers of ``summary``: totals, per-customer mean absolute
    error beside a naive baseline (each customer repeats their calibration rate x / T), and
    the classic table of mean predicted and actual holdout transactions by calibration
    frequency (the last row pools ``max_frequency_row`` and more)."""
    x = summary["frequency"].to_numpy(dtype=float)
    predicted = expected_purchases(
        params, horizon, x, summary["recency"].to_numpy(), summary["T"].to_numpy()
    )
    observed = actual.reindex(summary["customer_key"]).fillna(0).to_numpy(dtype=float)
    naive = np.where(summary["T"] > 0, x / summary["T"].clip(lower=1e-9) * horizon, 0.0)
    bucket = np.minimum(x, max_frequency_row).astype(int)
    table = []
    for value in sorted(set(bucket.tolist())):
        inside = bucket == value
        table.append(
            {
                "calibration_frequency": f"{value}+" if value == max_frequency_row else str(value),
                "customers": int(inside.sum()),
                "mean_predicted": float(predicted[inside].mean()),
                "mean_actual": float(observed[inside].mean()),
            }
        )
    total_actual = float(observed.sum())
    return {
        "customers": len(summary),
        "horizon": horizon,
        "predicted_transactions": float(predicted.sum()),
        "actual_transactions": total_actual,
        "total_error_share": (
            float((predicted.sum() - total_actual) / total_actual) if total_actual else None
        ),
        "mae_per_customer": float(np.mean(np.abs(predicted - observed))),
        "correlation": (
            float(np.corrcoef(predicted, observed)[0, 1])
            if len(observed) > 2 and observed.std() > 0 and predicted.std() > 0
            else None
        ),
        "baselines": {
            "naive_rate_mae_per_customer": float(np.mean(np.abs(naive - observed))),
            "naive_rate_predicted_transactions": float(naive.sum()),
        },
        "by_calibration_frequency": table,
    }


@dataclass(frozen=True)
class CLVFit:
    """Both models fitted on one summary."""

    bgnbd: BGNBDParams
    gamma_gamma: GammaGammaParams
    time_unit_days: float
    summary: pd.DataFrame

    def parameters(self) -> dict[str, Any]:
        return {
            "time_unit_days": self.time_unit_days,
            "bgnbd": self.bgnbd.as_dict(),
            "gamma_gamma": {
                **self.gamma_gamma.as_dict(),
                "mean_spend": self.gamma_gamma.mean_spend,
            },
            "customers": len(self.summary),
            "repeat_buyers": int((self.summary["frequency"] > 0).sum()),
            "spend_frequency_correlation": spend_frequency_correlation(self.summary),
        }


def fit_clv(summary: pd.DataFrame, time_unit_days: float = 7.0) -> CLVFit:
    """Fit BG/NBD on every customer of ``summary`` and Gamma-Gamma on its repeat buyers."""
    bgnbd = fit_bgnbd(summary["frequency"], summary["recency"], summary["T"])
    gamma_gamma = fit_gamma_gamma(summary["frequency"], summary["monetary_value"])
    return CLVFit(bgnbd, gamma_gamma, time_unit_days, summary)


def predict_value(fit: CLVFit, horizon: float) -> pd.DataFrame:
    """Per customer of the fit's summary: expected purchases and value over ``horizon`` time
    units, probability alive and expected spend per purchase."""
    s = fit.summary
    x, t_x, big_t = (s[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T"))
    purchases = expected_purchases(fit.bgnbd, horizon, x, t_x, big_t)
    spend = expected_spend(fit.gamma_gamma, x, s["monetary_value"].to_numpy(dtype=float))
    return pd.DataFrame(
        {
            "customer_key": s["customer_key"].to_numpy(),
            "probability_alive": probability_alive(fit.bgnbd, x, t_x, big_t),
            "expected_purchases": purchases,
            "expected_spend": spend,
            "expected_value": purchases * spend,
        }
    )
