"""The two privacy functions staging calls, as one self-contained module (standard library only).

Its whole source is also the body of the Snowflake Python UDFs ``journeymap_pseudonym`` and
``journeymap_mask`` (journeymap.privacy.snowflake_udf_statements), so DuckDB (through the dbt
plugin) and Snowflake run the same code. Keep it free of imports outside the standard library.
See journeymap.privacy for the rules (what is masked, how pseudonyms are keyed).
"""

import hashlib
import hmac
import re

PSEUDONYM_HEX_CHARS = 32

EMAIL_MASK, CARD_MASK, PHONE_MASK = "[email]", "[card]", "[phone]"

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


def pseudonymize(value, key):
    """The keyed pseudonym of one identifier: HMAC-SHA256 with ``key`` (bytes), hex, cut to
    128 bits; None stays None."""
    if value is None:
        return None
    digest = hmac.new(key, value.encode(), hashlib.sha256).hexdigest()
    return digest[:PSEUDONYM_HEX_CHARS]
