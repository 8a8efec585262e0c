"""The warehouse core on a generated business: planted truths found, every row accounted for."""

from __future__ import annotations

import csv
import json
import os
from collections import Counter
from pathlib import Path

import pytest

from journeymap.contract import SOURCES
from tests.integration.marts import MARTS, mart_fingerprints, query, scalar

pytestmark = pytest.mark.integration


def _defects(built_warehouse) -> list[dict]:
    with (built_warehouse.truth_dir / "defects.csv").open() as handle:
        return list(csv.DictReader(handle))


def test_every_mart_is_built_and_filled(built_warehouse):
    for mart in MARTS:
        rows = scalar(built_warehouse.duckdb_path, f"select count(*) from marts.{mart}")
        assert rows > 0, f"marts.{mart} is empty"


def test_event_stream_keeps_every_staged_interaction(built_warehouse):
    path = built_warehouse.duckdb_path
    expected = {
        "web_events": "select count(*) from staging.stg_tracking__web_events",
        "app_events": "select count(*) from staging.stg_tracking__app_events",
        "email_events": "select count(*) from staging.stg_esp__email_events",
        "orders": "select count(*) from staging.stg_commerce__orders",
        "support_messages": (
            "select count(*) from staging.stg_support__messages where author_type = 'customer'"
        ),
        "reviews": "select count(*) from staging.stg_reviews__reviews",
    }
    counts = dict(
        query(path, "select source, count(*) as n from marts.fct_events group by source").values
    )
    for source, sql in expected.items():
        assert counts[source] == scalar(path, sql), source


def test_planted_mobile_checkout_drop_off_is_found(built_warehouse):
    funnel = built_warehouse.truth()["funnel"]
    steps = query(
        built_warehouse.duckdb_path,
        f"""
        select breakdown_value, entered, completed, conversion_from_previous
        from marts.fct_funnel_steps
        where funnel_name = '{funnel["name"]}' and canonical_event = '{funnel["to_step"]}'
            and breakdown = 'device_type'
        """,
    ).set_index("breakdown_value")
    for device in ("desktop", "mobile"):
        realized = funnel["realized"][device]
        measured = steps.loc[device]
        # The warehouse must see exactly what the generator did (stitching, ordering, window) ...
        assert measured.entered == pytest.approx(realized["entered"], rel=0.02), device
        assert measured.conversion_from_previous == pytest.approx(realized["rate"], abs=0.02), (
            device
        )
        # ... and that is the planted behaviour, within sampling noise.
        assert measured.conversion_from_previous == pytest.approx(
            funnel["planted_rate"][device], abs=0.08
        )
    gap = (
        steps.loc["desktop"].conversion_from_previous - steps.loc["mobile"].conversion_from_previous
    )
    assert gap > 0.2


def test_every_source_reconciles(built_warehouse):
    frame = query(built_warehouse.duckdb_path, "select * from marts.mart_data_reconciliation")
    assert len(frame) == len(SOURCES)
    assert frame.is_reconciled.all(), frame[~frame.is_reconciled]
    assert (frame.unaccounted_rows == 0).all()
    landed = scalar(built_warehouse.duckdb_path, "select sum(rows_in_file) from raw.load_ledger")
    assert frame.landed_rows.sum() == landed


def test_every_planted_defect_is_quarantined_with_its_reason(built_warehouse):
    planted = [
        d for d in _defects(built_warehouse) if d["expected_outcome"].startswith("quarantine:")
    ]
    assert planted, "the generator planted no quarantine defects"
    quarantine = query(
        built_warehouse.duckdb_path,
        "select source, _file_name as file_name, _row_number as row_number, reason "
        "from raw.quarantine",
    )
    found = {(r.source, r.file_name, int(r.row_number)): r.reason for r in quarantine.itertuples()}
    for defect in planted:
        key = (defect["source"], defect["file_name"], int(defect["row_number"]))
        assert key in found, f"planted defect not quarantined: {defect}"
        assert found[key] == defect["expected_outcome"].split(":", 1)[1], defect
    # Nothing genuine was quarantined: the quarantine holds exactly the planted rows.
    assert len(quarantine) == len(planted)


def test_duplicates_are_removed_and_counted(built_warehouse):
    planted = Counter(
        d["source"] for d in _defects(built_warehouse) if d["expected_outcome"] == "deduplicated"
    )
    counted = dict(
        query(
            built_warehouse.duckdb_path,
            "select source_name, deduplicated_rows from marts.mart_data_reconciliation",
        ).values
    )
    for source, count in counted.items():
        assert count == planted.get(source, 0), source


def test_unknown_event_names_surface_as_unmapped(built_warehouse):
    planted = [d for d in _defects(built_warehouse) if d["expected_outcome"] == "unmapped"]
    unmapped = scalar(
        built_warehouse.duckdb_path, "select sum(events) from marts.mart_unmapped_events"
    )
    assert unmapped == len(planted)


def test_anonymous_history_is_stitched_to_the_customer(built_warehouse):
    with (built_warehouse.truth_dir / "customers.csv").open() as handle:
        owners = {
            anonymous_id: row["customer_id"]
            for row in csv.DictReader(handle)
            for anonymous_id in row["anonymous_ids"].split("|")
            if anonymous_id
        }
    events = query(
        built_warehouse.duckdb_path,
        "select anonymous_id, customer_key, identity_source from marts.fct_events "
        "where anonymous_id is not null",
    )
    known = events[events.anonymous_id.isin(owners)]
    assert len(known) > 0
    expected = known.anonymous_id.map(owners)
    assert (known.customer_key == expected).mean() == 1.0
    # Some of it was anonymous when it happened: stitching did real work.
    assert (known.identity_source == "device").sum() > 0


def test_sessions_respect_the_timeout(built_warehouse):
    # No two consecutive events of one device within a session are more than 30 minutes apart.
    worst_gap = scalar(
        built_warehouse.duckdb_path,
        """
        select max(gap_seconds) from (
            select date_diff(
                'second',
                lag(occurred_at) over (partition by session_key order by occurred_at),
                occurred_at
            ) as gap_seconds
            from marts.fct_events where session_key is not null
        )
        """,
    )
    assert worst_gap <= 30 * 60
    # And consecutive sessions of a device are more than 30 minutes apart.
    smallest_break = scalar(
        built_warehouse.duckdb_path,
        """
        select min(break_seconds) from (
            select date_diff(
                'second',
                lag(ended_at) over (partition by session_partition order by started_at),
                started_at
            ) as break_seconds
            from marts.fct_sessions
        )
        """,
    )
    assert smallest_break > 30 * 60


FINGERPRINTS = Path(__file__).with_name("fixture_marts.json")


def test_marts_hold_the_recorded_rows(built_warehouse):
    """Every mart of the fixture business, row for row, as recorded in fixture_marts.json: a
    refactoring that moves logic between models must leave the marts as they were. After an
    intended change (new data in the generator, a fixed definition) rewrite the file with
    JOURNEYMAP_UPDATE_SNAPSHOTS=1 and say why in the commit."""
    current = mart_fingerprints(built_warehouse.duckdb_path)
    if os.environ.get("JOURNEYMAP_UPDATE_SNAPSHOTS"):
        FINGERPRINTS.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n")
    recorded = json.loads(FINGERPRINTS.read_text())
    changed = {m: (recorded.get(m), f) for m, f in current.items() if recorded.get(m) != f}
    assert changed == {}
