"""What a text model reads: the customer's words, without transcript markup.

Call transcripts and chat exports often start with a bracketed tag and a speaker label
(``[call transcript] Customer: ...``); they say nothing about the customer and would become
a "theme" of their own, so they are cut. Whitespace runs become one space.
"""

from __future__ import annotations

import hashlib
import re

_MARKUP = re.compile(
    r"^\s*(?:\[[^\]]{1,40}\]\s*)?(?:(?:customer|client|user|caller)\s*:\s*)?", re.I
)
_SPACES = re.compile(r"\s+")


def prepare_text(text: str | None) -> str:
    if not text:
        return ""
    return _SPACES.sub(" ", _MARKUP.sub("", str(text))).strip()


def text_hash(text: str) -> str:
    """sha256 of a prepared text (what caches and incremental runs key on)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
