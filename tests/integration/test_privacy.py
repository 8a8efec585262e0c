"""Personal data stops in staging: on the session fixture, every CRM customer id, email and
phone number, and the contact details planted in support texts, are found in raw and nowhere
past staging - no table, the page, data docs, dbt's artifacts and logs, the run's metadata."""

from __future__ import annotations

import duckdb
import pytest

from journeymap.pii_scan import files_under, scan_files, scan_tables
from journeymap.privacy import pseudonym_key
from tests.conftest import run_events
from tests.helpers.pseudonyms import pseudonym

pytestmark = pytest.mark.integration

PLANTED_CARD = r"4000(?: \d{4}){3}"


@pytest.fixture(scope="module")
def known_pii(built_warehouse) -> dict[str, set[str]]:
    """Clear PII the fixture holds: the CRM's ids, emails and phones, and planted card numbers."""
    with duckdb.connect(str(built_warehouse.duckdb_path), read_only=True) as con:
        contacts = con.execute(
            "select distinct trim(customer_id), lower(trim(email)), trim(phone) "
            "from raw.crm_contacts where customer_id is not null"
        ).fetchall()
        cards = con.execute(
            f"select distinct unnest(regexp_extract_all(body, '{PLANTED_CARD}')) "
            "from raw.support_messages"
        ).fetchall()
    return {
        "ids": {c[0] for c in contacts if c[0]},
        "emails": {c[1] for c in contacts if c[1]},
        "phones": {c[2] for c in contacts if c[2]},
        "cards": {c[0] for c in cards},
    }


def _all(known: dict[str, set[str]]) -> set[str]:
    return set().union(*known.values())


def test_planted_pii_is_in_raw(built_warehouse, known_pii):
    """The scan's positive control: the values it looks for are there to be found."""
    assert len(known_pii["ids"]) >= 1900 and len(known_pii["emails"]) >= 1900
    assert len(known_pii["cards"]) >= 10
    with duckdb.connect(str(built_warehouse.duckdb_path), read_only=True) as con:
        found = scan_tables(con, _all(known_pii), skip_schemas=(), only=("raw",))
        hits = {h.where: h.count for h in found}
    for column in ("raw.crm_contacts.email", "raw.crm_contacts.phone", "raw.orders.customer_id"):
        assert hits.get(column, 0) > 100, column
    # Customers typed their email, phone or card into support messages.
    assert hits["raw.support_messages.body"] >= 30


def test_no_clear_pii_in_any_table_past_staging(built_warehouse, known_pii):
    with duckdb.connect(str(built_warehouse.duckdb_path), read_only=True) as con:
        hits = scan_tables(con, _all(known_pii), skip_schemas=("raw",))
    # None past staging; staging itself holds clear PII only in the quarantine (raw records,
    # as they came).
    tables = {h.where.rsplit(".", 1)[0] for h in hits}
    assert tables <= {"staging.stg_loader__quarantine"}


def test_no_clear_pii_or_key_in_page_docs_logs_or_run_metadata(built_warehouse, known_pii):
    settings = built_warehouse.settings
    assert (settings.build_dir / "journey_map.html").exists()
    assert run_events(settings).stat().st_size > 10_000
    files = list(files_under(settings.build_dir, settings.dbt_target_dir))
    key = pseudonym_key().decode()
    assert scan_files(files, [*_all(known_pii), key]) == []
    # Positive control: the landing files hold them.
    assert scan_files(files_under(settings.landing_dir / "crm_contacts"), known_pii["emails"])


def test_identifiers_are_keyed_pseudonyms(built_warehouse):
    """Every customer of dim_customers is the HMAC of a CRM id under the run's key."""
    with duckdb.connect(str(built_warehouse.duckdb_path), read_only=True) as con:
        ids = con.execute("select distinct customer_id from raw.crm_contacts").fetchall()
        marts = {
            r[0]
            for r in con.execute(
                "select customer_id from marts.dim_customers where customer_id is not null"
            ).fetchall()
        }
    expected = {pseudonym(c) for (c,) in ids if c}
    assert marts and marts <= expected
    assert len(marts) >= 0.9 * len(expected)
