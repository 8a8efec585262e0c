"""The ML output contracts: the frame a model writes is checked and typed, and dbt documents
exactly the same columns and types for the enriched layer."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
import yaml

from journeymap.ml.model_report import read_model_report, record_model_report
from journeymap.ml.outputs import (
    OUTPUTS,
    MLOutput,
    OutputColumn,
    OutputContractError,
    consented,
    refusals_in,
)
from journeymap.warehouse import DuckDBWarehouse

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


def _consent_warehouse(path: Path, with_dim_customers: bool = True) -> DuckDBWarehouse:
    warehouse = DuckDBWarehouse(path / "journeymap.duckdb")
    warehouse.execute("create schema marts")
    warehouse.execute(
        "create table marts.fct_events as select * from (values "
        "('c1', 1), ('c2', 2), ('c2', 3), ('c3', 4), (null, 5)) as t(customer_key, n)"
    )
    if with_dim_customers:
        warehouse.execute(
            "create table marts.dim_customers as select * from (values "
            "('c1', true), ('c2', false), ('c3', true)) as t(customer_key, has_analytics_consent)"
        )
    return warehouse


def test_consented_rows_leave_out_refusals_and_keep_anonymous_rows(tmp_path):
    """c2 refused analytics: none of their rows is read; a row about nobody stays."""
    with _consent_warehouse(tmp_path) as warehouse:
        rows = warehouse.query_df(f"select n from {consented(warehouse, 'marts.fct_events')} as e")
        assert sorted(rows["n"]) == [1, 4, 5]
        assert refusals_in(warehouse, ("fct_events",)) == 1
        assert refusals_in(warehouse, ("fct_events", "dim_customers")) == 1  # counted once


def test_before_dim_customers_exists_every_row_is_read(tmp_path):
    with _consent_warehouse(tmp_path, with_dim_customers=False) as warehouse:
        rows = warehouse.query_df(f"select n from {consented(warehouse, 'marts.fct_events')} as e")
        assert sorted(rows["n"]) == [1, 2, 3, 4, 5]
        assert refusals_in(warehouse, ("fct_events",)) == 0


# The relations a model reads without ``consented``, by file: about nobody (seeds, the end of
# the data as max(occurred_at), per-segment snapshots, the LLM cache by text hash), the
# consent helpers themselves, or the model's own earlier output (write_output filters it
# again; text labels are filtered as a frame, as old ones may lack a customer_key).
UNFILTERED_READS = {
    "actions_io.py": {"{seeds}.actions", "{s.ml}.{ACTION_ASSIGNMENTS.table}"},
    "alerts_io.py": {"{s.ml}.{RISK_ALERTS.table}"},
    "customers_io.py": {"{schemas.ml}.{TEXT_LABELS_TABLE}", "{schemas.ml}.persona_snapshots"},
    "next_step_io.py": {"{seeds}.journey_stages"},
    "outputs.py": {"{marts}.dim_customers", "{marts_schema}.{t}"},
    "labelling.py": {"{ml}.{TEXT_LABELS.table}"},
    "llm.py": {"{self.schema}.{table}"},
    "themes.py": {"{ml}.{TEXT_THEMES.table}"},
    "warehouse_io.py": {"{schemas.marts}.fct_events"},
}
# `from {schema}.table` in an f-string; `from {consented(...)}` (a call) is not matched.
RELATION = re.compile(r"(?:from|join)\s+(\{[^}(]+\}\.(?:\{[^}]+\}|\w+))")


def test_models_read_customer_rows_only_through_consented():
    """A model's SQL names a table directly only where the table is about nobody or is its
    own output: every other read goes through ``consented``, so a refusal of analytics is
    never trained on. A new direct read fails here: route it through ``consented`` (or, if
    it is about nobody, add it above with the reason)."""
    import journeymap.ml

    found: dict[str, set[str]] = {}
    for path in Path(journeymap.ml.__file__).parent.rglob("*.py"):
        for relation in RELATION.findall(path.read_text()):
            found.setdefault(path.name, set()).add(relation)
    assert found == UNFILTERED_READS
