"""Next step and drop-off on the fixture business, as the Dagster job wrote them: the model
report's ``next_step`` entry, ``ml.next_step_predictions`` reconciled with fct_events, and
``journeymap predict-next --evaluate`` printing the same evaluation."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from journeymap.cli import main
from journeymap.ml.next_step import BASELINE, DROP_OFF_MODELS, NEXT_STEP_MODELS
from journeymap.warehouse import DuckDBWarehouse
from tests.integration.marts import REFUSED

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def entry(built_warehouse) -> dict:
    report = json.loads((built_warehouse.settings.build_dir / "model_report.json").read_text())
    return report["next_step"]


@pytest.fixture(scope="module")
def predictions(built_warehouse) -> pd.DataFrame:
    with DuckDBWarehouse(built_warehouse.duckdb_path, read_only=True) as warehouse:
        return warehouse.query_df("select * from ml.next_step_predictions")


def test_report_entry_has_the_documented_shape(entry):
    assert set(entry["top1"]) == set(NEXT_STEP_MODELS) == set(entry["top3"])
    assert entry["chosen"] in NEXT_STEP_MODELS
    for name in NEXT_STEP_MODELS:
        assert 0 <= entry["top1"][name] <= entry["top3"][name] <= 1
    # Used only if it beats first-order Markov: the gain's interval is above zero.
    if entry["chosen"] != BASELINE:
        assert entry["comparison"]["ci_low"] > 0
        assert entry["top1"][entry["chosen"]] > entry["top1"][BASELINE]
    # The fixture's journeys follow their stages: the last step tells a lot.
    assert entry["top1"][BASELINE] > entry["top1"]["most_frequent"] + 0.05
    drop = entry["drop_off"]
    assert set(drop["auc"]) == set(DROP_OFF_MODELS)
    assert drop["auc"][drop["chosen"]] > 0.6
    window = entry["training_window"]
    assert window["split_at"] < window["as_of"]
    assert entry["rows_written"] > 0


def test_every_open_journey_is_predicted_once(built_warehouse, predictions, entry):
    """Open journeys counted independently: customers who did not refuse analytics whose
    latest own step (not an email sent, delivered or bounced) is less than the horizon before
    the cutoff."""
    cutoff = predictions["cutoff_at"].iloc[0]
    horizon = int(entry["horizon_days"])
    with DuckDBWarehouse(built_warehouse.duckdb_path, read_only=True) as warehouse:
        expected = warehouse.query_df(
            f"""
            select customer_key from marts.fct_events
            where canonical_event not in ('email_sent', 'email_delivered', 'email_bounced')
                and customer_key not in ({REFUSED})
            group by customer_key
            having max(occurred_at) > timestamp '{cutoff}' - interval {horizon} day
            """
        )
    assert set(predictions["customer_key"]) == set(expected["customer_key"])
    assert predictions["customer_key"].is_unique
    top = predictions[[f"next_step_{k}_probability" for k in (1, 2, 3)]]
    assert (top.sum(axis=1) <= 1 + 1e-9).all()
    assert (top["next_step_1_probability"] >= top["next_step_2_probability"]).all()
    assert predictions["model"].eq(entry["chosen"]).all()
    # Drop-off is null only at the final stage (nothing later to reach).
    final = predictions["current_stage"].eq("advocacy")
    assert predictions.loc[final, "drop_off_probability"].isna().all()
    assert predictions.loc[~final, "drop_off_probability"].between(0, 1).all()


def test_predict_next_evaluate_prints_the_table(built_warehouse, capsys, monkeypatch):
    settings = built_warehouse.settings
    monkeypatch.setenv("JOURNEYMAP_DUCKDB_PATH", str(settings.duckdb_path))
    monkeypatch.setenv("JOURNEYMAP_BUILD_DIR", str(settings.build_dir))
    assert main(["predict-next", "--evaluate"]) == 0
    out = capsys.readouterr().out
    for name in (*NEXT_STEP_MODELS, "stage_rate"):
        assert name in out
    assert "is used" in out
