"""What people read: the journey map page and the Great Expectations data docs (<build>/)."""

from dagster import (
    AssetExecutionContext,
    MaterializeResult,
    MetadataValue,
    ResourceParam,
    asset,
)

from journeymap.orchestration.checks import GUARDED, outcomes_of_run, run_suite
from journeymap.orchestration.keys import (
    DATA_DOCS_KEY,
    JOURNEY_MAP_KEY,
    REPORT_GROUP,
    enriched_key,
    mart_key,
)
from journeymap.orchestration.metadata import to_metadata
from journeymap.orchestration.resources import run_query_tag, step_warehouse
from journeymap.settings import Settings

# What the page reads (journeymap.report.data).
JOURNEY_MAP_INPUTS = (
    *(
        mart_key(name)
        for name in (
            "mart_journey_stages",
            "mart_journey_map",
            "fct_funnel_steps",
            "mart_path_transitions",
            "mart_path_summary",
            "fct_events",
            "mart_data_reconciliation",
            "mart_unmapped_events",
            "mart_retention_cohorts",
            "mart_conversion_paths",
            "mart_non_conversion_paths",
        )
    ),
    enriched_key("dim_customer_360"),
    enriched_key("dim_personas"),
    enriched_key("mart_persona_trends"),
    enriched_key("mart_attribution_comparison"),
    enriched_key("mart_emotional_journey"),
    enriched_key("mart_friction_themes"),
)


@asset(
    key=JOURNEY_MAP_KEY,
    group_name=REPORT_GROUP,
    deps=list(JOURNEY_MAP_INPUTS),
    kinds={"html"},
    description="The journey map: one self-contained HTML page, <build>/journey_map.html.",
)
def journey_map(
    context: AssetExecutionContext, settings: ResourceParam[Settings]
) -> MaterializeResult:
    from journeymap.report import write_journey_map

    out_path = settings.build_dir / "journey_map.html"
    with step_warehouse(context, settings, read_only=True) as warehouse:
        summary = write_journey_map(warehouse, out_path)
    metadata = to_metadata(summary.metadata())
    metadata["path"] = MetadataValue.path(str(out_path))
    context.log.info(f"wrote {out_path}")
    return MaterializeResult(metadata=metadata)


@asset(
    key=DATA_DOCS_KEY,
    group_name=REPORT_GROUP,
    deps=[g.asset_key for g in GUARDED],
    kinds={"great_expectations", "html"},
    description=(
        "Great Expectations data docs for every suite (raw, marts, ML output, enriched): "
        "<build>/data_docs/index.html."
    ),
)
def data_docs(context: AssetExecutionContext, settings: ResourceParam[Settings]):
    from journeymap.quality import build_data_docs

    # The checks of this run validated every suite already; validate what they did not.
    outcomes_by_suite = outcomes_of_run(context.run.run_id)
    reused = len(outcomes_by_suite)
    for guarded in GUARDED:
        if guarded.suite not in outcomes_by_suite:
            outcomes_by_suite[guarded.suite] = run_suite(
                settings, guarded.suite, run_query_tag(context)
            )
    outcomes = [outcomes_by_suite[g.suite] for g in GUARDED]
    index = build_data_docs(outcomes, settings.build_dir / "data_docs")
    failed = [g.suite for g, outcome in zip(GUARDED, outcomes, strict=True) if not outcome.success]
    context.log.info(f"data docs at {index}")
    return MaterializeResult(
        metadata={
            "path": MetadataValue.path(str(index)),
            "suites": len(outcomes),
            "suites_validated_by_this_runs_checks": reused,
            "suites_failed": MetadataValue.json(failed),
        }
    )


report_assets = [journey_map, data_docs]
