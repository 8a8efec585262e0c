"""Next best action: ``ml/action_assignments`` logs one decision per eligible customer (the
action, or why none; the stable holdout flag; the drafted message) from the catalog seed
``actions`` (journeymap.ml.actions). The lift of each action is the dbt mart
``enriched.mart_action_lift``.
"""

from datetime import datetime

from dagster import (
    AssetExecutionContext,
    Config,
    MaterializeResult,
    MetadataValue,
    ResourceParam,
    asset,
)
from pydantic import Field

from journeymap.ml.actions_io import ACTION_INPUT_MARTS
from journeymap.orchestration.keys import (
    ACTION_ASSIGNMENTS_KEY,
    CHURN_SCORES_KEY,
    CUSTOMER_SEGMENTS_KEY,
    ML_GROUP,
    NEXT_STEP_KEY,
    TEXT_LABELS_KEY,
    mart_key,
    seed_key,
)
from journeymap.orchestration.resources import step_warehouse
from journeymap.settings import Settings


class ActionConfig(Config):
    as_of: str | None = Field(
        default=None, description="Decide as of this time (ISO); default: the end of the data."
    )


def experiment_config(settings: Settings):
    """The experiment as the dbt vars set it (``journeymap.ml.actions.ActionConfig``)."""
    from journeymap.ml.actions import ActionConfig as Experiment
    from journeymap.transform import dbt_var

    return Experiment(
        experiment=str(dbt_var(settings, "action_experiment", "next_best_action")),
        holdout_share=float(dbt_var(settings, "action_holdout_share", 0.1)),
        holdout_key=str(dbt_var(settings, "action_holdout_key", "journeymap")),
        contact_cap=int(dbt_var(settings, "action_contact_cap_per_week", 3)),
    )


@asset(
    key=ACTION_ASSIGNMENTS_KEY,
    group_name=ML_GROUP,
    deps=[
        *(mart_key(name) for name in ACTION_INPUT_MARTS),
        seed_key("actions"),
        CHURN_SCORES_KEY,
        TEXT_LABELS_KEY,
        NEXT_STEP_KEY,
        CUSTOMER_SEGMENTS_KEY,
    ],
    description=(
        "One logged decision per eligible customer and experiment: the action from the catalog "
        "(consent and the weekly contact cap respected) or why none, the stable keyed-hash "
        "holdout flag and the drafted message (ml.action_assignments). Earlier assignments "
        "stand; their outcome is measured in enriched.mart_action_lift."
    ),
    metadata={"dagster/table_name": "ml.action_assignments"},
)
def action_assignments(
    context: AssetExecutionContext, config: ActionConfig, settings: ResourceParam[Settings]
) -> MaterializeResult:
    from journeymap.ml.action_messages import writer_from_env
    from journeymap.ml.actions_io import run_actions

    experiment = experiment_config(settings)
    as_of = datetime.fromisoformat(config.as_of) if config.as_of else None
    writer = writer_from_env()
    with step_warehouse(context, settings) as warehouse:
        table = run_actions(warehouse, experiment, as_of=as_of, writer=writer)
    with_action = table[table["action"].notna()]
    counts = with_action.groupby("action").size().to_dict()
    context.log.info(f"action assignments: {counts}")
    sources = with_action["message_source"].value_counts().to_dict()
    return MaterializeResult(
        metadata={
            "dagster/row_count": len(table),
            "assigned": len(with_action),
            "held_out": int(with_action["is_holdout"].sum()),
            "without_action": len(table) - len(with_action),
            "experiment": experiment.experiment,
            "messages_by_writer": MetadataValue.json(sources),
            "messages_fell_back": int(with_action["message_note"].notna().sum()),
            **(writer.cost("writer") if writer else {}),
        }
    )


action_assets = [action_assignments]
