"""What every Python model needs to read the warehouse: where the schemas are, a query that
returns lower-case column names (Snowflake hands them back upper case), the end of the data,
and whether a table exists. Plain ANSI SQL, so DuckDB and Snowflake answer alike."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from journeymap.ml.features import as_cutoff
from journeymap.warehouse import Warehouse, quote_literal


@dataclass(frozen=True)
class WarehouseSchemas:
    """Where dbt puts the core marts the models read, and where they write (var ml_schema)."""

    marts: str = "marts"
    ml: str = "ml"


def query_frame(warehouse: Warehouse, sql: str) -> pd.DataFrame:
    """The rows of ``sql`` with lower-case column names."""
    frame = warehouse.query_df(sql)
    frame.columns = [str(c).lower() for c in frame.columns]
    return frame


def read_latest_event_at(
    warehouse: Warehouse, schemas: WarehouseSchemas = WarehouseSchemas()
) -> pd.Timestamp | None:
    """The time of the newest event in fct_events (None when it is empty)."""
    sql = f"select max(occurred_at) as latest_event_at from {schemas.marts}.fct_events"
    frame = query_frame(warehouse, sql)
    value = frame["latest_event_at"].iloc[0] if len(frame) else None
    return None if value is None or pd.isna(value) else pd.Timestamp(value)


def read_latest_load(
    warehouse: Warehouse, schemas: WarehouseSchemas = WarehouseSchemas()
) -> pd.Timestamp | None:
    """When the newest event in fct_events was loaded (a load watermark: it moves whenever
    new data arrives, also data about the past)."""
    sql = f"select max(loaded_at) as latest_load from {schemas.marts}.fct_events"
    frame = query_frame(warehouse, sql)
    value = frame["latest_load"].iloc[0] if len(frame) else None
    return None if value is None or pd.isna(value) else pd.Timestamp(value)


def default_as_of(latest_event_at) -> pd.Timestamp:
    """The end of the data: midnight (UTC) after the day of the latest event."""
    return as_cutoff(latest_event_at).floor("D") + pd.Timedelta(days=1)


def resolve_as_of(
    warehouse: Warehouse,
    as_of,
    schemas: WarehouseSchemas = WarehouseSchemas(),
    nothing: str = "nothing to score",
) -> pd.Timestamp:
    """``as_of`` (naive UTC), or when None the end of the data; a clear error when the data is
    empty (``nothing`` says what the model cannot do then)."""
    if as_of is not None:
        return as_cutoff(as_of)
    latest = read_latest_event_at(warehouse, schemas)
    if latest is None:
        raise ValueError(f"marts.fct_events is empty: {nothing}")
    return default_as_of(latest)


def table_exists(warehouse: Warehouse, schema: str, table: str) -> bool:
    """Whether ``schema.table`` exists (names compared case-insensitively, as Snowflake folds
    unquoted names to upper case)."""
    sql = f"""
        select count(*) as tables
        from information_schema.tables
        where lower(table_schema) = {quote_literal(schema.lower())}
            and lower(table_name) = {quote_literal(table.lower())}
    """
    return int(query_frame(warehouse, sql)["tables"].iloc[0]) > 0
