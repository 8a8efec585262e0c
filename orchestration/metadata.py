"""Dagster metadata from plain Python values (what the assets and checks report)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from dagster import MetadataValue


def to_metadata(values: Mapping[str, Any]) -> dict[str, Any]:
    """Dagster metadata from a plain dict: numbers stay numbers, nested values become JSON."""
    out: dict[str, Any] = {}
    for name, value in values.items():
        if hasattr(value, "item") and not isinstance(value, (list, dict)):  # numpy scalars
            value = value.item()
        if isinstance(value, float) and not math.isfinite(value):
            out[name] = MetadataValue.text(str(value))
        elif (
            isinstance(value, (bool, int, float, str))
            or value is None
            or isinstance(value, MetadataValue)
        ):
            out[name] = value
        else:
            out[name] = MetadataValue.json(jsonable(value))
    return out


def jsonable(value: Any) -> Any:
    """A value as plain JSON types (numpy scalars unwrapped, non-finite floats as None)."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    return str(value)


def markdown_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """Rows of dicts (same keys) as a Markdown table; floats with three decimals."""
    if not rows:
        return "(none)"
    columns = list(rows[0])
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        cells = [f"{v:.3f}" if isinstance(v, float) else str(v) for v in row.values()]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
