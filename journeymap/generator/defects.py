"""Planted defects: corrupted extra copies of genuine rows, each with a known expected outcome.

The genuine row is always written too, so the clean data stays complete and the warehouse's
reconciliation (raw = staged + deduplicated + quarantined) can be checked against defects.csv.
"""

from __future__ import annotations

from collections.abc import Callable

from journeymap.generator.clock import DAY, Clock
from journeymap.generator.params import UNKNOWN_EVENTS
from journeymap.generator.rng import Draw, Weighted, pick
from journeymap.generator.schema import APP, CRM, META, WEB, SourceMeta

EXPECTED_OUTCOME = {
    "missing_required": "quarantine:missing_required",
    "unparseable_timestamp": "quarantine:unparseable_timestamp",
    "future_timestamp": "quarantine:future_timestamp",
    "invalid_value": "quarantine:invalid_value",
    "duplicate": "deduplicated",
    "unknown_event": "unmapped",
}
DEFECT_TYPES = tuple(EXPECTED_OUTCOME)
_WEIGHTS = {
    "missing_required": 0.20,
    "unparseable_timestamp": 0.15,
    "future_timestamp": 0.15,
    "invalid_value": 0.15,
    "duplicate": 0.25,
    "unknown_event": 0.10,
}
BAD_TIMESTAMPS = ("2026-13-45 25:61", "not a date", "31/02/2026 99:00", "yesterday 5pm")
# A value outside the allowed set, per closed-value column name.
BAD_VALUES = {
    "event_type": ("pageview", "hard_bounce", "spam_report"),
    "device_type": ("smart_tv", "watch"),
    "lifecycle_stage": ("mql", "prospect"),
    "status": ("pending_review", "on_hold"),
    "channel": ("fax", "carrier_pigeon"),
    "author_type": ("bot",),
    "review_type": ("survey",),
}


def _choices(meta: SourceMeta) -> Weighted[str]:
    kinds = ["missing_required", "unparseable_timestamp", "future_timestamp", "duplicate"]
    if meta.allowed_idx:
        kinds.append("invalid_value")
    if meta.index in (WEB, APP):
        kinds.append("unknown_event")
    return Weighted({k: _WEIGHTS[k] for k in kinds})


DEFECT_CHOICE: tuple[Weighted[str], ...] = tuple(_choices(m) for m in META)


def corrupt(
    src: int,
    kind: str,
    row: tuple[str, ...],
    ts: int,
    r: Draw,
    fresh_id: Callable[[int], str],
    clock: Clock,
) -> tuple[int, tuple[str, ...]]:
    """The defect row of ``kind`` for a genuine row, and the time that routes it to a file."""
    meta = META[src]
    if kind == "duplicate":
        # A third arrive again with the next day's load (unless that day is out of the window).
        next_day = clock.day_index(ts) + 1 < clock.days and r() < 1 / 3
        return (ts + DAY if next_day else ts), row
    out = list(row)
    _freshen_key(meta, out, ts, fresh_id, clock)
    if kind == "missing_required":
        out[meta.key_idx[0]] = ""
    elif kind == "unparseable_timestamp":
        out[meta.time_idx] = pick(r, BAD_TIMESTAMPS)
    elif kind == "future_timestamp":
        when = out[meta.time_idx]
        # Same moment in 2099 (which has no 29 February: that would be unparseable instead).
        out[meta.time_idx] = (
            "2099-02-28" + when[10:] if when[5:10] == "02-29" else "2099" + when[4:]
        )
    elif kind == "invalid_value":
        col = pick(r, meta.allowed_idx)
        out[col] = pick(r, BAD_VALUES[meta.columns[col]])
    elif kind == "unknown_event":
        out[meta.columns.index("event_name")] = pick(r, UNKNOWN_EVENTS)
        out[meta.columns.index("event_type")] = "track"
        out[meta.columns.index("properties")] = "{}"
    else:
        raise ValueError(f"unknown defect type {kind!r}")
    return ts, tuple(out)


def _freshen_key(
    meta: SourceMeta, out: list[str], ts: int, fresh_id: Callable[[int], str], clock: Clock
) -> None:
    """Give the defect row a key no genuine row has, so it is never mistaken for a duplicate."""
    if meta.index == CRM:
        # Key is (customer_id, updated_at); genuine versions are >= 3 s apart, so +-1 s is free.
        same_day = clock.day_index(ts + 1) == clock.day_index(ts)
        out[meta.time_idx] = clock.fmt(ts + 1 if same_day else ts - 1)
    else:
        out[meta.key_idx[0]] = fresh_id(meta.index)
