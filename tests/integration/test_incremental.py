"""Incremental runs equal a full refresh; re-loading or re-building changes nothing."""

from __future__ import annotations

import csv
import shutil
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest

from journeymap.generator import generate
from journeymap.load import load_landing
from journeymap.settings import Settings
from journeymap.transform import DbtError, build, run_dbt
from journeymap.warehouse import DuckDBWarehouse
from tests.conftest import copy_workspace
from tests.helpers.pseudonyms import clear_identifiers
from tests.integration.marts import assert_same_marts, mart_snapshot, query, scalar

pytestmark = pytest.mark.integration


def _load(settings: Settings) -> int:
    with DuckDBWarehouse(settings.duckdb_path) as warehouse:
        return load_landing(warehouse, settings.landing_dir).rows_loaded


def _hold_back(
    landing: Path, parked: Path, day: str, sources: tuple[str, ...] | None = None
) -> int:
    """Move one day's landing files aside (as if they had not arrived yet)."""
    moved = 0
    for path in sorted(landing.glob(f"*/*_{day}.csv")):
        if sources and path.parent.name not in sources:
            continue
        target = parked / path.parent.name / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(path, target)
        moved += 1
    return moved


def _release(parked: Path, landing: Path) -> None:
    for path in sorted(parked.glob("*/*.csv")):
        shutil.move(path, landing / path.parent.name / path.name)


def test_reloading_and_rebuilding_change_no_mart(built_warehouse, tmp_path):
    settings = copy_workspace(built_warehouse.settings, tmp_path / "copy")
    before = mart_snapshot(settings.duckdb_path)
    ledger_before = scalar(settings.duckdb_path, "select count(*) from raw.load_ledger")

    assert _load(settings) == 0
    assert scalar(settings.duckdb_path, "select count(*) from raw.load_ledger") == ledger_before
    build(settings)

    assert_same_marts(before, mart_snapshot(settings.duckdb_path))


def test_redelivered_file_is_counted_as_duplicate_and_changes_nothing_else(
    built_warehouse, tmp_path
):
    settings = copy_workspace(built_warehouse.settings, tmp_path / "copy")
    before = mart_snapshot(settings.duckdb_path)
    original = sorted((settings.landing_dir / "orders").glob("*.csv"))[-1]
    resent = original.with_name("resent_" + original.name)
    shutil.copyfile(original, resent)
    rows_in_file = scalar(
        settings.duckdb_path,
        f"select rows_in_file from raw.load_ledger where file_name = '{original.name}'",
    )

    assert _load(settings) == 0
    build(settings)

    after = mart_snapshot(settings.duckdb_path)
    reconciliation = after.pop("mart_data_reconciliation").set_index("source_name")
    expected = before.pop("mart_data_reconciliation").set_index("source_name")
    assert_same_marts(before, after)
    orders, orders_before = reconciliation.loc["orders"], expected.loc["orders"]
    assert rows_in_file > 0
    assert orders.duplicate_file_rows == rows_in_file
    assert orders.landed_rows == orders_before.landed_rows + rows_in_file
    assert orders.deduplicated_rows == orders_before.deduplicated_rows + rows_in_file
    assert orders.files == orders_before.files + 1
    assert reconciliation.is_reconciled.all()


def test_incremental_day_and_late_events_equal_full_refresh(tmp_path):
    settings = Settings.for_workspace(tmp_path / "incremental")
    generate(settings.data_dir, customers=300, days=21, seed=11)
    parked = tmp_path / "parked"
    # The last day arrives tomorrow; day 3's web events arrive late, after history was built.
    assert _hold_back(settings.landing_dir, parked, "2026-10-31") > 0
    assert _hold_back(settings.landing_dir, parked, "2026-10-13", sources=("web_events",)) == 1

    _load(settings)
    build(settings)
    events_before = scalar(settings.duckdb_path, "select count(*) from marts.fct_events")

    _release(parked, settings.landing_dir)
    assert _load(settings) > 0
    build(settings)
    incremental = mart_snapshot(settings.duckdb_path)
    assert len(incremental["fct_events"]) > events_before

    full = copy_workspace(settings, tmp_path / "full")
    build(full, full_refresh=True)
    assert_same_marts(incremental, mart_snapshot(full.duckdb_path))


def _restitch_and_convert_late(settings: Settings) -> dict[str, str]:
    """Land three late records that change history rather than add to it: an identify that
    claims a device for another customer before its owner's first login (the device's
    anonymous events move), a CRM update that gives a customer's email to someone else (the
    email events move; the old holder keeps their other events, none of them reprocessed),
    an order placed five minutes after an unconverted session ended (the session converts
    after the fact), and a late page view that bridges two web sessions of a device (the
    later session merges into the earlier one and its key disappears)."""
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as connection:
        email_holder, email = connection.execute(
            """
            select events.customer_key, max(dim_customers.email)
            from marts.fct_events as events
            inner join marts.dim_customers on dim_customers.customer_key = events.customer_key
            group by events.customer_key
            having count(*) filter (where events.identity_source = 'email') > 0
                and count(*) filter (where events.identity_source <> 'email') > 0
                -- no event carries both the customer id and the email: nothing the holder
                -- keeps is reprocessed, only the lost events tell that they changed
                and count(*) filter (
                    where events.source = 'email_events' and events.identity_source = 'direct'
                ) = 0
            order by events.customer_key
            limit 1
            """
        ).fetchone()
        device, owner, first_seen, thief = connection.execute(
            """
            select devices.identifier, devices.customer_id, devices.identified_at,
                (select min(customer_id) from intermediate.int_identity_map
                 where identifier_type = 'anonymous_id'
                     and customer_id not in (devices.customer_id, $holder))
            from intermediate.int_identity_map as devices
            inner join marts.dim_customers on dim_customers.customer_key = devices.customer_id
            where devices.identifier_type = 'anonymous_id' and dim_customers.orders > 0
                and devices.customer_id <> $holder
            order by devices.identifier
            limit 1
            """,
            {"holder": email_holder},
        ).fetchone()
        taker_contact = connection.execute(
            """
            select customer_id, phone, created_at, lifecycle_stage, plan, region,
                has_email_consent, has_sms_consent, updated_at
            from staging.stg_crm__contacts
            where customer_id not in (?, ?, ?)
            order by updated_at desc, customer_id
            limit 1
            """,
            [email_holder, owner, thief],
        ).fetchone()
        session, buyer, ended_at = connection.execute(
            """
            select session_key, customer_key, ended_at
            from marts.fct_sessions
            where not converted and customer_key not like 'anon:%' and customer_key <> ?
            order by session_key
            limit 1
            """,
            [email_holder],
        ).fetchone()
        device_of_merge, merged_session, bridge_at = connection.execute(
            """
            select session_partition, session_key,
                previous_ended_at + (started_at - previous_ended_at) / 2
            from (
                select *, lag(ended_at) over (
                    partition by session_partition order by started_at
                ) as previous_ended_at
                from marts.fct_sessions
                where channel = 'web' and session_partition not like 'user:%'
            ) as sessions
            where started_at - previous_ended_at < interval 59 minute
                and customer_key not in (?, ?, ?)
            order by session_key
            limit 1
            """,
            [email_holder, owner, thief],
        ).fetchone()
        clear = clear_identifiers(connection)  # landing files hold clear ids, marts pseudonyms
    (settings.landing_dir / "web_events" / "web_events_late.csv").write_text(
        "event_id,anonymous_id,user_id,event_type,event_name,occurred_at,page_url,referrer,"
        "utm_source,utm_medium,utm_campaign,device_type,properties\n"
        f"evt_late_bridge,{device_of_merge},,page,Home Page Viewed,"
        f"{bridge_at:%Y-%m-%dT%H:%M:%SZ},https://shop.example.com/,,,,,desktop,{{}}\n"
    )
    claimed_at = (first_seen - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    ordered_at = (ended_at + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    (settings.landing_dir / "identifies" / "identifies_late.csv").write_text(
        "identify_id,anonymous_id,user_id,occurred_at\n"
        f"idf_late_claim,{device},{clear[thief]},{claimed_at}\n"
    )
    taker, phone, created_at, stage, plan, region, consent_email, consent_sms, updated_at = (
        taker_contact
    )
    moved_at = (updated_at + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    (settings.landing_dir / "crm_contacts" / "crm_contacts_late.csv").write_text(
        "customer_id,email,phone,created_at,lifecycle_stage,plan,region,consent_email,"
        "consent_sms,updated_at\n"
        f"{clear[taker]},{clear[email]},{clear[phone] if phone else ''},"
        f"{created_at:%Y-%m-%dT%H:%M:%SZ},{stage},{plan or ''},"
        f"{region},{str(consent_email).lower()},{str(consent_sms).lower()},{moved_at}\n"
    )
    (settings.landing_dir / "orders" / "orders_late.csv").write_text(
        "order_id,customer_id,occurred_at,status,amount,currency\n"
        f"O-late-order,{clear[buyer]},{ordered_at},completed,42.00,USD\n"
    )
    return {
        "owner": owner,
        "thief": thief,
        "email_holder": email_holder,
        "session": session,
        "merged_session": merged_session,
    }


def test_restitched_identities_late_order_and_bridging_event_equal_full_refresh(
    built_warehouse, tmp_path
):
    settings = copy_workspace(built_warehouse.settings, tmp_path / "copy")
    before = mart_snapshot(settings.duckdb_path)
    planted = _restitch_and_convert_late(settings)

    assert _load(settings) == 4
    build(settings)
    incremental = mart_snapshot(settings.duckdb_path)

    # The planted changes happened: the device's and the email's holders lost events but not
    # all of them, the thief gained a device, the session converted.
    customers_before = before["dim_customers"].set_index("customer_key")
    customers_after = incremental["dim_customers"].set_index("customer_key")
    for holder in (planted["owner"], planted["email_holder"]):
        assert 0 < customers_after.loc[holder, "events"] < customers_before.loc[holder, "events"]
    assert customers_after.loc[planted["thief"], "devices"] == (
        customers_before.loc[planted["thief"], "devices"] + 1
    )
    sessions = incremental["fct_sessions"].set_index("session_key")
    assert sessions.loc[planted["session"], "converted"]
    assert planted["merged_session"] in set(before["fct_sessions"].session_key)
    assert planted["merged_session"] not in sessions.index
    assert planted["merged_session"] not in set(incremental["fct_journey_paths"].path_owner_key)

    full = copy_workspace(settings, tmp_path / "full")
    build(full, full_refresh=True)
    assert_same_marts(incremental, mart_snapshot(full.duckdb_path))


def _resend(settings: Settings, source: str, key: str, changes: dict[str, str]) -> dict:
    """Land a later file re-sending one already-staged event of `source` with `changes`;
    return the raw row it re-sends."""
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as connection:
        relation = f"raw.{source}"
        columns = [  # the landing file's columns: the loader's own start with _
            name
            for (name,) in connection.execute(
                "select column_name from information_schema.columns "
                "where table_schema = 'raw' and table_name = ? order by ordinal_position",
                [source],
            ).fetchall()
            if not name.startswith("_")
        ]
        row = connection.execute(
            f"select {', '.join(columns)} from {relation} "
            f"where {key} in (select {key} from {relation} group by {key} having count(*) = 1) "
            f"order by {key} limit 1"
        ).fetchone()
    original = dict(zip(columns, row, strict=True))
    resent = {**original, **changes}
    values = [
        value.strftime("%Y-%m-%dT%H:%M:%SZ") if hasattr(value, "strftime") else value
        for value in resent.values()
    ]
    with (settings.landing_dir / source / f"{source}_resent.csv").open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(columns)
        writer.writerow(["" if value is None else value for value in values])
    return original


def _deduplicated_rows(settings: Settings) -> dict[str, int]:
    return dict(
        query(
            settings.duckdb_path,
            "select source_name, deduplicated_rows from marts.mart_data_reconciliation",
        ).values
    )


def test_resent_events_replace_their_earlier_version(built_warehouse, tmp_path):
    """The big streams are staged incrementally (web, app and email events): an event re-sent
    in a later load replaces the staged version, is counted as deduplicated, and leaves the
    same warehouse as a full refresh."""
    settings = copy_workspace(built_warehouse.settings, tmp_path / "copy")
    staged = {
        table: scalar(settings.duckdb_path, f"select count(*) from staging.{table}")
        for table in ("stg_tracking__web_events", "stg_esp__email_events")
    }
    deduplicated = _deduplicated_rows(settings)
    web = _resend(
        settings, "web_events", "event_id", {"page_url": "https://shop.example.com/resent"}
    )
    email = _resend(settings, "email_events", "email_event_id", {"campaign_id": "resent"})

    assert _load(settings) == 2
    build(settings)

    for table, count in staged.items():
        assert scalar(settings.duckdb_path, f"select count(*) from staging.{table}") == count
    assert (
        scalar(
            settings.duckdb_path,
            "select page_url from staging.stg_tracking__web_events "
            f"where event_id = '{web['event_id']}'",
        )
        == "https://shop.example.com/resent"
    )
    assert (
        scalar(
            settings.duckdb_path,
            "select campaign_id from staging.stg_esp__email_events "
            f"where email_event_id = '{email['email_event_id']}'",
        )
        == "resent"
    )
    after = _deduplicated_rows(settings)
    assert after["web_events"] == deduplicated["web_events"] + 1
    assert after["email_events"] == deduplicated["email_events"] + 1

    incremental = mart_snapshot(settings.duckdb_path)
    full = copy_workspace(settings, tmp_path / "full")
    build(full, full_refresh=True)
    assert_same_marts(incremental, mart_snapshot(full.duckdb_path))
    for table in staged:
        assert query(settings.duckdb_path, f"select * from staging.{table} order by all").equals(
            query(full.duckdb_path, f"select * from staging.{table} order by all")
        ), table


# The incremental table behind marts.fct_events, where its keys are tested.
EVENTS = "intermediate.int_events_sessionized"


def _unique_event_key_test(settings: Settings, *scope: str) -> None:
    run_dbt(
        settings, "test", "--select", "unique_int_events_sessionized_event_key", *scope, quiet=True
    )


def test_changed_scope_tests_the_rows_the_latest_run_wrote(tmp_path):
    """var test_scope: 'changed' (daily runs) tests only what the latest incremental run wrote:
    a duplicate key among those rows fails the test, one among older rows is left to the
    full suite ('all', the default), which finds it."""
    settings = Settings.for_workspace(tmp_path / "scoped")
    generate(settings.data_dir, customers=120, days=14, seed=5)
    parked = tmp_path / "parked"
    assert _hold_back(settings.landing_dir, parked, "2026-10-31") > 0
    _load(settings)
    build(settings)
    _release(parked, settings.landing_dir)
    assert _load(settings) > 0
    changed = ("--vars", "{test_scope: changed}")
    run_dbt(settings, "build", *changed, quiet=True)

    latest, older = (
        scalar(settings.duckdb_path, f"select count(*) from {EVENTS} where {where}")
        for where in (
            f"processed_at = (select max(processed_at) from {EVENTS})",
            f"processed_at < (select max(processed_at) from {EVENTS})",
        )
    )
    assert 0 < latest < older  # the day's run wrote a small part of the table

    def duplicate_one(where: str) -> None:
        with duckdb.connect(str(settings.duckdb_path)) as connection:
            connection.execute(
                f"insert into {EVENTS} select * from {EVENTS} where {where} "
                "order by event_key limit 1"
            )

    duplicate_one(f"processed_at < (select max(processed_at) from {EVENTS})")
    _unique_event_key_test(settings, *changed)
    with pytest.raises(DbtError):
        _unique_event_key_test(settings)

    duplicate_one(f"processed_at = (select max(processed_at) from {EVENTS})")
    with pytest.raises(DbtError):
        _unique_event_key_test(settings, *changed)

    with pytest.raises(DbtError):
        _unique_event_key_test(settings, "--vars", "{test_scope: some}")
