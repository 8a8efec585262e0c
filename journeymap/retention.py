"""A retention period for raw and quarantine rows: ``journeymap purge`` and every run's start.

**Setting**: ``retention: raw_days: N`` in journeymap.yml, or ``JOURNEYMAP_RETENTION_RAW_DAYS``
(which overrides it; ``0`` turns it off). Default: off, nothing is ever purged.

**Older than**: a load (one landing file: its ``raw.<source>`` rows, its ``raw.quarantine``
rows and its ledger row) is expired when it was loaded - its ledger ``loaded_at``, the
``_loaded_at`` of every row it wrote: when journeymap received the file, in UTC - strictly
before the cutoff, ``now - raw_days days``. The load time rather than the events' own time:
it is one clock for every source (CRM rows have no event time, quarantined rows may have no
readable time at all), a file ages out whole (so the ledger, which counts files, stays
exact), and a late or replayed file is kept for the full period from when it arrived. A
backfill of old events is therefore kept ``raw_days`` from its load, not from the events.

**What a purge does** (the same accounting as ``journeymap forget``):

1. deletes the expired loads' rows from every raw source table and from quarantine;
2. keeps their ledger rows, their counts down to what raw still holds (zero) and their
   status ``purged`` (``journeymap.load.adjust_ledger``; re-deliveries of the same content
   counted with them too), so the ledger keeps reconciling and the same file delivered again
   is recognised by its checksum and not loaded again;
3. logs to ``raw.retention_log``: purge id, Dagster run id, time, cutoff, period, rows purged
   per table and file (no personal data), one row ``(nothing expired)`` when nothing was;
4. on DuckDB, compacts the file (``journeymap.erasure.compact``) so purged rows do not
   survive in free blocks (a purge killed before that leaves a marker, and the next purge or
   erasure compacts first: ``journeymap.erasure.compaction_pending``). On Snowflake the rows
   are deleted by the same SQL; Time Travel and Fail-safe keep them for the raw tables'
   ``DATA_RETENTION_TIME_IN_DAYS`` plus 7 days.

Downstream: dbt's incremental models record the number of purges that removed rows as one of
their settings (``raw purges``, ``macros/settings_state.sql``), so the next build after such a
purge rebuilds them from scratch, like after a changed setting: marts then equal a build over
the retained rows only. (Erasure deletes a person's rows from them instead; a purge's rows
cannot be traced through the aggregates.)
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from journeymap.erasure import compact_if_pending, compaction_pending
from journeymap.load import (
    LEDGER_TABLE,
    QUARANTINE_TABLE,
    RAW_SCHEMA,
    STATUS_LOADED,
    STATUS_PURGED,
    adjust_ledger,
)
from journeymap.settings import RETENTION_ENV_VAR, Settings
from journeymap.warehouse import Warehouse, open_warehouse, run_lock, table_exists

LOG_TABLE = "retention_log"
LOG_COLUMNS = {
    "purge_id": "varchar",
    "run_id": "varchar",  # the Dagster run that purged; null for `journeymap purge`
    "purged_at": "timestamp",
    "cutoff": "timestamp",
    "raw_days": "bigint",
    "table_name": "varchar",
    "load_id": "varchar",
    "file_name": "varchar",
    "rows_purged": "bigint",
}
NOTHING_EXPIRED = "(nothing expired)"
OFF_MESSAGE = (
    "the retention period is off: set `retention: raw_days: N` in journeymap.yml or "
    f"{RETENTION_ENV_VAR}=N to purge raw and quarantine rows loaded more than N days ago"
)


@dataclass
class PurgeResult:
    """What a purge removed (or, with ``dry_run``, would remove)."""

    purge_id: str
    purged_at: datetime
    cutoff: datetime
    raw_days: int
    dry_run: bool
    run_id: str | None = None
    # (table, load id) -> rows; every expired load is in ``files`` even if it held no rows.
    rows: dict[tuple[str, str], int] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)  # load id -> <source>/<file name>
    compacted: bool = False

    @property
    def rows_purged(self) -> int:
        return sum(self.rows.values())

    @property
    def rows_by_table(self) -> dict[str, int]:
        totals: Counter[str] = Counter()
        for (table, _), n in self.rows.items():
            totals[table] += n
        return dict(sorted(totals.items()))

    def summary(self) -> str:
        verb = "would purge" if self.dry_run else "purged"
        tables = ", ".join(f"{t}: {n:,}" for t, n in self.rows_by_table.items())
        return (
            f"retention {self.raw_days} days (loads before {self.cutoff:%Y-%m-%d %H:%M} UTC): "
            f"{verb} {self.rows_purged:,} rows of {len(self.files)} files"
            + (f" ({tables})" if tables else "")
            + (f"; purge {self.purge_id} in raw.{LOG_TABLE}" if not self.dry_run else "")
            + ("; warehouse file compacted" if self.compacted else "")
        )


def _loaded_tables(warehouse: Warehouse, result: PurgeResult) -> list[str]:
    """The raw tables the expired loads wrote: their sources' (from the ledger, so also a
    source the project no longer declares) and quarantine."""
    sources = sorted({name.split("/", 1)[0] for name in result.files.values()})
    return [t for t in (*sources, QUARANTINE_TABLE) if table_exists(warehouse, RAW_SCHEMA, t)]


def _expired_loads_sql(warehouse: Warehouse, columns: str = "_load_id") -> str:
    """The ledger rows of the expired loads (parameter: the cutoff)."""
    return (
        f"select {columns} from {warehouse.relation(RAW_SCHEMA, LEDGER_TABLE)} "
        f"where status = '{STATUS_LOADED}' and loaded_at < ?"
    )


def _find_expired(warehouse: Warehouse, result: PurgeResult) -> None:
    """Fill ``result`` with the expired loads and their rows per table."""
    loads = warehouse.query_df(
        _expired_loads_sql(warehouse, "_load_id as load_id, source, file_name")
        + " order by _load_id",
        [result.cutoff],
    )
    result.files = {str(row.load_id): f"{row.source}/{row.file_name}" for row in loads.itertuples()}
    if not result.files:
        return
    for table in _loaded_tables(warehouse, result):
        counts = warehouse.query_df(
            f"select _load_id as load_id, count(*) as n "
            f"from {warehouse.relation(RAW_SCHEMA, table)} "
            f"where _load_id in ({_expired_loads_sql(warehouse)}) group by _load_id",
            [result.cutoff],
        )
        for row in counts.itertuples():
            result.rows[(f"{RAW_SCHEMA}.{table}", str(row.load_id))] = int(row.n)


def _delete_expired(warehouse: Warehouse, result: PurgeResult) -> None:
    """Delete the expired loads' rows and adjust their ledger rows, in one transaction."""
    removed: Counter[str] = Counter(dict.fromkeys(result.files, 0))
    quarantined: Counter[str] = Counter()
    for (table, load_id), n in result.rows.items():
        removed[load_id] += n
        if table == f"{RAW_SCHEMA}.{QUARANTINE_TABLE}":
            quarantined[load_id] += n
    with warehouse.transaction():
        # Rows first: the ledger's status still says which loads are expired.
        for table in _loaded_tables(warehouse, result):
            warehouse.execute(
                f"delete from {warehouse.relation(RAW_SCHEMA, table)} "
                f"where _load_id in ({_expired_loads_sql(warehouse)})",
                [result.cutoff],
            )
        adjust_ledger(warehouse, removed, quarantined, status=STATUS_PURGED)
        _log(warehouse, result)


def _log(warehouse: Warehouse, result: PurgeResult) -> None:
    head = [result.purge_id, result.run_id, result.purged_at, result.cutoff, result.raw_days]
    rows: list[list[Any]] = [
        [*head, table, load_id, result.files[load_id].split("/", 1)[1], n]
        for (table, load_id), n in sorted(result.rows.items())
    ] or [[*head, NOTHING_EXPIRED, None, None, 0]]
    warehouse.ensure_tables(RAW_SCHEMA, {LOG_TABLE: LOG_COLUMNS})
    placeholders = ", ".join(f"({', '.join('?' for _ in LOG_COLUMNS)})" for _ in rows)
    warehouse.execute(
        f"insert into {warehouse.relation(RAW_SCHEMA, LOG_TABLE)} "
        f"({', '.join(map(warehouse.quote, LOG_COLUMNS))}) values {placeholders}",
        [value for row in rows for value in row],
    )


def purge_expired(
    settings: Settings,
    dry_run: bool = False,
    now: datetime | None = None,
    say: Callable[[str], None] = print,
    tag: str | None = None,
    run_id: str | None = None,
) -> PurgeResult | None:
    """Purge the loads older than the retention period (module docstring); None when the
    period is off. The caller holds the run lock (a run's first step, or ``purge``).
    ``now``: the purge's time (UTC, naive; default the clock); ``tag``: the sessions' query
    tag; ``run_id``: the Dagster run purging, for the log."""
    days = settings.retention_raw_days
    if not days:
        return None
    purged_at = (now or datetime.now(UTC)).replace(tzinfo=None)
    result = PurgeResult(
        purge_id=uuid.uuid4().hex,
        purged_at=purged_at,
        cutoff=purged_at - timedelta(days=days),
        raw_days=days,
        dry_run=dry_run,
        run_id=run_id,
    )
    with open_warehouse(settings, tag=tag) as warehouse:
        if not table_exists(warehouse, RAW_SCHEMA, LEDGER_TABLE):
            say(result.summary())
            return result  # nothing loaded yet: nothing to purge or log
        _find_expired(warehouse, result)
        if not dry_run:
            if result.rows_purged and settings.warehouse_kind == "duckdb":
                pending = compaction_pending(settings)
                pending.touch()  # before the delete: a crash before compact leaves it behind
            _delete_expired(warehouse, result)
    if not dry_run and compact_if_pending(settings):
        result.compacted = True
    say(result.summary())
    return result


def purge(
    settings: Settings,
    dry_run: bool = False,
    now: datetime | None = None,
    say: Callable[[str], None] = print,
) -> PurgeResult | None:
    """``journeymap purge``: ``purge_expired`` under the installation's run lock (a run must
    not load or build between the purge's steps)."""
    if not settings.retention_raw_days:
        say(OFF_MESSAGE)
        return None
    with run_lock(settings, "journeymap purge"):
        return purge_expired(settings, dry_run=dry_run, now=now, say=say)
