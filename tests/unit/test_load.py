"""The raw loader: typed raw rows, quarantine with reasons, ledger, idempotency, formats."""

from __future__ import annotations

import csv
import gzip
import json
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from journeymap import load as load_module
from journeymap.contract import (
    ERASED_REASON,
    FUTURE_TOLERANCE_HOURS,
    MALFORMED_REASON,
    QUARANTINE_REASONS,
)
from journeymap.load import (
    STATUS_DUPLICATE_FILE,
    STATUS_LOADED,
    STATUS_PURGED,
    MissingColumnError,
    UnknownSourceError,
    ensure_raw_tables,
    load_file,
    load_landing,
)
from journeymap.settings import PROJECT_DIR
from journeymap.warehouse import DuckDBWarehouse, Warehouse
from tests.helpers.rows import fetch_rows

ORDER_COLUMNS = ["order_id", "customer_id", "occurred_at", "status", "amount", "currency"]


def web_row(event_id: str, **values: str) -> dict[str, str]:
    row = {
        "event_id": event_id,
        "anonymous_id": "anon-1",
        "user_id": "",
        "event_name": "page_view",
        "occurred_at": "2026-09-01T12:34:56Z",
        "device_type": "mobile",
    }
    row.update(values)
    return row


def order_row(order_id: str, **values: str) -> dict[str, str]:
    row = {
        "order_id": order_id,
        "customer_id": "c1",
        "occurred_at": "2026-09-01T10:00:00Z",
        "status": "completed",
        "amount": "19.90",
        "currency": "EUR",
    }
    row.update(values)
    return row


def write_csv(path: Path, rows: Sequence[dict[str, str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "wt", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0].keys()))
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture
def warehouse(tmp_path: Path) -> Iterator[DuckDBWarehouse]:
    with DuckDBWarehouse(tmp_path / "warehouse" / "journeymap.duckdb") as warehouse:
        yield warehouse


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    path = tmp_path / "landing"
    path.mkdir()
    return path


def rows(warehouse: Warehouse, sql: str) -> list[dict]:
    """Query results as dicts of Python values (None stays None, unlike in pandas)."""
    return fetch_rows(warehouse, sql)


def assert_counts_reconcile(warehouse: Warehouse) -> None:
    """Every ledger row matches the rows its load wrote to raw and quarantine."""
    for entry in rows(warehouse, "select * from raw.load_ledger"):
        load_id = entry["_load_id"]
        [loaded] = fetch_rows(
            warehouse,
            f"select count(*) as n from raw.{entry['source']} where _load_id = ?",
            [load_id],
        )[0].values()
        [quarantined] = fetch_rows(
            warehouse, "select count(*) as n from raw.quarantine where _load_id = ?", [load_id]
        )[0].values()
        assert (entry["rows_loaded"], entry["rows_quarantined"]) == (loaded, quarantined)
        if entry["status"] == "duplicate_file":  # rows counted, content loaded by an earlier file
            assert loaded == quarantined == 0 and entry["rows_in_file"] > 0
        else:
            assert entry["rows_in_file"] == loaded + quarantined


def test_good_rows_load_typed_and_counts_reconcile(warehouse: Warehouse, landing: Path) -> None:
    write_csv(landing / "orders" / "orders_001.csv", [order_row("o1"), order_row("o2", amount="5")])
    report = load_landing(warehouse, landing)

    assert [
        (f.status, f.rows_in_file, f.rows_loaded, f.rows_quarantined) for f in report.files
    ] == [("loaded", 2, 2, 0)]
    loaded = rows(warehouse, "select * from raw.orders order by _row_number")
    assert [(r["order_id"], r["amount"], r["_row_number"]) for r in loaded] == [
        ("o1", 19.9, 1),
        ("o2", 5.0, 2),
    ]
    assert loaded[0]["occurred_at"] == datetime(2026, 9, 1, 10, 0, 0)
    assert loaded[0]["_file_name"] == "orders_001.csv"
    assert loaded[0]["_load_id"] == report.files[0].load_id
    assert loaded[0]["_extra"] is None
    ledger = rows(warehouse, "select * from raw.load_ledger")
    assert len(ledger) == 1
    assert (
        ledger[0]["rows_in_file"] == ledger[0]["rows_loaded"] + ledger[0]["rows_quarantined"] == 2
    )
    assert ledger[0]["status"] == "loaded"
    assert len(ledger[0]["file_sha256"]) == 64


def test_each_quarantine_reason_names_row_and_column(warehouse: Warehouse, landing: Path) -> None:
    future = "2099-01-01T00:00:00Z"
    write_csv(
        landing / "orders" / "orders.csv",
        [
            order_row("o1"),  # row 1: good
            order_row("o2", customer_id="  "),  # row 2: whitespace only
            order_row("o3", occurred_at="not a date"),  # row 3
            order_row("o4", amount="abc"),  # row 4
            order_row("o5", status="pending"),  # row 5
            order_row("o6", occurred_at=future),  # row 6
            order_row("o7", status="pending", amount="x"),  # row 7: reason order beats column order
            order_row("", occurred_at="bad"),  # row 8: missing_required comes first
        ],
    )
    result = load_file(warehouse, "orders", landing / "orders" / "orders.csv")

    assert (result.rows_in_file, result.rows_loaded, result.rows_quarantined) == (8, 1, 7)
    quarantined = rows(
        warehouse,
        "select _row_number, reason, reason_column, reason_detail, raw_record "
        "from raw.quarantine order by _row_number",
    )
    assert [(q["_row_number"], q["reason"], q["reason_column"]) for q in quarantined] == [
        (2, "missing_required", "customer_id"),
        (3, "unparseable_timestamp", "occurred_at"),
        (4, "unparseable_number", "amount"),
        (5, "invalid_value", "status"),
        (6, "future_timestamp", "occurred_at"),
        (7, "unparseable_number", "amount"),
        (8, "missing_required", "order_id"),
    ]
    assert {q["reason"] for q in quarantined} == set(QUARANTINE_REASONS)
    details = {q["_row_number"]: q["reason_detail"] for q in quarantined}
    assert details[2] == "customer_id: required value is empty"
    assert details[3] == "occurred_at: 'not a date' is not a timestamp"
    assert details[4] == "amount: 'abc' is not a number"
    assert details[5] == "status: 'pending' is not one of completed, refunded, cancelled"
    assert details[6].startswith("occurred_at: 2099-01-01 00:00:00 is more than 24 hours after")
    assert json.loads(quarantined[2]["raw_record"]) == order_row("o4", amount="abc")
    assert_counts_reconcile(warehouse)
    assert result.quarantined_by_reason == {
        "future_timestamp": 1,
        "invalid_value": 1,
        "missing_required": 2,
        "unparseable_number": 2,
        "unparseable_timestamp": 1,
    }


def test_integers_booleans_and_json(warehouse: Warehouse, landing: Path) -> None:
    review = {
        "review_id": "r1",
        "customer_id": "c1",
        "review_type": "nps",
        "occurred_at": "2026-09-01T00:00:00Z",
        "score": "9",
    }
    write_csv(
        landing / "reviews" / "r.csv",
        [
            review,
            {**review, "review_id": "r2", "score": "7.0"},
            {**review, "review_id": "r3", "score": "7.5"},
        ],
    )
    write_csv(
        landing / "web_events" / "w.csv",
        [
            web_row("e1", properties='{"plan": "pro"}'),
            web_row("e2", properties="{not json"),
            web_row("e3", properties=""),
        ],
    )
    contact = {
        "customer_id": "c1",
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-02T00:00:00Z",
        "consent_email": "true",
        "consent_sms": "no",
    }
    write_csv(
        landing / "crm_contacts" / "c.csv",
        [contact, {**contact, "customer_id": "c2", "consent_sms": "maybe"}],
    )
    load_landing(warehouse, landing)

    assert rows(warehouse, "select review_id, score from raw.reviews order by 1") == [
        {"review_id": "r1", "score": 9},
        {"review_id": "r2", "score": 7},
    ]
    assert rows(warehouse, "select event_id, properties from raw.web_events order by 1") == [
        {"event_id": "e1", "properties": '{"plan": "pro"}'},
        {"event_id": "e3", "properties": None},
    ]
    assert rows(warehouse, "select consent_email, consent_sms from raw.crm_contacts") == [
        {"consent_email": True, "consent_sms": False}
    ]
    assert rows(
        warehouse, "select source, reason_detail from raw.quarantine order by source, _row_number"
    ) == [
        {"source": "crm_contacts", "reason_detail": "consent_sms: 'maybe' is not a boolean"},
        {"source": "reviews", "reason_detail": "score: '7.5' is not an integer"},
        {"source": "web_events", "reason_detail": "properties: '{not json' is not a JSON object"},
    ]


def test_event_times_within_the_tolerance_load(warehouse: Warehouse, landing: Path) -> None:
    soon = (datetime.now(UTC) + timedelta(hours=FUTURE_TOLERANCE_HOURS - 1)).isoformat()
    late = (datetime.now(UTC) + timedelta(hours=FUTURE_TOLERANCE_HOURS + 1)).isoformat()
    write_csv(
        landing / "orders" / "o.csv",
        [order_row("o1", occurred_at=soon), order_row("o2", occurred_at=late)],
    )
    report = load_landing(warehouse, landing)
    assert (report.rows_loaded, report.rows_quarantined) == (1, 1)
    assert rows(warehouse, "select order_id from raw.orders") == [{"order_id": "o1"}]


def test_timestamps_with_offsets_become_utc(warehouse: Warehouse, landing: Path) -> None:
    write_csv(
        landing / "web_events" / "tz.csv",
        [
            web_row("e1", occurred_at="2026-09-01T12:34:56+02:00"),
            web_row("e2", occurred_at="2026-09-01 12:34:56"),
            web_row("e3", occurred_at="2026-09-01T12:34:56.250Z"),
            web_row("e4", occurred_at="2026-09-01T07:04:56-05:30"),
        ],
    )
    load_landing(warehouse, landing)
    times = rows(warehouse, "select event_id, occurred_at from raw.web_events order by 1")
    assert [t["occurred_at"] for t in times] == [
        datetime(2026, 9, 1, 10, 34, 56),
        datetime(2026, 9, 1, 12, 34, 56),
        datetime(2026, 9, 1, 12, 34, 56, 250000),
        datetime(2026, 9, 1, 12, 34, 56),
    ]


def test_reload_is_idempotent(warehouse: Warehouse, landing: Path) -> None:
    write_csv(landing / "orders" / "a.csv", [order_row("o1"), order_row("o2", amount="bad")])
    write_csv(landing / "web_events" / "b.csv", [web_row("e1")])
    first = load_landing(warehouse, landing)
    ledger_before = rows(warehouse, "select * from raw.load_ledger order by _load_id")

    second = load_landing(warehouse, landing)

    assert [f.status for f in first.files] == ["loaded", "loaded"]
    assert [f.status for f in second.files] == ["skipped", "skipped"]
    assert [f.load_id for f in second.files] == [f.load_id for f in first.files]
    assert second.rows_loaded == second.rows_quarantined == 0
    assert rows(warehouse, "select * from raw.load_ledger order by _load_id") == ledger_before
    assert_counts_reconcile(warehouse)
    counts = rows(
        warehouse,
        "select (select count(*) from raw.orders) as orders, "
        "(select count(*) from raw.web_events) as web, (select count(*) from raw.quarantine) as q",
    )
    assert counts == [{"orders": 1, "web": 1, "q": 1}]


def test_same_content_under_another_name_is_counted_not_loaded(
    warehouse: Warehouse, landing: Path
) -> None:
    original = write_csv(
        landing / "orders" / "a.csv", [order_row("o1"), order_row("o2", amount="x")]
    )
    first = load_landing(warehouse, landing)
    (landing / "orders" / "a_resent.csv").write_bytes(original.read_bytes())

    second = load_landing(warehouse, landing)
    third = load_landing(warehouse, landing)

    resent = [f for f in second.files if f.file_name == "a_resent.csv"]
    assert [(f.status, f.rows_in_file, f.rows_loaded) for f in resent] == [("duplicate_file", 2, 0)]
    assert resent[0].load_id.startswith(first.files[0].load_id + "-")
    assert [f.status for f in third.files] == ["skipped", "skipped"]
    ledger = rows(
        warehouse, "select file_name, rows_in_file, status from raw.load_ledger order by 1"
    )
    assert ledger == [
        {"file_name": "a.csv", "rows_in_file": 2, "status": "loaded"},
        {"file_name": "a_resent.csv", "rows_in_file": 2, "status": "duplicate_file"},
    ]
    counts = rows(
        warehouse,
        "select (select count(*) from raw.orders) as orders, "
        "(select count(*) from raw.quarantine) as q",
    )
    assert counts == [{"orders": 1, "q": 1}]
    assert_counts_reconcile(warehouse)


def test_changed_file_with_same_name_is_a_new_load(warehouse: Warehouse, landing: Path) -> None:
    path = write_csv(landing / "orders" / "daily.csv", [order_row("o1")])
    first = load_file(warehouse, "orders", path)
    write_csv(path, [order_row("o1", status="refunded"), order_row("o2")])
    second = load_file(warehouse, "orders", path)

    assert second.status == "loaded" and second.load_id != first.load_id
    assert rows(
        warehouse, "select order_id, status from raw.orders order by _loaded_at, _row_number"
    ) == [
        {"order_id": "o1", "status": "completed"},  # duplicates reach raw; staging dedupes
        {"order_id": "o1", "status": "refunded"},
        {"order_id": "o2", "status": "completed"},
    ]
    assert rows(warehouse, "select count(*) as n from raw.load_ledger") == [{"n": 2}]


def test_row_numbers_are_exact_on_a_large_file(warehouse: Warehouse, landing: Path) -> None:
    # Quoted line breaks make file lines differ from rows; bad rows sit at known places.
    bad = {1234: "never", 4999: "2026-99-99"}
    data = [
        web_row(
            f"e{n}",
            event_name="multi\nline" if n % 97 == 0 else "page_view",
            occurred_at=bad.get(n, "2026-09-01T00:00:00Z"),
        )
        for n in range(1, 5001)
    ]
    path = write_csv(landing / "web_events" / "big.csv", data)
    result = load_file(warehouse, "web_events", path)

    assert (result.rows_loaded, result.rows_quarantined) == (4998, 2)
    mismatched = rows(
        warehouse,
        "select count(*) as n from raw.web_events where 'e' || _row_number <> event_id",
    )
    assert mismatched == [{"n": 0}]
    quarantined = rows(warehouse, "select _row_number, raw_record from raw.quarantine order by 1")
    assert [q["_row_number"] for q in quarantined] == [1234, 4999]
    assert json.loads(quarantined[0]["raw_record"])["event_id"] == "e1234"


def test_jsonl_and_parquet_load_the_same_as_csv(warehouse: Warehouse, landing: Path) -> None:
    data = [
        web_row("e1", occurred_at="2026-09-01T12:00:00+02:00", campaign_note="spring"),
        web_row("e2", user_id="u2", device_type="phone"),  # invalid device_type
        web_row("e3", event_name=""),
    ]
    folder = landing / "web_events"
    write_csv(folder / "events.csv", data)
    with (folder / "events.jsonl").open("w") as handle:
        handle.writelines(json.dumps(row) + "\n" for row in data)
    pq.write_table(pa.Table.from_pylist(data), folder / "events.parquet")
    report = load_landing(warehouse, landing)

    assert [(f.file_name, f.rows_loaded, f.rows_quarantined) for f in report.files] == [
        ("events.csv", 1, 2),
        ("events.jsonl", 1, 2),
        ("events.parquet", 1, 2),
    ]
    loaded = warehouse.query_df(
        "select * exclude (_load_id, _file_name, _loaded_at) from raw.web_events "
        "order by _file_name"
    )
    assert_counts_reconcile(warehouse)
    assert loaded.drop_duplicates().shape[0] == 1  # the same row three times
    assert loaded["occurred_at"][0] == pd.Timestamp("2026-09-01 10:00:00")
    assert json.loads(loaded["_extra"][0]) == {"campaign_note": "spring"}
    quarantined = warehouse.query_df(
        "select _file_name, _row_number, reason, reason_column from raw.quarantine "
        "order by _file_name, _row_number"
    )
    assert (
        quarantined[["_row_number", "reason", "reason_column"]].values.tolist()
        == [
            [2, "invalid_value", "device_type"],
            [3, "missing_required", "event_name"],
        ]
        * 3
    )


def test_nested_json_values_are_kept_as_json_text(warehouse: Warehouse, landing: Path) -> None:
    folder = landing / "web_events"
    folder.mkdir()
    record = {**web_row("e1"), "properties": {"plan": "pro", "items": [1, 2]}, "score": 3}
    (folder / "nested.jsonl").write_text(json.dumps(record) + "\n")
    load_landing(warehouse, landing)
    loaded = rows(warehouse, "select properties, _extra from raw.web_events")
    assert json.loads(loaded[0]["properties"]) == {"plan": "pro", "items": [1, 2]}
    assert json.loads(loaded[0]["_extra"]) == {"score": "3"}


def test_jsonl_keys_that_appear_late_are_kept(warehouse: Warehouse, landing: Path) -> None:
    folder = landing / "web_events"
    folder.mkdir()
    records = [
        {"event_id": f"e{n}", "event_name": "view", "occurred_at": "2026-09-01"} for n in range(3)
    ]
    records[2].update(user_id="u7", coupon="SAVE10")
    (folder / "late.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    load_landing(warehouse, landing)
    loaded = rows(warehouse, "select user_id, _extra from raw.web_events order by _row_number")
    assert loaded[0] == {"user_id": None, "_extra": '{"coupon":null}'}
    assert loaded[2] == {"user_id": "u7", "_extra": '{"coupon":"SAVE10"}'}


def test_unknown_columns_land_in_extra_and_optional_columns_may_be_missing(
    warehouse: Warehouse, landing: Path
) -> None:
    # Columns in another order, most optional ones absent, two unknown ones.
    path = write_csv(
        landing / "web_events" / "x.csv",
        [
            {
                "occurred_at": "2026-09-01T00:00:00Z",
                "event_name": "signup",
                "event_id": "e1",
                "browser": "firefox",
                "ab_test": "",
            }
        ],
    )
    load_file(warehouse, "web_events", path)
    loaded = rows(warehouse, "select event_id, event_name, page_url, _extra from raw.web_events")
    assert loaded[0]["event_name"] == "signup" and loaded[0]["page_url"] is None
    assert json.loads(loaded[0]["_extra"]) == {"browser": "firefox", "ab_test": None}


def test_gzipped_csv_loads(warehouse: Warehouse, landing: Path) -> None:
    write_csv(landing / "orders" / "o.csv.gz", [order_row("o1")])
    assert load_landing(warehouse, landing).rows_loaded == 1


def test_missing_required_column_names_file_source_and_columns(
    warehouse: Warehouse, landing: Path
) -> None:
    row = order_row("o1")
    del row["amount"]
    path = write_csv(landing / "orders" / "no_amount.csv", [row])
    with pytest.raises(MissingColumnError) as caught:
        load_file(warehouse, "orders", path)
    assert str(caught.value) == (
        "no_amount.csv (orders): required column 'amount' is missing; "
        "the file has columns: order_id, customer_id, occurred_at, status, currency"
    )
    assert rows(warehouse, "select count(*) as n from raw.load_ledger") == [{"n": 0}]


def test_unknown_source_folder_lists_known_sources(warehouse: Warehouse, landing: Path) -> None:
    write_csv(landing / "pageviews" / "p.csv", [web_row("e1")])
    with pytest.raises(
        UnknownSourceError, match="pageviews.*known sources: web_events, app_events"
    ):
        load_landing(warehouse, landing)
    with pytest.raises(UnknownSourceError, match="known sources"):
        load_landing(warehouse, landing, sources=["clicks"])


def test_sources_filter_and_ignored_files(warehouse: Warehouse, landing: Path) -> None:
    write_csv(landing / "orders" / "o.csv", [order_row("o1")])
    write_csv(landing / "web_events" / "w.csv", [web_row("e1")])
    (landing / "web_events" / "README.txt").write_text("notes")
    report = load_landing(warehouse, landing, sources=["web_events"])
    assert [f.source for f in report.files] == ["web_events"]
    assert [Path(p).name for p in report.ignored] == ["README.txt"]


def test_a_failing_load_leaves_nothing_behind(
    warehouse: Warehouse, landing: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_csv(landing / "orders" / "o.csv", [order_row("o1"), order_row("o2", amount="x")])

    def crash(*args: object) -> None:
        raise RuntimeError("crash after the raw and quarantined rows were written")

    monkeypatch.setattr(load_module, "_insert_ledger", crash)
    with pytest.raises(RuntimeError):
        load_file(warehouse, "orders", path)
    monkeypatch.undo()
    counts = rows(
        warehouse,
        "select (select count(*) from raw.orders) as orders, "
        "(select count(*) from raw.quarantine) as quarantine, "
        "(select count(*) from raw.load_ledger) as ledger",
    )
    assert counts == [{"orders": 0, "quarantine": 0, "ledger": 0}]
    assert load_file(warehouse, "orders", path).rows_in_file == 2  # and it loads later


def test_a_malformed_record_is_quarantined_and_the_rest_of_the_file_loads(
    warehouse: Warehouse, landing: Path
) -> None:
    path = write_csv(landing / "orders" / "broken.csv", [order_row("o1"), order_row("o3")])
    lines = path.read_text().splitlines(keepends=True)
    ragged = "o2,c1,2026-09-01T10:00:00Z,completed,1,EUR,extra,more\n"
    path.write_text("".join([*lines[:2], ragged, *lines[2:]]))
    result = load_file(warehouse, "orders", path)
    assert (result.rows_loaded, result.quarantined_by_reason) == (2, {"malformed_record": 1})
    assert rows(warehouse, "select order_id, _row_number from raw.orders order by 2") == [
        {"order_id": "o1", "_row_number": 1},
        {"order_id": "o3", "_row_number": 2},
    ]
    [quarantined] = rows(
        warehouse, "select _row_number, reason, reason_column, reason_detail from raw.quarantine"
    )
    assert quarantined["_row_number"] == 3 and quarantined["reason_column"] is None
    assert quarantined["reason_detail"].startswith("line 3: too many columns")
    assert_counts_reconcile(warehouse)


def test_loaded_at_is_the_load_time(warehouse: Warehouse, landing: Path) -> None:
    before = datetime.now(UTC).replace(tzinfo=None)
    write_csv(landing / "orders" / "o.csv", [order_row("o1")])
    load_landing(warehouse, landing)
    loaded_at = rows(
        warehouse, "select _loaded_at, (select loaded_at from raw.load_ledger) as l from raw.orders"
    )
    assert loaded_at[0]["_loaded_at"] == loaded_at[0]["l"] >= before


def test_an_existing_raw_table_gains_the_columns_the_contract_added(
    warehouse: Warehouse, landing: Path
) -> None:
    ensure_raw_tables(warehouse)
    orders = warehouse.relation("raw", "orders")
    warehouse.execute(f"alter table {orders} drop column {warehouse.quote('currency')}")
    write_csv(landing / "orders" / "o.csv", [order_row("o1")])

    load_landing(warehouse, landing)  # an older table: the loader adds the column back

    assert [
        (r["order_id"], r["currency"]) for r in rows(warehouse, "select * from raw.orders")
    ] == [("o1", "EUR")]


def test_the_staging_yaml_accepts_the_loaders_reasons_and_statuses():
    """The accepted values of stg_loader__quarantine.reason and stg_loader__load_ledger's
    load_status are the loader's own (journeymap.contract, journeymap.load): the YAML cannot
    import them, so this keeps the two lists one."""
    spec = yaml.safe_load((PROJECT_DIR / "models/staging/loader/_loader__models.yml").read_text())
    accepted = {
        (model["name"], column["name"]): test["accepted_values"]["arguments"]["values"]
        for model in spec["models"]
        for column in model["columns"]
        for test in column.get("data_tests", [])
        if isinstance(test, dict) and "accepted_values" in test
    }
    assert accepted == {
        ("stg_loader__quarantine", "reason"): [
            *QUARANTINE_REASONS,
            MALFORMED_REASON,
            ERASED_REASON,
        ],
        ("stg_loader__load_ledger", "load_status"): [
            STATUS_LOADED,
            STATUS_DUPLICATE_FILE,
            STATUS_PURGED,
        ],
    }
