"""The data-driven channel attribution asset: reads the path marts, writes
``ml.channel_attribution`` (Markov removal effects of orders 1-3, Shapley values over channel
sets) and ``ml.channel_transitions`` (the chains' transition matrices), and records how well
each chain tells held-out converting journeys apart in ``build/model_report.json``."""

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

from journeymap.ml.attribution_io import (
    ATTRIBUTION_INPUT_MARTS,
    ATTRIBUTION_POPULATION,
    DEFAULT_HOLDOUT_SHARE,
)
from journeymap.ml.outputs import refusals_in
from journeymap.orchestration.assets.ml import model_result
from journeymap.orchestration.keys import CHANNEL_ATTRIBUTION_KEY, ML_GROUP, mart_key
from journeymap.orchestration.metadata import markdown_table
from journeymap.orchestration.resources import step_warehouse
from journeymap.settings import Settings


class ChannelAttributionConfig(Config):
    orders: list[int] = Field(default=[1, 2, 3], description="Markov chain orders to fit (1 to 3).")
    holdout_share: float = Field(
        default=DEFAULT_HOLDOUT_SHARE,
        description="Share of customers whose journeys are held out to evaluate the chains.",
    )


@asset(
    key=CHANNEL_ATTRIBUTION_KEY,
    group_name=ML_GROUP,
    deps=[mart_key(name) for name in ATTRIBUTION_INPUT_MARTS],
    kinds={"python", "scipy"},
    description=(
        "Data-driven channel attribution of the paths to conversion and non-conversion: Markov "
        "chain removal effects solved exactly on the absorbing chain (orders 1-3) and Shapley "
        "values over channel sets (journeymap.ml.attribution). Also writes "
        "ml.channel_transitions. Metadata: held-out AUC of each chain beside the baselines."
    ),
    metadata={"dagster/table_name": "ml.channel_attribution"},
)
def channel_attribution(
    context: AssetExecutionContext,
    config: ChannelAttributionConfig,
    settings: ResourceParam[Settings],
) -> MaterializeResult:
    from journeymap.ml.attribution_io import run_channel_attribution

    with step_warehouse(context, settings) as warehouse:
        run = run_channel_attribution(
            warehouse, orders=config.orders, holdout_share=config.holdout_share
        )
        excluded = refusals_in(warehouse, ATTRIBUTION_POPULATION)
    metadata: dict[str, Any] = dict(run.metadata())
    shares = run.shares()
    rows = [
        {"channel": channel, **{model: shares[model].get(channel, 0.0) for model in shares}}
        for channel in sorted({c for by_channel in shares.values() for c in by_channel})
    ]
    metadata["shares"] = MetadataValue.md(markdown_table(rows))
    return model_result(
        context,
        settings,
        "channel_attribution",
        run.report_entry(),
        metadata,
        excluded_no_consent=excluded,
    )


attribution_assets = [channel_attribution]
