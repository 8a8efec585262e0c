"""What people read: the journey map page and the Great Expectations data docs (<build>/)."""

from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset

from journeymap.orchestration.assets.ml import to_metadata
from journeymap.orchestration.checks import GUARDED, outcomes_of_run, run_suite
from journeymap.orchestration.resources import WarehouseResource

REPORT_GROUP = "report"
JOURNEY_MAP_KEY = AssetKey(["report", "journey_map"])
DATA_DOCS_KEY = AssetKey(["report", "data_docs"])

# The marts the page reads (journeymap.report.data).
JOURNEY_MAP_INPUTS = tuple(
    AssetKey(["marts", name])
    for name in (
        "mart_journey_stages",
        "mart_journey_map",
        "fct_funnel_steps",
        "mart_path_transitions",
        "mart_path_summary",
        "fct_events",
        "dim_customers",
        "mart_data_reconciliation",
        "mart_unmapped_events",
    )
)


@asset(
    key=JOURNEY_MAP_KEY,
    group_name=REPORT_GROUP,
    deps=list(JOURNEY_MAP_INPUTS),
    kinds={"html"},
    description="The journey map: one self-contained HTML page, <build>/journey_map.html.",
)
def journey_map(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
    from journeymap.report import write_journey_map

    out_path = warehouse.build_path / "journey_map.html"
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with warehouse.open(read_only=True) as connection:
        summary = write_journey_map(connection, out_path)
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
        "Great Expectations data docs for every suite (raw, marts, churn scores): "
        "<build>/data_docs/index.html."
    ),
)
def data_docs(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
    from journeymap.quality import build_data_docs

    # The checks of this run validated every suite already; validate what they did not.
    outcomes_by_suite = outcomes_of_run(context.run.run_id)
    reused = len(outcomes_by_suite)
    for guarded in GUARDED:
        if guarded.suite not in outcomes_by_suite:
            outcomes_by_suite[guarded.suite] = run_suite(warehouse, guarded.suite)
    outcomes = [outcomes_by_suite[g.suite] for g in GUARDED]
    index = build_data_docs(outcomes, warehouse.build_path / "data_docs")
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
