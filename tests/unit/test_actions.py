"""Next best action on frames: consent, contact cap, the stable keyed-hash holdout, and the
lift estimate recovering a planted effect (and not finding one where there is none)."""

from __future__ import annotations

import hashlib
import hmac

import numpy as np
import pandas as pd
import pytest

from journeymap.generator.experiment import BaseRates, Effect, simulate_outcomes
from journeymap.ml import actions as na
from journeymap.settings import PROJECT_DIR

CATALOG = pd.read_csv(PROJECT_DIR / "seeds" / "defaults" / "actions.csv")
NOW = pd.Timestamp("2026-10-31")


def _customers(n: int, **overrides) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "customer_key": [f"c{i:05d}" for i in range(n)],
            "current_stage": "retention",
            "persona": None,
            "churn_risk_band": "high",
            "recent_intent": "billing_payment",
            "last_step": "logged_in",
            "device_type": "desktop",
            "drop_off_probability": 0.2,
            "review_score": np.nan,
            "has_email_consent": True,
            "has_sms_consent": False,
            "contacts_last_week": 0,
        }
    )
    for column, value in overrides.items():
        frame[column] = value
    return frame[list(na.INPUT_COLUMNS)]


def test_the_shipped_catalog_is_valid():
    catalog = na.validate_catalog(CATALOG)
    assert set(catalog["condition"]) <= set(na.CONDITIONS)
    assert not catalog.duplicated(["action", "stage"]).any()


def test_marketing_needs_consent_and_the_cap_blocks_contact():
    customers = _customers(3)
    customers.loc[1, "has_email_consent"] = False  # opted out: the service callback instead
    customers.loc[2, "contacts_last_week"] = 5
    out = na.assign_actions(customers, CATALOG, na.ActionConfig(), NOW).set_index("customer_key")
    assert out.loc["c00000", "action"] == "retention_offer"
    assert out.loc["c00001", "action"] == "billing_callback"
    assert pd.isna(out.loc["c00002", "action"])
    assert "contact cap" in out.loc["c00002", "reason"]
    assert "billing payment" in out.loc["c00000", "message"]


def test_an_opted_out_customer_with_only_marketing_actions_gets_none():
    customers = _customers(
        1, current_stage="consideration", churn_risk_band="low", drop_off_probability=0.9
    )
    customers["has_email_consent"] = False
    out = na.assign_actions(customers, CATALOG, na.ActionConfig(), NOW)
    assert len(out) == 1 and pd.isna(out["action"].iloc[0])
    assert "opted out" in out["reason"].iloc[0]


def test_customers_meeting_no_condition_are_not_eligible():
    customers = _customers(2, churn_risk_band="low", drop_off_probability=0.1)
    assert na.assign_actions(customers, CATALOG, na.ActionConfig(), NOW).empty


def test_the_holdout_is_stable_keyed_and_near_its_share():
    keys = pd.Series([f"c{i:06d}" for i in range(20_000)])
    config = na.ActionConfig(experiment="spring", holdout_share=0.1)
    first = na.is_held_out(keys, config)
    assert np.array_equal(
        first, na.is_held_out(keys.sample(frac=1, random_state=1).sort_index(), config)
    )
    assert abs(first.mean() - 0.1) < 0.01  # 3 standard errors of 20,000 draws
    # A known value: the hash is HMAC-SHA256, not Python's per-process hash().
    digest = hmac.new(b"journeymap", b"spring|c000001", hashlib.sha256).digest()
    expected = int.from_bytes(digest[:8], "big") / 2**64
    assert na.holdout_fraction(pd.Series(["c000001"]), "spring", "journeymap")[0] == expected
    other_experiment = na.is_held_out(keys, na.ActionConfig(experiment="autumn"))
    other_key = na.is_held_out(keys, na.ActionConfig(experiment="spring", holdout_key="k2"))
    for other in (other_experiment, other_key):  # independent draws: overlap ~ 0.1 * 0.1
        assert abs((first & other).mean() - 0.01) < 0.004


def test_earlier_assignments_stand_and_undecided_ones_are_retaken():
    customers = _customers(4)
    config = na.ActionConfig()
    customers["contacts_last_week"] = [0, 0, 0, 9]  # c00003 capped at first
    first = na.assign_actions(customers, CATALOG, config, NOW)
    customers["contacts_last_week"] = [9, 9, 9, 0]
    later = na.assign_actions(customers.iloc[::-1], CATALOG, config, NOW + pd.Timedelta(days=1))
    merged = na.keep_earlier(first, later).set_index("customer_key")
    assert (merged.loc["c00000":"c00002", "assigned_at"] == NOW).all()
    assert merged.loc["c00000", "action"] == "retention_offer"
    assert merged.loc["c00003", "action"] == "retention_offer"
    assert merged.loc["c00003", "assigned_at"] == NOW + pd.Timedelta(days=1)


def _experiment(seed: int, effects: dict[str, Effect], n: int = 4000) -> pd.DataFrame:
    return na.lift_table(simulate_outcomes(_assignments(seed, n), effects, seed))


def test_a_planted_effect_is_recovered_inside_the_interval():
    """The retention offer halves churn (0.30 -> 0.15): the estimate's 95% interval holds the
    planted -0.15 and excludes zero, and the verdict says it helps."""
    row = _experiment(11, {"retention_offer": Effect(churn=0.5)}).set_index("action")
    offer = row.loc["retention_offer"]
    assert offer["churned_ci_low"] <= -0.15 <= offer["churned_ci_high"]
    assert offer["churned_ci_high"] < 0
    assert offer["verdict"].startswith("helps")
    assert offer["holdout_customers"] > 300


def test_coverage_and_false_positive_rate_over_seeds():
    """Over 200 seeds: the interval holds the planted effect about 95% of the time, and an
    action with no effect is called significant about 5% of the time (nominal), not more."""
    seeds = range(200)
    planted = -0.5 * BaseRates().churn  # half the mean base churn
    covered, false_positive = 0, 0
    base = _assignments(0)
    for seed in seeds:  # a new experiment per seed: a new holdout draw and new outcomes
        config = na.ActionConfig(experiment=f"sim-{seed}")
        assignments = base.assign(is_holdout=na.is_held_out(base["customer_key"], config))
        rows = na.lift_table(
            simulate_outcomes(assignments, {"retention_offer": Effect(churn=0.5)}, seed)
        )
        offer = rows.set_index("action").loc["retention_offer"]
        covered += offer["churned_ci_low"] <= planted <= offer["churned_ci_high"]
        null = na.lift_table(simulate_outcomes(assignments, {}, 10_000 + seed))
        null_offer = null.set_index("action").loc["retention_offer"]
        false_positive += not null_offer["verdict"].startswith("too early")
    assert covered / len(seeds) >= 0.90
    # Binomial(200, 0.05): mean 10, 99.9th percentile 20.
    assert false_positive <= 20


def _assignments(seed: int, n: int = 1500) -> pd.DataFrame:
    """``n`` billing complainers at high risk; experiment ``sim-<seed>`` draws the holdout."""
    customers = _customers(n)
    customers["customer_key"] = [f"s{seed}-{i}" for i in range(n)]
    return na.assign_actions(customers, CATALOG, na.ActionConfig(experiment=f"sim-{seed}"), NOW)


def test_verdict_is_too_early_while_the_interval_spans_zero():
    assert na.verdict("churn", -0.1, 0.05, 500, 60).startswith("too early")
    assert na.verdict("churn", -0.1, -0.02, 500, 10).startswith("too early")
    assert na.verdict("churn", -0.1, -0.02, 500, 60).startswith("helps")
    assert na.verdict("next_stage", -0.1, -0.02, 500, 60).startswith("hurts")


def test_wald_interval_matches_the_formula():
    treated = np.array([1] * 30 + [0] * 70, dtype=float)
    held = np.array([1] * 20 + [0] * 30, dtype=float)
    d, low, high = na.difference_interval(treated, held, binary=True)
    se = np.sqrt(0.3 * 0.7 / 100 + 0.4 * 0.6 / 50)
    assert d == pytest.approx(-0.1)
    assert (low, high) == pytest.approx((-0.1 - 1.959964 * se, -0.1 + 1.959964 * se))
