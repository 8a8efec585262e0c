"""import-events on exports shaped like the tools' own: process-mining logs (case, activity,
timestamp; XES attribute names), Snowplow enriched events, Amplitude's export, explicit column
choices, order columns, content-derived ids and dry runs."""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path

import pytest

from journeymap.byo import ByoImportError, ColumnChoices, import_events, map_columns
from journeymap.load import STATUS_DUPLICATE_FILE, load_landing
from journeymap.warehouse import DuckDBWarehouse
from tests.unit.test_byo import raw_rows, write_csv, write_jsonl

# A ticket's life in a process-mining log (Disco/Celonis CSV export): two activities share a
# second, so only the log's own order tells which came first.
TICKET_LOG = [
    {"case_id": "T-1", "activity": "Ticket Opened", "timestamp": "2026-09-01 09:00:00"},
    {"case_id": "T-1", "activity": "Ticket Assigned", "timestamp": "2026-09-01 09:00:00"},
    {"case_id": "T-1", "activity": "Agent Replied", "timestamp": "2026-09-01 11:30:00"},
    {"case_id": "T-2", "activity": "Ticket Opened", "timestamp": "2026-09-02 10:00:00"},
    {"case_id": "T-1", "activity": "Ticket Solved", "timestamp": "2026-09-01 12:00:00"},
]


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    return tmp_path / "landing"


@pytest.fixture
def warehouse(tmp_path: Path):
    with DuckDBWarehouse(tmp_path / "journeymap.duckdb") as warehouse:
        yield warehouse


def test_process_mining_log_maps_without_rewriting_the_header(
    tmp_path: Path, landing: Path, warehouse: DuckDBWarehouse
) -> None:
    export = write_csv(tmp_path / "tickets.csv", TICKET_LOG)
    report = import_events(export, landing_dir=landing)
    assert report.mapping == {
        "event_name": "activity",
        "user_id": "case_id",
        "occurred_at": "timestamp",
    }
    load_landing(warehouse, landing)
    rows = raw_rows(warehouse)
    assert [(r["user_id"], r["event_name"], r["event_order"]) for r in rows] == [
        ("T-1", "Ticket Opened", 1),
        ("T-1", "Ticket Assigned", 2),
        ("T-1", "Agent Replied", 3),
        ("T-2", "Ticket Opened", 4),
        ("T-1", "Ticket Solved", 5),
    ]
    assert rows[0]["occurred_at"] == rows[1]["occurred_at"] == datetime(2026, 9, 1, 9)


def test_xes_attribute_names_map_with_or_without_the_preset(tmp_path: Path, landing: Path) -> None:
    """pm4py's dataframe of an XES log: case:concept:name, concept:name, time:timestamp, with
    org:resource and lifecycle:transition kept as properties."""
    rows = [
        {
            "case:concept:name": "T-1",
            "concept:name": "Ticket Opened",
            "time:timestamp": "2026-09-01T09:00:00.000+02:00",
            "org:resource": "Ana",
            "lifecycle:transition": "complete",
        }
    ]
    export = write_csv(tmp_path / "log.csv", rows)
    expected = {
        "user_id": "case:concept:name",
        "event_name": "concept:name",
        "occurred_at": "time:timestamp",
    }
    assert map_columns(tuple(rows[0])) == expected
    report = import_events(export, landing_dir=landing, preset="process-mining", dry_run=True)
    assert report.mapping == expected
    assert report.properties_columns == ["org:resource", "lifecycle:transition"]
    (landed,) = report.preview
    assert landed["occurred_at"] == "2026-09-01T07:00:00.000000Z"
    assert json.loads(landed["properties"]) == {
        "org:resource": "Ana",
        "lifecycle:transition": "complete",
    }
    assert not (landing / "web_events").exists()  # a dry run writes nothing
    assert "dry run: nothing written" in report.summary()


def test_explicit_columns_win_over_aliases_and_a_missing_one_is_named(
    tmp_path: Path, landing: Path
) -> None:
    rows = [
        {
            "ticket": "T-1",
            "customer": "C-9",
            "step": "Opened",
            "event": "ignored",
            "at": "2026-09-01T09:00:00Z",
        }
    ]
    export = write_csv(tmp_path / "custom.csv", rows)
    choices = ColumnChoices(user_id="customer", event_name="step", occurred_at="at")
    report = import_events(export, landing_dir=landing, columns=choices, dry_run=True)
    assert report.mapping["user_id"] == "customer"
    assert report.mapping["event_name"] == "step"
    assert report.preview[0]["event_name"] == "Opened"
    with pytest.raises(ByoImportError, match="no column 'stage' for event_name; the file has"):
        import_events(
            export, landing_dir=landing, columns=ColumnChoices(event_name="stage"), dry_run=True
        )


def test_order_column_orders_ties_numerically(
    tmp_path: Path, landing: Path, warehouse: DuckDBWarehouse
) -> None:
    rows = [
        {"user_id": "u", "event": "third", "ts": "2026-09-01T09:00:00Z", "seq": "10"},
        {"user_id": "u", "event": "first", "ts": "2026-09-01T09:00:00Z", "seq": "2"},
        {"user_id": "u", "event": "second", "ts": "2026-09-01T09:00:00Z", "seq": "9"},
    ]
    export = write_csv(tmp_path / "seq.csv", rows)
    report = import_events(export, landing_dir=landing, columns=ColumnChoices(event_order="seq"))
    assert report.order_column == "seq"
    load_landing(warehouse, landing)
    by_order = sorted(raw_rows(warehouse), key=lambda r: r["event_order"])
    assert [r["event_name"] for r in by_order] == ["first", "second", "third"]
    assert json.loads(by_order[0]["properties"]) == {"seq": "2"}  # the original value stays


def test_amplitude_preset_takes_uuid_as_id_and_event_id_as_order(
    tmp_path: Path, landing: Path, warehouse: DuckDBWarehouse
) -> None:
    """Amplitude's event_id counts a device's events (its order); uuid identifies an event."""
    base = {"user_id": None, "device_id": "d-1", "event_time": "2026-09-01 09:00:00.000000"}
    export = write_jsonl(
        tmp_path / "amplitude.json",
        [
            {**base, "event_type": "Song Played", "event_id": 7, "uuid": "u-7"},
            {**base, "event_type": "App Opened", "event_id": 6, "uuid": "u-6"},
        ],
    )
    report = import_events(export, landing_dir=landing, preset="amplitude")
    assert (report.mapping["event_id"], report.order_column) == ("uuid", "event_id")
    load_landing(warehouse, landing)
    rows = {r["event_id"]: r for r in raw_rows(warehouse)}
    assert rows["u-6"]["event_order"] < rows["u-7"]["event_order"]
    assert rows["u-6"]["anonymous_id"] == "d-1"


def test_snowplow_enriched_events(tmp_path: Path, landing: Path) -> None:
    """Snowplow's atomic.events columns; its `event` (page_view, struct) is no contract event
    type and is kept in properties."""
    rows = [
        {
            "app_id": "shop",
            "platform": "web",
            "collector_tstamp": "2026-09-01 09:00:01.200",
            "derived_tstamp": "2026-09-01 09:00:00.900",
            "event": "page_view",
            "event_id": "c6ef3124-b53a-4b13-a233-0088f79dcbcb",
            "user_id": "",
            "domain_userid": "bc2e92ec6c204a14",
            "network_userid": "ecdff4d0-9175-40ac-a8bb-325c49733607",
            "page_url": "https://shop.example.com/pricing",
            "page_referrer": "https://www.google.com/",
            "mkt_source": "google",
            "mkt_medium": "cpc",
            "mkt_campaign": "autumn",
            "event_name": "page_view",
        }
    ]
    export = write_csv(tmp_path / "atomic_events.csv", rows)
    report = import_events(export, landing_dir=landing, preset="snowplow", dry_run=True)
    (landed,) = report.preview
    assert landed["event_id"] == "c6ef3124-b53a-4b13-a233-0088f79dcbcb"
    assert landed["anonymous_id"] == "bc2e92ec6c204a14"
    assert landed["occurred_at"] == "2026-09-01T09:00:00.900000Z"  # derived, not collector
    assert (landed["utm_source"], landed["utm_medium"]) == ("google", "cpc")
    assert json.loads(landed["properties"])["event"] == "page_view"


def test_same_export_under_another_name_is_the_same_file_to_the_loader(
    tmp_path: Path, landing: Path, warehouse: DuckDBWarehouse
) -> None:
    """No id column: ids come from the event's content, not the file name, so a re-delivery
    under another name lands byte-identical and is counted once."""
    export = write_csv(tmp_path / "tickets_monday.csv", TICKET_LOG)
    first = import_events(export, landing_dir=landing)
    again = shutil.copyfile(export, tmp_path / "tickets_export_final.csv")
    second = import_events(again, landing_dir=landing)
    assert first.generated_event_ids
    assert Path(first.output_path).read_bytes() == Path(second.output_path).read_bytes()

    report = load_landing(warehouse, landing)
    assert [f.status for f in report.files] == ["loaded", STATUS_DUPLICATE_FILE]
    assert report.rows_loaded == len(TICKET_LOG)
    ids = [r["event_id"] for r in raw_rows(warehouse)]
    assert len(set(ids)) == len(TICKET_LOG)  # the tie at 09:00 is two events


def test_content_ids_survive_reordered_and_extended_exports(tmp_path: Path, landing: Path) -> None:
    first = import_events(write_csv(tmp_path / "a.csv", TICKET_LOG), landing_dir=landing)
    extended = [*reversed(TICKET_LOG), {**TICKET_LOG[0], "case_id": "T-3"}]
    second = import_events(write_csv(tmp_path / "b.csv", extended), landing_dir=landing)
    ids_a = {(r["user_id"], r["event_name"]): r["event_id"] for r in _landed(first.output_path)}
    ids_b = {(r["user_id"], r["event_name"]): r["event_id"] for r in _landed(second.output_path)}
    assert all(ids_b[key] == event_id for key, event_id in ids_a.items())
    assert len(ids_b) == len(ids_a) + 1


def _landed(path: str) -> list[dict[str, str]]:
    import csv

    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_property_columns_keep_only_what_the_user_names(tmp_path: Path, landing: Path) -> None:
    rows = [{**TICKET_LOG[0], "resource": "Ana", "cost": "12", "internal_note": "x"}]
    export = write_csv(tmp_path / "log.csv", rows)
    report = import_events(
        export, landing_dir=landing, columns=ColumnChoices(properties=("resource",)), dry_run=True
    )
    assert report.properties_columns == ["resource"]
    assert report.dropped_columns == ["cost", "internal_note"]
    assert json.loads(report.preview[0]["properties"]) == {"resource": "Ana"}


def test_timestamp_format_for_day_first_exports(tmp_path: Path, landing: Path) -> None:
    rows = [{"case_id": "T-1", "activity": "Opened", "timestamp": "03.09.2026 14:05"}]
    export = write_csv(tmp_path / "de.csv", rows)
    report = import_events(
        export,
        landing_dir=landing,
        columns=ColumnChoices(timestamp_format="%d.%m.%Y %H:%M"),
        dry_run=True,
    )
    assert report.preview[0]["occurred_at"] == "2026-09-03T14:05:00.000000Z"
    assert report.problem_count == 0
    unparsed = import_events(export, landing_dir=landing, dry_run=True)
    assert unparsed.problem_count == 1  # without the format it is not a timestamp


def test_project_sources_take_imports_and_others_are_refused(tmp_path: Path, landing: Path):
    export = write_csv(tmp_path / "tickets.csv", TICKET_LOG)
    report = import_events(
        export, source="helpdesk", landing_dir=landing, event_sources=("web_events", "helpdesk")
    )
    assert Path(report.output_path) == landing / "helpdesk" / "byo_tickets.csv"
    with pytest.raises(ByoImportError, match="declare your own under `sources:`"):
        import_events(export, source="helpdesk", landing_dir=landing)
