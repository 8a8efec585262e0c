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

Order, in that sequence: emails first (their digits would otherwise look like phones), then
cards (a card number would otherwise look like a long phone number), then phones. Masking is
idempotent: a masked text masks to itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

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


def mask_texts(texts: Iterable[str | None]) -> list[str | None]:
    return [mask_text(text) for text in texts]
