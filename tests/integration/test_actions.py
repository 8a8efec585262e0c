"""Next best action on a copy of the fixture: decisions logged once and stable across runs,
consent respected, and ``mart_action_lift`` (dbt) agreeing with the Python estimator on the
same outcomes. The decisions are taken 40 days before the data ends, so their 30-day outcome
windows have passed (no action was sent: an A/A test, the lift must not be significant)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from journeymap.ml.actions import ActionConfig, lift_table
from journeymap.ml.actions_io import read_latest_event_at, run_actions
from journeymap.project import PACKAGE_SEEDS_DIR
from journeymap.transform import build
from journeymap.warehouse import DuckDBWarehouse
from tests.conftest import copy_workspace

pytestmark = pytest.mark.integration
EXPERIMENT = ActionConfig(experiment="backtest")
SELECT = "actions stg_ml__action_assignments int_action_outcomes mart_action_lift"


def _ours(table: pd.DataFrame) -> pd.DataFrame:
    """This test's experiment (the fixture's own run logged another)."""
    return table[table["experiment"].eq(EXPERIMENT.experiment)]


@pytest.fixture(scope="module")
def decided(built_warehouse, tmp_path_factory):
    settings = copy_workspace(built_warehouse.settings, tmp_path_factory.mktemp("actions"))
    with DuckDBWarehouse(settings.duckdb_path) as warehouse:
        as_of = read_latest_event_at(warehouse) - pd.Timedelta(days=40)
        first = _ours(run_actions(warehouse, EXPERIMENT, as_of=as_of))
        again = _ours(run_actions(warehouse, EXPERIMENT, as_of=as_of + pd.Timedelta(days=1)))
    build(settings, select=SELECT)
    with DuckDBWarehouse(settings.duckdb_path, read_only=True) as warehouse:
        mart = warehouse.query_df(
            "select * from enriched.mart_action_lift where experiment = 'backtest'"
        )
        outcomes = warehouse.query_df(
            "select * from enriched.int_action_outcomes where experiment = 'backtest'"
        )
        consent = warehouse.query_df(
            "select customer_key, has_email_consent from marts.dim_customers"
        )
        personas = warehouse.query_df(
            "select customer_key, lower(persona_name) as persona from ml.customer_segments"
        )
    return first, again, mart, outcomes, consent, personas


def test_decisions_stand_across_runs(decided):
    first, again, *_ = decided
    assigned = first[first["action"].notna()].set_index("customer_key")
    later = again.set_index("customer_key").loc[assigned.index]
    pd.testing.assert_frame_equal(later, assigned)  # same action, holdout flag and time
    share = assigned["is_holdout"].mean()
    n = len(assigned)
    assert n > 200
    assert abs(share - 0.1) < 3 * np.sqrt(0.1 * 0.9 / n)


def test_marketing_actions_only_with_consent(decided):
    first, _, _, _, consent, _ = decided
    emailed = first[first["channel"].eq("email")].merge(consent, on="customer_key")
    assert emailed["has_email_consent"].all()


def test_the_mart_matches_the_python_estimator(decided):
    *_, mart, outcomes, _, _ = decided
    matured = outcomes[outcomes["is_matured"]].rename(columns={"action_goal": "goal"})
    assert len(matured) == len(outcomes) > 0  # 40 days before the end: every window passed
    expected = lift_table(matured).set_index("action")
    got = mart.set_index("action").loc[expected.index]
    for column in expected.columns:
        if column == "goal":
            continue
        if not pd.api.types.is_numeric_dtype(expected[column]):
            assert got[column].tolist() == expected[column].tolist(), column
        else:
            np.testing.assert_allclose(
                got[column].astype(float), expected[column].astype(float), rtol=1e-9, err_msg=column
            )
    # Nothing was sent: where the arms are big enough, the verdict must not claim an effect
    # (at a 5% level; one of a few actions could, so allow one).
    claimed = mart["verdict"].str.startswith(("helps", "hurts")).sum()
    assert claimed <= 1


def test_messages_speak_to_the_customers_persona(decided):
    first, *_, personas = decided
    sent = first[first["message"].notna()].merge(personas, on="customer_key")
    catalog = pd.read_csv(PACKAGE_SEEDS_DIR / "actions.csv")
    speaks = catalog["message_template"].str.contains("{persona}", regex=False)
    actions = set(catalog["action"]) - set(catalog.loc[~speaks, "action"])
    with_persona = sent[sent["action"].isin(actions)]
    assert len(with_persona) > 20
    named = [p in m for p, m in zip(with_persona["persona"], with_persona["message"], strict=True)]
    assert all(named)
