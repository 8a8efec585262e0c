"""ML assets: each reads core marts, writes its ``ml.<table>`` (checked against its contract in
journeymap.ml.outputs) and records how it did on held-out data in ``<build>/model_report.json``
and in its materialization's metadata.

To add a model: an ``@asset`` keyed ``ml_key(<table>)`` in ``ML_GROUP`` that depends on the
marts it reads (``dim_customers`` among them), reads customer rows through
``journeymap.ml.outputs.consented`` (no row of a customer who refused analytics), writes
through ``journeymap.ml.outputs.write_output`` and returns ``model_result(...)`` (with
``excluded_no_consent``, the refusals its population left out). The dbt translator maps
``source('ml', <table>)`` to that key, so the enriched marts that read the table run after it.
"""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from dagster import (
    AssetExecutionContext,
    AssetKey,
    Config,
    MaterializeResult,
    MetadataValue,
    ResourceParam,
    asset,
)
from pydantic import Field

from journeymap.ml.churn_io import CHURN_INPUT_MARTS, CHURN_POPULATION
from journeymap.ml.model_report import record_model_report
from journeymap.ml.outputs import refusals_in
from journeymap.orchestration.keys import CHURN_SCORES_KEY, ML_GROUP, mart_key
from journeymap.orchestration.metadata import jsonable, markdown_table, to_metadata
from journeymap.orchestration.resources import step_warehouse
from journeymap.settings import Settings


def model_result(
    context: AssetExecutionContext,
    settings: Settings,
    model: str,
    entry: Mapping[str, Any],
    metadata: Mapping[str, Any],
    asset_key: AssetKey | None = None,
    excluded_no_consent: int | None = None,
) -> MaterializeResult:
    """Record ``model``'s report entry and return the materialization with its metadata
    (``asset_key``: which asset of a multi-asset it is; ``excluded_no_consent``: how many
    customers who refused analytics the model's population left out, ``refusals_in``, as
    ``customers_excluded_no_consent`` in both)."""
    if excluded_no_consent is not None:
        entry = {**entry, "customers_excluded_no_consent": excluded_no_consent}
        metadata = {**metadata, "customers_excluded_no_consent": excluded_no_consent}
    path = record_model_report(settings.build_dir, model, entry)
    context.log.info(f"{model}: report entry in {path}")
    return MaterializeResult(
        asset_key=asset_key,
        metadata={
            **to_metadata(metadata),
            "model_report": MetadataValue.json(jsonable(entry)),
            "dagster/row_count": int(entry.get("rows_written") or 0),
        },
    )


class ChurnScoringConfig(Config):
    horizon_days: int = Field(
        default=30, description="Churn means cancelling within this many days of the cutoff."
    )
    as_of: str | None = Field(
        default=None, description="Score as of this time (ISO); default: the end of the data."
    )


@asset(
    key=CHURN_SCORES_KEY,
    group_name=ML_GROUP,
    deps=[mart_key(name) for name in CHURN_INPUT_MARTS],
    kinds={"scikit-learn"},
    description=(
        "One churn score per subscriber (probability of cancelling within the horizon), a risk "
        "band and the top three reasons, from a gradient boosting model trained on the history "
        "before the cutoff (ml.churn). Metadata: AUC, Brier score and calibration on held-out "
        "customers beside the baselines, feature importances."
    ),
    metadata={"dagster/table_name": "ml.churn_scores"},
)
def churn_scores(
    context: AssetExecutionContext, config: ChurnScoringConfig, settings: ResourceParam[Settings]
) -> MaterializeResult:
    from journeymap.ml.churn import run_churn_scoring

    as_of = datetime.fromisoformat(config.as_of) if config.as_of else None
    with step_warehouse(context, settings) as warehouse:
        run = run_churn_scoring(warehouse, as_of=as_of, horizon_days=config.horizon_days)
        excluded = refusals_in(warehouse, CHURN_POPULATION)
    metadata: dict[str, Any] = dict(run.metadata())
    metadata["feature_importances"] = MetadataValue.json(jsonable(run.feature_importances))
    calibration = run.metrics.get("calibration") or []
    if calibration:
        metadata["calibration"] = MetadataValue.md(markdown_table(calibration))
    return model_result(
        context, settings, "churn", run.report_entry(), metadata, excluded_no_consent=excluded
    )


ml_assets = [churn_scores]
