"""What the Python models write: one ``MLOutput`` contract per ``ml.<table>``.

A contract names the table, its columns with their warehouse types, and its key. ``conform``
checks a frame against it (exact columns, non-null unique key, values castable to the types)
and returns it typed; ``write_output`` replaces the table with it. The same columns and types
are documented for dbt in models/enriched/staging/_ml__sources.yml (a unit test keeps the
two equal), from where the enriched layer reads them. Light on imports on purpose: the
quality suites read it too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

# Warehouse type -> how a frame column is cast before it is written.
_CASTS = {
    "varchar": lambda values: values.astype(object).where(values.notna(), None),
    "double": lambda values: pd.to_numeric(values).astype("float64"),
    "bigint": lambda values: pd.to_numeric(values).astype("Int64"),
    "boolean": lambda values: values.astype("boolean"),
    "timestamp": lambda values: pd.to_datetime(values).astype("datetime64[us]"),
}


class OutputContractError(ValueError):
    """A frame does not match the contract of the ml table it is written to."""


@dataclass(frozen=True)
class OutputColumn:
    name: str
    data_type: str  # a key of _CASTS, as in the source YAML

    def __post_init__(self) -> None:
        if self.data_type not in _CASTS:
            raise ValueError(f"{self.name}: unknown type {self.data_type!r}")


@dataclass(frozen=True)
class MLOutput:
    """The contract of one ``ml.<table>``."""

    table: str
    columns: tuple[OutputColumn, ...]
    key: tuple[str, ...]

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    def empty(self) -> pd.DataFrame:
        return self.conform(pd.DataFrame({name: [] for name in self.column_names}))

    def conform(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame`` with exactly the contract's columns, in order and typed; raises
        ``OutputContractError`` on missing or extra columns, a null or repeated key, or a
        value that does not fit its column's type."""
        names = list(self.column_names)
        missing = [name for name in names if name not in frame.columns]
        extra = [name for name in frame.columns if name not in names]
        if missing or extra:
            raise OutputContractError(
                f"ml.{self.table}: columns missing {missing}, unexpected {extra}"
            )
        keys = frame[list(self.key)]
        if keys.isna().any().any():
            raise OutputContractError(f"ml.{self.table}: null in key {list(self.key)}")
        if keys.duplicated().any():
            raise OutputContractError(f"ml.{self.table}: repeated key {list(self.key)}")
        out = pd.DataFrame(index=range(len(frame)))
        for column in self.columns:
            values = frame[column.name].reset_index(drop=True)
            try:
                out[column.name] = _CASTS[column.data_type](values)
            except (TypeError, ValueError) as error:
                raise OutputContractError(
                    f"ml.{self.table}.{column.name} is not {column.data_type}: {error}"
                ) from error
        return out


def _columns(spec: str) -> tuple[OutputColumn, ...]:
    """'name type, name type' -> columns."""
    pairs = (item.split() for item in spec.split(","))
    return tuple(OutputColumn(name, data_type) for name, data_type in pairs)


RISK_BANDS: tuple[str, ...] = ("low", "medium", "high")

CHURN_SCORES = MLOutput(
    table="churn_scores",
    columns=_columns(
        "customer_key varchar, churn_score double, risk_band varchar, reason_1 varchar, "
        "reason_2 varchar, reason_3 varchar, model_version varchar, cutoff_at timestamp, "
        "scored_at timestamp"
    ),
    key=("customer_key",),
)

CUSTOMER_VALUE = MLOutput(
    table="customer_value",
    columns=_columns(
        "customer_key varchar, purchases bigint, repeat_purchases bigint, "
        "days_first_to_last_purchase double, days_since_first_purchase double, "
        "mean_repeat_order_value double, historical_revenue double, probability_alive double, "
        "horizon_days bigint, predicted_purchases double, predicted_order_value double, "
        "predicted_value double, model_version varchar, cutoff_at timestamp, scored_at timestamp"
    ),
    key=("customer_key",),
)

CUSTOMER_SEGMENTS = MLOutput(
    table="customer_segments",
    columns=_columns(
        "customer_key varchar, segment_id bigint, persona_name varchar, "
        "membership_probability double, previous_segment_id bigint, loaded_through timestamp, "
        "previous_loaded_through timestamp, model_version varchar, cutoff_at timestamp, "
        "previous_cutoff_at timestamp, scored_at timestamp"
    ),
    key=("customer_key",),
)

PERSONA_CARDS = MLOutput(
    table="persona_cards",
    columns=_columns(
        "segment_id bigint, persona_name varchar, customers bigint, share double, "
        "difference_1 varchar, difference_2 varchar, difference_3 varchar, "
        "difference_4 varchar, typical_path varchar, typical_path_share double, "
        "main_channels varchar, support_topics varchar, top_intents varchar, "
        "top_emotions varchar, churn_scored_customers bigint, mean_churn_score double, "
        "high_churn_risk_share double, valued_customers bigint, mean_predicted_value double, "
        "mean_probability_alive double, narrative varchar, narrative_source varchar, "
        "narrative_rejected varchar, card_json varchar, model_version varchar, "
        "cutoff_at timestamp, scored_at timestamp"
    ),
    key=("segment_id",),
)

PERSONA_SNAPSHOTS = MLOutput(
    table="persona_snapshots",
    columns=_columns(
        "week_start timestamp, segment_id bigint, persona_name varchar, customers bigint, "
        "share double, mean_churn_score double, mean_predicted_value double, "
        "top_difference varchar, is_backfilled boolean, snapshot_at timestamp, "
        "model_version varchar, recorded_at timestamp"
    ),
    key=("week_start", "segment_id"),
)

NARRATIVE_SOURCES: tuple[str, ...] = ("template", "llm")

CHANNEL_ATTRIBUTION = MLOutput(
    table="channel_attribution",
    columns=_columns(
        "model varchar, channel varchar, conversions double, revenue double, share double, "
        "revenue_share double, removal_effect double, value_removal_effect double, "
        "model_version varchar, computed_at timestamp"
    ),
    key=("model", "channel"),
)

CHANNEL_TRANSITIONS = MLOutput(
    table="channel_transitions",
    columns=_columns(
        "model varchar, from_state varchar, to_state varchar, transitions double, "
        "probability double, model_version varchar, computed_at timestamp"
    ),
    key=("model", "from_state", "to_state"),
)

# The text model (journeymap.ml.text): labels of every customer text, and the friction themes
# its negative texts fall into.
TEXT_LABELS = MLOutput(
    table="text_labels",
    columns=_columns(
        "source varchar, source_text_id varchar, text_key varchar, customer_key varchar, "
        "occurred_at timestamp, channel varchar, intent varchar, intent_confidence double, "
        "journey_stage varchar, journey_stage_confidence double, sentiment double, "
        "polarity varchar, sentiment_confidence double, emotion varchar, "
        "emotion_confidence double, backend varchar, model_version varchar, "
        "is_fallback boolean, fallback_reason varchar, text_hash varchar, labelled_at timestamp"
    ),
    key=("source", "source_text_id"),
)
TEXT_THEMES = MLOutput(
    table="text_themes",
    columns=_columns(
        "source varchar, source_text_id varchar, journey_stage varchar, theme_id varchar, "
        "theme_rank bigint, theme_label varchar, theme_terms varchar, theme_weight double, "
        "masked_text varchar, model_version varchar, built_at timestamp"
    ),
    key=("source", "source_text_id"),
)

# What happens next (journeymap.ml.next_step): one row per open journey.
NEXT_STEP_PREDICTIONS = MLOutput(
    table="next_step_predictions",
    columns=_columns(
        "customer_key varchar, last_step varchar, last_step_at timestamp, steps bigint, "
        "current_stage varchar, next_step_1 varchar, next_step_1_probability double, "
        "next_step_2 varchar, next_step_2_probability double, next_step_3 varchar, "
        "next_step_3_probability double, journey_end_probability double, "
        "drop_off_probability double, next_stage varchar, horizon_days bigint, model varchar, "
        "drop_off_model varchar, model_version varchar, cutoff_at timestamp, "
        "predicted_at timestamp"
    ),
    key=("customer_key",),
)

# Next best action (journeymap.ml.actions): one decision per customer and experiment.
ACTION_ASSIGNMENTS = MLOutput(
    table="action_assignments",
    columns=_columns(
        "experiment varchar, customer_key varchar, action varchar, channel varchar, "
        "goal varchar, is_holdout boolean, reason varchar, current_stage varchar, "
        "message varchar, assigned_at timestamp, message_source varchar, message_note varchar"
    ),
    key=("experiment", "customer_key"),
)

# Real-time risk alerts (journeymap.ml.alerts): the outbox, one row per alert.
RISK_ALERTS = MLOutput(
    table="risk_alerts",
    columns=_columns(
        "alert_id varchar, customer_key varchar, rule varchar, evidence varchar, "
        "event_at timestamp, created_at timestamp, delivered_at timestamp, attempts bigint, "
        "last_error varchar"
    ),
    key=("alert_id",),
)

# Every ml table, by name.
OUTPUTS: dict[str, MLOutput] = {
    output.table: output
    for output in (
        CHURN_SCORES,
        CUSTOMER_VALUE,
        CUSTOMER_SEGMENTS,
        PERSONA_CARDS,
        PERSONA_SNAPSHOTS,
        CHANNEL_ATTRIBUTION,
        CHANNEL_TRANSITIONS,
        TEXT_LABELS,
        TEXT_THEMES,
        NEXT_STEP_PREDICTIONS,
        ACTION_ASSIGNMENTS,
        RISK_ALERTS,
    )
}
CHURN_SCORE_COLUMNS = CHURN_SCORES.column_names


def write_output(
    warehouse,
    output: MLOutput,
    frame: pd.DataFrame,
    schema: str = "ml",
    mode: str = "replace",
    marts_schema: str = "marts",
) -> int:
    """Replace ``<schema>.<table>`` with ``frame`` (or append it: ``mode="append"``), checked
    and typed by ``output``, without the rows of customers who refused analytics."""
    frame = without_analytics_opt_outs(warehouse, frame, marts_schema)
    return warehouse.write_frame(schema, output.table, output.conform(frame), mode=mode)


# Customers who refused analytics and profiling (the CRM's consent_analytics, as of the last
# core build): no ML output row is about them. dim_customers counts them (has_analytics_consent);
# every model reads it (``consented``), so its asset depends on it.
CONSENT_MART = "dim_customers"
OPTED_OUT_SQL = "select customer_key from {marts}.dim_customers where not has_analytics_consent"
_CONSENT_COLUMN_SQL = (
    "select count(*) from information_schema.columns where lower(table_schema) = '{marts}' "
    "and lower(table_name) = 'dim_customers' and lower(column_name) = 'has_analytics_consent'"
)


def has_consent_column(warehouse, marts_schema: str = "marts") -> bool:
    """Whether the warehouse's dim_customers says who refused analytics (built by dbt)."""
    found = warehouse.query_df(_CONSENT_COLUMN_SQL.format(marts=marts_schema.lower()))
    return bool(found.iloc[0, 0])


def consenting(warehouse, alias: str, marts_schema: str = "marts") -> str:
    """A SQL condition: the row ``alias`` (with a customer_key) is not about a customer who
    refused analytics (``true`` before dim_customers exists). Rows about nobody (anonymous
    visitors never tied to a customer) pass: they carry no consent to honour."""
    if not has_consent_column(warehouse, marts_schema):
        return "true"
    return consenting_sql(alias, marts_schema)


def consenting_sql(alias: str, marts_schema: str = "marts") -> str:
    """``consenting``'s condition on a warehouse known to have the consent column (the
    quality suites, which run after the core build)."""
    opted_out = OPTED_OUT_SQL.format(marts=marts_schema)
    return f"{alias}.customer_key is null or {alias}.customer_key not in ({opted_out})"


def consented(warehouse, table: str, marts_schema: str = "marts") -> str:
    """``table`` (schema-qualified, with a customer_key: a core mart or an ml table) as a
    parenthesised subquery of the rows a model may read: none about a customer who refused
    analytics (rows about nobody stay). Every model reads its customer rows through this, so
    refusals are neither trained on nor scored (``write_output`` still drops them from what
    is written: a table that keeps earlier rows, such as the actions or the alert outbox,
    may hold a customer who refused since)."""
    return consented_tables(warehouse, marts_schema)(table)


def consented_tables(warehouse, marts_schema: str = "marts") -> Callable[[str], str]:
    """``consented`` for a reader of several tables: the catalog is asked once (a query of
    Snowflake's information schema takes a while)."""
    condition = consenting(warehouse, "kept", marts_schema)
    return lambda table: f"(select * from {table} as kept where {condition})"


def refusals_in(warehouse, tables: tuple[str, ...], marts_schema: str = "marts") -> int:
    """How many customers who refused analytics have rows in any of ``tables`` (core marts,
    by name): the customers a model left out of its population, counted, not listed (0
    before dim_customers exists)."""
    if not has_consent_column(warehouse, marts_schema):
        return 0
    rows = " union all ".join(f"select customer_key from {marts_schema}.{t}" for t in tables)
    opted_out = OPTED_OUT_SQL.format(marts=marts_schema)
    found = warehouse.query_df(
        f"select count(distinct customer_key) from ({rows}) as population "
        f"where customer_key in ({opted_out})"
    )
    return int(found.iloc[0, 0])


def without_analytics_opt_outs(
    warehouse, frame: pd.DataFrame, marts_schema: str = "marts"
) -> pd.DataFrame:
    """``frame`` without rows whose ``customer_key`` refused analytics (unchanged when it has
    no customer_key or the warehouse has no dim_customers yet)."""
    if "customer_key" not in frame.columns or not hasattr(warehouse, "query_df"):
        return frame
    if not has_consent_column(warehouse, marts_schema):
        return frame
    opted_out = set(warehouse.query_df(OPTED_OUT_SQL.format(marts=marts_schema)).iloc[:, 0])
    return frame[~frame["customer_key"].isin(opted_out)].reset_index(drop=True)
