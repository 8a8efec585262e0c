"""Consent reaches training, not only the outputs: on the session fixture (129 of 2,000
customers refuse analytics) every model's reader hands it no row of a customer who refused,
although its core marts hold such rows; the model report counts the customers each model
left out; and a refusal that arrives later (a new CRM version) applies from the next run,
training included."""

from __future__ import annotations

import json
from collections.abc import Callable

import pandas as pd
import pytest

from journeymap.load import load_landing
from journeymap.ml.actions_io import read_action_inputs, read_latest_event_at
from journeymap.ml.alerts_io import find_alerts
from journeymap.ml.attribution_io import (
    ATTRIBUTION_POPULATION,
    read_journeys,
    run_channel_attribution,
)
from journeymap.ml.churn import run_churn_scoring
from journeymap.ml.churn_io import read_churn_frames
from journeymap.ml.customers_io import (
    read_card_facts,
    read_orders,
    read_segment_frames,
    read_text_labels,
)
from journeymap.ml.next_step_io import read_step_log, run_next_step
from journeymap.ml.outputs import refusals_in
from journeymap.ml.text.labelling import read_texts
from journeymap.ml.text.themes import read_labelled_texts
from journeymap.transform import build
from journeymap.warehouse import DuckDBWarehouse
from tests.conftest import copy_workspace
from tests.helpers.pseudonyms import clear_identifiers
from tests.integration.marts import REFUSED

pytestmark = pytest.mark.integration


def _keys(*columns: pd.Series) -> set[str]:
    return {str(key) for column in columns for key in column.dropna()}


def _frame_keys(frames, names: str) -> list[pd.Series]:
    """The customer_key column of each named frame of ``frames``."""
    return [getattr(frames, name)["customer_key"] for name in names.split()]


def _churn(w) -> set[str]:
    frames = read_churn_frames(w)
    customers = frames.subscriptions["customer_id"]
    return _keys(customers, *_frame_keys(frames, "events sessions messages"))


def _segments(w) -> set[str]:
    frames = read_segment_frames(w)
    labels = read_text_labels(w)
    return _keys(
        *_frame_keys(frames, "customers messages reviews subscriptions"),
        labels["customer_key"] if labels is not None else pd.Series(dtype=object),
        read_card_facts(w).paths.index.to_series(),
    )


def _themes(w) -> set[str]:
    """The writers of the texts the friction themes read (the frame names texts, not people)."""
    texts = read_labelled_texts(w)
    writers = w.query_df(
        "select source, source_text_id, customer_key from marts.fct_customer_texts"
    )
    return _keys(texts.merge(writers, on=["source", "source_text_id"])["customer_key"])


# Model -> the customers its reader hands it, and the core mart rows it would read without
# the consent filter (which must hold refusals, or the check proves nothing).
READERS: dict[str, tuple[Callable, str]] = {
    "churn": (_churn, "select customer_key from marts.fct_subscription_versions"),
    "next_step": (
        lambda w: _keys(pd.Series(read_step_log(w).keys)),
        "select customer_key from marts.fct_events",
    ),
    "channel_attribution": (
        lambda w: _keys(read_journeys(w)["customer_key"]),
        "select customer_key from marts.mart_conversion_paths union all "
        "select customer_key from marts.mart_non_conversion_paths",
    ),
    "customer_value": (
        lambda w: _keys(read_orders(w)["customer_key"]),
        "select customer_key from marts.fct_events where is_conversion",
    ),
    "segments": (_segments, "select customer_key from marts.fct_sessions"),
    "text_labels": (
        lambda w: _keys(read_texts(w)["customer_key"]),
        "select customer_key from marts.fct_customer_texts",
    ),
    "text_themes": (_themes, "select customer_key from marts.fct_customer_texts"),
    "actions": (
        lambda w: _keys(read_action_inputs(w, read_latest_event_at(w))["customer_key"]),
        "select customer_key from marts.dim_customers where is_known",
    ),
    "alerts": (
        lambda w: _keys(find_alerts(w, pd.Timestamp("2030-01-01"))["customer_key"]),
        "select customer_key from marts.fct_events",
    ),
}


def _refusals(w, population_sql: str) -> int:
    return int(
        w.query_df(
            f"select count(distinct customer_key) from ({population_sql}) as population "
            f"where customer_key in ({REFUSED})"
        ).iloc[0, 0]
    )


@pytest.fixture(scope="module")
def warehouse(built_warehouse):
    with DuckDBWarehouse(built_warehouse.duckdb_path, read_only=True) as opened:
        yield opened


@pytest.mark.parametrize("model", sorted(READERS))
def test_no_model_reads_a_customer_who_refused_analytics(warehouse, model):
    reader, population = READERS[model]
    refused = set(warehouse.query_df(REFUSED)["customer_key"])
    read = reader(warehouse)
    assert len(read) > 0 and len(read & refused) == 0
    assert _refusals(warehouse, population) > 0  # the marts hold refusals the reader left out


def test_readers_reconcile_with_the_marts_minus_the_refusals(warehouse):
    """Counted independently in SQL: every journey and every step-holding customer but the
    refusals' is read, no more, no less."""
    journeys = read_journeys(warehouse)
    (all_journeys, refused_journeys) = warehouse.query_df(
        f"""
        select count(*), count(*) filter (where customer_key in ({REFUSED}))
        from (
            select customer_key from marts.mart_conversion_paths
            union all select customer_key from marts.mart_non_conversion_paths
        ) as journeys
        """
    ).iloc[0]
    assert refused_journeys > 0 and len(journeys) == all_journeys - refused_journeys
    (walkers,) = warehouse.query_df(
        f"""
        select count(distinct customer_key) from marts.fct_events
        where customer_key is not null and customer_key not in ({REFUSED})
            and coalesce(canonical_event, '') not in
                ('email_sent', 'email_delivered', 'email_bounced')
        """
    ).iloc[0]
    assert len(read_step_log(warehouse).keys) == walkers


# The model report's key -> the customers its population holds (what the asset counts).
REPORTED = {
    "churn": "select customer_key from marts.fct_subscription_versions",
    "next_step": "select customer_key from marts.fct_events",
    "customer_value": "select customer_key from marts.fct_events",
    "channel_attribution": READERS["channel_attribution"][1],
    "segments": "select customer_key from marts.fct_sessions",
    "text_labels": "select customer_key from marts.fct_customer_texts",
    "text_themes": "select customer_key from marts.fct_customer_texts",
}


def test_the_model_report_counts_the_customers_each_model_left_out(built_warehouse, warehouse):
    report = json.loads((built_warehouse.settings.build_dir / "model_report.json").read_text())
    for model, population in REPORTED.items():
        expected = _refusals(warehouse, population)
        assert expected > 0 and report[model]["customers_excluded_no_consent"] == expected, model


def _land_refusal(settings, customer_key: str) -> None:
    """A new CRM version of the customer, a day after their latest, refusing analytics: a
    landing file as the CRM export would deliver it."""
    with DuckDBWarehouse(settings.duckdb_path, read_only=True) as w:
        clear = clear_identifiers(w.connection)[customer_key]
        (latest,) = w.query_df(
            "select _file_name from raw.crm_contacts where customer_id = ? "
            "order by updated_at desc limit 1",
            [clear],
        ).iloc[0]
    landing = settings.landing_dir / "crm_contacts"
    contacts = pd.read_csv(landing / latest, dtype=str)
    version = contacts[contacts["customer_id"] == clear].tail(1).copy()
    later = pd.Timestamp(version["updated_at"].iloc[0]) + pd.Timedelta(days=1)
    version["updated_at"] = later.strftime("%Y-%m-%dT%H:%M:%SZ")
    version["consent_analytics"] = "false"
    version.to_csv(landing / "crm_contacts_2026-11-01.csv", index=False)


def test_a_refusal_applies_from_the_next_run_training_included(built_warehouse, tmp_path):
    """One consenting subscriber with a churn score, an open journey and attributed paths
    refuses analytics in a new CRM version; after the next load and core build (of what
    lies between the CRM contacts and dim_customers), re-running churn, next step and
    attribution drops them from what each reads and writes, attribution's journeys fall by
    exactly theirs, and the refusals counted grow by one."""
    settings = copy_workspace(built_warehouse.settings, tmp_path)
    with DuckDBWarehouse(settings.duckdb_path, read_only=True) as w:
        (customer,) = w.query_df(
            """
            select scores.customer_key from ml.churn_scores as scores
            inner join ml.next_step_predictions using (customer_key)
            inner join marts.mart_conversion_paths using (customer_key)
            order by 1 limit 1
            """
        ).iloc[0]
        journeys_before = read_journeys(w)
        refused_before = refusals_in(w, ATTRIBUTION_POPULATION)
    theirs = int((journeys_before["customer_key"] == customer).sum())
    _land_refusal(settings, customer)
    with DuckDBWarehouse(settings.duckdb_path) as w:
        load_landing(w, settings.landing_dir, contracts=settings.source_contracts)
    build(settings, select="stg_crm__contacts+,+dim_customers")
    with DuckDBWarehouse(settings.duckdb_path) as w:
        for model in ("churn", "next_step", "channel_attribution"):
            assert customer not in READERS[model][0](w), model
        churn = run_churn_scoring(w)
        run_next_step(w)
        attribution = run_channel_attribution(w)
        for table in ("churn_scores", "next_step_predictions"):
            (rows,) = w.query_df(
                f"select count(*) from ml.{table} where customer_key = ?", [customer]
            ).iloc[0]
            assert rows == 0, table
        assert customer not in set(churn.scores["customer_key"])
        assert theirs > 0 and attribution.journeys == len(journeys_before) - theirs
        assert refusals_in(w, ATTRIBUTION_POPULATION) == refused_before + 1
