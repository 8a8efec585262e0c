"""Helpers to read and compare marts in tests."""

from __future__ import annotations

import datetime
import hashlib
from pathlib import Path

import duckdb
import pandas as pd

# Everything BI and ML read; processed_at is run bookkeeping, not content.
MARTS = (
    "fct_events",
    "fct_sessions",
    "fct_journey_paths",
    "fct_funnel_steps",
    "fct_stage_transitions",
    "dim_customers",
    "mart_journey_map",
    "mart_journey_stages",
    "mart_path_summary",
    "mart_path_transitions",
    "mart_unmapped_events",
    "mart_data_reconciliation",
    "fct_customer_texts",
    "fct_subscription_versions",
    "fct_customer_weeks",
    "mart_retention_cohorts",
    "mart_customer_lifecycle",
    "mart_conversion_paths",
    "mart_non_conversion_paths",
    "fct_attribution_touches",
    "mart_channel_attribution",
    "mart_campaign_attribution",
)
BOOKKEEPING_COLUMNS = ("processed_at", "loaded_at", "identity_loaded_at")
# The customers who refused analytics (README, consent), and the rows an ML model may read:
# not about one of them (rows without a customer too).
REFUSED = "select customer_key from marts.dim_customers where not has_analytics_consent"
CONSENTING = f"(customer_key is null or customer_key not in ({REFUSED}))"


def query(duckdb_path: Path, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(duckdb_path), read_only=True) as connection:
        return connection.sql(sql).df()


def scalar(duckdb_path: Path, sql: str):
    with duckdb.connect(str(duckdb_path), read_only=True) as connection:
        return connection.execute(sql).fetchone()[0]


def mart_snapshot(
    duckdb_path: Path, ignore: tuple[str, ...] = ("processed_at",)
) -> dict[str, pd.DataFrame]:
    """Every mart as a frame sorted on all its columns, ready for assert_frame_equal."""
    snapshot = {}
    with duckdb.connect(str(duckdb_path), read_only=True) as connection:
        for mart in MARTS:
            frame = connection.sql(f"select * from marts.{mart}").df()
            frame = frame.drop(columns=[c for c in ignore if c in frame.columns])
            snapshot[mart] = frame.sort_values(list(frame.columns)).reset_index(drop=True)
    return snapshot


def warehouse_mart_snapshot(
    warehouse, ignore: tuple[str, ...] = ("processed_at",)
) -> dict[str, pd.DataFrame]:
    """Every mart read through the warehouse interface (DuckDB or Snowflake), each column in
    one comparable form (``comparable``) and the rows sorted on all columns."""
    snapshot = {}
    for mart in MARTS:
        frame = warehouse.query_df(f"select * from marts.{mart}")
        frame = comparable(frame.drop(columns=[c for c in ignore if c in frame.columns]))
        snapshot[mart] = frame.sort_values(list(frame.columns)).reset_index(drop=True)
    return snapshot


def comparable(frame: pd.DataFrame) -> pd.DataFrame:
    """The same values in the same types whichever warehouse and client read them: numbers
    as float64 (Snowflake's NUMBER arrives as int8...int64 or float, DuckDB's as int32/int64
    or nullable Int64), timestamps as naive microseconds (Snowflake's client gives
    nanoseconds), text and missing values as Python objects."""
    out = pd.DataFrame(index=frame.index)
    for name in frame.columns:
        values = frame[name]
        if values.dtype.kind == "O" and _holds_dates(values):  # Snowflake's DATE
            values = pd.to_datetime(values)
        if values.dtype.kind == "M":
            out[name] = values.dt.tz_localize(None) if values.dt.tz else values
            out[name] = out[name].astype("datetime64[us]")
        elif values.dtype.kind == "b" or str(values.dtype) == "boolean":
            out[name] = values.astype(object).where(values.notna(), None)
        elif values.dtype.kind in "iuf" or str(values.dtype) in ("Int64", "Float64"):
            out[name] = values.astype("float64")
        else:
            out[name] = values.astype(object).where(values.notna(), None)
    return out


def _holds_dates(values: pd.Series) -> bool:
    present = values.dropna()
    return len(present) > 0 and all(isinstance(v, datetime.date) for v in present)


def assert_same_marts(left: dict[str, pd.DataFrame], right: dict[str, pd.DataFrame]) -> None:
    assert left.keys() == right.keys()
    for mart in left:
        assert len(left[mart]) == len(right[mart]), (
            f"{mart}: {len(left[mart])} vs {len(right[mart])} rows"
        )
        pd.testing.assert_frame_equal(
            left[mart], right[mart], check_exact=False, rtol=1e-9, obj=mart
        )


def mart_fingerprints(duckdb_path: Path) -> dict[str, dict[str, object]]:
    """Rows and a content hash of every mart (bookkeeping columns left out, floats rounded to
    6 decimals): a change to any mart's content changes its hash."""
    fingerprints = {}
    for mart, frame in mart_snapshot(duckdb_path, ignore=BOOKKEEPING_COLUMNS).items():
        rounded = frame.apply(lambda c: c.round(6) if c.dtype.kind == "f" else c)
        text = rounded.to_csv(index=False, date_format="%Y-%m-%d %H:%M:%S.%f")
        fingerprints[mart] = {
            "rows": len(frame),
            "sha256": hashlib.sha256(text.encode()).hexdigest()[:16],
        }
    return fingerprints


# Columns that say when a run or load happened, not what it computed: a re-run writes new
# values (the enriched layer renames some of them).
RUN_TIME_COLUMNS = (
    *BOOKKEEPING_COLUMNS,
    "mapping_loaded_at",
    "loaded_through",
    "previous_loaded_through",
    "segments_loaded_through",
    "scored_at",
    "segmented_at",
    "computed_at",
    "attribution_computed_at",
    "predicted_at",
    "labelled_at",
    "built_at",
    "themes_built_at",
    "recorded_at",
    "created_at",
)
# A quarantine reason quotes the load time it compared with.
_LOAD_TIME_IN_TEXT = r"load time \d{4}-\d{2}-\d{2} [\d:.]+"
DERIVED_SCHEMAS = ("staging", "intermediate", "marts", "enriched", "ml")


def table_fingerprints(
    duckdb_path: Path,
    schemas: tuple[str, ...] = DERIVED_SCHEMAS,
    ignore: tuple[str, ...] = RUN_TIME_COLUMNS,
) -> dict[str, tuple[int, int]]:
    """``schema.table`` -> (rows, an order-independent hash of its rows) for every table and
    view of ``schemas``: the sum of a hash per row over its columns, doubles rounded to 6
    decimals, ``ignore`` left out, load times quoted in text blanked. A duplicated or lost row
    changes both."""
    fingerprints = {}
    with duckdb.connect(str(duckdb_path), read_only=True) as connection:
        columns = connection.execute(
            "select table_schema, table_name, column_name, data_type "
            "from information_schema.columns where table_schema in "
            f"({', '.join(repr(s) for s in schemas)}) order by all"
        ).fetchall()
        tables: dict[str, list[str]] = {}
        for schema, table, column, data_type in columns:
            name = f"{schema}.{table}"
            tables.setdefault(name, [])
            if column in ignore:
                continue
            quoted = f'"{column}"'
            if data_type in ("DOUBLE", "FLOAT") or data_type.startswith("DECIMAL"):
                quoted = f"round({quoted}::double, 6)"
            elif data_type == "VARCHAR":
                quoted = f"regexp_replace({quoted}, '{_LOAD_TIME_IN_TEXT}', 'load time', 'g')"
            tables[name].append(quoted)
        for name, selected in tables.items():
            row_hash = f"hash({', '.join(selected)})" if selected else "0"
            rows, content = connection.execute(
                f"select count(*), coalesce(sum({row_hash}::hugeint), 0) from {name}"
            ).fetchone()
            fingerprints[name] = (int(rows), int(content))
    return fingerprints


def differing_tables(
    left: dict[str, tuple[int, int]], right: dict[str, tuple[int, int]]
) -> dict[str, tuple]:
    """Tables whose fingerprints differ (or exist on one side only): name -> (left, right)."""
    return {
        name: (left.get(name), right.get(name))
        for name in sorted(left.keys() | right.keys())
        if left.get(name) != right.get(name)
    }
