"""The customer models' only contact with the warehouse besides ``write_output``: portable
reads of the core marts (and, for the persona cards, of the churn and value models' tables),
and of the segmentation's own previous run.

The persona cards read ``ml.churn_scores`` and ``ml.customer_value`` besides the core marts:
a card's churn risk and value are numbers its narrative may quote, so they must be on the
card. Either may be missing (the card then says nothing about it). The text model's
``ml.text_labels`` is read when it exists (intents and sentiments as segmentation features,
intents and emotions on the cards). The SQL is plain ANSI, for DuckDB and Snowflake alike.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from journeymap.ml.features import naive_utc
from journeymap.ml.outputs import (
    CONSENT_MART,
    CUSTOMER_SEGMENTS,
    PERSONA_SNAPSHOTS,
    consented,
    consented_tables,
    without_analytics_opt_outs,
)
from journeymap.ml.segment_features import SegmentFrames
from journeymap.ml.warehouse_io import WarehouseSchemas, query_frame, table_exists
from journeymap.warehouse import Warehouse

# What each model reads (the Dagster assets depend on exactly these).
VALUE_INPUT_MARTS = ("fct_events", CONSENT_MART)
# Whom the value model is about (customers with events): its count of refusals left out.
VALUE_POPULATION = ("fct_events",)
SEGMENT_INPUT_MARTS = (
    "dim_customers",
    "fct_events",
    "fct_sessions",
    "fct_customer_texts",
    "fct_subscription_versions",
    "fct_journey_paths",
)
# Whom the segmentation is about (known customers with a web or app session): its count of
# refusals left out is theirs.
SEGMENT_POPULATION = ("fct_sessions",)
CARD_INPUT_TABLES = ("churn_scores", "customer_value")
TEXT_LABELS_TABLE = "text_labels"
# Keys read as numbers are hashed into [0, this prime < 2^53).
KEY_NUMBERS = 9_007_199_254_740_881


def read_orders(
    warehouse: Warehouse, schemas: WarehouseSchemas = WarehouseSchemas()
) -> pd.DataFrame:
    """Completed orders: customer_key, at, value (fct_events conversions) of customers who did
    not refuse analytics (their orders are not even fitted on)."""
    sql = f"""
        select customer_key, occurred_at as at, revenue as value
        from {consented(warehouse, f"{schemas.marts}.fct_events", schemas.marts)} as events
        where is_conversion
    """
    return query_frame(warehouse, sql)


def _numbered(column: str) -> str:
    """A key as a number (a hash below 2^53, so it survives a float on the way; -1 when
    missing): the segmentation only needs to tell sessions and devices apart."""
    return f"case when {column} is null then -1 else hash({column}) % {KEY_NUMBERS} end"


def _events_sql(fct_events: str, known: str, column: str | None = None) -> str:
    """The events the segmentation reads (of ``fct_events``, a relation), with their
    customer's position and the canonical event and source as codes (``column``: the names of
    that column's codes instead)."""
    names = {
        name: f"""
            select {name}, row_number() over (order by {name}) - 1 as code
            from (select distinct {name} from events) as distinct_values
        """
        for name in ("canonical_event", "source")
    }
    head = f"""
        with events as (
            select * from {fct_events} as fct_events
            where canonical_event not in ('email_sent', 'email_bounced')
        ),
        canonical_events as ({names["canonical_event"]}),
        sources as ({names["source"]})
    """
    if column is not None:
        table = "canonical_events" if column == "canonical_event" else "sources"
        return f"{head} select {column} as name from {table} order by code"
    return f"""{head}
        select known.customer_position as customer, events.occurred_at,
            canonical_events.code as canonical_event, sources.code as source,
            {_numbered("events.session_key")} as session_key,
            events.is_conversion, events.revenue
        from events
        inner join ({known}) as known on known.customer_key = events.customer_key
        inner join canonical_events on canonical_events.canonical_event = events.canonical_event
        inner join sources on sources.source = events.source
    """


def read_segment_frames(
    warehouse: Warehouse, schemas: WarehouseSchemas = WarehouseSchemas()
) -> SegmentFrames:
    """What the segmentation reads. The two big frames name their customer by position in
    ``customers`` (``customer``), their canonical events and sources by code and their
    sessions and devices by a number, not by key or name: millions of strings are slow to
    move and to compare, numbers are not."""
    m = schemas.marts
    consented_table = consented_tables(warehouse, m)

    def mart(table: str) -> str:
        return consented_table(f"{m}.{table}")

    # Known customers who did not refuse analytics: every frame below is theirs only.
    known = f"""
        select customer_key,
            row_number() over (order by customer_key) - 1 as customer_position
        from {mart("dim_customers")} as customers
        where is_known
    """
    frames = {
        "customers": f"""
            select known.customer_key, customers.crm_created_at as signed_up_at
            from ({known}) as known
            inner join {mart("dim_customers")} as customers
                on customers.customer_key = known.customer_key
            order by known.customer_position
        """,
        "events": _events_sql(mart("fct_events"), known),
        "sessions": f"""
            select known.customer_position as customer, sessions.started_at,
                {_numbered("sessions.anonymous_id")} as anonymous_id,
                sessions.channel as platform, sessions.device_type,
                sessions.acquisition_channel
            from {mart("fct_sessions")} as sessions
            inner join ({known}) as known on known.customer_key = sessions.customer_key
        """,
        "messages": f"""
            select texts.customer_key, texts.occurred_at, texts.subject, texts.body
            from {mart("fct_customer_texts")} as texts
            inner join ({known}) as known on known.customer_key = texts.customer_key
            where texts.source = 'support_messages'
        """,
        "reviews": f"""
            select texts.customer_key, texts.occurred_at, texts.text_type, texts.score
            from {mart("fct_customer_texts")} as texts
            inner join ({known}) as known on known.customer_key = texts.customer_key
            where texts.source = 'reviews'
        """,
        "subscriptions": f"""
            select customer_key, subscription_id, plan, started_at
            from {mart("fct_subscription_versions")} as subscriptions
        """,
    }
    read = {name: query_frame(warehouse, sql) for name, sql in frames.items()}
    events = read["events"]
    for column in ("canonical_event", "source"):
        names = query_frame(warehouse, _events_sql(mart("fct_events"), known, column))["name"]
        events[column] = pd.Categorical.from_codes(events[column].to_numpy(), names.to_numpy())
    return SegmentFrames(**read, text_labels=read_text_labels(warehouse, schemas))


def read_text_labels(
    warehouse: Warehouse, schemas: WarehouseSchemas = WarehouseSchemas()
) -> pd.DataFrame | None:
    """The text model's labels, one row per text: customer_key, occurred_at, intent,
    sentiment (a category: the label's polarity when the sentiment is a score) and emotion;
    None until the text model has run. Labels keyed by text_key only are placed on the
    customer and time of their text in fct_customer_texts."""
    if not table_exists(warehouse, schemas.ml, TEXT_LABELS_TABLE):
        return None
    labels = without_analytics_opt_outs(  # labels written before a refusal, if it ran first
        warehouse,
        query_frame(warehouse, f"select * from {schemas.ml}.{TEXT_LABELS_TABLE}"),
        schemas.marts,
    )
    if "customer_key" not in labels or "occurred_at" not in labels:
        if "text_key" not in labels:
            return None
        texts = query_frame(
            warehouse,
            "select text_key, customer_key, occurred_at from "
            f"{consented(warehouse, f'{schemas.marts}.fct_customer_texts', schemas.marts)} as t",
        )
        labels = labels.drop(columns=["customer_key", "occurred_at"], errors="ignore")
        labels = labels.merge(texts, on="text_key", how="inner")
    if "polarity" in labels:
        labels["sentiment"] = labels["polarity"]
    elif "sentiment" in labels and pd.api.types.is_numeric_dtype(labels["sentiment"]):
        labels = labels.drop(columns=["sentiment"])
    wanted = ("customer_key", "occurred_at", "intent", "sentiment", "emotion")
    keep = [c for c in wanted if c in labels]
    return labels[keep] if {"intent", "sentiment", "emotion"} & set(keep) else None


def _optional(
    warehouse: Warehouse,
    schemas: WarehouseSchemas,
    table: str,
    columns: str,
    consented: Callable[[str], str],
):
    if not table_exists(warehouse, schemas.ml, table):
        return pd.DataFrame(columns=["customer_key", *columns.split(", ")])
    rows = consented(f"{schemas.ml}.{table}")
    return query_frame(warehouse, f"select customer_key, {columns} from {rows} as model_rows")


@dataclass(frozen=True)
class CardFacts:
    """What the cards read besides the features: customer paths, churn scores, values."""

    paths: pd.Series
    churn: pd.DataFrame
    value: pd.DataFrame
    horizon_days: int = 90


def read_card_facts(
    warehouse: Warehouse, schemas: WarehouseSchemas = WarehouseSchemas()
) -> CardFacts:
    consented = consented_tables(warehouse, schemas.marts)  # the catalog asked once
    paths = query_frame(
        warehouse,
        f"""
        select customer_key, path
        from {consented(f"{schemas.marts}.fct_journey_paths")} as paths
        where path_grain = 'customer'
        """,
    )
    churn = _optional(warehouse, schemas, "churn_scores", "churn_score, risk_band", consented)
    value = _optional(
        warehouse,
        schemas,
        "customer_value",
        "predicted_value, probability_alive, horizon_days",
        consented,
    )
    horizon = value["horizon_days"].dropna()
    return CardFacts(
        paths=paths.drop_duplicates("customer_key").set_index("customer_key")["path"],
        churn=churn.set_index("customer_key"),
        value=value.drop(columns=["horizon_days"]).set_index("customer_key"),
        horizon_days=int(horizon.iloc[0]) if len(horizon) else 90,
    )


@dataclass(frozen=True)
class PreviousRun:
    """What the last run left: memberships, the data it saw, its snapshots."""

    assignments: pd.Series | None = None
    loaded_through: pd.Timestamp | None = None
    cutoff_at: pd.Timestamp | None = None
    snapshots: pd.DataFrame | None = None

    @property
    def used_ids(self) -> set[int]:
        ids: set[int] = set()
        if self.assignments is not None:
            ids |= {int(v) for v in self.assignments.unique()}
        if self.snapshots is not None and len(self.snapshots):
            ids |= {int(v) for v in self.snapshots["segment_id"].unique()}
        return ids


def read_previous_run(
    warehouse: Warehouse, schemas: WarehouseSchemas = WarehouseSchemas()
) -> PreviousRun:
    previous = PreviousRun()
    if table_exists(warehouse, schemas.ml, CUSTOMER_SEGMENTS.table):
        frame = query_frame(
            warehouse,
            f"""
            select customer_key, segment_id, loaded_through, cutoff_at
            from {consented(warehouse, f"{schemas.ml}.customer_segments", schemas.marts)} as s
            """,
        )
        if len(frame):
            previous = PreviousRun(
                assignments=frame.set_index("customer_key")["segment_id"].astype(int),
                loaded_through=pd.Timestamp(naive_utc(frame["loaded_through"]).max()),
                cutoff_at=pd.Timestamp(naive_utc(frame["cutoff_at"]).max()),
            )
    if table_exists(warehouse, schemas.ml, PERSONA_SNAPSHOTS.table):
        snapshots = query_frame(warehouse, f"select * from {schemas.ml}.persona_snapshots")
        previous = replace(previous, snapshots=snapshots)
    return previous


def planted_personas(truth_dir: Path) -> pd.Series | None:
    """The generator's hidden persona per customer (``<data>/ground_truth/customers.csv``),
    None when the data is not generated. Indexed by customer_key: the keyed pseudonym staging
    gives the ground truth's clear customer id."""
    from journeymap.privacy import pseudonym_key, pseudonymize

    path = Path(truth_dir) / "customers.csv"
    if not path.is_file():
        return None
    truth = pd.read_csv(path, usecols=["customer_id", "persona"], dtype=str)
    key = pseudonym_key()
    truth.index = pd.Index([pseudonymize(c, key) for c in truth["customer_id"]])
    return truth["persona"]
