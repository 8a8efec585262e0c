"""A full build in device slices (macros/build_slices.sql) gives exactly the one-statement
build: the sessionized events and sessions, the per-owner path and customer tables (sliced by
session or customer) and every mart downstream."""

from __future__ import annotations

import json

import duckdb
import pytest

from journeymap.settings import Settings
from journeymap.transform import run_dbt
from tests.conftest import copy_workspace
from tests.integration.marts import assert_same_marts, mart_snapshot, scalar

pytestmark = pytest.mark.integration

SLICES = 4


def test_sliced_full_build_equals_one_statement_build(built_warehouse, tmp_path):
    settings = copy_workspace(built_warehouse.settings, tmp_path / "copy")
    before = mart_snapshot(settings.duckdb_path)
    events = scalar(
        settings.duckdb_path, "select sum(event_count) from intermediate.int_event_name_mappings"
    )
    # The fixture builds in one statement (far below the default 10M rows per slice).
    assert events == scalar(settings.duckdb_path, "select count(*) from marts.fct_events")

    rows_per_slice = -(-events // SLICES)  # ceil: exactly SLICES slices
    run_dbt(
        settings,
        "build",
        "--full-refresh",
        "--vars",
        f"{{build_slice_rows: {rows_per_slice}}}",
        quiet=True,
    )

    executed = settings.dbt_target_dir / "run/journeymap/models/intermediate"
    events_sql = (executed / "int_events_sessionized.sql").read_text()
    assert events_sql.count("set variable journeymap_build_slice_from =") == SLICES
    assert "set variable journeymap_build_slice_from = 0::ubigint;" in events_sql
    assert f"set variable journeymap_build_slice_to = {2**64 - 1}::ubigint;" in events_sql
    # Sessions are sized by web/app events only: fewer, but still more than one slice.
    sessions_sql = (executed / "int_sessions_aggregated.sql").read_text()
    assert 2 <= sessions_sql.count("set variable journeymap_build_slice_from =") <= SLICES
    # Per-owner models are sized by the events: sliced by session or customer.
    run_dir = settings.dbt_target_dir / "run/journeymap/models"
    for model in (
        "intermediate/int_session_path_steps",
        "intermediate/int_customer_activity",
        "intermediate/int_customer_path_steps",
        "intermediate/int_funnel_progress",
        "intermediate/int_customer_stage_transitions",
    ):
        sql = (run_dir / f"{model}.sql").read_text()
        assert sql.count("set variable journeymap_build_slice_from =") == SLICES, model
    assert_same_marts(before, mart_snapshot(settings.duckdb_path))


def compiled_sliced_events(built_warehouse, tmp_path) -> tuple[Settings, str]:
    settings = copy_workspace(built_warehouse.settings, tmp_path / "copy")
    run_dbt(
        settings,
        "compile",
        "--full-refresh",
        "--select",
        "int_events_sessionized",
        "--vars",
        "{build_slice_rows: 1000}",
        quiet=True,
    )
    compiled = (
        settings.dbt_target_dir
        / "compiled/journeymap/models/intermediate/int_events_sessionized.sql"
    ).read_text()
    assert "journeymap:build_slices=" in compiled
    return settings, compiled


def test_compiled_sliced_sql_alone_selects_every_event(built_warehouse, tmp_path):
    """Outside the sliced build (dbt show, a hand run of the compiled SQL) nothing is lost."""
    settings, compiled = compiled_sliced_events(built_warehouse, tmp_path)
    rows = scalar(settings.duckdb_path, f"select count(*) from ({compiled})")
    assert rows == scalar(settings.duckdb_path, "select count(*) from marts.fct_events")


def test_slice_filter_reaches_the_sources_below_identity_stitching(built_warehouse, tmp_path):
    """Each slice stitches and maps only its own events: DuckDB pushes the slice's hash range
    below the join to int_identity_map (it kept `hash % slices` above it, so every slice
    joined the whole stream)."""
    settings, compiled = compiled_sliced_events(built_warehouse, tmp_path)
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as connection:
        connection.execute("set explain_output = 'optimized_only'")
        plan = json.loads(connection.execute(f"explain (format json) {compiled}").fetchall()[0][1])

    def nodes(node: dict) -> list[dict]:
        return [node, *(n for child in node.get("children", []) for n in nodes(child))]

    def text(node: dict) -> str:
        return json.dumps(node.get("extra_info", {}))

    slice_filters = [
        n for root in plan for n in nodes(root) if n["name"] == "FILTER" and "hash(" in text(n)
    ]
    assert len(slice_filters) >= 2  # one per source branch at least (web and app events)
    for slice_filter in slice_filters:
        joins_below = [n for n in nodes(slice_filter) if n["name"].endswith("JOIN")]
        assert not [n for n in joins_below if "identifier" in text(n)], text(slice_filter)
