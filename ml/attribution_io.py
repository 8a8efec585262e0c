"""The attribution model's contact with the warehouse and its run: one portable read of the
two path marts, the models of journeymap.ml.attribution on their transformed channel paths,
and the writes of ``ml.channel_attribution`` and ``ml.channel_transitions``.

Every journey counts but those of customers who refused analytics: paths to conversion (one
conversion each, with its revenue) and paths to non-conversion (one null each), including
journeys that may still convert; a conversion without touches is the channel ``(none)``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from journeymap.ml.attribution import (
    MAX_MARKOV_ORDER,
    PathTable,
    markov_attribution,
    markov_model_name,
    shapley_attribution,
)
from journeymap.ml.attribution_eval import evaluate_orders, path_table, split_journeys
from journeymap.ml.outputs import (
    CHANNEL_ATTRIBUTION,
    CHANNEL_TRANSITIONS,
    CONSENT_MART,
    consented_tables,
    write_output,
)
from journeymap.warehouse import Warehouse

MODEL_VERSION = "attribution-v1"
# The marts the attribution asset reads (the Dagster asset depends on exactly these).
ATTRIBUTION_POPULATION = ("mart_conversion_paths", "mart_non_conversion_paths")
ATTRIBUTION_INPUT_MARTS = (*ATTRIBUTION_POPULATION, CONSENT_MART)
DEFAULT_ORDERS = tuple(range(1, MAX_MARKOV_ORDER + 1))
DEFAULT_HOLDOUT_SHARE = 0.25


def journeys_query(warehouse: Warehouse, marts: str = "marts") -> str:
    """One row per journey: customer, transformed channel path, conversions, nulls, revenue;
    no journey of a customer who refused analytics (``consented``: their paths are in no
    transition count, removal effect or Shapley value)."""
    consented = consented_tables(warehouse, marts)
    converted = consented(f"{marts}.mart_conversion_paths")
    not_converted = consented(f"{marts}.mart_non_conversion_paths")
    return f"""
        select customer_key, channel_path as path, 1 as conversions, 0 as nulls,
            revenue
        from {converted} as converted
        union all
        select customer_key, channel_path, 0, 1, 0
        from {not_converted} as not_converted
    """


def read_journeys(warehouse: Warehouse, marts: str = "marts") -> pd.DataFrame:
    frame = warehouse.query_df(journeys_query(warehouse, marts))
    frame.columns = [str(c).lower() for c in frame.columns]  # Snowflake upper-cases names
    return frame


@dataclass
class AttributionRun:
    """What one attribution run computed: the two output frames and the held-out figures."""

    attribution: pd.DataFrame  # CHANNEL_ATTRIBUTION's columns
    transitions: pd.DataFrame  # CHANNEL_TRANSITIONS's columns
    evaluation: dict[str, Any]
    journeys: int
    conversions: float
    nulls: float
    holdout_share: float
    computed_at: datetime
    conversion_probability: dict[str, float] = field(default_factory=dict)
    runtime_seconds: float = 0.0

    def shares(self) -> dict[str, dict[str, float]]:
        """model -> channel -> share of conversions."""
        out: dict[str, dict[str, float]] = {}
        for row in self.attribution.itertuples(index=False):
            out.setdefault(row.model, {})[row.channel] = float(row.share)
        return out

    def metadata(self) -> dict[str, Any]:
        return {
            "model_version": MODEL_VERSION,
            "journeys": self.journeys,
            "conversions": self.conversions,
            "non_conversions": self.nulls,
            "models": ", ".join(sorted(self.attribution["model"].unique())),
            "channels": int(self.attribution["channel"].nunique()),
            "held_out_auc": {
                name: figures["auc"]
                for name, figures in self.evaluation.items()
                if name.startswith("markov_")
            },
            "runtime_seconds": round(self.runtime_seconds, 3),
        }

    def report_entry(self) -> dict[str, Any]:
        """This run's entry in build/model_report.json."""
        held_out = {k: v for k, v in self.evaluation.items() if k.startswith("markov_")}
        return {
            "model_version": MODEL_VERSION,
            "table": f"ml.{CHANNEL_ATTRIBUTION.table}",
            "task": (
                "channel attribution: Markov removal effects (orders 1-3) and Shapley values "
                "over channel sets; held out: does the chain tell converting journeys apart"
            ),
            "training_window": {"journeys": self.journeys, "computed_at": self.computed_at},
            "held_out": {**held_out, "holdout_share": self.holdout_share},
            "baselines": self.evaluation.get("baselines"),
            "conversion_probability": self.conversion_probability,
            "rows_written": len(self.attribution) + len(self.transitions),
            "shares": self.shares(),
        }


def _with_shares(frame: pd.DataFrame, table: PathTable) -> pd.DataFrame:
    frame = frame.rename(columns={"value": "revenue"})
    frame["share"] = frame["conversions"] / table.total_conversions
    frame["revenue_share"] = (
        frame["revenue"] / table.total_value if table.total_value else float("nan")
    )
    return frame


def compute_channel_attribution(
    journeys: pd.DataFrame,
    orders: Sequence[int] = DEFAULT_ORDERS,
    holdout_share: float = DEFAULT_HOLDOUT_SHARE,
    computed_at: datetime | None = None,
) -> AttributionRun:
    """The attribution of journey rows (customer_key, path, conversions, nulls, revenue):
    Markov of every order and Shapley on all journeys, the orders' held-out evaluation."""
    started = time.perf_counter()
    computed_at = computed_at or datetime.now(UTC).replace(tzinfo=None)
    table = path_table(journeys)
    frames, transitions, probabilities = [], [], {}
    for order in orders:
        markov = markov_attribution(table, order)
        name = markov_model_name(order)
        frames.append(_with_shares(markov.attribution, table).merge(markov.removal_effects))
        transitions.append(markov.transitions.assign(model=name))
        probabilities[name] = markov.conversion_probability
    if table.total_nulls > 0:
        frames.append(_with_shares(shapley_attribution(table), table))
    attribution = pd.concat(frames, ignore_index=True).assign(
        model_version=MODEL_VERSION, computed_at=computed_at
    )
    for column in ("removal_effect", "value_removal_effect"):
        attribution[column] = attribution.get(column)
    train, test = split_journeys(journeys, holdout_share)
    evaluation = evaluate_orders(train, test, orders) if len(test.paths) else {}
    return AttributionRun(
        attribution=CHANNEL_ATTRIBUTION.conform(
            attribution[list(CHANNEL_ATTRIBUTION.column_names)]
        ),
        transitions=CHANNEL_TRANSITIONS.conform(
            pd.concat(transitions, ignore_index=True).assign(
                model_version=MODEL_VERSION, computed_at=computed_at
            )[list(CHANNEL_TRANSITIONS.column_names)]
        ),
        evaluation=evaluation,
        journeys=len(journeys),
        conversions=table.total_conversions,
        nulls=table.total_nulls,
        holdout_share=holdout_share,
        computed_at=computed_at,
        conversion_probability=probabilities,
        runtime_seconds=time.perf_counter() - started,
    )


def run_channel_attribution(
    warehouse: Warehouse,
    orders: Sequence[int] = DEFAULT_ORDERS,
    holdout_share: float = DEFAULT_HOLDOUT_SHARE,
    marts: str = "marts",
    ml_schema: str = "ml",
) -> AttributionRun:
    """Read the path marts, attribute, write both ml tables."""
    run = compute_channel_attribution(read_journeys(warehouse, marts), orders, holdout_share)
    write_output(warehouse, CHANNEL_ATTRIBUTION, run.attribution, ml_schema)
    write_output(warehouse, CHANNEL_TRANSITIONS, run.transitions, ml_schema)
    return run
