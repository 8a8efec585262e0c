"""Quality suites on small DuckDB tables made here: suite structure, both engines, chunking,
outcome text and metadata. The built sample warehouse is in tests/integration."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import great_expectations.expectations as gxe
import pandas as pd
import pytest
import sqlalchemy as sa

from journeymap.contract import SOURCES
from journeymap.load import ensure_raw_tables, source_table_columns
from journeymap.quality import SUITES, Freshness, ValidationOutcome, build_data_docs, validate
from journeymap.quality.runner import combine_chunk_results, reference_time
from journeymap.quality.suites import (
    ROWS,
    Check,
    Relation,
    RelativeTime,
    Severity,
    SuiteDefinition,
    between,
    unique,
)
from journeymap.warehouse import DuckDBWarehouse

LOADED_AT = datetime(2026, 11, 1, 6, 0)
NOW = LOADED_AT + timedelta(hours=1)
ENGINES = ("sql", "pandas")


def test_suite_names_are_the_public_contract():
    assert list(SUITES) == [
        *(f"raw.{name}" for name in SOURCES),
        "marts.fct_events",
        "marts.fct_sessions",
        "marts.dim_customers",
        "marts.mart_retention_cohorts",
        "marts.mart_customer_lifecycle",
        "ml.churn_scores",
        "ml.text_labels",
        "ml.customer_value",
        "ml.customer_segments",
        "ml.persona_cards",
        "enriched.dim_customer_360",
        "marts.mart_channel_attribution",
        "ml.channel_attribution",
    ]
    assert len(SUITES) == 23


@pytest.mark.parametrize("source", list(SOURCES.values()), ids=list(SOURCES))
def test_raw_suites_are_derived_from_the_contract(source):
    suite = SUITES[f"raw.{source.name}"]
    by_type: dict[str, list[Check]] = {}
    for check in suite.checks:
        by_type.setdefault(check.type, []).append(check)
    schema = by_type["expect_table_columns_to_match_set"][0]
    assert schema.kwargs["column_set"] == list(source_table_columns(source))
    assert schema.kwargs["exact_match"] is True
    not_null = {c.kwargs["column"] for c in by_type["expect_column_values_to_not_be_null"]}
    assert set(source.required) | set(source.key) <= not_null
    assert {"_load_id", "_file_name", "_row_number", "_loaded_at"} <= not_null
    in_set = {
        c.kwargs["column"]: c.kwargs["value_set"]
        for c in by_type.get("expect_column_values_to_be_in_set", [])
        if c.relation == ROWS and c.kwargs["column"] in source.column_names
    }
    assert in_set == {c.name: list(c.allowed) for c in source.columns if c.allowed}
    # Reconciliation with the ledger is blocking; freshness only warns.
    ledger = [c for c in suite.checks if c.relation == "ledger"]
    assert ledger and all(c.severity is Severity.BLOCKING for c in ledger)
    assert all(c.severity is Severity.WARNING for c in suite.checks if c.relation == "freshness")
    # Offending raw rows are named by file and row number.
    assert suite.relation(ROWS).sample_columns == ("_file_name", "_row_number")


def test_every_check_has_a_severity_and_a_description():
    for suite in SUITES.values():
        assert suite.blocking_checks, suite.name
        for check in suite.checks:
            assert isinstance(check.severity, Severity)
            assert check.description, (suite.name, check.type)
            suite.relation(check.relation)  # exists


def test_rows_relation_reads_only_the_columns_its_checks_need():
    sql = SUITES["marts.fct_events"].relation(ROWS).sql
    assert sql.startswith("select event_key, ")
    assert "page_url" not in sql and "utm_campaign" not in sql  # not checked, not read


def test_row_level_relations_take_only_map_expectations():
    relation = Relation(ROWS, "select k from t", ("k",), ("k",))
    with pytest.raises(ValueError, match="not row by row"):
        SuiteDefinition(
            "t",
            "t",
            "",
            (relation,),
            (Check(gxe.ExpectTableRowCountToBeBetween, {"min_value": 1}),),
        )
    with pytest.raises(ValueError, match="partitioned by"):
        SuiteDefinition("t", "t", "", (relation,), (unique(("other",)),))


def test_relative_time_and_freshness_settings():
    freshness = Freshness.from_env({"JOURNEYMAP_QUALITY_MAX_LOAD_AGE_HOURS": "2"})
    assert freshness.max_load_age == timedelta(hours=2)
    assert freshness.max_event_age == Freshness().max_event_age
    assert RelativeTime("max_load_age").resolve(NOW, freshness) == NOW - timedelta(hours=2)
    assert RelativeTime(plus=timedelta(minutes=5)).resolve(NOW, freshness) == NOW + timedelta(
        minutes=5
    )
    with pytest.raises(ValueError, match="hours"):
        Freshness.from_env({"JOURNEYMAP_QUALITY_MAX_EVENT_AGE_HOURS": "two"})


def test_reference_time_is_naive_utc():
    aware = datetime(2026, 11, 1, 8, 0, tzinfo=timezone(timedelta(hours=2)))
    assert reference_time(aware) == datetime(2026, 11, 1, 6, 0)
    assert reference_time(NOW) == NOW
    assert abs(reference_time(None) - datetime.now(UTC).replace(tzinfo=None)) < timedelta(minutes=1)


def test_dialect_keeps_results_readable_after_the_connection_closes(tmp_path):
    """The GX bug in one line: GX fetches after closing the connection. Our dialect keeps the
    DuckDB result alive (no rollback on close)."""
    from duckdb_engine import ConnectionWrapper
    from sqlalchemy.pool import StaticPool

    from journeymap.quality import _duckdb_dialect

    _duckdb_dialect.register()
    with DuckDBWarehouse(tmp_path / "w.duckdb") as warehouse:
        warehouse.execute("create table t as select * from range(3) r(i)")
        parent = warehouse.connection
        engine = sa.create_engine(
            _duckdb_dialect.URL,
            creator=lambda: ConnectionWrapper(parent.cursor()),
            poolclass=StaticPool,
        )
        with engine.connect() as connection:
            result = connection.execute(sa.text("select count(*) from t"))
        assert result.fetchall() == [(3,)]
        engine.dispose()


# ------------------------------------------------------------------ small raw warehouse


def _web_row(event_id, row_number, file_name="web_events_2026-10-31.csv", **values):
    row = {
        "event_id": event_id,
        "anonymous_id": "anon_1",
        "user_id": None,
        "event_type": "page",
        "event_name": "Page Viewed",
        "occurred_at": LOADED_AT - timedelta(hours=row_number),
        "device_type": "desktop",
        "_load_id": f"load-{file_name}",
        "_file_name": file_name,
        "_row_number": row_number,
        "_loaded_at": LOADED_AT,
    }
    row.update(values)
    return row


def make_raw_web_events(
    path: Path, rows: list[dict], ledger_rows_in_file: int | None = None
) -> Path:
    with DuckDBWarehouse(path) as warehouse:
        ensure_raw_tables(warehouse)
        con = warehouse.connection
        for row in rows:
            names = list(row)
            con.execute(
                f"insert into raw.web_events ({', '.join(names)}) "
                f"values ({', '.join('?' * len(names))})",
                [row[n] for n in names],
            )
        files: dict[str, int] = {}
        for row in rows:
            files[row["_file_name"]] = files.get(row["_file_name"], 0) + 1
        for file_name, count in files.items():
            con.execute(
                "insert into raw.load_ledger (_load_id, source, file_name, rows_in_file, "
                "rows_loaded, rows_quarantined, loaded_at, status) "
                "values (?, 'web_events', ?, ?, ?, 0, ?, 'loaded')",
                [f"load-{file_name}", file_name, ledger_rows_in_file or count, count, LOADED_AT],
            )
    return path


def _failure(outcome: ValidationOutcome, expectation: str, column: str | None = None):
    found = [
        f
        for f in outcome.failures
        if f.expectation == expectation and (column is None or f.column == column)
    ]
    assert found, outcome.describe()
    return found[0]


@pytest.mark.parametrize("engine", ENGINES)
def test_clean_raw_table_passes(tmp_path, engine):
    path = make_raw_web_events(tmp_path / "w.duckdb", [_web_row(f"e{i}", i) for i in range(1, 6)])
    with DuckDBWarehouse(path) as warehouse:
        outcome = validate(warehouse, "raw.web_events", now=NOW, engine=engine)
    assert outcome.success, outcome.describe()
    assert outcome.failures == []
    assert outcome.engine == engine
    assert outcome.statistics["evaluated_expectations"] == len(SUITES["raw.web_events"].checks)
    evaluated = outcome.statistics["evaluated_expectations"]
    assert outcome.describe() == f"raw.web_events: passed, all {evaluated} expectations met."


@pytest.mark.parametrize("engine", ENGINES)
def test_null_key_and_bad_value_fail_with_their_row_numbers(tmp_path, engine):
    rows = [_web_row(f"e{i}", i) for i in range(1, 6)]
    rows[2]["event_id"] = None  # row 3
    rows[3]["device_type"] = "smart_fridge"  # row 4
    path = make_raw_web_events(tmp_path / "w.duckdb", rows)
    with DuckDBWarehouse(path) as warehouse:
        outcome = validate(warehouse, "raw.web_events", now=NOW, engine=engine)
    assert not outcome.success
    null_key = _failure(outcome, "expect_column_values_to_not_be_null", "event_id")
    assert null_key.severity == "blocking"
    assert null_key.unexpected_count == 1
    assert null_key.unexpected_sample[0]["_row_number"] == 3
    assert null_key.unexpected_sample[0]["_file_name"] == "web_events_2026-10-31.csv"
    bad_value = _failure(outcome, "expect_column_values_to_be_in_set", "device_type")
    assert bad_value.unexpected_count == 1
    # Raw holds clear personal data: samples locate the row, they never quote its values.
    assert bad_value.unexpected_sample == [
        {"_file_name": "web_events_2026-10-31.csv", "_row_number": 4}
    ]
    text = outcome.describe()
    assert "raw.web_events: FAILED" in text
    assert "expect_column_values_to_not_be_null on event_id" in text and "_row_number=3" in text
    metadata = outcome.metadata()
    assert json.loads(json.dumps(metadata)) == metadata
    assert metadata["success"] is False
    assert metadata["statistics"]["blocking_failures"] == 2


@pytest.mark.parametrize("engine", ENGINES)
def test_ledger_mismatch_names_the_file(tmp_path, engine):
    rows = [_web_row(f"e{i}", i) for i in range(1, 4)]
    path = make_raw_web_events(tmp_path / "w.duckdb", rows, ledger_rows_in_file=4)
    with DuckDBWarehouse(path) as warehouse:
        outcome = validate(warehouse, "raw.web_events", now=NOW, engine=engine)
    assert not outcome.success
    failure = _failure(
        outcome, "expect_column_pair_values_to_be_equal", "rows_in_file, accounted_rows"
    )
    assert failure.relation == "ledger"
    assert failure.unexpected_count == 1
    sample = failure.unexpected_sample[0]
    assert sample["file_name"] == "web_events_2026-10-31.csv"
    assert (sample["rows_in_file"], sample["accounted_rows"]) == (4, 3)


@pytest.mark.parametrize("engine", ENGINES)
def test_freshness_warns_and_future_loads_block(tmp_path, engine):
    path = make_raw_web_events(tmp_path / "w.duckdb", [_web_row("e1", 1)])
    with DuckDBWarehouse(path) as warehouse:
        stale = validate(warehouse, "raw.web_events", now=NOW + timedelta(days=10), engine=engine)
        early = validate(
            warehouse, "raw.web_events", now=LOADED_AT - timedelta(days=1), engine=engine
        )
    assert stale.success  # freshness only warns
    freshness = _failure(stale, "expect_column_values_to_be_between", "latest_loaded_at")
    assert freshness.severity == "warning"
    assert stale.statistics["warning_failures"] == 1
    assert "passed with warnings" in stale.describe()
    assert not early.success  # rows loaded after the reference time
    future = _failure(early, "expect_column_values_to_be_between", "_loaded_at")
    assert future.severity == "blocking" and future.unexpected_sample[0]["_row_number"] == 1


@pytest.mark.parametrize("engine", ENGINES)
def test_missing_table_is_a_blocking_failure(tmp_path, engine):
    with DuckDBWarehouse(tmp_path / "empty.duckdb") as warehouse:
        warehouse.execute("create schema ml")
        outcome = validate(warehouse, "ml.churn_scores", now=NOW, engine=engine)
    assert not outcome.success
    assert all(f.exception for f in outcome.failures)
    assert "could not be evaluated" in outcome.describe()


# ------------------------------------------------------------------ chunking


def _events_table(path: Path, keys: list[str]) -> None:
    with DuckDBWarehouse(path) as warehouse:
        warehouse.execute("create schema marts")
        warehouse.execute("create table marts.t (event_key varchar, amount double)")
        for i, key in enumerate(keys):
            warehouse.execute("insert into marts.t values (?, ?)", [key, float(i)])


def _tiny_suite() -> SuiteDefinition:
    key = ("event_key",)
    checks = (unique(key), between("amount", min_value=0, max_value=5))
    return SuiteDefinition(
        "marts.t",
        "marts.t",
        "",
        (Relation(ROWS, "select event_key, amount from marts.t", key, key),),
        checks,
    )


def test_pandas_engine_finds_duplicates_across_chunks(tmp_path, monkeypatch):
    from journeymap.quality import runner, suites

    keys = [f"k{i}" for i in range(40)] + ["k7"]  # k7 twice, far apart
    _events_table(tmp_path / "t.duckdb", keys)
    monkeypatch.setitem(suites.SUITES, "marts.t", _tiny_suite())
    seen: list[int] = []
    original = runner.PandasRunner.close

    def record(self):
        seen.append(self.chunks_read)
        seen.append(self.max_chunk_rows)
        original(self)

    scans: list[str] = []
    stream = DuckDBWarehouse.query_batches

    def count_scans(self, sql, params=None, rows=3):  # small batches: chunks span several
        scans.append(sql)
        return stream(self, sql, params, rows)

    monkeypatch.setattr(runner.PandasRunner, "close", record)
    monkeypatch.setattr(DuckDBWarehouse, "query_batches", count_scans)
    with DuckDBWarehouse(tmp_path / "t.duckdb") as warehouse:
        chunked = validate(warehouse, "marts.t", now=NOW, engine="pandas", chunk_rows=5)
        whole = validate(warehouse, "marts.t", now=NOW, engine="sql")
    chunks, max_rows = seen
    assert len(scans) == 1  # the table is read once, in 9 hash buckets
    assert 4 <= chunks <= 9 and max_rows < 41  # never all rows at once
    for outcome in (chunked, whole):
        duplicate = _failure(outcome, "expect_column_values_to_be_unique", "event_key")
        assert duplicate.unexpected_count == 2
        assert {r["event_key"] for r in duplicate.unexpected_sample} == {"k7"}
        amount = _failure(outcome, "expect_column_values_to_be_between", "amount")
        assert amount.unexpected_count == 35  # 6..40 are above 5
        assert amount.element_count == 41


@pytest.mark.parametrize(
    ("buckets", "batch_rows"),
    [
        ([0, 0, 0, 1, 1, 2, 2, 2, 2, 3, 4, 4], 4),  # a bucket spans two batches
        ([0, 0, 0, 1, 1, 1, 2, 2, 2, 2], 3),  # buckets end exactly between batches
        ([0, 0, 0, 0, 0, 0, 0, 1], 2),  # one bucket bigger than a chunk
    ],
)
def test_streamed_chunks_hold_whole_buckets(buckets: list[int], batch_rows: int):
    from journeymap.quality.runner import _BUCKET, _whole_buckets

    rows = pd.DataFrame({"key": range(len(buckets)), _BUCKET: buckets})
    batches = [rows.iloc[i : i + batch_rows] for i in range(0, len(rows), batch_rows)]

    chunks = list(_whole_buckets(iter(batches), chunk_rows=3))

    assert [k for chunk in chunks for k in chunk["key"]] == list(range(len(buckets)))
    assert all(_BUCKET not in chunk.columns for chunk in chunks)
    assert all(len(chunk) >= 3 for chunk in chunks[:-1])
    chunk_of: dict[int, set[int]] = {}
    for index, chunk in enumerate(chunks):
        for key in chunk["key"]:
            chunk_of.setdefault(buckets[key], set()).add(index)
    assert all(len(indexes) == 1 for indexes in chunk_of.values())  # never split
    assert len(chunks) > 1


def test_combine_chunk_results_adds_up_and_applies_mostly():
    from great_expectations.core import ExpectationValidationResult

    config = gxe.ExpectColumnValuesToBeUnique(
        column="k", mostly=0.9, meta={"journeymap_check": 0}
    ).configuration

    def part(elements, unexpected, sample):
        return ExpectationValidationResult(
            success=True,
            expectation_config=config,
            result={
                "element_count": elements,
                "missing_count": 0,
                "unexpected_count": unexpected,
                "partial_unexpected_list": sample,
            },
        )

    combined = combine_chunk_results([part(50, 2, ["a", "a"]), part(50, 2, ["b", "b"])])
    assert combined.result["unexpected_count"] == 4 and combined.result["element_count"] == 100
    assert combined.success  # 96% unique >= mostly 90%
    assert combined.result["partial_unexpected_list"] == ["a", "a", "b", "b"]
    failing = combine_chunk_results([part(10, 1, ["a"]), part(10, 2, ["b", "b"])])
    assert not failing.success  # 85% < 90%


def test_data_docs_mention_the_suite(tmp_path):
    path = make_raw_web_events(tmp_path / "w.duckdb", [_web_row("e1", 1), _web_row(None, 2)])
    with DuckDBWarehouse(path) as warehouse:
        outcome = validate(warehouse, "raw.web_events", now=NOW)
    index = build_data_docs([outcome], tmp_path / "docs")
    assert index == (tmp_path / "docs" / "index.html").resolve()
    assert "raw.web_events" in index.read_text()
    pages = list((tmp_path / "docs" / "validations").rglob("*.html"))
    assert pages
    page = pages[0].read_text()
    assert "event_id is never empty" in page  # the check's description, as GX renders it
    assert "Unsuccessful Expectations" in page


def test_auto_engine_is_sql_on_duckdb_and_pandas_without_duckdb_engine(tmp_path, monkeypatch):
    from journeymap.quality import runner

    with DuckDBWarehouse(tmp_path / "w.duckdb") as warehouse:
        assert runner.choose_engine(warehouse) == "sql"
        monkeypatch.setattr(runner, "sql_engine_available", lambda: False)
        assert runner.choose_engine(warehouse) == "pandas"
        with pytest.raises(RuntimeError, match="duckdb-engine"):
            runner.choose_engine(warehouse, "sql")
    with pytest.raises(ValueError, match="engine must be one of"):
        runner.choose_engine(warehouse, "spark")


def test_mart_suites_leave_keys_nulls_and_value_sets_to_dbt():
    """One system per kind of check: dbt tests hold keys, not-null and accepted values of the
    marts; the GE mart suites hold ranges, freshness and reconciliation."""
    dbt_kinds = {
        "expect_column_values_to_be_unique",
        "expect_compound_columns_to_be_unique",
        "expect_column_values_to_not_be_null",
    }
    for name, suite_definition in SUITES.items():
        if not name.startswith(("marts.", "enriched.")):
            continue
        kinds = {check.type for check in suite_definition.checks}
        assert not kinds & dbt_kinds, name
        value_sets = [
            check.kwargs["column"]
            for check in suite_definition.checks
            if check.type == "expect_column_values_to_be_in_set"
            and len(check.kwargs["value_set"]) > 1  # one value: a row-logic flag, not a set
        ]
        assert value_sets == [], name


def test_text_labels_suite_takes_its_value_sets_from_the_label_definitions():
    from journeymap.ml.text.labels import EMOTIONS, INTENTS, STAGES

    suite = SUITES["ml.text_labels"]
    sets = {
        c.kwargs["column"]: c.kwargs["value_set"]
        for c in suite.checks
        if c.type == "expect_column_values_to_be_in_set" and c.relation == "rows"
    }
    assert sets["intent"] == list(INTENTS) and sets["journey_stage"] == list(STAGES)
    assert sets["emotion"] == list(EMOTIONS)
    ranges = {
        c.kwargs["column"]: (c.kwargs.get("min_value"), c.kwargs.get("max_value"))
        for c in suite.checks
        if c.type == "expect_column_values_to_be_between"
    }
    assert ranges["intent_confidence"] == (0, 1) and ranges["sentiment"] == (-1, 1)
    assert ranges["unlabelled_texts"] == (0, 0)  # every text labelled
