"""The retention period on a copy of the session fixture: the loads of its first four weeks
are made 500 days old and a 400-day period purges them. Afterwards raw and quarantine hold
none of their rows, the ledger and the rebuilt reconciliation still account for every row
that is left, the DuckDB file holds none of their ids, and the next dbt build leaves no
event, order or message of them in any incremental model or mart (the incremental models
rebuild from scratch: setting ``raw purges``)."""

from __future__ import annotations

import dataclasses
import re
import time
from datetime import UTC, datetime, timedelta

import duckdb
import pytest

from journeymap.load import QUARANTINE_TABLE
from journeymap.retention import LOG_TABLE, purge
from journeymap.transform import run_dbt
from tests.conftest import copy_workspace
from tests.integration.marts import query, scalar

pytestmark = pytest.mark.integration

DAYS = 400
PURGED_THROUGH = "2026-08-30"  # landing files of this day and before (the first four weeks)
FILE_DAY = r"regexp_extract({column}, '(\d{{4}}-\d{{2}}-\d{{2}})', 1)"
# The event sources and their ids as fct_events carries them (source_event_id).
EVENT_IDS = {
    "web_events": "event_id",
    "app_events": "event_id",
    "email_events": "email_event_id",
    "orders": "order_id",
    "support_messages": "message_id",
    "reviews": "review_id",
}
# The event stream and the reconciliation, without tests (the full build's marts equal a build
# from scratch after a purge: test_settings_changes.py).
BUILD = (
    "build",
    "--select",
    "+fct_events",
    "+mart_data_reconciliation",
    "--exclude",
    "resource_type:test",
    "resource_type:unit_test",
)
BUILT_INCREMENTAL = ", ".join(
    f"'model.journeymap.{name}'"
    for name in (
        "stg_tracking__web_events",
        "stg_tracking__app_events",
        "stg_esp__email_events",
        "int_events_sessionized",
    )
)


def _old(column: str, through: str = PURGED_THROUGH) -> str:
    return f"{FILE_DAY.format(column=column)} <= '{through}'"


def _days_ago(days: int) -> datetime:
    return datetime.now(UTC).replace(tzinfo=None) - timedelta(days=days)


def age_loads(connection: duckdb.DuckDBPyConnection, through: str, loaded_at: datetime) -> None:
    """The loads of the landing files of day ``through`` (ISO date, in their names) and
    before, as if loaded at ``loaded_at``: their ledger rows and every raw row they wrote."""
    tables = [
        name
        for (name,) in connection.execute(
            "select table_name from information_schema.columns "
            "where table_schema = 'raw' and column_name = '_loaded_at'"
        ).fetchall()
    ]
    for table in tables:
        connection.execute(
            f"update raw.{table} set _loaded_at = ? where {_old('_file_name', through)}",
            [loaded_at],
        )
    connection.execute(
        f"update raw.load_ledger set loaded_at = ? where {_old('file_name', through)}",
        [loaded_at],
    )


@pytest.fixture(scope="module")
def retention(built_warehouse, tmp_path_factory):
    root = tmp_path_factory.mktemp("retention")
    settings = dataclasses.replace(
        copy_workspace(built_warehouse.settings, root), retention_raw_days=DAYS
    )
    path = settings.duckdb_path
    landed_before = query(
        path, "select source_name, landed_rows from marts.mart_data_reconciliation"
    ).set_index("source_name")["landed_rows"]
    with duckdb.connect(str(path)) as connection:
        purged_ids = {
            source: {
                key
                for (key,) in connection.execute(
                    f"select {column} from raw.{source} where {_old('_file_name')}"
                ).fetchall()
            }
            for source, column in EVENT_IDS.items()
        }
        quarantined = connection.execute(
            f"select source, count(*) from raw.{QUARANTINE_TABLE} "
            f"where {_old('_file_name')} group by 1"
        ).fetchall()
        age_loads(connection, PURGED_THROUGH, _days_ago(500))
    in_marts_before = _in_fct_events(path, purged_ids)
    said: list[str] = []
    started = time.perf_counter()
    result = purge(settings, say=said.append)
    purge_seconds = time.perf_counter() - started
    started = time.perf_counter()
    run_dbt(settings, *BUILD, quiet=True)
    build_seconds = time.perf_counter() - started
    print(
        f"\nretention on the fixture: purged {result.rows_purged:,} rows of "
        f"{len(result.files)} files in {purge_seconds:.1f}s (compaction included); "
        f"dbt build after it {build_seconds:.0f}s"
    )
    return {
        "settings": settings,
        "result": result,
        "said": said,
        "purged_ids": purged_ids,
        "quarantined": dict(quarantined),
        "landed_before": landed_before,
        "in_marts_before": in_marts_before,
    }


def _in_fct_events(path, ids_by_source: dict[str, set[str]]) -> dict[str, int]:
    """Events of fct_events whose source id is one of ``ids_by_source`` (orders, messages and
    reviews count once per event they make)."""
    found = {}
    with duckdb.connect(str(path), read_only=True) as connection:
        for source, ids in ids_by_source.items():
            events = connection.execute(
                "select source_event_id from marts.fct_events where source = ?", [source]
            ).fetchall()
            found[source] = sum(1 for (event_id,) in events if event_id in ids)
    return found


def test_expired_rows_leave_raw_and_quarantine_and_the_log_counts_them(retention):
    settings, result = retention["settings"], retention["result"]
    path = settings.duckdb_path
    assert result.rows_purged > 0 and result.compacted
    for source, ids in retention["purged_ids"].items():
        assert ids, source
        assert result.rows_by_table[f"raw.{source}"] >= len(ids)  # duplicated rows too
        assert scalar(path, f"select count(*) from raw.{source} where {_old('_file_name')}") == 0
    assert result.rows_by_table["raw.quarantine"] == sum(retention["quarantined"].values())
    logged = query(
        path,
        f"select table_name, sum(rows_purged) as n from raw.{LOG_TABLE} "
        f"where purge_id = '{result.purge_id}' group by 1",
    ).set_index("table_name")["n"]
    assert logged.to_dict() == result.rows_by_table
    ledger = query(
        path,
        f"select status, count(*) as files, sum(rows_in_file) as rows from raw.load_ledger "
        f"where {_old('file_name')} group by 1",
    )
    assert ledger.status.tolist() == ["purged"] and ledger.rows.tolist() == [0]
    # Compacted: the purged events' ids are not in the file's bytes any more.
    sample = sorted(retention["purged_ids"]["web_events"])[:50]
    assert re.search("|".join(sample).encode(), path.read_bytes()) is None


def test_no_purged_event_survives_downstream_and_every_row_left_reconciles(retention):
    settings = retention["settings"]
    path = settings.duckdb_path
    before = retention["in_marts_before"]
    assert all(before.values()), before  # they were in the marts before the purge
    assert _in_fct_events(path, retention["purged_ids"]) == dict.fromkeys(before, 0)
    reconciliation = query(path, "select * from marts.mart_data_reconciliation")
    assert reconciliation.is_reconciled.all(), reconciliation[~reconciliation.is_reconciled]
    # Landed rows dropped by exactly the rows purged (raw rows and quarantined rows).
    by_table = retention["result"].rows_by_table
    landed = reconciliation.set_index("source_name")["landed_rows"]
    for source, before_rows in retention["landed_before"].items():
        purged = by_table.get(f"raw.{source}", 0) + retention["quarantined"].get(source, 0)
        assert landed[source] == before_rows - purged, source
    # The incremental models built were rebuilt with the purge recorded in their settings.
    recorded = query(
        path,
        "select model_name, fingerprint from main.journeymap_model_settings "
        f"where setting_name = 'raw purges' and model_name in ({BUILT_INCREMENTAL})",
    )
    assert sorted(recorded.fingerprint) == ["purges 1"] * 4


def test_the_next_purge_finds_nothing(retention):
    settings = retention["settings"]
    second = purge(settings, say=lambda _: None)
    assert second is not None and second.rows_purged == 0 and not second.compacted
