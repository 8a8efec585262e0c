"""A real experiment on a copy of the fixture, measured from the marts: decisions taken 31 days
before the data ends (a 50/50 test, so a 2,000-customer business has arms big enough), the
planted effect written as a landing file of extra orders for the treated customers of one
action (generator.planted_experiment: the holdout decided by the action's own keyed hash),
loaded and built by dbt. ``mart_action_lift`` must hold the planted revenue effect in its 95%
interval and exclude zero; the other actions, untouched, show no revenue difference beyond
chance on their planted-order-free data."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from journeymap.generator.planted_experiment import (
    PlantedEffect,
    customer_ids_by_key,
    plant_extra_orders,
    write_planted,
)
from journeymap.load import load_landing
from journeymap.ml.actions import ActionConfig
from journeymap.ml.actions_io import read_latest_event_at, run_actions
from journeymap.transform import build
from journeymap.warehouse import DuckDBWarehouse
from tests.conftest import copy_workspace

pytestmark = pytest.mark.integration
EXPERIMENT = ActionConfig(experiment="planted", holdout_share=0.5)
EFFECT = PlantedEffect(action="referral_invite", extra_order_probability=0.75, window_days=30)
# Downstream of the orders and upstream of the lift mart, plus the assignments' staging view.
SELECT = "stg_commerce__orders+,+mart_action_lift stg_ml__action_assignments"


@pytest.fixture(scope="module")
def measured(built_warehouse, tmp_path_factory):
    settings = copy_workspace(built_warehouse.settings, tmp_path_factory.mktemp("planted"))
    with DuckDBWarehouse(settings.duckdb_path) as warehouse:
        decided_at = read_latest_event_at(warehouse) - pd.Timedelta(days=EFFECT.window_days + 1)
        assignments = run_actions(warehouse, EXPERIMENT, as_of=decided_at)
        amounts = warehouse.query_df(
            f"select amount from raw.orders where occurred_at > '{decided_at}'"
        )["amount"]
        customer_ids = customer_ids_by_key(warehouse)
    orders, truth = plant_extra_orders(assignments, amounts, EXPERIMENT, EFFECT, customer_ids)
    path = write_planted(settings.landing_dir, orders, truth, settings.truth_dir, decided_at.date())
    with DuckDBWarehouse(settings.duckdb_path) as warehouse:
        report = load_landing(warehouse, settings.landing_dir, contracts=settings.source_contracts)
    build(settings, select=SELECT)
    with DuckDBWarehouse(settings.duckdb_path, read_only=True) as warehouse:
        mart = warehouse.query_df(
            "select * from enriched.mart_action_lift where experiment = 'planted'"
        ).set_index("action")
        planted_in_events = warehouse.query_df(
            "select count(*) as n, sum(revenue) as revenue from marts.fct_events "
            f"where is_conversion and source_event_id in (select order_id from raw.orders "
            f"where _file_name = '{path.name}')"
        )
    return truth, mart, report, planted_in_events, settings


def test_the_planted_orders_land_as_conversions(measured):
    truth, _, report, planted, settings = measured
    assert truth.extra_orders > 0
    assert int(planted["n"].iloc[0]) == truth.extra_orders
    assert float(planted["revenue"].iloc[0]) == pytest.approx(truth.planted_revenue)
    recorded = json.loads((settings.truth_dir / "experiment.json").read_text())
    assert recorded["revenue_effect_per_treated"] == pytest.approx(truth.revenue_effect_per_treated)


def test_the_lift_mart_recovers_the_planted_effect(measured):
    truth, mart, *_ = measured
    row = mart.loc[EFFECT.action]
    assert row["treated_customers"] == truth.treated_customers
    assert row["holdout_customers"] == truth.holdout_customers
    assert min(row["treated_customers"], row["holdout_customers"]) >= 30
    assert row["revenue_ci_low"] <= truth.revenue_effect_per_treated <= row["revenue_ci_high"]
    assert row["revenue_ci_low"] > 0
    assert row["verdict"] == "helps: revenue higher when treated"
