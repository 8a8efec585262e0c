"""Tests meet pseudonyms: marts hold keyed pseudonyms of customer ids, emails and phones,
while ground truth and landing files hold clear values."""

from __future__ import annotations

import duckdb

from journeymap.privacy import normalize_email, pseudonym_key, pseudonymize


def pseudonym(value: str) -> str:
    """The pseudonym staging gives a clear identifier under the tests' key."""
    return pseudonymize(value, pseudonym_key()) or ""


def clear_identifiers(connection: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """pseudonym -> clear value of every customer id, email and phone in raw CRM (for tests
    that land new rows about people they found in the marts)."""
    rows = connection.execute(
        "select distinct trim(customer_id), email, nullif(trim(phone), '') from raw.crm_contacts"
    ).fetchall()
    clear: dict[str, str] = {}
    for customer_id, email, phone in rows:
        for value in (customer_id, normalize_email(email), phone):
            if value:
                clear[pseudonym(value)] = value
    return clear
