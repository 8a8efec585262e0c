"""Great Expectations suites as Dagster asset checks (our own ``@asset_check`` functions).

One check, ``expectations``, per guarded asset: the raw tables (suite ``raw.<source>``), the key
marts (``marts.fct_events``, ``marts.fct_sessions``, ``marts.dim_customers``, the retention
and lifecycle marts, ``marts.mart_channel_attribution``), the ML tables (``ml.churn_scores``,
``ml.customer_value``, ``ml.customer_segments``, ``ml.persona_cards``, ``ml.text_labels``,
``ml.channel_attribution``) and the enriched customer table (``enriched.dim_customer_360``).
All are blocking: when one fails, the steps that read the asset do not run (a failed raw
suite stops dbt; a failed ``marts.fct_events`` stops the churn model and what reads it; a
failed ``ml.churn_scores`` or ``ml.text_labels`` stops the enriched step). The check's
description and metadata name the
failed expectations, their columns and the offending rows. A suite that passes with warnings
(e.g. the newest event is older than the freshness limit) passes, and says so.

dbt's own tests are asset checks too, made by dagster-dbt from the manifest (assets/dbt.py).
"""

from dataclasses import dataclass
from typing import Any

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetKey,
    ResourceParam,
    asset_check,
)

from journeymap.contract import SOURCES
from journeymap.orchestration.keys import (
    CHANNEL_ATTRIBUTION_KEY,
    CHURN_SCORES_KEY,
    CUSTOMER_SEGMENTS_KEY,
    CUSTOMER_VALUE_KEY,
    PERSONA_CARDS_KEY,
    RAW_KEYS,
    TEXT_LABELS_KEY,
    enriched_key,
    mart_key,
)
from journeymap.orchestration.metadata import to_metadata
from journeymap.orchestration.resources import run_query_tag
from journeymap.settings import Settings
from journeymap.warehouse import open_warehouse

CHECK_NAME = "expectations"


@dataclass(frozen=True)
class GuardedAsset:
    suite: str
    asset_key: AssetKey
    blocking: bool = True


GUARDED: tuple[GuardedAsset, ...] = (
    *(GuardedAsset(f"raw.{name}", RAW_KEYS[name]) for name in SOURCES),
    GuardedAsset("marts.fct_events", mart_key("fct_events")),
    GuardedAsset("marts.fct_sessions", mart_key("fct_sessions")),
    GuardedAsset("marts.dim_customers", mart_key("dim_customers")),
    GuardedAsset("ml.churn_scores", CHURN_SCORES_KEY),
    GuardedAsset("ml.text_labels", TEXT_LABELS_KEY),
    GuardedAsset("enriched.dim_customer_360", enriched_key("dim_customer_360")),
    GuardedAsset("ml.customer_value", CUSTOMER_VALUE_KEY),
    GuardedAsset("ml.customer_segments", CUSTOMER_SEGMENTS_KEY),
    GuardedAsset("ml.persona_cards", PERSONA_CARDS_KEY),
    GuardedAsset("marts.mart_retention_cohorts", mart_key("mart_retention_cohorts")),
    GuardedAsset("marts.mart_customer_lifecycle", mart_key("mart_customer_lifecycle")),
    GuardedAsset("marts.mart_channel_attribution", mart_key("mart_channel_attribution")),
    GuardedAsset("ml.channel_attribution", CHANNEL_ATTRIBUTION_KEY),
)
SUITE_NAMES: tuple[str, ...] = tuple(g.suite for g in GUARDED)


# Outcomes of the latest run's checks, for the data docs asset at the end of the same run (the
# jobs run in one process), so it does not validate every suite a second time.
_outcomes_by_run: dict[str, dict[str, Any]] = {}


def remember_outcome(run_id: str, suite: str, outcome: Any) -> None:
    if run_id not in _outcomes_by_run:
        _outcomes_by_run.clear()
        _outcomes_by_run[run_id] = {}
    _outcomes_by_run[run_id][suite] = outcome


def outcomes_of_run(run_id: str) -> dict[str, Any]:
    return dict(_outcomes_by_run.get(run_id, {}))


def run_suite(settings: Settings, suite: str, tag: str | None = None):
    """Validate one suite against the warehouse (read only); returns a ValidationOutcome."""
    from journeymap.quality import validate

    with open_warehouse(settings, read_only=True, tag=tag) as warehouse:
        return validate(warehouse, suite)


def expectation_check(guarded: GuardedAsset) -> AssetChecksDefinition:
    @asset_check(
        asset=guarded.asset_key,
        name=CHECK_NAME,
        blocking=guarded.blocking,
        description=f"Great Expectations suite {guarded.suite} (journeymap.quality).",
        metadata={"suite": guarded.suite},
    )
    def _check(
        context: AssetCheckExecutionContext, settings: ResourceParam[Settings]
    ) -> AssetCheckResult:
        outcome = run_suite(settings, guarded.suite, run_query_tag(context))
        remember_outcome(context.run.run_id, guarded.suite, outcome)
        metadata = to_metadata(outcome.metadata())
        metadata.setdefault("suite", guarded.suite)
        return AssetCheckResult(
            passed=bool(outcome.success),
            severity=AssetCheckSeverity.ERROR,
            description=outcome.describe(),
            metadata=metadata,
        )

    return _check


expectation_checks: list[AssetChecksDefinition] = [expectation_check(g) for g in GUARDED]
