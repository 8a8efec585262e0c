"""The retention period (journeymap.retention): expired loads leave raw and quarantine, the
ledger keeps reconciling and remembers them, the purge is logged and compacted away."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from journeymap.load import load_landing
from journeymap.project import ProjectError, load_project
from journeymap.retention import LOG_TABLE, NOTHING_EXPIRED, OFF_MESSAGE, purge, purge_expired
from journeymap.settings import RETENTION_ENV_VAR, Settings
from journeymap.warehouse import DuckDBWarehouse
from tests.unit.test_load import assert_counts_reconcile, order_row, rows, web_row, write_csv

DAYS = 400
# A value only the expired orders file holds: its bytes must not survive the purge.
MARKER = "purgedmarker7f3a9c"
# The loads' ages are set from this clock; a purge without a time of its own (the asset) runs
# seconds later, far from any cutoff (the nearest load is a day inside it).
NOW = datetime.now(UTC).replace(tzinfo=None)


def _age(settings: Settings, file_name: str, days: int) -> None:
    """Make the load of ``file_name`` look ``days`` old: its ledger row and every row it wrote."""
    loaded_at = NOW - timedelta(days=days)
    with DuckDBWarehouse(settings.duckdb_path) as warehouse:
        for table in ("load_ledger", "orders", "web_events", "quarantine"):
            column = "file_name" if table == "load_ledger" else "_file_name"
            time_column = "loaded_at" if table == "load_ledger" else "_loaded_at"
            warehouse.execute(
                f"update raw.{table} set {time_column} = ? where {column} = ?",
                [loaded_at, file_name],
            )


def _load(settings: Settings) -> list[tuple[str, str]]:
    with DuckDBWarehouse(settings.duckdb_path) as warehouse:
        report = load_landing(warehouse, settings.landing_dir)
    return [(f.file_name, f.status) for f in report.files]


def _query(settings: Settings, sql: str) -> list[dict]:
    with DuckDBWarehouse(settings.duckdb_path, read_only=True) as warehouse:
        return rows(warehouse, sql)


def _snapshot(settings: Settings) -> list[list[dict]]:
    tables = ("raw.orders", "raw.web_events", "raw.quarantine", "raw.load_ledger")
    return [_query(settings, f"select * from {t} order by all") for t in tables]


@pytest.fixture
def workspace(tmp_path: Path) -> Settings:
    """Two orders files and one web events file, each with a quarantined row; the first
    orders file and the web file loaded 500 days ago, the second orders file 10 days ago."""
    settings = dataclasses.replace(Settings.for_workspace(tmp_path), retention_raw_days=DAYS)
    landing = settings.landing_dir
    old = [order_row("o1", customer_id=MARKER), order_row("o2"), order_row("o3", amount="x")]
    write_csv(landing / "orders" / "orders_001.csv", old)
    write_csv(landing / "orders" / "orders_002.csv", [order_row("o4"), order_row("o5", amount="y")])
    write_csv(landing / "web_events" / "web_001.csv", [web_row("e1"), web_row("e2")])
    write_csv(
        landing / "web_events" / "web_002.csv",
        [web_row("e3", occurred_at="not a time"), web_row("e4")],
    )
    _load(settings)
    for name, days in (("orders_001.csv", 500), ("web_001.csv", 500), ("orders_002.csv", 10)):
        _age(settings, name, days)
    _age(settings, "web_002.csv", DAYS - 1)  # inside the period by a day
    return settings


def test_expired_loads_leave_raw_and_quarantine_and_the_ledger_reconciles(workspace) -> None:
    result = purge_expired(workspace, now=NOW, say=lambda _: None)

    assert result is not None and result.cutoff == NOW - timedelta(days=DAYS)
    assert sorted(result.files.values()) == ["orders/orders_001.csv", "web_events/web_001.csv"]
    assert result.rows_by_table == {"raw.orders": 2, "raw.quarantine": 1, "raw.web_events": 2}
    assert _query(workspace, "select order_id from raw.orders order by 1") == [{"order_id": "o4"}]
    assert _query(workspace, "select event_id from raw.web_events order by 1") == [
        {"event_id": "e4"}
    ]
    quarantined = _query(
        workspace, "select _file_name, count(*) as n from raw.quarantine group by 1 order by 1"
    )
    assert quarantined == [
        {"_file_name": "orders_002.csv", "n": 1},
        {"_file_name": "web_002.csv", "n": 1},
    ]
    ledger = _query(
        workspace,
        "select file_name, status, rows_in_file, rows_loaded, rows_quarantined "
        "from raw.load_ledger order by 1",
    )
    assert [tuple(r.values()) for r in ledger] == [
        ("orders_001.csv", "purged", 0, 0, 0),
        ("orders_002.csv", "loaded", 2, 1, 1),
        ("web_001.csv", "purged", 0, 0, 0),
        ("web_002.csv", "loaded", 2, 1, 1),
    ]
    with DuckDBWarehouse(workspace.duckdb_path, read_only=True) as warehouse:
        assert_counts_reconcile(warehouse)
    # The log: rows per table and file, adding up to the rows deleted; no record content.
    log = _query(
        workspace,
        f"select table_name, file_name, rows_purged, cutoff, raw_days from raw.{LOG_TABLE} "
        "order by 1, 2",
    )
    assert [(r["table_name"], r["file_name"], r["rows_purged"]) for r in log] == [
        ("raw.orders", "orders_001.csv", 2),
        ("raw.quarantine", "orders_001.csv", 1),
        ("raw.web_events", "web_001.csv", 2),
    ]
    assert sum(r["rows_purged"] for r in log) == result.rows_purged == 5
    assert {(r["cutoff"], r["raw_days"]) for r in log} == {(NOW - timedelta(days=DAYS), DAYS)}
    # Compacted: the purged rows' values are not in the file's free blocks.
    assert result.compacted and MARKER.encode() not in workspace.duckdb_path.read_bytes()


def test_dry_run_changes_nothing_and_counts_what_would_go(workspace) -> None:
    before = _snapshot(workspace)
    said: list[str] = []

    result = purge(workspace, dry_run=True, now=NOW, say=said.append)

    assert result is not None and result.rows_purged == 5 and not result.compacted
    assert "would purge 5 rows of 2 files" in said[0]
    assert _snapshot(workspace) == before
    logs = f"select count(*) as n from information_schema.tables where table_name = '{LOG_TABLE}'"
    assert _query(workspace, logs) == [{"n": 0}]


def test_off_by_default_purges_nothing(workspace, monkeypatch) -> None:
    monkeypatch.delenv(RETENTION_ENV_VAR, raising=False)
    off = Settings.for_workspace(workspace.data_dir.parent)
    assert off.retention_raw_days is None
    before = _snapshot(workspace)
    said: list[str] = []

    assert purge_expired(off, now=NOW) is None
    assert purge(off, now=NOW, say=said.append) is None

    assert said == [OFF_MESSAGE]
    assert _snapshot(workspace) == before


def test_a_second_purge_is_a_no_op_and_logged_as_such(workspace) -> None:
    purge(workspace, now=NOW, say=lambda _: None)
    after_first = _snapshot(workspace)

    second = purge(workspace, now=NOW + timedelta(hours=1), say=lambda _: None)

    assert second is not None and second.rows_purged == 0 and second.files == {}
    assert not second.compacted
    assert _snapshot(workspace) == after_first
    last = _query(
        workspace,
        f"select table_name, rows_purged from raw.{LOG_TABLE} where purge_id = '{second.purge_id}'",
    )
    assert last == [{"table_name": NOTHING_EXPIRED, "rows_purged": 0}]


def test_a_purged_file_delivered_again_is_not_loaded_again(workspace) -> None:
    # A re-delivery under another name before the purge: counted with its load, purged with it.
    orders = workspace.landing_dir / "orders"
    (orders / "orders_001_resent.csv").write_bytes((orders / "orders_001.csv").read_bytes())
    assert ("orders_001_resent.csv", "duplicate_file") in _load(workspace)
    purge(workspace, now=NOW, say=lambda _: None)

    # The same files again (all still in the landing folder), and once more under a new name.
    (orders / "orders_001_again.csv").write_bytes((orders / "orders_001.csv").read_bytes())
    statuses = dict(_load(workspace))

    assert statuses["orders_001.csv"] == statuses["orders_001_resent.csv"] == "skipped"
    assert statuses["web_001.csv"] == "skipped"
    assert statuses["orders_001_again.csv"] == "purged"
    assert _query(workspace, "select order_id from raw.orders order by 1") == [{"order_id": "o4"}]
    ledger = _query(
        workspace,
        "select file_name, status, rows_in_file from raw.load_ledger "
        "where file_name like 'orders_001%' order by 1",
    )
    assert ledger == [
        {"file_name": "orders_001.csv", "status": "purged", "rows_in_file": 0},
        {"file_name": "orders_001_again.csv", "status": "purged", "rows_in_file": 0},
        {"file_name": "orders_001_resent.csv", "status": "purged", "rows_in_file": 0},
    ]
    with DuckDBWarehouse(workspace.duckdb_path, read_only=True) as warehouse:
        assert_counts_reconcile(warehouse)


def test_the_period_comes_from_the_project_and_the_env_var_overrides(
    tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.delenv(RETENTION_ENV_VAR, raising=False)
    (tmp_path / "journeymap.yml").write_text("retention:\n  raw_days: 400\n")
    assert Settings.load(tmp_path).retention_raw_days == 400
    monkeypatch.setenv(RETENTION_ENV_VAR, "30")
    assert Settings.load(tmp_path).retention_raw_days == 30
    monkeypatch.setenv(RETENTION_ENV_VAR, "0")  # 0 turns it off
    assert Settings.load(tmp_path).retention_raw_days is None
    monkeypatch.delenv(RETENTION_ENV_VAR)
    (tmp_path / "journeymap.yml").write_text("retention:\n  raw_days: a year\n")
    with pytest.raises(ProjectError, match="retention.raw_days must be a whole number of days"):
        load_project(tmp_path)
    (tmp_path / "journeymap.yml").write_text("retention:\n  days: 400\n")
    with pytest.raises(ProjectError, match="unknown key days"):
        load_project(tmp_path)


def test_a_run_purges_before_its_loads(workspace) -> None:
    """The Dagster asset every raw load waits for purges with the run's settings."""
    from dagster import materialize

    from journeymap.orchestration.assets.raw import raw_retention

    result = materialize([raw_retention], resources={"settings": workspace})

    [materialization] = result.asset_materializations_for_node(raw_retention.op.name)
    metadata = {k: v.value for k, v in materialization.metadata.items()}
    assert (metadata["files_purged"], metadata["rows_purged"]) == (2, 5)  # 500 days old
    assert _query(workspace, "select count(*) as n from raw.orders") == [{"n": 1}]
    logged = _query(workspace, f"select distinct run_id from raw.{LOG_TABLE}")
    assert logged == [{"run_id": result.run_id}]


def test_the_purge_speaks_snowflake_sql(workspace, monkeypatch) -> None:
    """Every statement of a purge passes the Snowflake SQL guard (the purge runs the same SQL
    there through the warehouse interface; only the compaction is DuckDB's)."""
    from contextlib import contextmanager

    import journeymap.retention as retention
    from tests.helpers.snowflake_sql import snowflake_sql_problems

    statements: list[str] = []

    class Recording(DuckDBWarehouse):
        def execute(self, sql, params=None):
            statements.append(sql)
            return super().execute(sql, params)

        def query_df(self, sql, params=None):
            statements.append(sql)
            return super().query_df(sql, params)

    @contextmanager
    def recording(settings, read_only=False, tag=None):
        with Recording(settings.duckdb_path) as warehouse:
            yield warehouse

    monkeypatch.setattr(retention, "open_warehouse", recording)
    assert purge_expired(workspace, now=NOW, say=lambda _: None).rows_purged == 5

    # Queries, deletes and updates: the guard reads `insert into t (columns)` as a call of a
    # function t (the loader writes its ledger with the same insert on Snowflake), and the
    # DDL is the warehouse's own (ensure_tables).
    checked = ("select", "delete", "update")
    purge_sql = [
        s for s in statements if s.startswith(checked) and "information_schema" not in s.lower()
    ]
    assert any(s.startswith("delete from") for s in purge_sql)
    assert any("left(_load_id" in s for s in purge_sql)  # the ledger's re-deliveries
    assert {s: snowflake_sql_problems(s) for s in purge_sql} == dict.fromkeys(purge_sql, [])


def test_a_purge_killed_before_its_compaction_is_compacted_by_the_next(
    workspace, monkeypatch
) -> None:
    import journeymap.erasure as erasure
    import journeymap.retention as retention

    def killed(path: Path) -> None:
        raise KeyboardInterrupt("killed before the compaction")

    monkeypatch.setattr(erasure, "compact", killed)  # the compaction purge and forget share
    with pytest.raises(KeyboardInterrupt):
        purge_expired(workspace, now=NOW, say=lambda _: None)
    assert retention.compaction_pending(workspace).exists()
    assert MARKER.encode() in workspace.duckdb_path.read_bytes()  # deleted, not yet gone
    monkeypatch.undo()

    again = purge_expired(workspace, now=NOW, say=lambda _: None)

    assert again is not None and again.rows_purged == 0 and again.compacted
    assert not retention.compaction_pending(workspace).exists()
    assert MARKER.encode() not in workspace.duckdb_path.read_bytes()
