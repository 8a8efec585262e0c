"""Jobs. Both run in one process, step after step: DuckDB allows one writer per file."""

from __future__ import annotations

from dagster import AssetSelection, define_asset_job, in_process_executor

from journeymap.orchestration.keys import DEMO_GROUP

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
    tags={"journeymap/job": "full"},
)

# The full job plus the sample data generator first (`journeymap demo`).
demo_job = define_asset_job(
    name="journeymap_demo",
    selection=AssetSelection.all(),
    executor_def=in_process_executor,
    description="Generate the sample business, then everything the full job does.",
    tags={"journeymap/job": "demo"},
)
