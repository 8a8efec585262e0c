"""What the generator needs to know about each source, derived from the raw contract.

Rows are plain tuples of strings in contract column order; the indexes below say where the key,
the event time and the closed-value columns sit, so defects can be planted generically.
"""

from __future__ import annotations

from dataclasses import dataclass

from journeymap.contract import SOURCES

SOURCE_NAMES: tuple[str, ...] = tuple(SOURCES)
WEB = SOURCE_NAMES.index("web_events")
APP = SOURCE_NAMES.index("app_events")
IDENTIFIES = SOURCE_NAMES.index("identifies")
EMAIL = SOURCE_NAMES.index("email_events")
CRM = SOURCE_NAMES.index("crm_contacts")
ORDERS = SOURCE_NAMES.index("orders")
SUBSCRIPTIONS = SOURCE_NAMES.index("subscriptions")
SUPPORT = SOURCE_NAMES.index("support_messages")
REVIEWS = SOURCE_NAMES.index("reviews")
SPEND = SOURCE_NAMES.index("marketing_spend")


@dataclass(frozen=True)
class SourceMeta:
    index: int
    name: str
    columns: tuple[str, ...]
    key_idx: tuple[int, ...]
    time_idx: int
    allowed_idx: tuple[int, ...]  # columns with a closed value set

    @property
    def width(self) -> int:
        return len(self.columns)

    def record_key(self, row: tuple[str, ...]) -> str:
        return "|".join(row[i] for i in self.key_idx)


# Optional contract columns the simulated systems do not write: event_order (the loader then
# orders ties by the file row, as for any export without one).
NOT_WRITTEN = ("event_order",)


def _meta(index: int, name: str) -> SourceMeta:
    src = SOURCES[name]
    written = tuple(c for c in src.columns if c.name not in NOT_WRITTEN)
    cols = tuple(c.name for c in written)
    return SourceMeta(
        index=index,
        name=name,
        columns=cols,
        key_idx=tuple(cols.index(k) for k in src.key),
        time_idx=cols.index(src.event_time),
        allowed_idx=tuple(i for i, c in enumerate(written) if c.allowed),
    )


META: tuple[SourceMeta, ...] = tuple(_meta(i, n) for i, n in enumerate(SOURCE_NAMES))


def csv_field(value: str) -> str:
    """Quote a field the way csv.writer would (rows are joined by hand: it is 5x faster)."""
    if '"' in value or "," in value or "\n" in value or "\r" in value:
        return '"' + value.replace('"', '""') + '"'
    return value
