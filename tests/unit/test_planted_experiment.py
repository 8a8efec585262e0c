"""The demo's planted experiment on frames: who gets the extra orders (the treated customers of
the planted action, by the action's own keyed holdout), when, and the truth it records; and
holding back / releasing landing files by their day."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from journeymap.generator.planted_experiment import (
    PlantedEffect,
    hold_back,
    plant_extra_orders,
    release,
)
from journeymap.ml.actions import ActionConfig, is_held_out

CONFIG = ActionConfig(experiment="demo", holdout_share=0.2)
DECIDED = pd.Timestamp("2026-09-30 23:00:00")


def _assignments(n: int = 2000) -> pd.DataFrame:
    customers = pd.Series([f"C{i:05d}" for i in range(n)])
    return pd.DataFrame(
        {
            "experiment": "demo",
            "customer_key": customers,
            "action": np.where(np.arange(n) % 2 == 0, "referral_invite", "retention_tips"),
            "assigned_at": DECIDED,
        }
    )


def clear_ids(assignments: pd.DataFrame) -> dict[str, str]:
    return {key: f"clear-{key}" for key in assignments["customer_key"]}


def test_a_treated_customer_without_a_clear_id_is_an_error():
    assignments = _assignments(40)
    with pytest.raises(ValueError, match="no clear customer id"):
        plant_extra_orders(assignments, pd.Series([5.0]), CONFIG, PlantedEffect(), {})


def test_only_treated_customers_of_the_planted_action_order_again():
    assignments = _assignments()
    effect = PlantedEffect(extra_order_probability=0.5, window_days=30, seed=1)
    orders, truth = plant_extra_orders(
        assignments, pd.Series([10.0, 30.0]), CONFIG, effect, clear_ids(assignments)
    )
    planted = assignments[assignments["action"].eq("referral_invite")]
    held = planted["customer_key"][is_held_out(planted["customer_key"], CONFIG)]
    treated_ids = {clear_ids(assignments)[k] for k in set(planted["customer_key"]) - set(held)}
    assert set(orders["customer_id"]) <= treated_ids  # clear ids, as the shop would send
    assert truth.holdout_customers == len(held)
    assert truth.treated_customers == len(planted) - len(held)
    assert truth.extra_orders == len(orders)
    assert len(orders) / truth.treated_customers == pytest.approx(0.5, abs=0.06)
    assert set(orders["amount"]) <= {10.0, 30.0}
    assert truth.revenue_effect_per_treated == pytest.approx(
        orders["amount"].sum() / truth.treated_customers
    )
    at = pd.to_datetime(orders["occurred_at"]).dt.tz_localize(None)
    assert (at > DECIDED).all() and (at < DECIDED + pd.Timedelta(days=30)).all()
    assert orders["order_id"].is_unique
    again, _ = plant_extra_orders(
        assignments, pd.Series([10.0, 30.0]), CONFIG, effect, clear_ids(assignments)
    )
    pd.testing.assert_frame_equal(orders, again)


def test_an_unknown_action_plants_nothing_and_no_amounts_is_an_error():
    assignments = _assignments(100)
    ids = clear_ids(assignments)
    orders, truth = plant_extra_orders(
        assignments, pd.Series([5.0]), CONFIG, PlantedEffect(action="nope"), ids
    )
    assert orders.empty and truth.treated_customers == 0
    with pytest.raises(ValueError, match="no orders"):
        plant_extra_orders(assignments, pd.Series([], dtype=float), CONFIG, PlantedEffect(), ids)


def test_hold_back_moves_the_last_days_and_release_lands_them(tmp_path):
    landing, held = tmp_path / "landing", tmp_path / "held_back"
    for day in ("2026-10-01", "2026-10-02", "2026-10-03"):
        for source in ("orders", "web_events"):
            (landing / source).mkdir(parents=True, exist_ok=True)
            (landing / source / f"{source}_{day}.csv").write_text("x\n")
    assert hold_back(landing, held, date(2026, 10, 2)) == 4
    assert sorted(p.name for p in landing.glob("*/*")) == [
        "orders_2026-10-01.csv",
        "web_events_2026-10-01.csv",
    ]
    assert release(held, landing) == 4
    assert len(list(landing.glob("*/*"))) == 6 and not held.exists()
