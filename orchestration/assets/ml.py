"""ML assets: read the marts, write results to the warehouse's ``ml`` schema.

``ml/churn_scores`` is also the dbt source ``ml.churn_scores``, which ``stg_ml__churn_scores`` and
``dim_customers`` read back: the dbt translator maps that source to this asset's key.
"""

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from dagster import (
    AssetExecutionContext,
    AssetKey,
    Config,
    MaterializeResult,
    MetadataValue,
    asset,
)
from pydantic import Field

from journeymap.orchestration.resources import WarehouseResource

ML_GROUP = "ml"
CHURN_SCORES_KEY = AssetKey(["ml", "churn_scores"])

# What the churn model reads (ml.churn_io): facts strictly before the cutoff. Not dim_customers,
# which reads the scores back (that would be a cycle).
CHURN_INPUTS = (
    AssetKey(["marts", "fct_events"]),
    AssetKey(["marts", "fct_sessions"]),
    AssetKey(["staging", "stg_commerce__subscriptions"]),
    AssetKey(["staging", "stg_support__messages"]),
)


def to_metadata(values: Mapping[str, Any]) -> dict[str, Any]:
    """Dagster metadata from a plain dict: numbers stay numbers, nested values become JSON."""
    out: dict[str, Any] = {}
    for name, value in values.items():
        if hasattr(value, "item") and not isinstance(value, (list, dict)):  # numpy scalars
            value = value.item()
        if isinstance(value, float) and not math.isfinite(value):
            out[name] = MetadataValue.text(str(value))
        elif (
            isinstance(value, (bool, int, float, str))
            or value is None
            or isinstance(value, MetadataValue)
        ):
            out[name] = value
        else:
            out[name] = MetadataValue.json(_jsonable(value))
    return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    return str(value)


class ChurnScoringConfig(Config):
    horizon_days: int = Field(
        default=30, description="Churn means cancelling within this many days of the cutoff."
    )
    as_of: str | None = Field(
        default=None, description="Score as of this time (ISO); default: the end of the data."
    )


def _calibration_table(rows: list[Mapping[str, Any]]) -> str:
    """Held-out calibration (predicted vs observed churn per score bin) as a Markdown table."""
    columns = list(rows[0])
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        cells = [f"{v:.3f}" if isinstance(v, float) else str(v) for v in row.values()]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


@asset(
    key=CHURN_SCORES_KEY,
    group_name=ML_GROUP,
    deps=list(CHURN_INPUTS),
    kinds={"scikit-learn", "duckdb"},
    description=(
        "One churn score per subscriber (probability of cancelling within the horizon), a risk "
        "band and the top three reasons, from a gradient boosting model trained on the history "
        "before the cutoff (ml.churn). Metadata: AUC, Brier score and calibration on held-out "
        "customers, feature importances."
    ),
    metadata={"dagster/table_name": "ml.churn_scores"},
)
def churn_scores(
    context: AssetExecutionContext, config: ChurnScoringConfig, warehouse: WarehouseResource
) -> MaterializeResult:
    from journeymap.ml.churn import run_churn_scoring

    as_of = datetime.fromisoformat(config.as_of) if config.as_of else None
    with warehouse.open() as connection:
        run = run_churn_scoring(connection, as_of=as_of, horizon_days=config.horizon_days)
        (rows,) = connection.query_df("select count(*) as n from ml.churn_scores")["n"].tolist()
    metadata = to_metadata(run.metadata())
    metadata["feature_importances"] = MetadataValue.json(_jsonable(run.feature_importances))
    calibration = run.metrics.get("calibration") or []
    if calibration:
        metadata["calibration"] = MetadataValue.md(_calibration_table(calibration))
    metadata["dagster/row_count"] = int(rows)
    context.log.info(f"scored {rows} customers")
    return MaterializeResult(metadata=metadata)


ml_assets = [churn_scores]
