"""Churn labels, cutoffs, split, bands, reasons and the whole run, on hand-made frames."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from journeymap.ml.churn import (
    HIGH_RISK_THRESHOLD,
    MEDIUM_RISK_THRESHOLD,
    MODEL_VERSION,
    SCORE_COLUMNS,
    ChurnConfig,
    calibration_table,
    churn_cutoffs,
    churn_labels,
    customer_folds,
    risk_bands,
    run_churn_scoring,
    score_churn,
)
from journeymap.ml.churn_reasons import (
    NO_REASON,
    REASON_GROUPS,
    describe_reason,
    reason_contributions,
    reference_values,
    top_reasons,
)
from journeymap.ml.features import FEATURE_COLUMNS, ChurnFrames, build_features
from journeymap.ml.warehouse_io import default_as_of
from journeymap.warehouse import DuckDBWarehouse
from tests.unit.test_churn_features import BILLING_COMPLAINT, frames, ts

CUTOFF = pd.Timestamp("2026-03-01 00:00:00")


# --- labels, cutoffs, split, bands -------------------------------------------------------


def test_labels_are_cancellations_of_active_subscribers_within_the_horizon():
    subs = frames(
        subscriptions=[
            (
                "s1",
                "churns",
                "pro",
                ts("2026-01-01 00:00"),
                ts("2026-03-15 00:00"),
                ts("2026-03-15 00:00"),
            ),
            ("s2", "stays", "pro", ts("2026-01-01 00:00"), None, ts("2026-01-01 00:00")),
            (
                "s3",
                "later",
                "pro",
                ts("2026-01-01 00:00"),
                ts("2026-03-31 00:00"),
                ts("2026-03-31 00:00"),
            ),
            (
                "s4",
                "edge",
                "pro",
                ts("2026-01-01 00:00"),
                ts("2026-03-30 23:59"),
                ts("2026-03-30 23:59"),
            ),
            (
                "s5",
                "gone",
                "pro",
                ts("2026-01-01 00:00"),
                ts("2026-02-20 00:00"),
                ts("2026-02-20 00:00"),
            ),
            (
                "s6",
                "new",
                "pro",
                ts("2026-03-02 00:00"),
                ts("2026-03-05 00:00"),
                ts("2026-03-05 00:00"),
            ),
            ("s7", "at_cutoff", "pro", ts("2026-01-01 00:00"), CUTOFF, CUTOFF),
        ]
    ).subscriptions
    labels = churn_labels(subs, CUTOFF, horizon_days=30)
    assert labels.to_dict() == {"at_cutoff": 1, "churns": 1, "edge": 1, "later": 0, "stays": 0}
    assert churn_labels(subs, CUTOFF, horizon_days=10).to_dict()["churns"] == 0


def test_cutoffs_step_back_from_as_of():
    cutoffs = churn_cutoffs(ts("2026-01-01 00:00"), ts("2026-04-01 00:00"), 30, ChurnConfig())
    assert cutoffs.score == ts("2026-04-01 00:00")
    assert cutoffs.evaluation == ts("2026-03-02 00:00")
    # weekly, from a week before the evaluation cutoff back to a week after the first event
    assert cutoffs.train[:2] == (ts("2026-02-23 00:00"), ts("2026-02-16 00:00"))
    assert cutoffs.train[-1] == ts("2026-01-12 00:00")
    assert len(cutoffs.train) == 7
    strict = ChurnConfig(train_gap_days=30, max_train_snapshots=2)
    cutoffs = churn_cutoffs(ts("2026-01-01 00:00"), ts("2026-04-01 00:00"), 30, strict)
    assert cutoffs.train == (ts("2026-01-31 00:00"), ts("2026-01-24 00:00"))
    with pytest.raises(ValueError, match="not enough history"):
        churn_cutoffs(ts("2026-02-25 00:00"), ts("2026-04-01 00:00"), 30)


def test_default_as_of_is_the_end_of_the_last_day():
    assert default_as_of(ts("2026-10-31 23:59:59")) == ts("2026-11-01 00:00")
    assert default_as_of(pd.Timestamp("2026-10-31 08:00", tz="UTC")) == ts("2026-11-01 00:00")


def test_customer_folds_are_stable_and_balanced():
    customers = pd.Index([f"C{i:07d}" for i in range(5000)])
    folds = customer_folds(customers, 5)
    assert set(folds) == {0, 1, 2, 3, 4}
    assert np.bincount(folds).min() > 900
    assert (customer_folds(customers[::-1], 5) == folds[::-1]).all()
    with pytest.raises(ValueError):
        customer_folds(customers, 1)


def test_risk_band_thresholds():
    assert (HIGH_RISK_THRESHOLD, MEDIUM_RISK_THRESHOLD) == (0.5, 0.2)
    bands = risk_bands(np.array([0.0, 0.199, 0.2, 0.49, 0.5, 1.0]))
    assert list(bands) == ["low", "low", "medium", "medium", "high", "high"]


def test_calibration_table():
    table = calibration_table(np.array([0, 1, 0, 1]), np.array([0.05, 0.05, 0.95, 1.0]))
    assert len(table) == 10 and [row["count"] for row in table] == [2] + [0] * 8 + [2]
    assert table[0]["mean_predicted"] == pytest.approx(0.05) and table[0]["observed_rate"] == 0.5
    assert table[9]["mean_predicted"] == pytest.approx(0.975) and table[9]["observed_rate"] == 0.5
    assert table[5]["mean_predicted"] is None


# --- reasons -----------------------------------------------------------------------------


def _features(rows: dict[str, dict]) -> pd.DataFrame:
    """Feature rows: zeros, missing recency, plan basic, except the given values."""
    base = {c: 0.0 for c in FEATURE_COLUMNS}
    base.update(
        days_since_last_event=2.0,
        days_since_last_session=2.0,
        days_since_last_order=np.nan,
        days_since_last_billing_complaint=np.nan,
        tenure_days=40.0,
        subscription_days=30.0,
        sessions_30d=6.0,
        plan="basic",
    )
    return pd.DataFrame([{**base, **values} for values in rows.values()], index=list(rows))


def _toy_predict(features: pd.DataFrame) -> np.ndarray:
    """Risk rises with billing complaints (strongly), negative wording and inactivity."""
    risk = (
        0.05
        + 0.2 * features["billing_complaints_30d"].to_numpy(dtype=float)
        + 0.05 * features["negative_messages_30d"].to_numpy(dtype=float)
        + 0.01 * np.nan_to_num(features["days_since_last_session"].to_numpy(dtype=float))
    )
    return np.clip(risk, 0, 1)


def test_reference_values_are_medians_with_missing_as_never():
    features = _features(
        {
            "a": {"days_since_last_order": 3.0, "orders_total": 1.0, "plan": "pro"},
            "b": {"days_since_last_order": 5.0, "orders_total": 3.0},
            "c": {"orders_total": 2.0},
            "d": {"days_since_last_order": 7.0, "days_since_last_billing_complaint": 1.0},
        }
    )
    reference = reference_values(features)
    assert reference["orders_total"] == 1.5
    assert reference["days_since_last_order"] == 6.0  # 3, 5, 7 and never

    assert np.isnan(reference["days_since_last_billing_complaint"])  # mostly never
    assert reference["plan"] == "basic"


def test_reasons_are_the_largest_contributions_in_plain_words():
    population = _features({f"p{i}": {} for i in range(5)})
    customers = _features(
        {
            "complainer": {
                "billing_complaints_30d": 3.0,
                "billing_complaints_total": 4.0,
                "negative_messages_30d": 3.0,
                "days_since_last_session": 12.0,
                "sessions_30d": 1.0,
            },
            "quiet": {"days_since_last_session": 20.0, "sessions_30d": 0.0},
            "typical": {},
        }
    )
    contributions = reason_contributions(customers, _toy_predict, reference_values(population))
    assert list(contributions.columns) == list(REASON_GROUPS)
    # complaints and their negative wording are one reason: what the customer told support
    assert contributions.loc["complainer", "support"] == pytest.approx(0.6 + 0.15)
    assert contributions.loc["complainer", "inactivity"] == pytest.approx(0.10)
    assert contributions.loc["quiet", "inactivity"] == pytest.approx(0.18)
    assert (contributions.loc["typical"] == 0).all()  # the reference customer: nothing stands out
    reasons = top_reasons(customers, contributions)
    assert list(reasons.loc["complainer"]) == [
        "3 billing complaints in the last 30 days",
        "1 session in the last 30 days, the last 12 days ago",
        NO_REASON,
    ]
    assert list(reasons.loc["quiet"]) == [
        "no web or app session in the last 30 days (the last 20 days ago)",
        NO_REASON,
        NO_REASON,
    ]
    assert list(reasons.loc["typical"]) == [NO_REASON] * 3


def test_reasons_rank_by_contribution():
    customers = _features({"x": {"billing_complaints_30d": 1.0, "billing_complaints_total": 1.0}})
    contributions = pd.DataFrame(
        [
            [
                {"support": 0.05, "inactivity": 0.2, "email_engagement": 0.1}.get(g, 0.0)
                for g in REASON_GROUPS
            ]
        ],
        index=["x"],
        columns=list(REASON_GROUPS),
    )
    reasons = top_reasons(customers, contributions)
    assert list(reasons.loc["x"]) == [
        "6 sessions in the last 30 days, the last 2 days ago",
        "opened no marketing email in the last 30 days",
        "1 billing complaint in the last 30 days",
    ]


def test_reason_ties_follow_the_group_order():
    customers = _features({"x": {}})
    contributions = pd.DataFrame(
        [[0.1 if g in ("plan", "tenure", "orders") else 0.0 for g in REASON_GROUPS]],
        index=["x"],
        columns=list(REASON_GROUPS),
    )
    reasons = top_reasons(customers, contributions)
    assert list(reasons.loc["x"]) == [
        "no completed order yet",
        "subscribed 30 days ago",
        "on the basic plan",
    ]


@pytest.mark.parametrize(
    ("group", "values", "text"),
    [
        (
            "support",
            {"billing_complaints_30d": 1, "billing_complaints_total": 1},
            "1 billing complaint in the last 30 days",
        ),
        (
            "support",
            {
                "billing_complaints_30d": 0,
                "billing_complaints_total": 2,
                "days_since_last_billing_complaint": 41.7,
            },
            "2 billing complaints so far, the last 41 days ago",
        ),
        (
            "support",
            {"topic_cancellation": 1, "negative_messages_30d": 1},
            "1 support message about cancelling",
        ),
        (
            "support",
            {
                "negative_messages_30d": 2,
                "negative_messages_total": 3,
                "topic_delivery": 2,
                "topic_technical": 1,
                "topic_praise": 4,
            },
            "2 support messages with negative wording in the last 30 days, mostly about delivery",
        ),
        (
            "support",
            {"support_messages_total": 3, "topic_how_to": 2, "topic_praise": 1},
            "3 support messages so far, mostly about how to do things",
        ),
        ("support", {}, "no contact with support yet"),
        (
            "orders",
            {"orders_total": 2, "orders_30d": 0, "days_since_last_order": 45.2},
            "no order in the last 30 days (the last 45 days ago)",
        ),
        (
            "orders",
            {"orders_total": 2, "orders_30d": 2, "revenue_30d": 120.4},
            "2 orders worth 120 in the last 30 days",
        ),
        ("email_engagement", {"email_unsubscribed": 1}, "unsubscribed from marketing email"),
        (
            "product_usage",
            {"feature_uses_30d": 1},
            "used product features 1 time in the last 30 days",
        ),
        ("journey_stage", {"max_stage_order": 5}, "furthest journey stage reached: advocacy"),
        ("plan", {"plan": "team"}, "on the team plan"),
    ],
)
def test_describe_reason(group, values, text):
    row = _features({"x": values}).loc["x"].to_dict()
    assert describe_reason(group, row) == text


# --- the whole run on a toy business -----------------------------------------------------

START = pd.Timestamp("2026-01-01 00:00:00")
DAYS = 120


def toy_business(customers: int = 600, seed: int = 3) -> ChurnFrames:
    """A subscription business where churn follows billing complaints: after each complaint a
    customer cancels 1-14 days later with probability 0.4; a few cancel for no visible reason;
    sessions thin out in the two weeks before a cancellation."""
    rng = np.random.default_rng(seed)
    subs, events, sessions, messages = [], [], [], []
    end = START + pd.Timedelta(days=DAYS)
    for i in range(customers):
        key = f"C{i:05d}"
        start = START + pd.Timedelta(days=float(rng.uniform(0, DAYS - 20)))
        plan = ["basic", "pro", "team"][rng.integers(3)]
        rate = 0.08 if i % 3 == 0 else 0.004  # complaints a day
        cancel, t, k = None, start, 0
        while cancel is None:
            t += pd.Timedelta(days=float(rng.exponential(1 / rate)))
            if t >= end:
                break
            messages.append((key, t, f"T{i}-{k}", f"M{i}-{k}", "Billing", BILLING_COMPLAINT))
            k += 1
            if rng.random() < 0.4:
                cancel = t + pd.Timedelta(days=float(rng.uniform(1, 14)))
        if cancel is None and rng.random() < 0.03:
            cancel = start + pd.Timedelta(days=float(rng.uniform(1, DAYS)))
        if cancel is not None and cancel >= end:
            cancel = None
        subs.append((f"S{i}", key, plan, start, None, start))
        if cancel is not None:
            subs.append((f"S{i}", key, plan, start, cancel, cancel))
        t = start
        while t < end:
            quiet = cancel is not None and t > cancel - pd.Timedelta(days=14)
            t += pd.Timedelta(days=float(rng.exponential(6.0 if quiet else 2.0)))
            if t < end and (cancel is None or t < cancel):
                sessions.append((key, f"{key}-{t.value}", t))
                events.append((key, t, "feature_used", "retention", False, None))
        events.append((key, start, "order_placed", "purchase", True, 30.0))
    return frames(subs, events, sessions, messages)


@pytest.fixture(scope="module")
def business() -> ChurnFrames:
    return toy_business()


@pytest.fixture(scope="module")
def toy_run(business):
    return score_churn(business, as_of=START + pd.Timedelta(days=DAYS), scored_at=START)


def test_run_scores_every_active_subscriber_with_reasons(business, toy_run):
    as_of = START + pd.Timedelta(days=DAYS)
    scores = toy_run.scores
    assert list(scores.columns) == list(SCORE_COLUMNS)
    active = churn_labels(business.subscriptions, as_of, 1).index
    assert sorted(scores["customer_key"]) == sorted(active)
    assert scores["customer_key"].is_unique
    assert scores["churn_score"].between(0, 1).all()
    assert scores[["reason_1", "reason_2", "reason_3"]].notna().all().all()
    assert set(scores["risk_band"]) <= {"low", "medium", "high"}
    assert (scores["model_version"] == MODEL_VERSION).all()
    assert (scores["cutoff_at"] == as_of).all() and (scores["scored_at"] == START).all()
    assert str(scores["cutoff_at"].dtype) == "datetime64[us]"


def test_run_learns_the_billing_driver(business, toy_run):
    metrics = toy_run.metrics
    assert metrics["auc"] >= 0.8
    assert (
        0 <= metrics["brier"] < metrics["positive_rate_test"] * (1 - metrics["positive_rate_test"])
    )
    assert metrics["n_train"] > metrics["n_test"] > 0
    assert len(metrics["calibration"]) == 10
    assert sum(row["count"] for row in metrics["calibration"]) == metrics["n_test"]
    top = list(toy_run.feature_importances)[:3]
    assert {"billing_complaints_30d", "days_since_last_billing_complaint"} & set(top)
    values = list(toy_run.feature_importances.values())
    assert values == sorted(values, reverse=True)
    # Held-out customers with a recent complaint: the evaluation models name it first.
    held_out = toy_run.held_out.set_index("customer_key")
    features = build_features(business, held_out.index, toy_run.cutoffs.evaluation)
    complained = features.index[features["days_since_last_billing_complaint"] <= 14]
    assert len(complained) >= 10
    assert (held_out.loc[complained, "reason_group_1"] == "support").mean() >= 0.8
    # Today's subscribers with recent complaints: billing is their first reason.
    features = build_features(business, toy_run.scores["customer_key"], toy_run.cutoffs.score)
    complainers = features.index[features["billing_complaints_30d"] >= 1]
    assert len(complainers) >= 10
    first = toy_run.scores.set_index("customer_key").loc[complainers, "reason_1"]
    assert first.str.contains("billing complaint").mean() >= 0.8
    meta = toy_run.metadata()
    assert meta["auc"] == metrics["auc"] and meta["n_scored"] == len(toy_run.scores)
    assert all(isinstance(v, (str, int, float, type(None))) for v in meta.values())


def test_data_after_as_of_changes_nothing(business, toy_run):
    """Scoring at as_of must not peek: later events, messages and cancellations are ignored."""
    as_of = START + pd.Timedelta(days=DAYS)
    later = as_of + pd.Timedelta(days=3)
    keys = sorted(business.subscriptions["customer_id"].unique())[:50]
    extra = ChurnFrames(
        subscriptions=pd.concat(
            [
                business.subscriptions,
                pd.DataFrame(
                    [(f"X{k}", k, "pro", later, later, later) for k in keys],
                    columns=business.subscriptions.columns,
                ),
            ]
        ),
        events=pd.concat(
            [
                business.events,
                pd.DataFrame(
                    [(k, as_of, "order_placed", "purchase", True, 99.0) for k in keys],
                    columns=business.events.columns,
                ),
            ]
        ),
        sessions=business.sessions,
        messages=pd.concat(
            [
                business.messages,
                pd.DataFrame(
                    [(k, later, "TX", f"MX{k}", "", BILLING_COMPLAINT) for k in keys],
                    columns=business.messages.columns,
                ),
            ]
        ),
    )
    again = score_churn(extra, as_of=as_of, scored_at=START)
    pd.testing.assert_frame_equal(again.scores, toy_run.scores)
    assert again.metrics == toy_run.metrics


def _load_toy_warehouse(path, business: ChurnFrames) -> None:
    subs = business.subscriptions
    events = business.events.assign(
        source="web_events",
        source_event_id=[f"E{i}" for i in range(len(business.events))],
        customer_id=business.events["customer_key"],
        context_id=None,
    )
    support = business.messages.assign(
        source="support_messages",
        source_event_id=business.messages["message_id"],
        customer_id=business.messages["customer_key"],
        canonical_event="support_contacted",
        journey_stage="retention",
        is_conversion=False,
        revenue=None,
        context_id=business.messages["ticket_id"],
    )
    columns = [
        "customer_key",
        "customer_id",
        "occurred_at",
        "source",
        "source_event_id",
        "canonical_event",
        "journey_stage",
        "is_conversion",
        "revenue",
        "context_id",
    ]
    fct_events = pd.concat([events[columns], support[columns]], ignore_index=True)
    fct_events["revenue"] = fct_events["revenue"].astype(float)
    texts = business.messages.rename(
        columns={"ticket_id": "thread_id", "message_id": "source_text_id"}
    ).assign(source="support_messages")
    with DuckDBWarehouse(path) as warehouse:
        subscription_versions = subs.rename(columns={"customer_id": "customer_key"})
        warehouse.write_frame("marts", "fct_subscription_versions", subscription_versions)
        warehouse.write_frame("marts", "fct_customer_texts", texts)
        warehouse.write_frame("marts", "fct_events", fct_events)
        warehouse.write_frame("marts", "fct_sessions", business.sessions)


def test_run_churn_scoring_reads_and_writes_the_warehouse(tmp_path, business, toy_run):
    path = tmp_path / "toy.duckdb"
    _load_toy_warehouse(path, business)
    with DuckDBWarehouse(path) as warehouse:
        run = run_churn_scoring(warehouse)
        written = warehouse.query_df("select * from ml.churn_scores order by customer_key")
        types = warehouse.query_df(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'ml' and table_name = 'churn_scores' order by ordinal_position"
        )
    assert run.cutoffs.score == START + pd.Timedelta(days=DAYS)  # the end of the data
    assert len(written) == len(run.scores) == len(toy_run.scores)
    assert list(zip(types["column_name"], types["data_type"], strict=True)) == [
        ("customer_key", "VARCHAR"),
        ("churn_score", "DOUBLE"),
        ("risk_band", "VARCHAR"),
        ("reason_1", "VARCHAR"),
        ("reason_2", "VARCHAR"),
        ("reason_3", "VARCHAR"),
        ("model_version", "VARCHAR"),
        ("cutoff_at", "TIMESTAMP"),
        ("scored_at", "TIMESTAMP"),
    ]
    expected = run.scores.sort_values("customer_key").reset_index(drop=True)
    pd.testing.assert_series_equal(written["churn_score"], expected["churn_score"])
    for column in ("customer_key", "risk_band", "reason_1", "reason_2", "reason_3"):
        assert list(written[column]) == list(expected[column]), column
    assert set(written["customer_key"]) == set(toy_run.scores["customer_key"])
