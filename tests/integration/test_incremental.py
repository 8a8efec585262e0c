"""Incremental runs equal a full refresh; re-loading or re-building changes nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from journeymap.generator import generate
from journeymap.load import load_landing
from journeymap.settings import Settings
from journeymap.transform import build
from journeymap.warehouse import DuckDBWarehouse
from tests.conftest import copy_workspace
from tests.integration.marts import assert_same_marts, mart_snapshot, scalar

pytestmark = pytest.mark.integration


def _load(settings: Settings) -> int:
    with DuckDBWarehouse(settings.duckdb_path) as warehouse:
        return load_landing(warehouse, settings.landing_dir).rows_loaded


def _hold_back(
    landing: Path, parked: Path, day: str, sources: tuple[str, ...] | None = None
) -> int:
    """Move one day's landing files aside (as if they had not arrived yet)."""
    moved = 0
    for path in sorted(landing.glob(f"*/*_{day}.csv")):
        if sources and path.parent.name not in sources:
            continue
        target = parked / path.parent.name / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(path, target)
        moved += 1
    return moved


def _release(parked: Path, landing: Path) -> None:
    for path in sorted(parked.glob("*/*.csv")):
        shutil.move(path, landing / path.parent.name / path.name)


def test_reloading_and_rebuilding_change_no_mart(built_warehouse, tmp_path):
    settings = copy_workspace(built_warehouse.settings, tmp_path / "copy")
    before = mart_snapshot(settings.duckdb_path)
    ledger_before = scalar(settings.duckdb_path, "select count(*) from raw.load_ledger")

    assert _load(settings) == 0
    assert scalar(settings.duckdb_path, "select count(*) from raw.load_ledger") == ledger_before
    build(settings)

    assert_same_marts(before, mart_snapshot(settings.duckdb_path))


def test_redelivered_file_is_counted_as_duplicate_and_changes_nothing_else(
    built_warehouse, tmp_path
):
    settings = copy_workspace(built_warehouse.settings, tmp_path / "copy")
    before = mart_snapshot(settings.duckdb_path)
    original = sorted((settings.landing_dir / "orders").glob("*.csv"))[-1]
    resent = original.with_name("resent_" + original.name)
    shutil.copyfile(original, resent)
    rows_in_file = scalar(
        settings.duckdb_path,
        f"select rows_in_file from raw.load_ledger where file_name = '{original.name}'",
    )

    assert _load(settings) == 0
    build(settings)

    after = mart_snapshot(settings.duckdb_path)
    reconciliation = after.pop("mart_data_reconciliation").set_index("source_name")
    expected = before.pop("mart_data_reconciliation").set_index("source_name")
    assert_same_marts(before, after)
    orders, orders_before = reconciliation.loc["orders"], expected.loc["orders"]
    assert rows_in_file > 0
    assert orders.duplicate_file_rows == rows_in_file
    assert orders.landed_rows == orders_before.landed_rows + rows_in_file
    assert orders.deduplicated_rows == orders_before.deduplicated_rows + rows_in_file
    assert orders.files == orders_before.files + 1
    assert reconciliation.is_reconciled.all()


def test_incremental_day_and_late_events_equal_full_refresh(tmp_path):
    settings = Settings.for_workspace(tmp_path / "incremental")
    generate(settings.data_dir, customers=300, days=21, seed=11)
    parked = tmp_path / "parked"
    # The last day arrives tomorrow; day 3's web events arrive late, after history was built.
    assert _hold_back(settings.landing_dir, parked, "2026-10-31") > 0
    assert _hold_back(settings.landing_dir, parked, "2026-10-13", sources=("web_events",)) == 1

    _load(settings)
    build(settings)
    events_before = scalar(settings.duckdb_path, "select count(*) from marts.fct_events")

    _release(parked, settings.landing_dir)
    assert _load(settings) > 0
    build(settings)
    incremental = mart_snapshot(settings.duckdb_path)
    assert len(incremental["fct_events"]) > events_before

    full = copy_workspace(settings, tmp_path / "full")
    build(full, full_refresh=True)
    assert_same_marts(incremental, mart_snapshot(full.duckdb_path))
