"""A full build in device slices (macros/build_slices.sql) gives exactly the one-statement
build: fct_events, fct_sessions, the per-owner path and customer tables (sliced by session
or customer) and every mart downstream."""

from __future__ import annotations

import pytest

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

    executed = settings.dbt_target_dir / "run/journeymap/models/marts"
    events_sql = (executed / "fct_events.sql").read_text()
    assert events_sql.count("set variable journeymap_build_slice =") == SLICES
    assert f"set variable journeymap_build_slice = {SLICES - 1};" in events_sql
    # Sessions are sized by web/app events only: fewer, but still more than one slice.
    sessions_sql = (executed / "fct_sessions.sql").read_text()
    assert 2 <= sessions_sql.count("set variable journeymap_build_slice =") <= SLICES
    # Per-owner models are sized by fct_events' rows (= events): sliced by session or customer.
    run_dir = settings.dbt_target_dir / "run/journeymap/models"
    for model in (
        "intermediate/int_session_path_steps",
        "intermediate/int_customer_activity",
        "intermediate/int_customer_path_steps",
        "intermediate/int_funnel_progress",
        "marts/fct_stage_transitions",
    ):
        sql = (run_dir / f"{model}.sql").read_text()
        assert sql.count("set variable journeymap_build_slice =") == SLICES, model
    assert_same_marts(before, mart_snapshot(settings.duckdb_path))


def test_compiled_sliced_sql_alone_selects_every_event(built_warehouse, tmp_path):
    """Outside the sliced build (dbt show, a hand run of the compiled SQL) nothing is lost."""
    settings = copy_workspace(built_warehouse.settings, tmp_path / "copy")
    run_dbt(
        settings,
        "compile",
        "--full-refresh",
        "--select",
        "fct_events",
        "--vars",
        "{build_slice_rows: 1000}",
        quiet=True,
    )
    compiled = (
        settings.dbt_target_dir / "compiled/journeymap/models/marts/fct_events.sql"
    ).read_text()
    assert "journeymap:build_slices=" in compiled
    rows = scalar(settings.duckdb_path, f"select count(*) from ({compiled})")
    assert rows == scalar(settings.duckdb_path, "select count(*) from marts.fct_events")
