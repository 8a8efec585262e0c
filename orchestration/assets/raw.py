"""Landing files -> ``raw.<source>``: one asset per source, plus the demo's sample data.

Each raw asset loads the source's landing files that are not in ``raw.load_ledger`` yet (the
loader skips content it has seen, by sha256), and reports what it did as metadata: files loaded
and skipped, rows loaded and quarantined (by reason), and the table's row count afterwards.
"""

from datetime import date, timedelta

from dagster import (
    AssetExecutionContext,
    AssetsDefinition,
    Config,
    MaterializeResult,
    MetadataValue,
    ResourceParam,
    asset,
)
from pydantic import Field

from journeymap.contract import SOURCES, Source
from journeymap.orchestration.keys import (
    DEMO_GROUP,
    RAW_GROUP,
    RETENTION_KEY,
    SAMPLE_DATA_KEY,
    raw_key,
)
from journeymap.orchestration.resources import run_query_tag, step_warehouse
from journeymap.settings import Settings


class SampleDataConfig(Config):
    """Size of the simulated business (`journeymap demo` passes its flags through)."""

    customers: int = Field(default=5000, description="Known customers.")
    days: int = Field(default=90, description="Days of history.")
    seed: int = Field(default=42, description="Random seed (same seed, same files).")
    end_date: str = Field(default="2026-10-31", description="Last day simulated (ISO date).")
    hold_back_days: int = Field(
        default=0,
        description=(
            "Keep the landing files of the last N days in <data>/held_back (the demo's "
            "experiment lands them, with its planted effect, for a second run)."
        ),
    )


@asset(
    key=SAMPLE_DATA_KEY,
    group_name=DEMO_GROUP,
    kinds={"python", "csv"},
    description=(
        "Landing files of a simulated subscription shop (journeymap.generator): one folder per "
        "source under <data>/landing, plus planted ground truth. Demo only: replaces the landing "
        "and ground_truth folders. Production landing files arrive from outside (see the sensor)."
    ),
)
def sample_data(
    context: AssetExecutionContext, config: SampleDataConfig, settings: ResourceParam[Settings]
) -> MaterializeResult:
    from journeymap.generator import generate

    summary = generate(
        settings.data_dir,
        customers=config.customers,
        days=config.days,
        end_date=date.fromisoformat(config.end_date),
        seed=config.seed,
    )
    context.log.info(f"wrote {summary.total_rows:,} rows in {summary.seconds:.1f}s")
    if config.hold_back_days:
        from journeymap.generator.planted_experiment import held_back_dir, hold_back

        first = date.fromisoformat(config.end_date) - timedelta(days=config.hold_back_days - 1)
        moved = hold_back(settings.landing_dir, held_back_dir(settings.data_dir), first)
        context.log.info(f"held back {moved} landing files from {first} on")
    return MaterializeResult(
        metadata={
            "customers": config.customers,
            "days": config.days,
            "seed": config.seed,
            "rows": summary.total_rows,
            "rows_per_source": MetadataValue.json(dict(summary.rows)),
            "defect_rows": MetadataValue.json(dict(summary.defects)),
            "landing_dir": MetadataValue.path(str(settings.landing_dir)),
        }
    )


@asset(
    key=RETENTION_KEY,
    group_name=RAW_GROUP,
    deps=[SAMPLE_DATA_KEY],
    kinds={"python"},
    description=(
        "The retention period (journeymap.yml retention.raw_days, default off): before any "
        "load, the raw and quarantine rows of files loaded longer ago are purged, their ledger "
        "rows kept as `purged`, each purge logged in raw.retention_log and the DuckDB file "
        "compacted (journeymap.retention)."
    ),
    metadata={"dagster/table_name": "raw.retention_log"},
)
def raw_retention(
    context: AssetExecutionContext, settings: ResourceParam[Settings]
) -> MaterializeResult:
    from journeymap.retention import purge_expired

    # Runs inside the run: `journeymap build` holds the run lock, the daemon's queue starts
    # one run at a time, and the raw loads wait for this step.
    result = purge_expired(
        settings, say=context.log.info, tag=run_query_tag(context), run_id=context.run_id
    )
    if result is None:
        return MaterializeResult(metadata={"retention": "off", "rows_purged": 0})
    return MaterializeResult(
        metadata={
            "retention_days": result.raw_days,
            "cutoff": result.cutoff.isoformat(sep=" "),
            "files_purged": len(result.files),
            "rows_purged": result.rows_purged,
            "rows_by_table": MetadataValue.json(result.rows_by_table),
        }
    )


def _files_table(report) -> str:
    lines = ["| file | status | loaded | quarantined |", "|---|---|---:|---:|"]
    for f in report.files:
        lines.append(f"| {f.file_name} | {f.status} | {f.rows_loaded} | {f.rows_quarantined} |")
    return "\n".join(lines)


def raw_load_asset(source: Source) -> AssetsDefinition:
    """The asset that loads ``source``'s new landing files into ``raw.<source>``."""

    @asset(
        key=raw_key(source.name),
        group_name=RAW_GROUP,
        deps=[SAMPLE_DATA_KEY, RETENTION_KEY],  # expired rows go before new ones come
        kinds={"python"},
        description=(
            f"{source.description} Loaded from <data>/landing/{source.name}/ by the raw loader: "
            "typed per the contract, bad rows to raw.quarantine with a reason, one ledger row "
            "per file (on Snowflake through a stage and COPY INTO)."
        ),
        metadata={"dagster/table_name": f"raw.{source.name}", "key": ", ".join(source.key)},
    )
    def _load(context: AssetExecutionContext, settings: ResourceParam[Settings]):
        from journeymap.load import load_landing

        with step_warehouse(context, settings) as warehouse:
            report = load_landing(
                warehouse,
                settings.landing_dir,
                sources=[source.name],
                contracts=settings.source_contracts,
            )
            table_rows = warehouse.query_df(f"select count(*) as n from raw.{source.name}")["n"][0]
        by_reason: dict[str, int] = {}
        for result in report.loaded:
            for reason, count in result.quarantined_by_reason.items():
                by_reason[reason] = by_reason.get(reason, 0) + count
        context.log.info(
            f"{source.name}: {len(report.loaded)} files loaded, {len(report.skipped)} skipped; "
            f"{report.rows_loaded} rows loaded, {report.rows_quarantined} quarantined"
        )
        return MaterializeResult(
            metadata={
                "files_loaded": len(report.loaded),
                "files_skipped": len(report.skipped),
                "rows_loaded": report.rows_loaded,
                "rows_quarantined": report.rows_quarantined,
                "quarantined_by_reason": MetadataValue.json(by_reason),
                "dagster/row_count": int(table_rows),
                "files": MetadataValue.md(_files_table(report)) if report.loaded else "none new",
            }
        )

    return _load


raw_assets: list[AssetsDefinition] = [raw_load_asset(source) for source in SOURCES.values()]


def project_raw_assets(settings: Settings) -> list[AssetsDefinition]:
    """The raw load assets of the project's own event sources that land files."""
    return [
        raw_load_asset(settings.source_contracts[source.name])
        for source in settings.landing_sources
    ]
