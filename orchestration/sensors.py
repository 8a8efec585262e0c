"""Sensors: new landing files trigger two runs: their risk alerts first, then everything they feed.

``landing_files_sensor`` lists ``<data>/landing/<source>/``. A file is new when its name is not in
the sensor's cursor and its content is not in ``raw.load_ledger`` (the loader's own test: same
source, same sha256; a header-only file of a quiet day has the content of an earlier one). For
the sources with new files it requests two runs:

* ``journeymap_alerts`` (queue priority 10): ``raw/<source>``, the models between it and what
  the alert rules read, and ``ml/risk_alerts`` (jobs.alert_path), checked by their Great
  Expectations suites only (``alert_checks``): the alerts in well under a minute;
* ``journeymap_full``: ``raw/<source>`` and everything downstream of it (dbt models, churn,
  report and their checks), nothing else. Its raw load finds the files loaded by the alerts
  run and adds nothing; its incremental models take up from their own high-water marks.

The queue runs one at a time (both carry the warehouse-writer tag). Every file it has looked at
goes into the cursor, so a file triggers these two runs at most once (and the run keys, made
from the file names, guard against a repeat). The cursor keeps only names still in the landing
folders, so it stays as small as the folders are.

Only files the cursor has not seen are hashed, and the ledger is read only when there are such
files, with a read-only connection that is closed at once; while a run holds DuckDB's write lock
the tick is skipped and the files are looked at again on the next one.
"""

import hashlib
import json
from pathlib import Path

from dagster import (
    AssetCheckKey,
    AssetKey,
    AssetSelection,
    DefaultSensorStatus,
    ResourceParam,
    RunRequest,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)

from journeymap.load import LoadError, file_sha256, landing_files
from journeymap.orchestration.checks import CHECK_NAME
from journeymap.orchestration.jobs import ALERTS_PRIORITY_TAG, alert_path, alerts_job, full_job
from journeymap.orchestration.keys import raw_key
from journeymap.settings import Settings
from journeymap.warehouse import WarehouseBusyError, open_warehouse, query_tag, table_exists

FileId = tuple[str, str]  # (source, file name)


def read_cursor(cursor: str | None) -> set[FileId]:
    if not cursor:
        return set()
    seen = json.loads(cursor).get("seen", {})
    return {(source, name) for source, names in seen.items() for name in names}


def write_cursor(seen: set[FileId]) -> str:
    by_source: dict[str, list[str]] = {}
    for source, name in sorted(seen):
        by_source.setdefault(source, []).append(name)
    return json.dumps({"seen": by_source}, separators=(",", ":"))


def current_files(settings: Settings) -> dict[FileId, Path]:
    if not settings.landing_dir.is_dir():
        return {}
    files, _ = landing_files(settings.landing_dir, contracts=settings.source_contracts)
    return {(source, path.name): path for source, path in files}


def loaded_contents(settings: Settings, sources: set[str]) -> set[tuple[str, str]]:
    """(source, sha256) of every file the warehouse has loaded (empty before the first load)."""
    if settings.warehouse_kind == "duckdb" and not settings.duckdb_path.exists():
        return set()
    tag = query_tag(sensor="landing_files_sensor")
    with open_warehouse(settings, read_only=True, tag=tag) as connection:
        if not table_exists(connection, "raw", "load_ledger"):
            return set()
        placeholders = ", ".join("?" for _ in sources)
        frame = connection.query_df(
            "select distinct source, file_sha256 from raw.load_ledger "
            f"where source in ({placeholders})",
            sorted(sources),
        )
    return {(row.source, row.file_sha256) for row in frame.itertuples(index=False)}


def affected_assets(context: SensorEvaluationContext, sources: set[str]) -> list[AssetKey]:
    """The raw assets of ``sources`` and every asset downstream of them."""
    selection = AssetSelection.assets(*(raw_key(s) for s in sorted(sources))).downstream()
    return _resolve(context, selection)


def alert_assets(context: SensorEvaluationContext, sources: set[str]) -> list[AssetKey]:
    """The raw assets of ``sources``, what of theirs the alert rules read, and the outbox."""
    return _resolve(context, alert_path(sources))


def alert_checks(context: SensorEvaluationContext, assets: list[AssetKey]) -> list[AssetCheckKey]:
    """The Great Expectations suites of ``assets`` (blocking: bad data raises no alert). The
    dbt tests (and dbt's unit tests) are left to the full run that follows: they are most of
    a dbt step's time, and the keys they hold do not decide an alert (alert ids are
    deterministic, so a duplicate row cannot alert twice)."""
    selected = set(assets)
    check_keys = context.repository_def.asset_graph.asset_check_keys
    return sorted(
        (k for k in check_keys if k.asset_key in selected and k.name == CHECK_NAME),
        key=lambda k: k.to_user_string(),
    )


def _resolve(context: SensorEvaluationContext, selection: AssetSelection) -> list[AssetKey]:
    asset_graph = context.repository_def.asset_graph
    return sorted(selection.resolve(asset_graph), key=lambda key: key.to_user_string())


@sensor(
    name="landing_files_sensor",
    jobs=[alerts_job, full_job],
    minimum_interval_seconds=15,
    default_status=DefaultSensorStatus.STOPPED,
    description=(
        "New files in <data>/landing/<source>/ (not yet in raw.load_ledger) trigger a run of "
        "their risk alerts (journeymap_alerts, first in the queue), then a run of those "
        "sources' raw loads and everything downstream of them."
    ),
)
def landing_files_sensor(context: SensorEvaluationContext, settings: ResourceParam[Settings]):
    seen = read_cursor(context.cursor)
    try:
        current = current_files(settings)
    except LoadError as error:  # e.g. a landing folder that is not a known source
        return SkipReason(f"cannot list landing files: {error}")
    candidates = set(current) - seen
    still_there = seen & set(current)
    if not candidates:
        return SensorResult(
            skip_reason=SkipReason("no new landing files"), cursor=write_cursor(still_there)
        )
    try:
        loaded = loaded_contents(settings, {source for source, _ in candidates})
    except WarehouseBusyError as error:
        return SkipReason(f"warehouse busy, will look again: {error}")
    new = sorted(
        (source, name)
        for source, name in candidates
        if (source, file_sha256(current[(source, name)])) not in loaded
    )
    cursor = write_cursor(still_there | candidates)
    if not new:
        return SensorResult(
            skip_reason=SkipReason(f"{len(candidates)} landing files already loaded"), cursor=cursor
        )
    sources = {source for source, _ in new}
    listing = "\n".join(f"{source}/{name}" for source, name in new)
    context.log.info(f"{len(new)} new landing files:\n{listing}")
    run_key = "landing-" + hashlib.sha256(listing.encode()).hexdigest()[:16]
    alerting = alert_assets(context, sources)
    tags = {
        "journeymap/trigger": "landing_files_sensor",
        "journeymap/sources": ",".join(sorted(sources)),
        "journeymap/new_files": str(len(new)),
    }
    return SensorResult(
        run_requests=[
            RunRequest(
                run_key=f"{run_key}-alerts",
                job_name=alerts_job.name,
                asset_selection=alerting,
                asset_check_keys=alert_checks(context, alerting),
                tags={**tags, **ALERTS_PRIORITY_TAG},
            ),
            RunRequest(
                run_key=run_key,
                job_name=full_job.name,
                asset_selection=affected_assets(context, sources),
                tags=tags,
            ),
        ],
        cursor=cursor,
    )
