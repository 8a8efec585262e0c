"""Every quality suite on the built sample warehouse: clean data passes; a copy with one
planted problem fails the right suite, with the right expectation, naming the right rows."""

from __future__ import annotations

import shutil
from datetime import timedelta

import pytest

from journeymap.quality import SUITES, build_data_docs, validate
from journeymap.warehouse import DuckDBWarehouse

pytestmark = pytest.mark.integration

# The sample business ends on a fixed date but is loaded "now": give event freshness room.
EVENT_AGE_ENV = "JOURNEYMAP_QUALITY_MAX_EVENT_AGE_HOURS"


@pytest.fixture(scope="module")
def reference_now(built_warehouse):
    """One hour after the last load: every load is fresh and none is in the future."""
    with DuckDBWarehouse(built_warehouse.duckdb_path, read_only=True) as warehouse:
        latest = warehouse.query_df("select max(loaded_at) as t from raw.load_ledger").iloc[0, 0]
    return latest.to_pydatetime() + timedelta(hours=1)


@pytest.fixture
def warehouse_copy(built_warehouse, tmp_path):
    """A private copy of the built warehouse file that a test may corrupt."""
    path = tmp_path / "journeymap.duckdb"
    shutil.copy2(built_warehouse.duckdb_path, path)
    with DuckDBWarehouse(path) as warehouse:
        yield warehouse


def _failure(outcome, expectation, column=None):
    found = [
        f
        for f in outcome.failures
        if f.expectation == expectation and (column is None or f.column == column)
    ]
    assert found, outcome.describe()
    return found[0]


def _add_churn_scores(warehouse, scores):
    """Replace the churn scores with ``scores`` for the first customers."""
    warehouse.execute("delete from ml.churn_scores")
    keys = warehouse.query_df(
        f"select customer_key from marts.dim_customers order by customer_key limit {len(scores)}"
    )["customer_key"].tolist()
    for key, score in zip(keys, scores, strict=True):
        band = "low" if score < 0.3 else "medium" if score < 0.6 else "high"
        warehouse.execute(
            "insert into ml.churn_scores values (?, ?, ?, 'r1', 'r2', 'r3', 'v1', "
            "timestamp '2026-10-31', timestamp '2026-11-01')",
            [key, score, band],
        )
    return keys


def test_clean_warehouse_passes_every_suite(built_warehouse, reference_now, monkeypatch, tmp_path):
    monkeypatch.setenv(EVENT_AGE_ENV, str(24 * 365))
    monkeypatch.setenv("JOURNEYMAP_QUALITY_MAX_SCORE_AGE_HOURS", str(24 * 365))
    outcomes = []
    with DuckDBWarehouse(built_warehouse.duckdb_path, read_only=True) as warehouse:
        for name in SUITES:
            outcome = validate(warehouse, name, now=reference_now)
            assert outcome.success, outcome.describe()
            assert outcome.failures == [], outcome.describe()
            assert outcome.engine == "sql"
            outcomes.append(outcome)
    index = build_data_docs(outcomes, tmp_path / "data_docs")
    assert index.is_file()
    text = index.read_text()
    for name in SUITES:
        assert name in text


def test_clean_warehouse_passes_with_the_chunked_pandas_engine(
    built_warehouse, reference_now, monkeypatch
):
    monkeypatch.setenv(EVENT_AGE_ENV, str(24 * 365))
    with DuckDBWarehouse(built_warehouse.duckdb_path, read_only=True) as warehouse:
        for name in ("raw.web_events", "marts.fct_events", "marts.fct_sessions"):
            outcome = validate(
                warehouse, name, now=reference_now, engine="pandas", chunk_rows=50_000
            )
            assert outcome.success and outcome.failures == [], outcome.describe()


def test_event_freshness_warns_with_the_default_age(built_warehouse, reference_now):
    # The sample's events end about a month before they were loaded: a warning, not a block.
    with DuckDBWarehouse(built_warehouse.duckdb_path, read_only=True) as warehouse:
        outcome = validate(warehouse, "marts.fct_events", now=reference_now)
    assert outcome.success
    stale = _failure(outcome, "expect_column_values_to_be_between", "latest_occurred_at")
    assert stale.severity == "warning"


def test_freshness_fails_with_an_old_data_reference_time(built_warehouse, reference_now):
    with DuckDBWarehouse(built_warehouse.duckdb_path, read_only=True) as warehouse:
        later = validate(warehouse, "raw.orders", now=reference_now + timedelta(days=30))
        earlier = validate(warehouse, "raw.orders", now=reference_now - timedelta(days=30))
    stale = _failure(later, "expect_column_values_to_be_between", "latest_loaded_at")
    assert stale.severity == "warning" and later.success
    assert not earlier.success  # every row was loaded after that reference time
    future = _failure(earlier, "expect_column_values_to_be_between", "_loaded_at")
    assert future.severity == "blocking"


@pytest.mark.parametrize("engine", ["sql", "pandas"])
def test_null_key_in_raw_web_events_names_the_row(warehouse_copy, reference_now, engine):
    file_name, row_number = warehouse_copy.query_df(
        "select _file_name, _row_number from raw.web_events order by _file_name, _row_number "
        "limit 1 offset 500"
    ).iloc[0]
    warehouse_copy.execute(
        "update raw.web_events set event_id = null where _file_name = ? and _row_number = ?",
        [file_name, int(row_number)],
    )
    outcome = validate(
        warehouse_copy, "raw.web_events", now=reference_now, engine=engine, chunk_rows=30_000
    )
    assert not outcome.success
    failure = _failure(outcome, "expect_column_values_to_not_be_null", "event_id")
    assert failure.severity == "blocking" and failure.unexpected_count == 1
    assert failure.unexpected_sample[0]["_file_name"] == file_name
    assert failure.unexpected_sample[0]["_row_number"] == row_number
    assert f"_row_number={row_number}" in outcome.describe()
    # The other raw suites are untouched.
    assert validate(warehouse_copy, "raw.app_events", now=reference_now).success


def test_ledger_count_mismatch_fails_reconciliation(warehouse_copy, reference_now):
    file_name = warehouse_copy.query_df(
        "select file_name from raw.load_ledger where source = 'orders' order by file_name limit 1"
    ).iloc[0, 0]
    warehouse_copy.execute(
        "update raw.load_ledger set rows_in_file = rows_in_file + 2 "
        "where source = 'orders' and file_name = ?",
        [file_name],
    )
    outcome = validate(warehouse_copy, "raw.orders", now=reference_now)
    assert not outcome.success
    failure = _failure(
        outcome, "expect_column_pair_values_to_be_equal", "rows_in_file, accounted_rows"
    )
    assert failure.unexpected_count == 1
    sample = failure.unexpected_sample[0]
    assert sample["file_name"] == file_name
    assert sample["rows_in_file"] == sample["accounted_rows"] + 2
    assert validate(warehouse_copy, "raw.web_events", now=reference_now).success


def test_churn_score_out_of_range_names_the_customer(warehouse_copy, reference_now):
    keys = _add_churn_scores(warehouse_copy, [0.1, 0.5, 1.7, 0.9])
    outcome = validate(warehouse_copy, "ml.churn_scores", now=reference_now)
    assert not outcome.success
    failure = _failure(outcome, "expect_column_values_to_be_between", "churn_score")
    assert failure.unexpected_count == 1
    assert failure.unexpected_sample[0]["customer_key"] == keys[2]
    assert failure.unexpected_sample[0]["churn_score"] == pytest.approx(1.7)
    assert [f.expectation for f in outcome.blocking_failures] == [
        "expect_column_values_to_be_between"
    ]


def test_valid_churn_scores_pass(warehouse_copy, reference_now, monkeypatch):
    monkeypatch.setenv("JOURNEYMAP_QUALITY_MAX_SCORE_AGE_HOURS", str(24 * 365))
    _add_churn_scores(warehouse_copy, [0.1, 0.5, 0.9])
    outcome = validate(warehouse_copy, "ml.churn_scores", now=reference_now)
    assert outcome.success and outcome.failures == [], outcome.describe()


def test_session_missing_from_fct_sessions_fails_reconciliation(warehouse_copy, reference_now):
    key = warehouse_copy.query_df("select min(session_key) from marts.fct_sessions").iloc[0, 0]
    # marts.fct_sessions is a view of the incremental table.
    warehouse_copy.execute(
        "delete from intermediate.int_sessions_aggregated where session_key = ?", [key]
    )
    outcome = validate(warehouse_copy, "marts.fct_sessions", now=reference_now)
    assert not outcome.success
    failure = _failure(outcome, "expect_column_values_to_be_in_set", "in_fct_sessions")
    assert failure.relation == "session_keys"
    assert failure.unexpected_sample[0]["session_key"] == key


def test_negative_duration_fails_fct_sessions(warehouse_copy, reference_now):
    key = warehouse_copy.query_df("select max(session_key) from marts.fct_sessions").iloc[0, 0]
    warehouse_copy.execute(
        "update intermediate.int_sessions_aggregated set duration_seconds = -5 "
        "where session_key = ?",
        [key],
    )
    outcome = validate(warehouse_copy, "marts.fct_sessions", now=reference_now)
    failure = _failure(outcome, "expect_column_values_to_be_between", "duration_seconds")
    assert failure.unexpected_sample == [{"session_key": key, "duration_seconds": -5}]


def test_customer_missing_from_dim_customers_fails(warehouse_copy, reference_now):
    key = warehouse_copy.query_df("select min(customer_key) from marts.fct_events").iloc[0, 0]
    warehouse_copy.execute("delete from marts.dim_customers where customer_key = ?", [key])
    outcome = validate(warehouse_copy, "marts.dim_customers", now=reference_now)
    assert not outcome.success
    failure = _failure(outcome, "expect_column_values_to_be_in_set", "in_dim_customers")
    assert failure.unexpected_sample[0]["customer_key"] == key


def test_text_labels_outside_their_sets_or_missing_fail(warehouse_copy, reference_now):
    text_id = warehouse_copy.query_df(
        "select source_text_id from ml.text_labels order by source_text_id limit 1"
    ).iloc[0, 0]
    warehouse_copy.execute(
        "update ml.text_labels set intent = 'refund', emotion_confidence = 1.4 "
        "where source_text_id = ?",
        [text_id],
    )
    warehouse_copy.execute(
        "delete from ml.text_labels where source_text_id in "
        "(select source_text_id from ml.text_labels order by source_text_id desc limit 3)"
    )
    outcome = validate(warehouse_copy, "ml.text_labels", now=reference_now)
    assert not outcome.success
    assert "refund" in str(
        _failure(outcome, "expect_column_values_to_be_in_set", "intent").unexpected_sample
    )
    _failure(outcome, "expect_column_values_to_be_between", "emotion_confidence")
    _failure(outcome, "expect_column_values_to_be_between", "unlabelled_texts")
