"""The whole pipeline through Dagster, in process, on a small generated business.

One module-scoped run of ``journeymap_demo`` (the job behind ``journeymap demo``) builds a fresh
workspace; the other tests copy it and change it:

* clean data: every asset materializes, every asset check (dbt tests and GE suites) passes;
* a landing file with an impossible value: the raw suite fails, nothing downstream runs;
* a new landing file: the sensor asks for that source and what it feeds, and fct_events grows
  by exactly the file's new rows.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
from dagster import (
    AssetKey,
    AssetSelection,
    DagsterEventType,
    DagsterInstance,
    ExecuteInProcessResult,
    build_sensor_context,
)

from journeymap.contract import SOURCES
from journeymap.settings import Settings
from tests.conftest import copy_workspace

pytestmark = pytest.mark.integration

# Enough subscribers and history (> 2 x the 30-day churn horizon) for the churn model to train.
CUSTOMERS = 1000
DAYS = 70
SEED = 7
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


@dataclass
class Pipeline:
    settings: Settings
    result: ExecuteInProcessResult
    lines: list[str]


def _scalar(settings: Settings, sql: str, params: list | None = None):
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as connection:
        return connection.execute(sql, params or []).fetchone()[0]


def _materialized(result: ExecuteInProcessResult) -> set[str]:
    return {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}


def _checks(result: ExecuteInProcessResult) -> dict[str, object]:
    return {
        f"{e.asset_key.to_user_string()}:{e.check_name}": e
        for e in result.get_asset_check_evaluations()
    }


def _step_starts(result: ExecuteInProcessResult) -> list[str]:
    return [e.step_key for e in result.all_events if e.event_type == DagsterEventType.STEP_START]


def _definitions(settings: Settings):
    from journeymap.orchestration.definitions import build_definitions
    from journeymap.orchestration.project import prepare_dbt_project

    prepare_dbt_project(settings)
    return build_definitions(settings)


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Pipeline:
    from journeymap.orchestration.run import run_demo

    settings = Settings.for_workspace(tmp_path_factory.mktemp("dagster_pipeline"))
    lines: list[str] = []
    demo = run_demo(
        settings,
        customers=CUSTOMERS,
        days=DAYS,
        seed=SEED,
        say=lines.append,
        instance=DagsterInstance.ephemeral(),
    )
    return Pipeline(settings, demo.result, lines)


def test_whole_graph_materializes_and_every_check_passes(pipeline: Pipeline):
    result, settings = pipeline.result, pipeline.settings
    failures = [e for e in result.all_events if e.event_type == DagsterEventType.STEP_FAILURE]
    assert result.success, [e.event_specific_data.error.to_string()[-2000:] for e in failures]

    graph = _definitions(settings).resolve_asset_graph()
    every_asset = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert _materialized(result) == every_asset

    checks = _checks(result)
    every_check = {f"{k.asset_key.to_user_string()}:{k.name}" for k in graph.asset_check_keys}
    assert set(checks) == every_check
    failed = {name: e.description for name, e in checks.items() if not e.passed}
    assert failed == {}

    # The core dbt step, then the Python models, then the enriched step, then the report.
    order = _step_starts(result)
    assert order.index("dbt_core") < order.index("ml__churn_scores")
    assert order.index("ml__churn_scores") < order.index("dbt_enriched")
    assert order.index("dbt_enriched") < order.index("report__journey_map")
    assert order.index("demo__sample_data") < min(order.index(f"raw__{s}") for s in SOURCES)

    # Raw loads report what they loaded; the warehouse agrees.
    raw_meta = {
        e.asset_key.to_user_string(): e.materialization.metadata
        for e in result.get_asset_materialization_events()
    }
    web = raw_meta["raw/web_events"]
    assert web["files_loaded"].value == DAYS
    assert web["rows_loaded"].value == _scalar(settings, "select count(*) from raw.web_events")
    assert web["rows_quarantined"].value == _scalar(
        settings, "select count(*) from raw.quarantine where source = 'web_events'"
    )
    churn = raw_meta["ml/churn_scores"]
    assert 0.0 <= churn["auc"].value <= 1.0
    assert (
        churn["dagster/row_count"].value
        == _scalar(settings, "select count(*) from ml.churn_scores")
        > 0
    )
    assert "feature_importances" in churn
    # The enriched customer table was built after scoring: it carries every score.
    assert _scalar(settings, "select count(churn_score) from enriched.dim_customer_360") == (
        _scalar(settings, "select count(*) from ml.churn_scores")
    )
    # The model report holds the churn model's held-out figures beside its baselines.
    report = json.loads((settings.build_dir / "model_report.json").read_text())
    assert report["churn"]["held_out"]["auc"] == churn["auc"].value
    assert report["churn"]["rows_written"] == churn["dagster/row_count"].value
    assert set(report["churn"]["baselines"]) == {"brier_base_rate", "auc_recency"}

    page = settings.build_dir / "journey_map.html"
    assert page.is_file() and page.stat().st_size > 10_000
    assert (settings.build_dir / "data_docs" / "index.html").is_file()
    assert any(line.strip().startswith("done    report__journey_map") for line in pipeline.lines)


def test_failed_raw_suite_blocks_everything_downstream(pipeline: Pipeline, tmp_path: Path):
    settings = copy_workspace(pipeline.settings, tmp_path / "bad_orders")
    bad_file = settings.landing_dir / "orders" / "orders_2026-10-31_late.csv"
    bad_file.write_text(
        "order_id,customer_id,occurred_at,status,amount,currency\n"
        "ord_bad_1,cus_bad_1,2026-10-30 12:00:00,completed,-42.5,EUR\n"
    )
    defs = _definitions(settings)
    graph = defs.resolve_asset_graph()
    downstream = AssetSelection.assets(AssetKey(["raw", "orders"])).downstream().resolve(graph)
    result = defs.resolve_job_def("journeymap_full").execute_in_process(
        asset_selection=sorted(downstream), raise_on_error=False, run_config=QUIET
    )

    assert not result.success
    # The loader let the row through (a negative amount is well-formed) ...
    assert _materialized(result) == {"raw/orders"}
    assert _scalar(settings, "select count(*) from raw.orders where amount < 0") == 1
    # ... the blocking suite caught it and named the expectation and the row ...
    check = _checks(result)["raw/orders:expectations"]
    assert not check.passed
    assert "expect_column_values_to_be_between on amount" in check.description
    # raw and staging samples name the file and row, never a value (it could be personal data)
    assert "_file_name=orders_2026-10-31_late.csv, _row_number=1" in check.description
    assert "-42.5" not in check.description
    failed = check.metadata["failed_expectations"].value
    assert [f["expectation"] for f in failed if f["severity"] == "blocking"] == [
        "expect_column_values_to_be_between"
    ]
    # ... and nothing downstream ran: not dbt, not the churn model, not the report.
    started = set(_step_starts(result))
    assert "raw__orders" in started
    assert not {"dbt_core", "ml__churn_scores", "dbt_enriched", "report__journey_map"} & started
    assert not {
        "staging/stg_commerce__orders",
        "marts/fct_events",
        "ml/churn_scores",
    } & _materialized(result)


def _new_web_events_file(settings: Settings) -> Path:
    """A new landing file: the last day's web events again, with new event ids (same people)."""
    last = sorted((settings.landing_dir / "web_events").glob("web_events_*.csv"))[-1]
    new = last.with_name(last.stem + "_late.csv")
    with last.open(newline="") as source, new.open("w", newline="") as target:
        reader = csv.DictReader(source)
        writer = csv.DictWriter(target, fieldnames=reader.fieldnames)
        writer.writeheader()
        for row in reader:
            if row["event_id"]:
                row["event_id"] = "late_" + row["event_id"]
            writer.writerow(row)
    return new


def test_sensor_runs_the_alerts_first_then_the_new_files_source_and_downstream(
    pipeline: Pipeline, tmp_path: Path
):
    from journeymap.orchestration.run import execute_request
    from tests.integration.marts import mart_fingerprints

    settings = copy_workspace(pipeline.settings, tmp_path / "new_file")
    events_before = _scalar(settings, "select count(*) from marts.fct_events")
    new_file = _new_web_events_file(settings)
    full_only = copy_workspace(settings, tmp_path / "full_only")

    defs = _definitions(settings)
    sensor = defs.resolve_sensor_def("landing_files_sensor")
    instance = DagsterInstance.ephemeral()
    resources = {"settings": settings}
    tick = sensor(build_sensor_context(instance=instance, definitions=defs, resources=resources))
    alerts, full = tick.run_requests
    assert (alerts.job_name, full.job_name) == ("journeymap_alerts", "journeymap_full")
    requested = {k.to_user_string() for k in full.asset_selection}
    graph = defs.resolve_asset_graph()
    web_downstream = (
        AssetSelection.assets(AssetKey(["raw", "web_events"])).downstream().resolve(graph)
    )
    assert requested == {k.to_user_string() for k in web_downstream}
    assert not {f"raw/{s}" for s in SOURCES if s != "web_events"} & requested
    assert "staging/stg_commerce__orders" not in requested

    # The alerts run: the new file's load, what the alert rules read, the outbox; checked by
    # the Great Expectations suites; first in the queue.
    alerting = {k.to_user_string() for k in alerts.asset_selection}
    assert {"raw/web_events", "marts/fct_events", "marts/dim_customers", "ml/risk_alerts"} <= (
        alerting
    )
    assert alerting < requested
    assert not {"ml/churn_scores", "ml/next_step_predictions", "report/journey_map"} & alerting
    assert not any(key.startswith(("enriched/", "seeds/")) for key in alerting)
    assert {c.name for c in alerts.asset_check_keys} == {"expectations"}
    assert int(alerts.tags["dagster/priority"]) > int(full.tags.get("dagster/priority", 0))

    first = execute_request(defs, alerts, instance, QUIET)
    assert first.success
    assert _materialized(first) == alerting
    loaded = first.asset_materializations_for_node("raw__web_events")[0].metadata
    assert loaded["files_loaded"].value == 1

    result = execute_request(defs, full, instance, QUIET)
    assert result.success
    assert _materialized(result) == requested
    assert all(e.passed for e in result.get_asset_check_evaluations())
    # The full run finds the file loaded by the alerts run, and adds nothing twice.
    assert (
        result.asset_materializations_for_node("raw__web_events")[0].metadata["files_loaded"].value
        == 0
    )
    new_rows = _scalar(
        settings,
        "select count(distinct event_id) from raw.web_events where _file_name = ?",
        [new_file.name],
    )
    assert new_rows > 0
    assert loaded["rows_loaded"].value >= new_rows  # duplicates within the file count once below
    events_after = _scalar(settings, "select count(*) from marts.fct_events")
    assert events_after - events_before == new_rows

    # Incremental models take up where the alerts run left them: every mart is as a full run
    # alone makes it (the marts are dbt's: the core step of the same request is enough, without
    # its checks).
    core = AssetSelection.assets(*full.asset_selection) - AssetSelection.groups(
        "ml", "enriched", "report"
    )
    baseline_defs = _definitions(full_only)
    baseline = (
        baseline_defs.resolve_job_def("journeymap_full")
        .get_subset(
            asset_selection=core.resolve(baseline_defs.resolve_asset_graph()),
            asset_check_selection=set(),  # the checks ran on the other copy
        )
        .execute_in_process(instance=instance, run_config=QUIET)
    )
    assert baseline.success
    assert mart_fingerprints(settings.duckdb_path) == mart_fingerprints(full_only.duckdb_path)

    # The file triggers once: the next tick (same cursor) requests nothing.
    again = sensor(
        build_sensor_context(
            instance=instance, definitions=defs, resources=resources, cursor=tick.cursor
        )
    )
    assert not again.run_requests
