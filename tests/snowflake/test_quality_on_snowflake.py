"""Great Expectations suites on Snowflake (the emulator), through the warehouse interface:
a big row-level relation streams in chunks of whole hash buckets from one query, and a
duplicate key far apart in the table is still found."""

from __future__ import annotations

import uuid

import pytest

from journeymap.quality import suites, validate
from journeymap.snowflake import SnowflakeWarehouse
from tests.unit.test_quality import NOW, _failure, _tiny_suite

pytestmark = pytest.mark.snowflake


def test_pandas_engine_streams_chunks_and_finds_duplicates_across_them(
    snowflake_emulator, monkeypatch
) -> None:
    keys = [f"k{i}" for i in range(40)] + ["k7"]  # k7 twice, far apart
    database = f"QUALITY_{uuid.uuid4().hex[:8].upper()}"
    monkeypatch.setitem(suites.SUITES, "marts.t", _tiny_suite())
    with SnowflakeWarehouse(env=snowflake_emulator.env(database)) as warehouse:
        warehouse.execute("create schema marts")
        warehouse.execute("create table marts.t (event_key varchar, amount double)")
        for i, key in enumerate(keys):
            warehouse.execute("insert into marts.t values (?, ?)", [key, float(i)])
        streamed: list[str] = []
        stream = warehouse.query_batches
        monkeypatch.setattr(
            warehouse, "query_batches", lambda sql, params=None: streamed.append(sql) or stream(sql)
        )
        outcome = validate(warehouse, "marts.t", now=NOW, engine="pandas", chunk_rows=5)

    assert outcome.engine == "pandas" and len(streamed) == 1  # one scan of the table
    duplicate = _failure(outcome, "expect_column_values_to_be_unique", "event_key")
    assert duplicate.unexpected_count == 2
    assert {r["event_key"] for r in duplicate.unexpected_sample} == {"k7"}
    amount = _failure(outcome, "expect_column_values_to_be_between", "amount")
    assert (amount.unexpected_count, amount.element_count) == (35, 41)
