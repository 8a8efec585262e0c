"""Query results as plain Python values on any warehouse (None stays None, unlike in pandas)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from journeymap.warehouse import DuckDBWarehouse, Warehouse


def fetch_rows(warehouse: Warehouse, sql: str, params: Sequence[Any] | None = None) -> list[dict]:
    """Rows as dicts keyed by lower-case column name."""
    if isinstance(warehouse, DuckDBWarehouse):
        cursor = warehouse.connection.execute(sql, params)
    else:  # Snowflake: a DB-API cursor of its connection
        cursor = warehouse.connection.cursor()
        cursor.execute(sql, list(params) if params is not None else None)
    names = [str(column[0]).lower() for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
