"""Bring your own events: exports from common tools map onto the contract and load."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from journeymap.byo import ByoImportError, import_events, map_columns
from journeymap.load import load_landing
from journeymap.warehouse import DuckDBWarehouse


def write_csv(path: Path, rows: Sequence[dict[str, object]]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0].keys()))
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_jsonl(path: Path, rows: Sequence[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    return tmp_path / "landing"


@pytest.fixture
def warehouse(tmp_path: Path) -> Iterator[DuckDBWarehouse]:
    with DuckDBWarehouse(tmp_path / "journeymap.duckdb") as warehouse:
        yield warehouse


def raw_rows(warehouse: DuckDBWarehouse, table: str = "web_events") -> list[dict]:
    cursor = warehouse.connection.execute(f"select * from raw.{table} order by _row_number")
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def test_segment_export_maps_and_loads(
    tmp_path: Path, landing: Path, warehouse: DuckDBWarehouse
) -> None:
    export = write_csv(
        tmp_path / "segment_tracks.csv",
        [
            {
                "messageId": "ajs-1",
                "anonymousId": "anon-9",
                "userId": "",
                "event": "Product Viewed",
                "type": "track",
                "timestamp": "2026-09-01T12:34:56.789+02:00",
                "context_page_url": "https://shop.example.com/p/1",
                "context_campaign_source": "newsletter",
                "properties": '{"sku": "A-1"}',
                "receivedAt": "2026-09-01T10:35:00Z",
            },
            {
                "messageId": "ajs-2",
                "anonymousId": "anon-9",
                "userId": "u-1",
                "event": "Order Completed",
                "type": "alias",  # not a contract event type: kept in properties
                "timestamp": "2026-09-01T10:40:00Z",
                "context_page_url": "",
                "context_campaign_source": "",
                "properties": "",
                "receivedAt": "2026-09-01T10:40:01Z",
            },
        ],
    )
    report = import_events(export, landing_dir=landing)

    assert report.mapping == {
        "event_name": "event",
        "event_type": "type",
        "user_id": "userId",
        "anonymous_id": "anonymousId",
        "event_id": "messageId",
        "occurred_at": "timestamp",
        "page_url": "context_page_url",
        "utm_source": "context_campaign_source",
        "properties": "properties",
    }
    assert report.properties_columns == ["receivedAt"]
    assert Path(report.output_path) == landing / "web_events" / "byo_segment_tracks.csv"
    assert report.problems == []

    load_landing(warehouse, landing)
    first, second = raw_rows(warehouse)
    assert first["event_id"] == "ajs-1"
    assert first["anonymous_id"] == "anon-9" and first["user_id"] is None
    assert first["event_name"] == "Product Viewed" and first["event_type"] == "track"
    assert first["occurred_at"] == datetime(2026, 9, 1, 10, 34, 56, 789000)
    assert first["page_url"] == "https://shop.example.com/p/1"
    assert first["utm_source"] == "newsletter"
    assert json.loads(first["properties"]) == {"sku": "A-1", "receivedAt": "2026-09-01T10:35:00Z"}
    assert second["user_id"] == "u-1" and second["event_type"] is None
    assert json.loads(second["properties"]) == {
        "type": "alias",
        "receivedAt": "2026-09-01T10:40:01Z",
    }


def test_ga4_export_with_microsecond_timestamps(
    tmp_path: Path, landing: Path, warehouse: DuckDBWarehouse
) -> None:
    export = tmp_path / "ga4_events.parquet"
    pq.write_table(
        pa.Table.from_pylist(
            [
                {
                    "event_date": "20260901",
                    "event_timestamp": 1788352496123456,  # 2026-09-02T12:34:56.123456Z
                    "event_name": "page_view",
                    "user_pseudo_id": "1234.5678",
                    "user_id": None,
                    "device": {"category": "Mobile"},
                    "traffic_source": {
                        "source": "google",
                        "medium": "organic",
                        "name": "(organic)",
                    },
                    "page_location": "https://shop.example.com/",
                }
            ]
        ),
        export,
    )
    report = import_events(export, source="app_events", landing_dir=landing)
    assert report.mapping["device_type"] == "device.category"
    assert report.generated_event_ids

    load_landing(warehouse, landing)
    (row,) = raw_rows(warehouse, "app_events")
    assert row["occurred_at"] == datetime(2026, 9, 2, 12, 34, 56, 123456)
    assert row["anonymous_id"] == "1234.5678" and row["user_id"] is None
    assert row["device_type"] == "mobile"
    assert (row["utm_source"], row["utm_medium"], row["utm_campaign"]) == (
        "google",
        "organic",
        "(organic)",
    )
    assert row["page_url"] == "https://shop.example.com/"
    assert row["event_id"].startswith("byo-")
    assert json.loads(row["properties"]) == {"event_date": "20260901"}


def test_mixpanel_export_with_epoch_seconds_and_nested_properties(
    tmp_path: Path, landing: Path, warehouse: DuckDBWarehouse
) -> None:
    export = write_jsonl(
        tmp_path / "mixpanel.jsonl",
        [
            {
                "event": "Signed Up",
                "properties": {
                    "time": 1788352496,
                    "distinct_id": "d-42",
                    "$insert_id": "ins-1",
                    "$current_url": "https://app.example.com/signup",
                    "mp_country_code": "DE",
                },
            }
        ],
    )
    report = import_events(export, landing_dir=landing)
    assert report.mapping["anonymous_id"] == "properties.distinct_id"  # no user id column

    load_landing(warehouse, landing)
    (row,) = raw_rows(warehouse)
    assert (row["event_id"], row["anonymous_id"], row["event_name"]) == (
        "ins-1",
        "d-42",
        "Signed Up",
    )
    assert row["occurred_at"] == datetime(2026, 9, 2, 12, 34, 56)
    assert row["page_url"] == "https://app.example.com/signup"
    assert json.loads(row["properties"]) == {"mp_country_code": "DE"}


def test_distinct_id_is_not_anonymous_when_a_user_id_exists() -> None:
    mapping = map_columns(("distinct_id", "$user_id", "$device_id", "event", "time"))
    assert mapping["user_id"] == "$user_id"
    assert mapping["anonymous_id"] == "$device_id"


def test_amplitude_event_type_is_the_event_name() -> None:
    mapping = map_columns(("event_type", "device_id", "event_time", "event_properties", "uuid"))
    assert mapping == {
        "event_name": "event_type",
        "anonymous_id": "device_id",
        "event_id": "uuid",
        "occurred_at": "event_time",
        "properties": "event_properties",
    }


def test_minimal_three_column_file(
    tmp_path: Path, landing: Path, warehouse: DuckDBWarehouse
) -> None:
    export = write_csv(
        tmp_path / "Export.csv",
        [
            {"Customer_ID": "c1", "Action": "login", "TS": "1788352496000"},  # epoch ms
            {"Customer_ID": "c2", "Action": "logout", "TS": "2026-09-01 08:00:00"},
        ],
    )
    report = import_events(export, landing_dir=landing)
    assert report.mapping == {"event_name": "Action", "user_id": "Customer_ID", "occurred_at": "TS"}

    load_landing(warehouse, landing)
    rows = raw_rows(warehouse)
    assert [(r["user_id"], r["event_name"], r["occurred_at"]) for r in rows] == [
        ("c1", "login", datetime(2026, 9, 2, 12, 34, 56)),
        ("c2", "logout", datetime(2026, 9, 1, 8, 0, 0)),
    ]
    assert rows[0]["event_id"] != rows[1]["event_id"]
    again = import_events(export, landing_dir=landing)  # ids are deterministic
    assert Path(again.output_path).read_text() == Path(report.output_path).read_text()


def test_missing_required_column_names_field_and_aliases(tmp_path: Path, landing: Path) -> None:
    export = write_csv(tmp_path / "export.csv", [{"user_id": "u1", "event": "login"}])
    with pytest.raises(ByoImportError) as caught:
        import_events(export, landing_dir=landing)
    message = str(caught.value)
    assert message.startswith(
        "export.csv: no column for occurred_at; tried occurred_at, timestamp,"
    )
    assert "event_timestamp" in message and "the file has columns: user_id, event" in message


def test_missing_id_column(tmp_path: Path, landing: Path) -> None:
    export = write_csv(tmp_path / "export.csv", [{"event": "login", "timestamp": "2026-09-01"}])
    with pytest.raises(
        ByoImportError, match="no column for anonymous_id or user_id.*user_pseudo_id"
    ):
        import_events(export, landing_dir=landing)


def test_strict_mode_names_file_row_and_column(tmp_path: Path, landing: Path) -> None:
    rows = [{"user_id": "u1", "event": "login", "timestamp": "2026-09-01T00:00:00Z"}] * 16
    rows.append({"user_id": "u1", "event": "login", "timestamp": "yesterday"})
    export = write_csv(tmp_path / "export.csv", rows)
    with pytest.raises(ByoImportError) as caught:
        import_events(export, landing_dir=landing, strict=True)
    assert (
        str(caught.value) == "export.csv row 17, column 'timestamp': 'yesterday' is not a timestamp"
    )
    assert not (landing / "web_events" / "byo_export.csv").exists()


def test_non_strict_problems_are_reported_and_rows_quarantined(
    tmp_path: Path, landing: Path, warehouse: DuckDBWarehouse
) -> None:
    export = write_csv(
        tmp_path / "export.csv",
        [
            {
                "anonymous_id": "a1",
                "user_id": "",
                "event": "view",
                "timestamp": "2026-09-01T00:00:00Z",
            },
            {"anonymous_id": "a1", "user_id": "", "event": "view", "timestamp": "yesterday"},
            {"anonymous_id": "a1", "user_id": "", "event": "", "timestamp": "2026-09-01T00:00:00Z"},
            {
                "anonymous_id": "",
                "user_id": "",
                "event": "view",
                "timestamp": "2026-09-01T00:00:00Z",
            },
        ],
    )
    report = import_events(export, landing_dir=landing)
    assert [(p.row, p.column, p.message) for p in report.problems] == [
        (2, "timestamp", "'yesterday' is not a timestamp"),
        (3, "event", "event name is empty"),
        (4, "anonymous_id/user_id", "no anonymous id or user id"),
    ]
    assert report.problem_count == 3
    assert (
        "export.csv row 2, column 'timestamp': 'yesterday' is not a timestamp" in report.summary()
    )

    result = load_landing(warehouse, landing)
    assert (result.rows_loaded, result.rows_quarantined) == (2, 2)
    quarantined = warehouse.connection.execute(
        "select _row_number, reason, reason_column, reason_detail from raw.quarantine order by 1"
    ).fetchall()
    assert quarantined == [
        (2, "unparseable_timestamp", "occurred_at", "occurred_at: 'yesterday' is not a timestamp"),
        (3, "missing_required", "event_name", "event_name: required value is empty"),
    ]


def test_only_event_sources_accept_byo(tmp_path: Path, landing: Path) -> None:
    export = write_csv(tmp_path / "export.csv", [{"user_id": "u1", "event": "x", "ts": "1"}])
    with pytest.raises(ByoImportError, match=r"an event source \(web_events, app_events\)"):
        import_events(export, source="orders", landing_dir=landing)
