"""What happens next: ``ml/next_step_predictions`` predicts each open journey's next step and
its chance of dropping off before the next stage, with the model that won on held-out time
(journeymap.ml.next_step); its evaluation goes to the model report under ``next_step``.
"""

from datetime import datetime
from typing import Any

from dagster import (
    AssetExecutionContext,
    Config,
    MaterializeResult,
    MetadataValue,
    ResourceParam,
    asset,
)
from pydantic import Field

from journeymap.ml.next_step_io import NEXT_STEP_INPUT_MARTS, NEXT_STEP_POPULATION
from journeymap.ml.outputs import refusals_in
from journeymap.orchestration.assets.ml import model_result
from journeymap.orchestration.keys import (
    ML_GROUP,
    NEXT_STEP_KEY,
    TEXT_LABELS_KEY,
    mart_key,
    seed_key,
)
from journeymap.orchestration.resources import step_warehouse
from journeymap.settings import Settings


class NextStepConfig(Config):
    horizon_days: float | None = Field(
        default=None,
        description="A journey ends after this many days without a step (default: dbt var "
        "next_step_horizon_days, 14).",
    )
    as_of: str | None = Field(
        default=None, description="Predict as of this time (ISO); default: the end of the data."
    )


@asset(
    key=NEXT_STEP_KEY,
    group_name=ML_GROUP,
    deps=[
        *(mart_key(name) for name in NEXT_STEP_INPUT_MARTS),
        seed_key("journey_stages"),
        TEXT_LABELS_KEY,
    ],
    kinds={"scikit-learn"},
    description=(
        "For every open journey: the top three next steps with probabilities (journey end "
        "included) and the probability of dropping off before the next stage within the "
        "horizon (ml.next_step). Metadata: top-1/top-3 accuracy and drop-off AUC/Brier on "
        "held-out time for every model beside the baselines, and which model won."
    ),
    metadata={"dagster/table_name": "ml.next_step_predictions"},
)
def next_step_predictions(
    context: AssetExecutionContext, config: NextStepConfig, settings: ResourceParam[Settings]
) -> MaterializeResult:
    from journeymap.ml.next_step import NextStepConfig as ModelConfig
    from journeymap.ml.next_step_io import run_next_step
    from journeymap.transform import dbt_var

    horizon = config.horizon_days or float(dbt_var(settings, "next_step_horizon_days", 14))
    as_of = datetime.fromisoformat(config.as_of) if config.as_of else None
    with step_warehouse(context, settings) as warehouse:
        run = run_next_step(warehouse, ModelConfig(horizon_days=horizon), as_of=as_of)
        excluded = refusals_in(warehouse, NEXT_STEP_POPULATION)
    context.log.info(run.metadata()["evaluation"])
    metadata: dict[str, Any] = dict(run.metadata())
    metadata["evaluation"] = MetadataValue.md(f"```\n{metadata['evaluation']}\n```")
    return model_result(
        context, settings, "next_step", run.report_entry(), metadata, excluded_no_consent=excluded
    )


next_step_assets = [next_step_predictions]
