"""Who the customers are: lifetime value (``ml/customer_value``) and behavioural segments with
their persona cards and weekly snapshots (``ml/customer_segments``, ``ml/persona_cards``,
``ml/persona_snapshots``).

The value model reads the orders in marts.fct_events. The segmentation reads the core marts,
the text model's labels (intents and sentiments as features, intents and emotions on the
cards) and, for its cards, the churn and value models' tables, so it runs after all three.
Their Great Expectations suites (checks.py) guard every table: every customer scored once,
values in range, segment ids unchanged by a re-run without new data. Persona narratives come
from the template, or from the LLM when one is configured (ml.persona_narrator).
"""

from datetime import datetime
from typing import Any

from dagster import (
    AssetExecutionContext,
    AssetSpec,
    Config,
    MaterializeResult,
    MetadataValue,
    ResourceParam,
    asset,
    multi_asset,
)
from pydantic import Field

from journeymap.ml.customers_io import (
    CARD_INPUT_TABLES,
    SEGMENT_INPUT_MARTS,
    SEGMENT_POPULATION,
    TEXT_LABELS_TABLE,
    VALUE_INPUT_MARTS,
    VALUE_POPULATION,
)
from journeymap.ml.outputs import refusals_in
from journeymap.orchestration.assets.ml import model_result
from journeymap.orchestration.keys import (
    CUSTOMER_SEGMENTS_KEY,
    CUSTOMER_VALUE_KEY,
    ML_GROUP,
    PERSONA_CARDS_KEY,
    PERSONA_SNAPSHOTS_KEY,
    mart_key,
    ml_key,
)
from journeymap.orchestration.metadata import jsonable, markdown_table
from journeymap.orchestration.resources import step_warehouse
from journeymap.settings import Settings


class CustomerValueConfig(Config):
    horizon_days: int = Field(default=90, description="Predict purchases and value this far.")
    holdout_days: int = Field(
        default=30, description="Days held out to check predicted against actual purchases."
    )
    as_of: str | None = Field(
        default=None, description="Value as of this time (ISO); default: the end of the data."
    )


@asset(
    key=CUSTOMER_VALUE_KEY,
    group_name=ML_GROUP,
    deps=[mart_key(name) for name in VALUE_INPUT_MARTS],
    kinds={"scipy"},
    description=(
        "Lifetime value of every customer who has ordered: probability alive, purchases and "
        "value over the horizon (BG/NBD x Gamma-Gamma by maximum likelihood, ml.clv). "
        "Metadata: the fitted parameters and predicted vs actual purchases in a held-out "
        "period beside a naive baseline."
    ),
    metadata={"dagster/table_name": "ml.customer_value"},
)
def customer_value(
    context: AssetExecutionContext, config: CustomerValueConfig, settings: ResourceParam[Settings]
) -> MaterializeResult:
    from journeymap.ml.customer_value import ValueConfig, run_customer_value

    as_of = datetime.fromisoformat(config.as_of) if config.as_of else None
    value_config = ValueConfig(horizon_days=config.horizon_days, holdout_days=config.holdout_days)
    with step_warehouse(context, settings) as warehouse:
        run = run_customer_value(warehouse, as_of=as_of, config=value_config)
        excluded = refusals_in(warehouse, VALUE_POPULATION)
    metadata: dict[str, Any] = dict(run.metadata())
    table = (run.holdout or {}).get("by_calibration_frequency") or []
    if table:
        metadata["holdout_by_frequency"] = MetadataValue.md(markdown_table(table))
    return model_result(
        context,
        settings,
        "customer_value",
        run.report_entry(),
        metadata,
        excluded_no_consent=excluded,
    )


class SegmentationConfig(Config):
    as_of: str | None = Field(
        default=None, description="Segment as of this time (ISO); default: the end of the data."
    )
    backfill_weeks: int = Field(
        default=12,
        description="Weeks of snapshots a model version's first run fills in from the data.",
    )


@multi_asset(
    specs=[
        AssetSpec(
            CUSTOMER_SEGMENTS_KEY,
            group_name=ML_GROUP,
            kinds={"scikit-learn"},
            description=(
                "The behavioural segment of every known customer with a web or app session "
                "(latent class model, ml.segments), with ids stable across runs."
            ),
            metadata={"dagster/table_name": "ml.customer_segments"},
            deps=[
                *(mart_key(name) for name in SEGMENT_INPUT_MARTS),
                *(ml_key(table) for table in CARD_INPUT_TABLES),
                ml_key(TEXT_LABELS_TABLE),
            ],
        ),
        AssetSpec(
            PERSONA_CARDS_KEY,
            group_name=ML_GROUP,
            description=(
                "One persona card per segment: size, what sets it apart in numbers, typical "
                "path, channels, churn risk, value and a narrative grounded in the card."
            ),
            metadata={"dagster/table_name": "ml.persona_cards"},
            deps=[CUSTOMER_SEGMENTS_KEY],
        ),
        AssetSpec(
            PERSONA_SNAPSHOTS_KEY,
            group_name=ML_GROUP,
            description="The segments week by week (sizes, shares, top difference).",
            metadata={"dagster/table_name": "ml.persona_snapshots"},
            deps=[CUSTOMER_SEGMENTS_KEY],
        ),
    ],
    name="customer_segments",
)
def customer_segments(
    context: AssetExecutionContext, config: SegmentationConfig, settings: ResourceParam[Settings]
):
    from journeymap.ml.customers_io import planted_personas
    from journeymap.ml.persona_narrator import narrator_from_env
    from journeymap.ml.segments import NotEnoughCustomersError
    from journeymap.ml.segments_run import RunConfig, run_segmentation, write_no_segmentation

    as_of = datetime.fromisoformat(config.as_of) if config.as_of else None
    # The generator's hidden personas, when the data is generated (demo, tests): the
    # segments' agreement with them goes into the model report.
    truth = planted_personas(settings.truth_dir)
    narrator = narrator_from_env()  # the template's narratives unless an LLM is configured
    with step_warehouse(context, settings) as warehouse:
        try:
            run = run_segmentation(
                warehouse,
                as_of=as_of,
                narrator=narrator,
                truth=truth,
                config=RunConfig(backfill_weeks=config.backfill_weeks),
            )
            excluded = refusals_in(warehouse, SEGMENT_POPULATION)
        except NotEnoughCustomersError as error:
            write_no_segmentation(warehouse)
            yield from _not_segmented(context, settings, str(error))
            return
    metadata: dict[str, Any] = dict(run.metadata())
    if narrator is not None:
        metadata.update(narrator.stats())
    metadata["k_selection"] = MetadataValue.md(
        markdown_table(
            [
                {"k": c.k, "bic": c.bic, "min_stability": c.min_stability}
                for c in run.segmentation.candidates
            ]
        )
    )
    yield model_result(
        context,
        settings,
        "segments",
        run.report_entry(),
        metadata,
        CUSTOMER_SEGMENTS_KEY,
        excluded_no_consent=excluded,
    )
    cards = run.cards[["segment_id", "persona_name", "customers", "share", "narrative_source"]]
    yield MaterializeResult(
        asset_key=PERSONA_CARDS_KEY,
        metadata={
            "dagster/row_count": len(run.cards),
            "cards": MetadataValue.json(jsonable(cards.to_dict(orient="records"))),
        },
    )
    yield MaterializeResult(
        asset_key=PERSONA_SNAPSHOTS_KEY,
        metadata={
            "dagster/row_count": len(run.snapshots),
            "weeks": int(run.snapshots["week_start"].nunique()),
        },
    )


customer_assets = [customer_value, customer_segments]


def _not_segmented(context: AssetExecutionContext, settings: Settings, reason: str):
    """The three materializations of a run that had too few customers to segment."""
    entry = {"table": "ml.customer_segments", "not_scored": reason, "rows_written": 0}
    yield model_result(
        context, settings, "segments", entry, {"not_segmented": reason}, CUSTOMER_SEGMENTS_KEY
    )
    for key in (PERSONA_CARDS_KEY, PERSONA_SNAPSHOTS_KEY):
        yield MaterializeResult(asset_key=key, metadata={"dagster/row_count": 0})
