"""Masking personal data in free text, before it is shown or leaves the machine.

``mask_text`` is the one place journeymap hides personal data in what customers write: the
LLM backend masks every text before it is sent, and the friction themes mask the example
quotes they publish. It replaces

* **email addresses** (``name@domain.tld``, also with ``+tags`` and sub-domains) with
  ``[email]``;
* **card-like numbers**: 13-19 digits, optionally grouped by spaces or dashes, that pass the
  Luhn checksum (the test every payment card number passes), with ``[card]``;
* **phone numbers**: an optional ``+`` and country code, then 7-15 digits grouped by spaces,
  dots, dashes or brackets (``+1 555 010 2030``, ``(555) 010-2030``, ``07700 900123``), with
  ``[phone]``. Runs of fewer than 7 digits (amounts, years, counts) and dates stay. A long
  number that is not a card (an order number of 7-15 digits) is masked as a phone: masking
  errs on the side of hiding. Digits glued to letters (``O-3f9a12345678``) are ids, not phones.

Pseudonyms (below) are the other half: identifiers are replaced by a keyed hash in staging, so
every layer after it only ever sees pseudonyms.

Order, in that sequence: emails first (their digits would otherwise look like phones), then
cards (a card number would otherwise look like a long phone number), then phones. Masking is
idempotent: a masked text masks to itself.

The two functions live in journeymap.privacy_functions (standard library only), whose source
is also the body of the Snowflake UDFs; this module adds the key, the SQL registration and the
checks around them.
"""

from __future__ import annotations

import inspect
import os
import secrets
from collections.abc import Callable, Iterable
from functools import lru_cache
from pathlib import Path

from journeymap import privacy_functions
from journeymap.privacy_functions import (
    CARD_MASK,
    EMAIL_MASK,
    PHONE_MASK,
    PSEUDONYM_HEX_CHARS,
    luhn_valid,
    mask_text,
    pseudonymize,
)

__all__ = [
    "CARD_MASK",
    "EMAIL_MASK",
    "PHONE_MASK",
    "PSEUDONYM_HEX_CHARS",
    "luhn_valid",
    "mask_text",
    "pseudonymize",
]

# The schemas that hold clear personal data; BI roles get no grant on them (README).
PRIVATE_SCHEMAS: tuple[str, ...] = ("raw", "staging")


def mask_texts(texts: Iterable[str | None]) -> list[str | None]:
    return [mask_text(text) for text in texts]


# --- pseudonyms ---------------------------------------------------------------------------------
# Identifiers (customer ids, emails, phone numbers) are replaced in staging by a keyed hash:
# HMAC-SHA256 with a secret key from the environment, hex, cut to 128 bits. Without the key
# nobody can recompute a pseudonym from a guessed email (a plain hash can be reversed by hashing
# every address of a mailing list); with it, `journeymap forget` finds the person's rows.

KEY_ENV = "JOURNEYMAP_PSEUDONYM_KEY"
MIN_KEY_CHARS = 16


class MissingPseudonymKeyError(RuntimeError):
    """The pseudonymization key is not configured (or too short)."""


def pseudonym_key(env: dict[str, str] | None = None) -> bytes:
    """The HMAC key from $JOURNEYMAP_PSEUDONYM_KEY; a clear error when it is missing."""
    value = (os.environ if env is None else env).get(KEY_ENV, "")
    if len(value) < MIN_KEY_CHARS:
        problem = "is not set" if not value else f"is shorter than {MIN_KEY_CHARS} characters"
        raise MissingPseudonymKeyError(
            f"{KEY_ENV} {problem}: journeymap replaces customer ids, emails and phone numbers "
            "with a keyed hash (HMAC-SHA256) and needs a secret key, the same for every run, e.g. "
            f"export {KEY_ENV}=$(python -c 'import secrets; print(secrets.token_hex(32))') "
            "(keep it in your secret store; `journeymap demo` makes one for the demo)"
        )
    return value.encode()


@lru_cache(maxsize=1_000_000)
def _cached_pseudonym(value: str, key: bytes) -> str | None:
    return pseudonymize(value, key)


def _pseudonym_from_env(value: str) -> str | None:
    return _cached_pseudonym(value, pseudonym_key())


# The SQL functions staging calls (macros/privacy.sql), by name: (handler on DuckDB, name of
# the handler in journeymap.privacy_functions's source, the body of the Snowflake UDFs).
PSEUDONYM_FUNCTION, MASK_FUNCTION = "journeymap_pseudonym", "journeymap_mask"
SQL_FUNCTIONS = (PSEUDONYM_FUNCTION, MASK_FUNCTION)


def register_privacy_functions(connection) -> None:
    """Add ``journeymap_pseudonym(text)`` and ``journeymap_mask(text)`` to a DuckDB connection
    (the dbt plugin does it for dbt; journeymap.warehouse.configure_session for journeymap's
    own sessions, e.g. the loader's tombstone check). The key is read from the
    environment when a value is hashed, so it never appears in SQL."""
    registered = {
        name
        for (name,) in connection.execute(
            "select function_name from duckdb_functions() where function_name like 'journeymap_%'"
        ).fetchall()
    }
    functions = ((PSEUDONYM_FUNCTION, _pseudonym_from_env), (MASK_FUNCTION, mask_text))
    for name, function in functions:
        if name not in registered:
            connection.create_function(name, function, ["VARCHAR"], "VARCHAR", side_effects=False)


def snowflake_udf_statements(key: bytes) -> list[str]:
    """``create or replace secure function`` statements of the two functions as Snowflake
    Python UDFs whose body is journeymap.privacy_functions's source (the code DuckDB runs).

    The pseudonym's key is a constant of its body: a secure function shows its body only to
    its owner (the transformer role, which reads raw anyway), and the statement is sent by
    journeymap's Python side (journeymap.transform.prepare_warehouse), never through dbt, so
    the key is in no compiled SQL, dbt artifact or log."""
    source = inspect.getsource(privacy_functions)
    if "$$" in source:
        raise ValueError("journeymap.privacy_functions must not contain $$ (the body's quote)")
    pseudonym_handler = (
        f"\n\ndef {PSEUDONYM_FUNCTION}(value):\n"
        f"    return pseudonymize(value, bytes.fromhex({key.hex()!r}))\n"
    )
    # function -> (its handler in the body, what the body adds to the module's source)
    functions = {
        PSEUDONYM_FUNCTION: (PSEUDONYM_FUNCTION, pseudonym_handler),
        MASK_FUNCTION: ("mask_text", ""),
    }
    return [
        f"create or replace secure function {name}(value varchar) returns varchar "
        f"language python runtime_version = '3.11' handler = '{handler}' "
        f"as $$\n{source}{extra}$$"
        for name, (handler, extra) in functions.items()
    ]


def key_fingerprint(key: bytes) -> str:
    """Which key built a warehouse, without revealing it (the pseudonym of a fixed string)."""
    return pseudonymize("journeymap key fingerprint", key) or ""


class PseudonymKeyChangedError(RuntimeError):
    """The key differs from the one that built the warehouse's pseudonyms."""


# Which key the warehouse's pseudonyms were made with: its fingerprint, recorded by the first
# build (raw, next to the erasure tombstones, which are pseudonyms under that key too).
KEY_TABLE = "pseudonym_key"


def check_pseudonym_key(warehouse, key: bytes, schema: str = "raw") -> None:
    """Record the key's fingerprint on a warehouse's first build; on later builds stop with a
    clear error when the key changed, so old and new pseudonyms never mix (incremental
    tables, ML tables and the erasure tombstones hold pseudonyms of the old key)."""
    warehouse.ensure_tables(
        schema, {KEY_TABLE: {"fingerprint": "varchar", "recorded_at": "timestamp"}}
    )
    table = warehouse.relation(schema, KEY_TABLE)
    recorded = set(warehouse.query_df(f"select fingerprint from {table}").iloc[:, 0])
    fingerprint = key_fingerprint(key)
    if not recorded:
        warehouse.execute(
            f"insert into {table} (fingerprint, recorded_at) values (?, current_timestamp)",
            [fingerprint],
        )
    elif recorded != {fingerprint}:
        raise PseudonymKeyChangedError(
            f"{KEY_ENV} is not the key this warehouse was built with (its fingerprint "
            f"{fingerprint[:12]} differs from the recorded {sorted(recorded)[0][:12]} in "
            f"{schema}.{KEY_TABLE}): the pseudonyms would mix. Set the original key again; to "
            "change keys, build a new warehouse from the landing files (README, 'Privacy and "
            "data protection': rotating the key)"
        )


def normalize_email(email: str | None) -> str | None:
    """The one email rule of macros/cleaning.sql (trimmed, lower case, blank as None), for
    Python callers that must find the pseudonym staging gives an address."""
    if email is None:
        return None
    return email.strip().lower() or None


def ensure_demo_key(key_file: Path, say: Callable[[str], None]) -> None:
    """For the demo only: use $JOURNEYMAP_PSEUDONYM_KEY if set, else a random key kept in
    ``key_file`` (made once, readable by its owner only) so re-runs give the same pseudonyms."""
    if os.environ.get(KEY_ENV):
        return
    if not key_file.exists():
        key_file.parent.mkdir(parents=True, exist_ok=True)
        key_file.touch(mode=0o600)
        key_file.write_text(secrets.token_hex(32))
        say(f"demo: generated a pseudonymization key in {key_file} ({KEY_ENV} was not set)")
    else:
        say(f"demo: pseudonymization key from {key_file} ({KEY_ENV} is not set)")
    os.environ[KEY_ENV] = key_file.read_text().strip()
