"""Risk alerts on the fixture: the outbox the Dagster job wrote reconciled with the marts, and
a re-run on a copy delivering to a local receiver once per alert."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

from journeymap.ml.alerts import RetryPolicy
from journeymap.ml.alerts_io import run_alerts
from journeymap.warehouse import DuckDBWarehouse
from tests.unit.test_alerts import Receiver

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def outbox(built_warehouse) -> pd.DataFrame:
    with DuckDBWarehouse(built_warehouse.duckdb_path, read_only=True) as warehouse:
        return warehouse.query_df("select * from ml.risk_alerts")


def test_checkout_alerts_are_high_value_drop_offs(built_warehouse, outbox):
    checkout = outbox[outbox["rule"].eq("checkout_drop_off_high_value")]
    assert len(checkout) > 0
    events = [json.loads(e)["event"] for e in checkout["evidence"]]
    keys = ", ".join(f"'{e}'" for e in events)
    with DuckDBWarehouse(built_warehouse.duckdb_path, read_only=True) as warehouse:
        ordered = warehouse.query_df(
            f"""
            select distinct c.event_key from marts.fct_events as c
            inner join marts.fct_events as o
                on o.customer_key = c.customer_key and o.canonical_event = 'order_placed'
                and o.occurred_at > c.occurred_at
                and o.occurred_at <= c.occurred_at + interval 60 minute
            where c.event_key in ({keys})
            """
        )
        ranks = warehouse.query_df(  # among customers who did not refuse analytics (read)
            """
            select customer_key, percent_rank() over (order by revenue) as revenue_rank
            from marts.dim_customers
            where is_known and revenue > 0 and has_analytics_consent
            """
        ).set_index("customer_key")["revenue_rank"]
    assert ordered.empty  # no alerted checkout was followed by an order within the hour
    assert (ranks.reindex(checkout["customer_key"]) >= 0.79).all()
    assert outbox["alert_id"].is_unique


def test_a_rerun_delivers_each_alert_once(built_warehouse, tmp_path, outbox):
    path = tmp_path / "journeymap.duckdb"
    shutil.copy2(built_warehouse.duckdb_path, path)
    receiver = Receiver()
    policy = RetryPolicy(attempts=2, first_wait_s=0.01, timeout_s=5.0)
    now = pd.Timestamp("2026-12-01")
    try:
        with DuckDBWarehouse(path) as warehouse:
            first = run_alerts(warehouse, receiver.url, lambda: now, policy=policy)
            again = run_alerts(warehouse, receiver.url, lambda: now, policy=policy)
    finally:
        receiver.stop()
    assert len(first) == len(again) == len(outbox)  # nothing added twice
    assert first["delivered_at"].notna().all()
    assert sorted(receiver.processed) == sorted(outbox["alert_id"])
    assert len(receiver.posts) == len(outbox)  # the second run sent nothing
