"""The ML output contracts: the frame a model writes is checked and typed, and dbt documents
exactly the same columns and types for the enriched layer."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from journeymap.ml.model_report import read_model_report, record_model_report
from journeymap.ml.outputs import OUTPUTS, MLOutput, OutputColumn, OutputContractError

ML_SOURCES_YAML = Path(__file__).resolve().parents[2] / "models/enriched/staging/_ml__sources.yml"
TOY = MLOutput(
    "toy", (OutputColumn("key", "varchar"), OutputColumn("score", "double")), key=("key",)
)


def test_dbt_documents_every_output_with_the_same_columns_and_types():
    (source,) = yaml.safe_load(ML_SOURCES_YAML.read_text())["sources"]
    documented = {
        table["name"]: [(c["name"], c["data_type"]) for c in table["columns"]]
        for table in source["tables"]
    }
    contracts = {
        name: [(c.name, c.data_type) for c in output.columns] for name, output in OUTPUTS.items()
    }
    assert documented == contracts


def test_conform_orders_and_types_the_columns():
    frame = pd.DataFrame({"score": ["0.5", 1], "key": ["a", "b"]})
    out = TOY.conform(frame)
    assert list(out.columns) == ["key", "score"]
    assert out["score"].dtype == "float64" and out["score"].tolist() == [0.5, 1.0]


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (pd.DataFrame({"key": ["a"]}), "missing \\['score'\\]"),
        (pd.DataFrame({"key": ["a"], "score": [1.0], "x": [1]}), "unexpected \\['x'\\]"),
        (pd.DataFrame({"key": ["a", "a"], "score": [1.0, 2.0]}), "repeated key"),
        (pd.DataFrame({"key": [None], "score": [1.0]}), "null in key"),
        (pd.DataFrame({"key": ["a"], "score": ["high"]}), "score is not double"),
    ],
)
def test_conform_refuses_a_frame_that_breaks_the_contract(frame, message):
    with pytest.raises(OutputContractError, match=message):
        TOY.conform(frame)


def test_model_report_keeps_the_other_models_entries(tmp_path):
    record_model_report(tmp_path, "churn", {"held_out": {"auc": 0.9}, "rows_written": 3})
    record_model_report(tmp_path, "segments", {"held_out": {"ari": float("nan")}})
    record_model_report(tmp_path, "churn", {"held_out": {"auc": 0.8}, "rows_written": 4})
    report = read_model_report(tmp_path)
    assert set(report) == {"churn", "segments"}
    assert report["churn"]["held_out"] == {"auc": 0.8} and report["churn"]["rows_written"] == 4
    assert report["segments"]["held_out"] == {"ari": None}  # JSON has no NaN
    assert "recorded_at" in report["churn"]
