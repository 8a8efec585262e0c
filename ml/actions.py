"""Next best action with a holdout: which action each eligible customer gets, who is held out,
and whether acting helps (frames in, frames out).

Definitions
-----------
* **Catalog** (the project's ``seeds/actions.csv``, else the shipped
  ``seeds/defaults/actions.csv``; one row per action and stage): the action, its channel,
  whether it is marketing, the stage it applies to (``any`` for all), the ``condition`` it
  needs (one of ``CONDITIONS``), its priority (lower first), its ``goal`` (the outcome it
  should move: ``next_stage``, ``churn`` or ``revenue``) and a message template.
* **Eligible**: a customer who meets the condition of at least one catalog row of their stage.
  Among their actions the first by priority that consent allows is chosen: a marketing action
  needs consent for its channel (an opted-out customer gets no marketing action); a service
  action (e.g. a callback from support) does not. A customer with ``contact_cap`` contacts or
  more in the last 7 days gets none ("contact cap reached"). Every decision is logged, with
  its reason, also when no action is chosen.
* **Holdout**: a customer is held out of an experiment when ``u < holdout_share``, with ``u``
  the first 8 bytes of HMAC-SHA256(key, "experiment|customer") as a fraction of 2^64: stable
  across runs and machines, independent between experiments, not guessable without the key.
  Held-out customers are logged with the action they would have had and are not contacted.
* **Lift** (per action, over assignments whose outcome window has passed): treated minus
  held-out outcome; for rates (next stage reached, churned) the Wald interval
  ``d +- 1.96 * sqrt(p1(1-p1)/n1 + p0(1-p0)/n0)``, for revenue per customer the Welch
  (unequal variances) normal interval ``d +- 1.96 * sqrt(s1^2/n1 + s0^2/n0)``. The verdict on
  the action's goal: "too early to tell" while the interval spans zero (or an arm has fewer
  than ``MIN_ARM`` customers), else whether it helps or hurts.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from journeymap.ml.outputs import ACTION_ASSIGNMENTS

Z95 = 1.959963984540054
MIN_ARM = 30  # fewer held-out (or treated) customers than this: too early to tell
BILLING_INTENTS = ("billing_payment", "cancellation", "refund_return")
CHECKOUT_STEPS = ("product_added", "checkout_started", "payment_info_entered")
HIGH_DROP_OFF = 0.5
SATISFIED_SCORE = 4.0
GOALS = ("next_stage", "churn", "revenue")
# Lower is better for these goals.
LOWER_IS_BETTER = {"churn"}

CATALOG_COLUMNS = (
    "action",
    "channel",
    "is_marketing",
    "stage",
    "condition",
    "priority",
    "goal",
    "message_template",
)
# What the catalog's conditions mean, on one row per customer (ActionInputs columns).
CONDITIONS: dict[str, Callable[[pd.DataFrame], pd.Series]] = {
    "high_churn_billing": lambda c: (
        c["churn_risk_band"].eq("high") & c["recent_intent"].isin(BILLING_INTENTS)
    ),
    "stuck_at_checkout_mobile": lambda c: (
        c["last_step"].isin(CHECKOUT_STEPS)
        & c["device_type"].eq("mobile")
        & (c["drop_off_probability"].fillna(0) >= HIGH_DROP_OFF)
    ),
    "likely_to_drop_off": lambda c: c["drop_off_probability"].fillna(0) >= HIGH_DROP_OFF,
    "advocate_satisfied": lambda c: c["review_score"].fillna(0) >= SATISFIED_SCORE,
    "any": lambda c: pd.Series(True, index=c.index),
}
# The columns of one row per customer the conditions and templates read (None where an input
# model has not run: the conditions that need it match nobody).
INPUT_COLUMNS = (
    "customer_key",
    "current_stage",
    "persona",
    "churn_risk_band",
    "recent_intent",
    "last_step",
    "device_type",
    "drop_off_probability",
    "review_score",
    "has_email_consent",
    "has_sms_consent",
    "contacts_last_week",
)
CONSENT_COLUMN = {"email": "has_email_consent", "sms": "has_sms_consent"}


@dataclass(frozen=True)
class ActionConfig:
    experiment: str = "next_best_action"
    holdout_share: float = 0.10
    holdout_key: str = "journeymap"
    contact_cap: int = 3  # contacts per 7 days

    def __post_init__(self) -> None:
        if not 0.0 < self.holdout_share < 1.0:
            raise ValueError("the holdout share must lie between 0 and 1")
        if self.contact_cap < 1:
            raise ValueError("the contact cap must be at least one contact a week")


def validate_catalog(catalog: pd.DataFrame) -> pd.DataFrame:
    """The catalog with clear errors for missing columns, unknown conditions or goals."""
    missing = [c for c in CATALOG_COLUMNS if c not in catalog.columns]
    if missing:
        raise ValueError(f"the action catalog has no column {missing}")
    unknown = sorted(set(catalog["condition"]) - set(CONDITIONS))
    if unknown:
        raise ValueError(f"unknown action conditions {unknown}; known: {sorted(CONDITIONS)}")
    goals = sorted(set(catalog["goal"]) - set(GOALS))
    if goals:
        raise ValueError(f"unknown action goals {goals}; known: {list(GOALS)}")
    out = catalog.copy()
    out["is_marketing"] = out["is_marketing"].astype(str).str.lower().isin(("true", "1", "yes"))
    return out.sort_values(["priority", "action"], kind="mergesort").reset_index(drop=True)


def holdout_fraction(customers: pd.Series, experiment: str, key: str) -> np.ndarray:
    """HMAC-SHA256(key, "experiment|customer") as a number in [0, 1) per customer."""
    secret = key.encode()
    out = np.empty(len(customers))
    for i, customer in enumerate(customers.astype(str)):
        digest = hmac.new(secret, f"{experiment}|{customer}".encode(), hashlib.sha256).digest()
        out[i] = int.from_bytes(digest[:8], "big") / 2**64
    return out


def is_held_out(customers: pd.Series, config: ActionConfig) -> np.ndarray:
    return holdout_fraction(customers, config.experiment, config.holdout_key) < (
        config.holdout_share
    )


def fill_message(template: str, row: dict) -> str:
    """The action's template with the customer's stage, persona (a plural noun phrase; without
    personas "customers like you") and recent intent."""
    values = {
        "stage": row.get("current_stage") or "your journey",
        "persona": row.get("persona") or "customers like you",
        "intent": str(row.get("recent_intent") or "your recent request").replace("_", " "),
    }
    return template.format(**values)


def _candidates(inputs: pd.DataFrame, catalog: pd.DataFrame) -> pd.DataFrame:
    """Every (customer, catalog row) whose stage and condition match, by priority."""
    parts = []
    for index, action in catalog.iterrows():
        matches = CONDITIONS[action["condition"]](inputs)
        if action["stage"] != "any":
            matches &= inputs["current_stage"].eq(action["stage"])
        consent = CONSENT_COLUMN.get(action["channel"])
        allowed = (
            inputs[consent].fillna(False).astype(bool)
            if action["is_marketing"] and consent
            else pd.Series(True, index=inputs.index)
        )
        parts.append(
            pd.DataFrame(
                {"row": inputs.index[matches], "catalog": index, "allowed": allowed[matches]}
            )
        )
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def assign_actions(
    inputs: pd.DataFrame,
    catalog: pd.DataFrame,
    config: ActionConfig,
    assigned_at: datetime | pd.Timestamp,
) -> pd.DataFrame:
    """One decision per eligible customer (see the module docstring), as
    ``ml.action_assignments`` rows."""
    catalog = validate_catalog(catalog)
    inputs = inputs.reset_index(drop=True)
    candidates = _candidates(inputs, catalog)
    if candidates.empty:
        return ACTION_ASSIGNMENTS.empty()
    allowed = candidates[candidates["allowed"]].sort_values(["row", "catalog"])
    first = allowed.drop_duplicates("row").set_index("row")["catalog"]
    rows = np.sort(candidates["row"].unique())
    customers = inputs.loc[rows]
    chosen = first.reindex(rows)
    capped = customers["contacts_last_week"].fillna(0).to_numpy() >= config.contact_cap
    action = np.array(catalog["action"].reindex(chosen.to_numpy()).tolist(), dtype=object)
    action[chosen.isna().to_numpy()] = None
    reason = np.where(
        chosen.isna(),
        "opted out of marketing: no action consent allows",
        "matched " + catalog["condition"].reindex(chosen.to_numpy()).fillna("").to_numpy(dtype=str),
    ).astype(object)
    reason[capped] = f"contact cap reached ({config.contact_cap} contacts in 7 days)"
    action[capped] = None
    held_out = is_held_out(customers["customer_key"], config)
    templates = catalog["message_template"].reindex(chosen.to_numpy()).to_numpy(dtype=object)
    messages = [
        fill_message(template, row) if isinstance(template, str) else None
        for template, a, row in zip(templates, action, customers.to_dict("records"), strict=True)
    ]
    frame = pd.DataFrame(
        {
            "experiment": config.experiment,
            "customer_key": customers["customer_key"].to_numpy(),
            "action": action,
            "channel": catalog["channel"].reindex(chosen.to_numpy()).to_numpy(dtype=object),
            "goal": catalog["goal"].reindex(chosen.to_numpy()).to_numpy(dtype=object),
            "is_holdout": held_out,
            "reason": reason,
            "current_stage": customers["current_stage"].to_numpy(),
            "message": messages,
            "assigned_at": pd.Timestamp(assigned_at),
            "message_source": "template",
            "message_note": None,
        }
    )
    frame.loc[frame["action"].isna(), ["channel", "goal", "message", "message_source"]] = None
    return ACTION_ASSIGNMENTS.conform(frame)


def keep_earlier(previous: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """A customer's first assignment with an action stands (their outcome window runs from
    it); decisions without an action are taken again on the next run."""
    kept = previous[previous["action"].notna()]
    fresh = new[
        ~new.set_index(["experiment", "customer_key"]).index.isin(
            kept.set_index(["experiment", "customer_key"]).index
        )
    ]
    return ACTION_ASSIGNMENTS.conform(pd.concat([kept, fresh], ignore_index=True))


# --- lift -------------------------------------------------------------------------------------


def difference_interval(
    treated: np.ndarray, held_out: np.ndarray, binary: bool
) -> tuple[float, float, float]:
    """Treated minus held-out mean and its 95% interval (Wald for rates, Welch for means)."""
    n1, n0 = len(treated), len(held_out)
    if n1 == 0 or n0 == 0:
        return float("nan"), float("nan"), float("nan")
    m1, m0 = float(np.mean(treated)), float(np.mean(held_out))
    if binary:
        variance = m1 * (1 - m1) / n1 + m0 * (1 - m0) / n0
    else:
        v1 = float(np.var(treated, ddof=1)) if n1 > 1 else 0.0
        v0 = float(np.var(held_out, ddof=1)) if n0 > 1 else 0.0
        variance = v1 / n1 + v0 / n0
    half = Z95 * float(np.sqrt(variance))
    difference = m1 - m0
    return difference, difference - half, difference + half


def verdict(goal: str, low: float, high: float, treated_n: int, held_out_n: int) -> str:
    """Plain words for the goal's interval."""
    if min(treated_n, held_out_n) < MIN_ARM or np.isnan(low):
        return f"too early to tell: {held_out_n} held out, {treated_n} treated so far"
    if low <= 0 <= high:
        return "too early to tell: the interval spans zero"
    better = (high < 0) if goal in LOWER_IS_BETTER else (low > 0)
    word = {"next_stage": "next-stage rate", "churn": "churn", "revenue": "revenue"}[goal]
    return (
        f"{'helps' if better else 'hurts'}: {word} {'lower' if high < 0 else 'higher'} when treated"
    )


def lift_table(outcomes: pd.DataFrame) -> pd.DataFrame:
    """Per action: sample sizes, treated and held-out outcome rates, differences with 95%
    intervals, and the verdict on the action's goal. ``outcomes``: one row per matured
    assignment with action, goal, is_holdout, reached_next_stage, churned, revenue."""
    rows = []
    for action, group in outcomes.groupby("action", sort=True):
        treated, held = group[~group["is_holdout"]], group[group["is_holdout"]]
        row: dict[str, object] = {
            "action": action,
            "goal": group["goal"].iloc[0],
            "treated_customers": len(treated),
            "holdout_customers": len(held),
        }
        for outcome, binary in (
            ("reached_next_stage", True),
            ("churned", True),
            ("revenue", False),
        ):
            t = treated[outcome].astype(float).to_numpy()
            h = held[outcome].astype(float).to_numpy()
            d, low, high = difference_interval(t, h, binary)
            row.update(
                {
                    f"treated_{outcome}": float(np.mean(t)) if len(t) else np.nan,
                    f"holdout_{outcome}": float(np.mean(h)) if len(h) else np.nan,
                    f"{outcome}_difference": d,
                    f"{outcome}_ci_low": low,
                    f"{outcome}_ci_high": high,
                }
            )
        goal = GOAL_OUTCOME[str(row["goal"])]
        row["verdict"] = verdict(
            str(row["goal"]),
            float(row[f"{goal}_ci_low"]),  # type: ignore[arg-type]
            float(row[f"{goal}_ci_high"]),  # type: ignore[arg-type]
            len(treated),
            len(held),
        )
        rows.append(row)
    return pd.DataFrame(rows)


GOAL_OUTCOME = {"next_stage": "reached_next_stage", "churn": "churned", "revenue": "revenue"}
