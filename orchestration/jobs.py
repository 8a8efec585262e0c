"""Jobs. Each runs in one process, step after step, and every run writes the warehouse:
DuckDB allows one writer per file, so runs carry the tag ``journeymap/warehouse: write`` that
the run queue limits to one run at a time (orchestration/dagster.yaml)."""

from __future__ import annotations

from collections.abc import Iterable

from dagster import AssetSelection, define_asset_job, in_process_executor

from journeymap.ml.alerts_io import ALERT_INPUT_MARTS
from journeymap.orchestration.keys import (
    DEMO_GROUP,
    RISK_ALERTS_KEY,
    TEXT_LABELS_KEY,
    mart_key,
    raw_key,
)

# The run tag the run queue allows one run of at a time (dagster.yaml: tag_concurrency_limits).
WAREHOUSE_WRITER_TAG = {"journeymap/warehouse": "write"}
# Queued runs start by priority: the alerts of a new file go before its full run.
ALERTS_PRIORITY_TAG = {"dagster/priority": "10"}

# Everything but the demo's sample data: landing files -> raw -> dbt -> ML -> dbt -> report,
# and every check.
full_job = define_asset_job(
    name="journeymap_full",
    selection=AssetSelection.all() - AssetSelection.groups(DEMO_GROUP),
    executor_def=in_process_executor,
    description=(
        "Load new landing files, build the core marts, run the Python models, build the "
        "enriched marts, write the journey map and data docs, with every asset check (Great "
        "Expectations suites block downstream steps when they fail)."
    ),
    tags={"journeymap/job": "full", **WAREHOUSE_WRITER_TAG},
)

# The full job plus the sample data generator first (`journeymap demo`).
demo_job = define_asset_job(
    name="journeymap_demo",
    selection=AssetSelection.all(),
    executor_def=in_process_executor,
    description="Generate the sample business, then everything the full job does.",
    tags={"journeymap/job": "demo", **WAREHOUSE_WRITER_TAG},
)

# What the alert rules read, as they are in the warehouse: the marts, and the text labels (the
# labelling is incremental, so a new message is labelled in seconds). Churn scores are read as
# the last full run left them, not recomputed.
ALERT_READS = AssetSelection.assets(
    *(mart_key(name) for name in ALERT_INPUT_MARTS), TEXT_LABELS_KEY
).upstream()
ALERT_OUTBOX = AssetSelection.assets(RISK_ALERTS_KEY)


def alert_path(sources: Iterable[str]) -> AssetSelection:
    """From new landing files of ``sources`` to their alerts: the raw loads, the models
    between them and what the alert rules read (seeds and other sources' models are as they
    were), and the outbox."""
    raw = AssetSelection.assets(*(raw_key(source) for source in sorted(sources)))
    return (raw.downstream() & ALERT_READS) | ALERT_OUTBOX


# The risk alerts' fast path: the landing-files sensor requests it (with alert_path of the new
# files' sources) before the full run of the same files, which then finds them loaded.
alerts_job = define_asset_job(
    name="journeymap_alerts",
    selection=(ALERT_READS - AssetSelection.groups(DEMO_GROUP)) | ALERT_OUTBOX,
    executor_def=in_process_executor,
    description=(
        "Load new landing files and build only what the risk alert rules read (the models "
        "upstream of fct_events and dim_customers, the text labels), then write and deliver "
        "the alerts with the churn scores the last full run left. The landing-files sensor "
        "runs it ahead of the full run."
    ),
    tags={"journeymap/job": "alerts", **WAREHOUSE_WRITER_TAG},
)
