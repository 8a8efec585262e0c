"""Small formatting and escaping helpers shared by the page's renderers."""

from __future__ import annotations

import html
from typing import Any


def esc(value: Any) -> str:
    """Escape any value for HTML text or a double-quoted attribute (also inside inline SVG)."""
    return html.escape("" if value is None else str(value), quote=True)


def count(value: float | int | None) -> str:
    """1234 -> '1,234'; missing -> 'n/a'."""
    if value is None:
        return "n/a"
    return f"{round(value):,}"


def pct(value: float | None, digits: int = 0) -> str:
    """0.4812 -> '48%'; missing -> 'n/a'."""
    if value is None:
        return "n/a"
    return f"{value * 100:.{digits}f}%"


def points(value: float | None) -> str:
    """A difference of two shares in percentage points: 0.316 -> '32 points'."""
    if value is None:
        return "n/a"
    return f"{abs(value) * 100:.0f} points"


def duration(hours: float | None) -> str:
    """Median time in words: 0.25 -> '15 min', 5.2 -> '5.2 hours', 52 -> '2.2 days'."""
    if hours is None:
        return "n/a"
    if hours < 1:
        return f"{max(hours * 60, 1):.0f} min"
    if hours < 48:
        return f"{hours:.1f} hours" if hours < 10 else f"{hours:.0f} hours"
    return f"{hours / 24:.1f} days"


def event_label(name: str | None) -> str:
    """Canonical event name for people: 'checkout_started' -> 'checkout started'."""
    return "" if name is None else str(name).replace("_", " ")


def plural(n: float | int | None, word: str, many: str | None = None) -> str:
    """'1 customer', '2 customers'."""
    value = 0 if n is None else round(n)
    return f"{value:,} {word if value == 1 else (many or word + 's')}"
