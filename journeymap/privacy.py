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
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from collections.abc import Callable, Iterable
from functools import lru_cache
from pathlib import Path

EMAIL_MASK, CARD_MASK, PHONE_MASK = "[email]", "[card]", "[phone]"

# The schemas that hold clear personal data; BI roles get no grant on them (README).
PRIVATE_SCHEMAS: tuple[str, ...] = ("raw", "staging")

_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
# 13-19 digits, single spaces or dashes allowed between them.
_CARD = re.compile(r"(?<![\w+\-])\d(?:[ \-]?\d){12,18}(?!\w)")
# An optional +country code, then digit groups joined by one separator each; the digit count is
# checked in code (7-15), so dates ("2026-10-31") and amounts ("49.00") are not phones.
_PHONE = re.compile(
    r"(?<![\w+\-])(?:\+\d{1,3}[ .\-]?)?(?:\(\d{1,5}\)[ .\-]?)?\d+(?:[ .\-]\d+)*(?!\w)"
)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}|\d{1,2}[./]\d{1,2}[./]\d{2,4}")


def luhn_valid(digits: str) -> bool:
    """The Luhn checksum of a string of digits (True for every valid payment card number)."""
    total = 0
    for i, char in enumerate(reversed(digits)):
        value = int(char)
        if i % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


def _card(match: re.Match[str]) -> str:
    return CARD_MASK if luhn_valid(_digits(match.group())) else match.group()


def _phone(match: re.Match[str]) -> str:
    found = match.group()
    n = len(_digits(found))
    if n < 7 or n > 15 or _DATE.fullmatch(found):
        return found
    return PHONE_MASK


def mask_text(text: str | None) -> str | None:
    """``text`` with emails, card-like numbers and phone numbers replaced by placeholders."""
    if not text:
        return text
    text = _EMAIL.sub(EMAIL_MASK, text)
    text = _CARD.sub(_card, text)
    return _PHONE.sub(_phone, text)


def mask_texts(texts: Iterable[str | None]) -> list[str | None]:
    return [mask_text(text) for text in texts]


# --- pseudonyms ---------------------------------------------------------------------------------
# Identifiers (customer ids, emails, phone numbers) are replaced in staging by a keyed hash:
# HMAC-SHA256 with a secret key from the environment, hex, cut to 128 bits. Without the key
# nobody can recompute a pseudonym from a guessed email (a plain hash can be reversed by hashing
# every address of a mailing list); with it, `journeymap forget` finds the person's rows.

KEY_ENV = "JOURNEYMAP_PSEUDONYM_KEY"
MIN_KEY_CHARS = 16
PSEUDONYM_HEX_CHARS = 32


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


def pseudonymize(value: str | None, key: bytes) -> str | None:
    """The keyed pseudonym of one identifier (None stays None)."""
    if value is None:
        return None
    digest = hmac.new(key, value.encode(), hashlib.sha256).hexdigest()
    return digest[:PSEUDONYM_HEX_CHARS]


@lru_cache(maxsize=1_000_000)
def _cached_pseudonym(value: str, key: bytes) -> str | None:
    return pseudonymize(value, key)


def _pseudonym_from_env(value: str) -> str | None:
    return _cached_pseudonym(value, pseudonym_key())


def register_privacy_functions(connection) -> None:
    """Add ``journeymap_pseudonym(text)`` and ``journeymap_mask(text)`` to a DuckDB connection
    (the dbt plugin does it for dbt; the loader for tombstones). The key is read from the
    environment when a value is hashed, so it never appears in SQL."""
    registered = {
        name
        for (name,) in connection.execute(
            "select function_name from duckdb_functions() where function_name like 'journeymap_%'"
        ).fetchall()
    }
    functions = (("journeymap_pseudonym", _pseudonym_from_env), ("journeymap_mask", mask_text))
    for name, function in functions:
        if name not in registered:
            connection.create_function(name, function, ["VARCHAR"], "VARCHAR", side_effects=False)


def key_fingerprint(key: bytes) -> str:
    """Which key built a warehouse, without revealing it (the pseudonym of a fixed string)."""
    return pseudonymize("journeymap key fingerprint", key) or ""


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
