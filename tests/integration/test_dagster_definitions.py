"""The Dagster definitions load, hold exactly the assets and checks we expect, and are wired right.

No warehouse here (only ``dbt parse``): these run in seconds. The stored snapshots list every asset
key and every asset check key; after an intended change, regenerate them with
``JOURNEYMAP_UPDATE_SNAPSHOTS=1 pytest tests/integration/test_dagster_definitions.py`` and review
the diff.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from dagster import AssetKey, DagsterInstance, SensorResult, build_sensor_context

from journeymap.contract import SOURCES
from journeymap.settings import Settings

pytestmark = pytest.mark.integration

HERE = Path(__file__).parent
ASSET_KEYS_SNAPSHOT = HERE / "dagster_asset_keys.txt"
CHECK_KEYS_SNAPSHOT = HERE / "dagster_asset_checks.txt"

# Assets nothing feeds: the demo's generator and the dbt seeds.
EXPECTED_ROOTS = {
    "demo/sample_data",
    "seeds/actions",
    "seeds/event_taxonomy",
    "seeds/funnel_definitions",
    "seeds/journey_stages",
    # Reads the raw tables of the project's own event sources: the demo declares none.
    "staging/stg_project__events",
}


@pytest.fixture(scope="module")
def defs():
    # dbt parse before the definitions are built (they read the manifest); never at import.
    from journeymap.orchestration.definitions import build_definitions
    from journeymap.orchestration.project import prepare_dbt_project

    settings = Settings()
    prepare_dbt_project(settings)
    return build_definitions(settings)


@pytest.fixture(scope="module")
def asset_graph(defs):
    return defs.resolve_asset_graph()


def _compare_with_snapshot(path: Path, lines: list[str]) -> None:
    text = "\n".join(lines) + "\n"
    if os.environ.get("JOURNEYMAP_UPDATE_SNAPSHOTS"):
        path.write_text(text)
    stored = path.read_text().splitlines()
    missing = sorted(set(stored) - set(lines))
    extra = sorted(set(lines) - set(stored))
    assert lines == stored, (
        f"{path.name} differs: missing {missing}, new {extra} "
        "(JOURNEYMAP_UPDATE_SNAPSHOTS=1 rewrites it after an intended change)"
    )


def test_definitions_load_and_asset_keys_match_snapshot(defs, asset_graph):
    type(defs).validate_loadable(defs)
    keys = sorted(key.to_user_string() for key in asset_graph.get_all_asset_keys())
    _compare_with_snapshot(ASSET_KEYS_SNAPSHOT, keys)
    assert len(keys) == 108


def test_asset_check_keys_match_snapshot(asset_graph):
    checks = sorted(
        f"{key.asset_key.to_user_string()}:{key.name}" for key in asset_graph.asset_check_keys
    )
    _compare_with_snapshot(CHECK_KEYS_SNAPSHOT, checks)


def test_graph_has_no_loose_ends(asset_graph):
    """Every asset is fed by another except the expected roots; nothing stands alone; every dbt
    source is an asset we materialize (no external stubs)."""
    all_keys = asset_graph.get_all_asset_keys()
    roots = {key.to_user_string() for key in all_keys if not asset_graph.get(key).parent_keys}
    assert roots == EXPECTED_ROOTS
    lonely = [
        key.to_user_string()
        for key in all_keys
        if not asset_graph.get(key).parent_keys and not asset_graph.get(key).child_keys
    ]
    assert lonely == []
    external = [k.to_user_string() for k in all_keys if not asset_graph.get(k).is_materializable]
    assert external == []


def test_project_sources_get_raw_assets_that_feed_dbt(tmp_path):
    """A project's own event source lands files: it gets its raw load asset, which feeds
    stg_project__events and (as every raw load) the loader's ledger and quarantine."""
    from journeymap.orchestration.definitions import build_definitions
    from journeymap.orchestration.project import prepare_dbt_project
    from journeymap.project import EventSource, Project

    project = Project(root=tmp_path, sources=(EventSource("helpdesk", "support"),))
    settings = Settings.for_workspace(tmp_path, project=project)
    prepare_dbt_project(settings)
    graph = build_definitions(settings).resolve_asset_graph()

    def parents(path: str) -> set[str]:
        node = graph.get(AssetKey.from_user_string(path))
        return {k.to_user_string() for k in node.parent_keys}

    assert parents("staging/stg_project__events") == {"raw/helpdesk"}
    assert "raw/helpdesk" in parents("staging/stg_loader__load_ledger")
    # Every raw load waits for the retention period's purge.
    assert parents("raw/helpdesk") == {"demo/sample_data", "raw/retention_log"}


def test_dbt_sources_map_to_the_assets_that_write_them(asset_graph):
    def parents(path: str) -> set[str]:
        return {
            k.to_user_string() for k in asset_graph.get(AssetKey.from_user_string(path)).parent_keys
        }

    assert parents("staging/stg_tracking__web_events") == {"raw/web_events"}
    assert parents("staging/stg_commerce__orders") == {"raw/orders"}
    assert parents("staging/stg_ml__churn_scores") == {"ml/churn_scores"}
    # The loader's ledger and quarantine are written by every raw load.
    assert parents("staging/stg_loader__load_ledger") == {f"raw/{name}" for name in SOURCES}
    # Python models read core marts only (dim_customers too: who refused analytics); the
    # enriched layer reads their output.
    assert parents("ml/churn_scores") == {
        "marts/fct_events",
        "marts/fct_sessions",
        "marts/fct_subscription_versions",
        "marts/fct_customer_texts",
        "marts/dim_customers",
    }
    assert parents("ml/text_labels") == {"marts/fct_customer_texts", "marts/dim_customers"}
    assert parents("ml/text_themes") == {
        "ml/text_labels",
        "marts/fct_customer_texts",
        "marts/dim_customers",
    }
    assert parents("staging/stg_ml__text_labels") == {"ml/text_labels"}
    assert parents("enriched/dim_customer_360") == {
        "marts/dim_customers",
        "staging/stg_ml__churn_scores",
        "staging/stg_ml__customer_segments",
        "staging/stg_ml__customer_value",
        "enriched/int_customer_text_stages",
        "seeds/journey_stages",
    }
    assert parents("ml/customer_value") == {"marts/fct_events", "marts/dim_customers"}
    # The persona cards quote churn risk and value: the segmentation runs after both models.
    assert parents("ml/customer_segments") == {
        "marts/dim_customers",
        "marts/fct_events",
        "marts/fct_sessions",
        "marts/fct_customer_texts",
        "marts/fct_subscription_versions",
        "marts/fct_journey_paths",
        "ml/churn_scores",
        "ml/customer_value",
        "ml/text_labels",
    }
    assert parents("ml/persona_cards") == {"ml/customer_segments"}


def test_data_flows_one_way(asset_graph):
    """staging -> intermediate -> marts -> ml -> enriched -> report: no asset reads a layer
    later than its own, and nothing in the core reads ML output."""
    order = ["demo", "raw", "seeds", "staging", "intermediate", "marts", "ml", "enriched"]
    order.append("report")

    def layer(key: AssetKey) -> int:
        prefix = key.path[0]
        if key.path[-1].startswith("stg_ml__"):
            return order.index("enriched")  # the enriched layer's staging of ML output
        return order.index(prefix)

    backwards = [
        f"{parent.to_user_string()} -> {key.to_user_string()}"
        for key in asset_graph.get_all_asset_keys()
        for parent in asset_graph.get(key).parent_keys
        if layer(parent) > layer(key)
    ]
    assert backwards == []
    core = [k for k in asset_graph.get_all_asset_keys() if layer(k) <= order.index("marts")]
    reads_ml = [k.to_user_string() for k in core if asset_graph.get(k).parent_keys & ML_KEYS]
    assert reads_ml == []


ML_KEYS = {
    AssetKey(["ml", table])
    for table in (
        "churn_scores",
        "customer_value",
        "customer_segments",
        "persona_cards",
        "persona_snapshots",
        "text_labels",
        "text_themes",
    )
}


def test_dbt_runs_in_two_plain_steps_around_the_python_models(defs):
    """dbt_core (all but models/enriched) -> ml/* -> dbt_enriched -> report."""
    job = defs.resolve_job_def("journeymap_full")
    assets = {a.node_def.name: a for a in defs.resolve_asset_graph().assets_defs if a.is_executable}
    core, enriched = assets["dbt_core"], assets["dbt_enriched"]
    assert {k.to_user_string() for k in enriched.keys} == {
        "staging/stg_ml__churn_scores",
        "staging/stg_ml__customer_value",
        "staging/stg_ml__customer_segments",
        "staging/stg_ml__persona_cards",
        "staging/stg_ml__persona_snapshots",
        "staging/stg_ml__text_labels",
        "staging/stg_ml__text_themes",
        "enriched/dim_customer_360",
        "enriched/dim_personas",
        "enriched/mart_persona_trends",
        "enriched/mart_segment_retention",
        "enriched/mart_segment_lifecycle",
        "staging/stg_ml__channel_attribution",
        "enriched/mart_attribution_comparison",
        "enriched/int_customer_text_stages",
        "enriched/fct_labelled_texts",
        "enriched/mart_emotional_journey",
        "enriched/mart_friction_themes",
        "enriched/mart_friction_theme_weeks",
        "staging/stg_ml__next_step_predictions",
        "staging/stg_ml__action_assignments",
        "enriched/int_action_outcomes",
        "enriched/mart_action_lift",
        "enriched/mart_predicted_drop_off",
    }
    assert AssetKey(["marts", "fct_events"]) in core.keys
    assert AssetKey(["marts", "dim_customers"]) in core.keys
    step_names = {node.name for node in job.graph.nodes}
    assert {"dbt_core", "dbt_enriched", "ml__churn_scores", "ml__channel_attribution"} <= step_names
    assert not any(name.startswith("dbt_core_") for name in step_names)  # no automatic split


def test_great_expectations_checks_block_downstream(defs):
    from journeymap.orchestration.checks import CHECK_NAME, GUARDED, expectation_checks

    specs = {spec.key: spec for checks in expectation_checks for spec in checks.check_specs}
    suites = {g.suite for g in GUARDED}
    assert suites == {f"raw.{name}" for name in SOURCES} | {
        "marts.fct_events",
        "marts.fct_sessions",
        "marts.dim_customers",
        "ml.churn_scores",
        "ml.text_labels",
        "enriched.dim_customer_360",
        "ml.customer_value",
        "ml.customer_segments",
        "ml.persona_cards",
        "marts.mart_retention_cohorts",
        "marts.mart_customer_lifecycle",
        "marts.mart_channel_attribution",
        "ml.channel_attribution",
    }
    for guarded in GUARDED:
        spec = next(
            s for k, s in specs.items() if k.asset_key == guarded.asset_key and k.name == CHECK_NAME
        )
        assert spec.blocking, guarded.suite


def test_steps_wait_for_the_blocking_suites_of_what_they_read(defs):
    """Each step's upstream steps include the GE checks of the assets it reads (a step holding
    its own checks on an upstream asset would be exempt: dbt source tests are not checks)."""
    job = defs.resolve_job_def("journeymap_full")
    structure = job.graph.dependency_structure

    def upstream(step: str) -> set[str]:
        return {output.node.name for output in structure.all_upstream_outputs_from_node(step)}

    raw_checks = {f"raw__{name}_expectations" for name in SOURCES}
    assert raw_checks <= upstream("dbt_core")
    assert {"marts__fct_events_expectations", "marts__fct_sessions_expectations"} <= upstream(
        "ml__churn_scores"
    )
    assert "ml__churn_scores_expectations" in upstream("dbt_enriched")
    assert {
        "ml__churn_scores_expectations",
        "ml__customer_value_expectations",
        "ml__text_labels_expectations",
    } <= upstream("customer_segments")
    assert {
        "ml__customer_segments_expectations",
        "ml__persona_cards_expectations",
    } <= upstream("dbt_enriched")
    assert "ml__text_labels_expectations" in upstream("dbt_enriched")
    assert "ml__text_labels_expectations" in upstream("ml__text_themes")
    assert "enriched__dim_customer_360_expectations" in upstream("report__journey_map")


def test_jobs_run_in_process_and_the_daily_schedule_targets_the_full_job(defs):
    full = defs.resolve_job_def("journeymap_full")
    demo = defs.resolve_job_def("journeymap_demo")
    assert full.executor_def.name == "in_process"
    assert demo.executor_def.name == "in_process"
    full_keys = {k.to_user_string() for k in full.asset_layer.executable_asset_keys}
    assert "demo/sample_data" not in full_keys
    assert {
        "raw/web_events",
        "marts/fct_events",
        "ml/churn_scores",
        "report/journey_map",
    } <= full_keys
    all_keys = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    assert full_keys == all_keys - {"demo/sample_data"}

    schedule = defs.resolve_schedule_def("journeymap_daily")
    assert schedule.job_name == "journeymap_full"
    assert schedule.cron_schedule == "0 5 * * *"
    assert schedule.execution_timezone == "UTC"


def test_the_alerts_job_builds_only_what_the_alert_rules_read(defs):
    """The risk alerts' own job: no model is recomputed but the text labels (incremental),
    and every job carries the tag the run queue lets one run of at a time (dagster.yaml)."""
    import yaml

    from journeymap.orchestration.jobs import WAREHOUSE_WRITER_TAG

    alerts = defs.resolve_job_def("journeymap_alerts")
    assert alerts.executor_def.name == "in_process"
    keys = {k.to_user_string() for k in alerts.asset_layer.executable_asset_keys}
    assert {"raw/web_events", "marts/fct_events", "marts/dim_customers"} <= keys
    assert {"ml/risk_alerts", "ml/text_labels"} <= keys
    assert not {k for k in keys if k.startswith(("ml/", "enriched/", "report/"))} - {
        "ml/risk_alerts",
        "ml/text_labels",
    }
    assert not {"marts/fct_sessions", "marts/mart_journey_map"} & keys
    for name in ("journeymap_full", "journeymap_demo", "journeymap_alerts"):
        assert WAREHOUSE_WRITER_TAG.items() <= defs.resolve_job_def(name).tags.items()
    instance = yaml.safe_load(
        (Path(__file__).parents[2] / "orchestration" / "dagster.yaml").read_text()
    )
    [limit] = instance["concurrency"]["runs"]["tag_concurrency_limits"]
    [(key, value)] = WAREHOUSE_WRITER_TAG.items()
    assert limit == {"key": key, "value": value, "limit": 1}


def test_the_daily_run_tests_changed_rows_and_every_row_on_sundays(defs):
    from dagster import build_schedule_context, validate_run_config

    schedule = defs.resolve_schedule_def("journeymap_daily")
    full = defs.resolve_job_def("journeymap_full")
    scopes = {}
    for day in range(23, 30):  # Monday 2026-11-23 to Sunday 2026-11-29
        at = datetime(2026, 11, day, 5, tzinfo=UTC)
        (request,) = schedule.evaluate_tick(
            build_schedule_context(scheduled_execution_time=at)
        ).run_requests
        validate_run_config(full, request.run_config)
        ops = request.run_config["ops"]
        assert ops["dbt_core"] == ops["dbt_enriched"]
        scopes[at.strftime("%a")] = ops["dbt_core"]["config"]["test_scope"]
    assert scopes == {
        "Mon": "changed",
        "Tue": "changed",
        "Wed": "changed",
        "Thu": "changed",
        "Fri": "changed",
        "Sat": "changed",
        "Sun": "all",
    }


def test_resources_come_from_one_settings_object(monkeypatch, tmp_path):
    from journeymap.orchestration.resources import build_resources

    monkeypatch.setenv("JOURNEYMAP_DUCKDB_PATH", str(tmp_path / "w.duckdb"))
    monkeypatch.setenv("JOURNEYMAP_DATA_DIR", str(tmp_path / "data"))
    settings = Settings()
    resources = build_resources(settings)
    assert resources["settings"] is settings
    assert settings.landing_dir == tmp_path / "data" / "landing"
    dbt = resources["dbt"]
    assert dbt.warehouse_env["JOURNEYMAP_DUCKDB_PATH"] == str(tmp_path / "w.duckdb")
    assert dbt.warehouse_env["JOURNEYMAP_TARGET"] == "duckdb"
    assert Path(dbt.profiles_dir) == settings.project_dir

    monkeypatch.setenv("JOURNEYMAP_TARGET", "snowflake")
    snowflake = build_resources(Settings())
    assert snowflake["dbt"].target == "snowflake"
    assert snowflake["dbt"].warehouse_env["JOURNEYMAP_TARGET"] == "snowflake"
    monkeypatch.setenv("JOURNEYMAP_TARGET", "postgres")
    with pytest.raises(ValueError, match="JOURNEYMAP_TARGET"):
        Settings()


def test_sensor_requests_only_the_affected_sources_once(defs, tmp_path):
    """Without a warehouse every landing file is new; with the cursor, a file triggers once."""
    from journeymap.orchestration.definitions import build_definitions
    from journeymap.orchestration.project import prepare_dbt_project
    from journeymap.orchestration.resources import build_resources

    settings = Settings.for_workspace(tmp_path)
    for source in ("orders", "reviews"):
        folder = settings.landing_dir / source
        folder.mkdir(parents=True)
        (folder / f"{source}_2026-10-01.csv").write_text("x\n")
    prepare_dbt_project(settings)
    local = build_definitions(settings)
    sensor = local.resolve_sensor_def("landing_files_sensor")
    instance = DagsterInstance.ephemeral()
    resources = {"settings": build_resources(settings)["settings"]}

    first = sensor(build_sensor_context(instance=instance, definitions=local, resources=resources))
    assert isinstance(first, SensorResult)
    alerts, request = first.run_requests
    assert (alerts.job_name, request.job_name) == ("journeymap_alerts", "journeymap_full")
    alerting = {k.to_user_string() for k in alerts.asset_selection}
    assert {"raw/orders", "raw/reviews", "ml/risk_alerts"} <= alerting
    assert "ml/churn_scores" not in alerting
    selected = {k.to_user_string() for k in request.asset_selection}
    assert {"raw/orders", "raw/reviews"} <= selected
    assert not {f"raw/{s}" for s in SOURCES if s not in ("orders", "reviews")} & selected
    assert "demo/sample_data" not in selected
    assert "staging/stg_commerce__orders" in selected
    assert "staging/stg_tracking__web_events" not in selected
    assert request.tags["journeymap/sources"] == "orders,reviews"

    second = sensor(
        build_sensor_context(
            instance=instance, definitions=local, resources=resources, cursor=first.cursor
        )
    )
    assert not second.run_requests
    assert "no new landing files" in second.skip_reason.skip_message
