"""The period after an action assignment, with a known (planted) effect for treated customers.

``simulate_outcomes`` takes assignments (customer, action, holdout flag) and draws each
customer's outcomes over the outcome window: whether they reach the next stage, churn, and
their revenue. Held-out customers follow the base rates; treated customers of an action with
a planted ``Effect`` have their churn probability and next-stage probability multiplied by
it (e.g. the retention offer halves churn for billing complainers: ``churn=0.5``). Base
rates vary per customer (a Beta draw around the action's mean), so outcomes are not a coin
with one bias.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Effect:
    """Multipliers applied to treated customers' outcome probabilities / revenue."""

    churn: float = 1.0
    next_stage: float = 1.0
    revenue: float = 1.0


@dataclass(frozen=True)
class BaseRates:
    churn: float = 0.30
    next_stage: float = 0.25
    revenue_mean: float = 40.0
    buy_rate: float = 0.3


def _beta(rng: np.random.Generator, mean: float, n: int, strength: float = 20.0) -> np.ndarray:
    return rng.beta(mean * strength, (1 - mean) * strength, size=n)


def simulate_outcomes(
    assignments: pd.DataFrame,
    effects: dict[str, Effect],
    seed: int,
    base: BaseRates = BaseRates(),
) -> pd.DataFrame:
    """One row per assignment with an action: action, goal, is_holdout and the outcomes
    (reached_next_stage, churned, revenue) over the window."""
    frame = assignments[assignments["action"].notna()].reset_index(drop=True)
    n = len(frame)
    rng = np.random.default_rng(seed)
    treated = ~frame["is_holdout"].to_numpy(dtype=bool)
    effect = [effects.get(a, Effect()) for a in frame["action"]]
    churn_x = np.where(treated, [e.churn for e in effect], 1.0)
    stage_x = np.where(treated, [e.next_stage for e in effect], 1.0)
    revenue_x = np.where(treated, [e.revenue for e in effect], 1.0)
    p_churn = np.clip(_beta(rng, base.churn, n) * churn_x, 0, 1)
    p_stage = np.clip(_beta(rng, base.next_stage, n) * stage_x, 0, 1)
    buys = rng.random(n) < base.buy_rate
    revenue = np.where(buys, rng.gamma(2.0, base.revenue_mean / 2.0, n), 0.0) * revenue_x
    return pd.DataFrame(
        {
            "customer_key": frame["customer_key"],
            "action": frame["action"],
            "goal": frame["goal"],
            "is_holdout": ~treated,
            "reached_next_stage": rng.random(n) < p_stage,
            "churned": rng.random(n) < p_churn,
            "revenue": revenue,
        }
    )
