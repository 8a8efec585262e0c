"""Hostile and broken landing files: each gets a clear error naming the file, or loads with
its bad rows quarantined for a reason; nothing is half-loaded and the ledger reconciles.
Hostile strings (SQL quotes, Jinja, HTML/JS) are data: stored as they came, never run."""

from __future__ import annotations

import codecs
import json
import re
from pathlib import Path

import duckdb
import pytest

from journeymap.contract import MALFORMED_REASON
from journeymap.erasure import needle_regex, rewrite_without
from journeymap.load import LoadError, UnknownSourceError, csv_encoding, load_file, load_landing
from tests.unit import test_load
from tests.unit.test_load import ORDER_COLUMNS, assert_counts_reconcile, rows

HEADER = ",".join(ORDER_COLUMNS) + "\n"
HOSTILE = [
    "'; drop table raw.orders; --",
    "{{ 7 * 7 }}{% raw %}",
    "<script>window.__pwned = 1</script>",
    '<img src=x onerror="window.__pwned = 1">',
    "Robert'); DELETE FROM marts.dim_customers;--",
]


# The loader tests' fixtures: a DuckDB warehouse file and a landing folder under tmp_path.
warehouse = test_load.warehouse
landing = test_load.landing


def order(order_id: str, customer: str = "c1", at: str = "2026-09-01T10:00:00Z") -> str:
    quoted = '"' + customer.replace('"', '""') + '"'
    return f"{order_id},{quoted},{at},completed,19.90,EUR\n"


def write(landing: Path, name: str, data: bytes, source: str = "orders") -> Path:
    path = landing / source / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("encoding", "data"),
    [
        ("latin-1", (HEADER + order("o1", "Cédric Müller")).encode("latin-1")),
        ("utf-16", (HEADER + order("o1", "Cédric Müller")).encode("utf-16")),
        ("utf-8", codecs.BOM_UTF8 + (HEADER + order("o1", "Cédric Müller")).encode()),
    ],
)
def test_other_encodings_and_a_bom_load_the_same_text(warehouse, landing, encoding, data):
    path = write(landing, f"orders_{encoding}.csv", data)
    assert csv_encoding(path) == encoding
    result = load_file(warehouse, "orders", path)
    assert (result.rows_loaded, result.rows_quarantined) == (1, 0)
    assert rows(warehouse, "select order_id, customer_id from raw.orders") == [
        {"order_id": "o1", "customer_id": "Cédric Müller"}
    ]


def test_hostile_strings_are_stored_as_data(warehouse, landing):
    body = HEADER + "".join(order(f"o{i}", text) for i, text in enumerate(HOSTILE))
    path = write(landing, "orders_hostile.csv", body.encode())
    assert load_file(warehouse, "orders", path).rows_loaded == len(HOSTILE)
    stored = rows(warehouse, "select customer_id from raw.orders order by order_id")
    assert [r["customer_id"] for r in stored] == HOSTILE
    assert_counts_reconcile(warehouse)


def test_path_tricks_in_file_names_stay_file_names(warehouse, landing):
    name = "orders_'; drop table raw.load_ledger; --{{x}}.csv"
    path = write(landing, name, (HEADER + order("o1")).encode())
    report = load_landing(warehouse, landing)
    assert [f.file_name for f in report.loaded] == [name]
    assert rows(warehouse, "select file_name from raw.load_ledger") == [{"file_name": name}]
    with pytest.raises(LoadError, match="not a landing file"):
        load_file(warehouse, "orders", path.with_name("orders.csv.exe"))


def test_empty_and_header_only_files(warehouse, landing):
    with pytest.raises(LoadError, match="empty: not even a header row"):
        load_file(warehouse, "orders", write(landing, "empty.csv", b""))
    result = load_file(warehouse, "orders", write(landing, "header.csv", HEADER.encode()))
    assert (result.status, result.rows_in_file) == ("loaded", 0)
    assert_counts_reconcile(warehouse)


def test_timestamps_from_1970_load_and_from_2999_are_quarantined(warehouse, landing):
    body = (
        HEADER
        + order("o1970", at="1970-01-01T00:00:00Z")
        + order("o2999", at="2999-01-01T00:00:00Z")
    )
    result = load_file(warehouse, "orders", write(landing, "times.csv", body.encode()))
    assert result.quarantined_by_reason == {"future_timestamp": 1}
    assert [r["order_id"] for r in rows(warehouse, "select order_id from raw.orders")] == ["o1970"]
    assert_counts_reconcile(warehouse)


def test_replayed_and_duplicated_files_are_counted_once(warehouse, landing):
    data = (HEADER + order("o1") + order("o2")).encode()
    write(landing, "day1.csv", data)
    load_landing(warehouse, landing)
    write(landing, "day1_again.csv", data)  # the same content re-delivered under a new name
    report = load_landing(warehouse, landing)  # and day1.csv replayed
    assert [(f.file_name, f.status) for f in report.files] == [
        ("day1.csv", "skipped"),
        ("day1_again.csv", "duplicate_file"),
    ]
    assert rows(warehouse, "select count(*) as n from raw.orders") == [{"n": 2}]
    assert_counts_reconcile(warehouse)


def json_order(order_id: str) -> str:
    return json.dumps(dict(zip(ORDER_COLUMNS, order(order_id).strip().split(","), strict=True)))


RAGGED = "o2,c1,2026-09-01T00:00:00Z,completed,1,EUR,x,y\n"


@pytest.mark.parametrize(
    ("name", "body", "loaded", "malformed_lines"),
    [
        ("ragged.csv", HEADER + order("o1") + RAGGED + order("o3"), ["o1", "o3"], [3]),
        ("short.csv", HEADER + "o1,c1\n" + order("o2"), ["o2"], [2]),
        # An open quote runs to the end of the file: one record, the rest of the file.
        (
            "unterminated.csv",
            HEADER + order("o1") + 'o2,"c1,2026-09-01T00:00:00Z,completed\n' + order("o3"),
            ["o1"],
            [3],
        ),
        (
            "huge_field.csv",
            HEADER + order("o1") + order("o2", "x" * 3_000_000) + order("o3"),
            ["o1", "o3"],
            [3],
        ),
        (
            "mixed_endings.csv",
            (HEADER + order("o1")).replace("\n", "\r\n") + "o2,c1\r" + order("o3"),
            ["o1", "o3"],
            [3],
        ),
        (
            "orders.jsonl",
            "\n".join(
                [json_order("o1"), '{"order_id": "o2",', "not json", "[1, 2]", "NaN", ""]
                + [json_order("o6")]
            ),
            ["o1", "o6"],
            [2, 3, 4, 5],
        ),
    ],
)
def test_malformed_records_are_quarantined_and_the_rest_of_the_file_loads(
    warehouse, landing, name, body, loaded, malformed_lines
):
    result = load_file(warehouse, "orders", write(landing, name, body.encode()))
    assert result.quarantined_by_reason == {MALFORMED_REASON: len(malformed_lines)}
    stored = rows(warehouse, "select order_id, _row_number from raw.orders order by 2")
    assert stored == [{"order_id": o, "_row_number": i} for i, o in enumerate(loaded, start=1)]
    quarantined = rows(
        warehouse,
        "select _row_number, reason, reason_detail, raw_record from raw.quarantine order by 1",
    )
    assert [q["_row_number"] for q in quarantined] == list(
        range(len(loaded) + 1, len(loaded) + len(malformed_lines) + 1)
    )  # numbered after the parsed rows, in line order
    assert [json.loads(q["raw_record"])["line"] for q in quarantined] == malformed_lines
    assert all(
        q["reason_detail"].startswith(f"line {n}: ")
        for q, n in zip(quarantined, malformed_lines, strict=True)
    )
    assert_counts_reconcile(warehouse)
    assert result.rows_in_file == len(loaded) + len(malformed_lines)


def test_a_malformed_record_keeps_its_text(warehouse, landing):
    load_file(warehouse, "orders", write(landing, "ragged.csv", (HEADER + RAGGED).encode()))
    [record] = rows(warehouse, "select raw_record from raw.quarantine")
    assert json.loads(record["raw_record"]) == {"line": 2, "text": RAGGED.strip()}


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        (
            "million_columns.csv",
            (",".join(f"c{i}" for i in range(1_000_000)) + "\n").encode(),
            "1,000,000 columns",
        ),
        ("binary.csv", bytes(range(256)) * 64, "required column"),
        ("semicolons.csv", HEADER.replace(",", ";").encode(), "required column"),
        ("blank_header.csv", b"\n" + order("o1").encode(), "no column names"),
    ],
)
def test_unreadable_files_are_a_clear_error_and_leave_nothing_behind(
    warehouse, landing, name, data, message
):
    path = write(landing, name, data)
    with pytest.raises(LoadError, match=f"{re.escape(name)}.*{message}"):
        load_file(warehouse, "orders", path)
    assert rows(warehouse, "select count(*) as n from raw.orders") == [{"n": 0}]
    assert rows(warehouse, "select count(*) as n from raw.load_ledger") == [{"n": 0}]


def test_unknown_sources_are_refused_by_name(warehouse, landing):
    write(landing, "x.csv", (HEADER + order("o1")).encode(), source="orders'; drop table x")
    with pytest.raises(UnknownSourceError, match="known sources"):
        load_landing(warehouse, landing)
    with pytest.raises(UnknownSourceError, match="known sources"):
        load_file(warehouse, "orders; drop table raw.orders", landing / "orders" / "x.csv")


def test_erasure_rewrites_a_file_holding_malformed_records(landing):
    body = HEADER + order("o1", "keep1") + "o2,gone,broken\n" + order("o3", "gone") + order("o4")
    path = write(landing, "orders.csv", body.encode())
    with duckdb.connect() as connection:
        removed = rewrite_without(connection, path, needle_regex({"gone"}))
    assert removed == 2  # o3's row and the malformed record naming the person
    text = path.read_text()
    assert "gone" not in text and "o1" in text and "o4" in text
