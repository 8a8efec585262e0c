"""Risk alerts: the rules on frames, the outbox kept once per alert, and webhook delivery to
a real HTTP receiver on 127.0.0.1 - retries, the receiver down and back, exactly once."""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pandas as pd
import pytest

from journeymap.ml import alerts as al
from journeymap.ml.alerts_io import find_alerts
from journeymap.ml.outputs import RISK_ALERTS
from journeymap.warehouse import DuckDBWarehouse

NOW = pd.Timestamp("2026-10-31 12:00")
FAST = al.RetryPolicy(attempts=3, first_wait_s=0.01, timeout_s=2.0)


class Receiver:
    """A webhook receiver that honours Idempotency-Key: ``processed`` holds each alert once,
    ``posts`` every request; the first ``fail_next`` requests get a 503."""

    def __init__(self, port: int = 0) -> None:
        self.posts: list[str] = []
        self.processed: dict[str, dict] = {}
        self.fail_next = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                key = self.headers["Idempotency-Key"]
                receiver.posts.append(key)
                if receiver.fail_next > 0:
                    receiver.fail_next -= 1
                    self.send_response(503)
                else:
                    receiver.processed.setdefault(key, body)
                    self.send_response(200)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/alerts"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _outbox(n: int) -> pd.DataFrame:
    texts = pd.DataFrame(
        {
            "customer_key": [f"c{i}" for i in range(n)],
            "source_text_id": [f"t{i}" for i in range(n)],
            "occurred_at": NOW - pd.Timedelta(hours=1),
            "intent": "billing_payment",
        }
    )
    risk = pd.DataFrame({"customer_key": texts["customer_key"], "risk_band": "high"})
    found = al.message_alerts(texts, risk, NOW - pd.Timedelta(days=1), NOW)
    return al.new_alerts(RISK_ALERTS.empty(), found)


def test_message_rule_needs_high_risk_and_a_risk_intent():
    texts = pd.DataFrame(
        {
            "customer_key": ["a", "b", "c", "d"],
            "source_text_id": ["1", "2", "3", "4"],
            "occurred_at": [NOW, NOW, NOW, NOW - pd.Timedelta(days=5)],
            "intent": ["cancellation", "billing_payment", "praise_feedback", "cancellation"],
        }
    )
    risk = pd.DataFrame(
        {"customer_key": list("abcd"), "risk_band": ["high", "low", "high", "high"]}
    )
    found = al.message_alerts(texts, risk, NOW - pd.Timedelta(days=2), NOW)
    assert found[["customer_key", "rule"]].values.tolist() == [["a", "cancellation_from_high_risk"]]


def test_checkout_rule_needs_high_value_no_order_and_enough_data():
    t0 = NOW - pd.Timedelta(hours=5)
    events = pd.DataFrame(
        {
            "customer_key": ["rich", "rich2", "rich2", "poor", "late"],
            "event_key": ["e1", "e2", "e3", "e4", "e5"],
            "occurred_at": [
                t0,
                t0,
                t0 + pd.Timedelta(minutes=10),
                t0,
                NOW - pd.Timedelta(minutes=5),
            ],
            "canonical_event": [
                "checkout_started",
                "checkout_started",
                "order_placed",
                "checkout_started",
                "payment_info_entered",
            ],
        }
    )
    revenue = pd.DataFrame(
        {
            "customer_key": ["rich", "rich2", "poor", "late"] + [f"x{i}" for i in range(16)],
            "revenue": [900, 800, 10, 700] + [20] * 16,
        }
    )
    found = al.checkout_alerts(
        events, revenue, NOW - pd.Timedelta(days=1), NOW, NOW, al.AlertConfig()
    )
    # rich2 ordered within the hour, poor is not high value, late's hour is not over yet.
    assert found["customer_key"].tolist() == ["rich"]


def test_the_outbox_keeps_one_row_per_alert_across_runs():
    first = _outbox(3)
    again = al.new_alerts(first, first.assign(created_at=NOW + pd.Timedelta(hours=1)))
    pd.testing.assert_frame_equal(again, first)


def test_retries_on_503_then_delivers_once():
    receiver = Receiver()
    try:
        receiver.fail_next = 2
        out = al.deliver(_outbox(1), receiver.url, lambda: NOW, FAST)
        assert out["delivered_at"].notna().all()
        assert out["attempts"].tolist() == [3]
        assert len(receiver.posts) == 3 and len(receiver.processed) == 1
    finally:
        receiver.stop()


def test_exactly_once_with_the_receiver_down_and_back():
    port = _free_port()
    outbox = _outbox(5)
    # Down: nothing listens. Nothing is delivered, and the run gives up at the first alert.
    down = al.deliver(outbox, f"http://127.0.0.1:{port}/alerts", lambda: NOW, FAST)
    assert down["delivered_at"].isna().all()
    assert down["attempts"].tolist() == [3, 0, 0, 0, 0]
    assert down["last_error"].iloc[0]

    receiver = Receiver(port)  # back, on the same address
    try:
        up = al.deliver(down, receiver.url, lambda: NOW, FAST)
        assert up["delivered_at"].notna().all()
        assert sorted(receiver.processed) == sorted(outbox["alert_id"])
        assert len(receiver.posts) == 5  # one request per alert

        # A later run has nothing to send.
        al.deliver(up, receiver.url, lambda: NOW, FAST)
        assert len(receiver.posts) == 5

        # A crash after the receiver answered but before the outbox was saved: the alerts go
        # again with the same keys, and the receiver processes none of them twice.
        al.deliver(down, receiver.url, lambda: NOW, FAST)
        assert len(receiver.posts) == 10
        assert len(receiver.processed) == 5
        assert all(
            p["rule"] == "billing_payment_from_high_risk" for p in receiver.processed.values()
        )
    finally:
        receiver.stop()


@pytest.mark.parametrize("status", [400, 410])
def test_a_refused_alert_is_not_retried(status, monkeypatch):
    calls = []

    def post(url, body, key, timeout):
        calls.append(key)
        return status

    out = al.deliver(_outbox(1), "http://unused", lambda: NOW, FAST, post=post)
    assert len(calls) == 1 and out["delivered_at"].isna().all()
    assert out["last_error"].iloc[0] == f"HTTP {status}"


def test_no_events_yet_is_no_alerts(tmp_path):
    with DuckDBWarehouse(tmp_path / "w.duckdb") as warehouse:
        warehouse.execute("create schema marts")
        warehouse.execute("create table marts.fct_events (occurred_at timestamp)")
        alerts = find_alerts(warehouse, pd.Timestamp("2026-12-01"))
    assert alerts.empty and list(alerts.columns) == list(RISK_ALERTS.column_names)
