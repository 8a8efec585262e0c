"""Asset keys and groups: one place, so the modules that define assets, checks, jobs and
sensors refer to each other's assets without importing each other.

Keys follow the warehouse: ``<schema>/<table>`` (``raw/web_events``, ``marts/fct_events``,
``ml/churn_scores``, ``enriched/dim_customer_360``); dbt models get theirs from the dbt
translator by the same rule (assets/dbt.py).
"""

from __future__ import annotations

from dagster import AssetKey

from journeymap.contract import SOURCES

DEMO_GROUP = "demo"
RAW_GROUP = "raw"
ML_GROUP = "ml"
REPORT_GROUP = "report"

SAMPLE_DATA_KEY = AssetKey(["demo", "sample_data"])
# A run's first warehouse step: the retention period's purge (journeymap.retention).
RETENTION_KEY = AssetKey(["raw", "retention_log"])


def raw_key(source: str) -> AssetKey:
    """The raw load asset of a source: a built-in one or one the project declares."""
    return AssetKey(["raw", source])


RAW_KEYS: dict[str, AssetKey] = {name: raw_key(name) for name in SOURCES}
# The dbt model that reads the raw tables of the project's own event sources (not dbt sources).
PROJECT_EVENTS_MODEL = "stg_project__events"
# Tables every raw load writes besides its own (the loader's bookkeeping).
LOADER_TABLES = ("load_ledger", "quarantine")
# The dbt source the ML assets write; every other dbt source is a raw table.
ML_SOURCE = "ml"

JOURNEY_MAP_KEY = AssetKey(["report", "journey_map"])
DATA_DOCS_KEY = AssetKey(["report", "data_docs"])


def mart_key(name: str) -> AssetKey:
    return AssetKey(["marts", name])


def enriched_key(name: str) -> AssetKey:
    return AssetKey(["enriched", name])


def seed_key(name: str) -> AssetKey:
    return AssetKey(["seeds", name])


def ml_key(table: str) -> AssetKey:
    return AssetKey([ML_SOURCE, table])


CHURN_SCORES_KEY = ml_key("churn_scores")
CUSTOMER_VALUE_KEY = ml_key("customer_value")
CUSTOMER_SEGMENTS_KEY = ml_key("customer_segments")
PERSONA_CARDS_KEY = ml_key("persona_cards")
PERSONA_SNAPSHOTS_KEY = ml_key("persona_snapshots")
CHANNEL_ATTRIBUTION_KEY = ml_key("channel_attribution")
TEXT_LABELS_KEY = ml_key("text_labels")
TEXT_THEMES_KEY = ml_key("text_themes")
NEXT_STEP_KEY = ml_key("next_step_predictions")
ACTION_ASSIGNMENTS_KEY = ml_key("action_assignments")
RISK_ALERTS_KEY = ml_key("risk_alerts")
