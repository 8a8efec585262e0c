"""The one small interface Python writes to the warehouse through.

``DuckDBWarehouse`` is the default (one file, no server); ``SnowflakeWarehouse`` is the
scale-out target and writes frames with snowflake-connector-python's ``write_pandas``.
Both offer ``execute``, ``query_df`` and ``write_frame``; the raw loader additionally needs
DuckDB's file readers, so it takes a ``DuckDBWarehouse``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal, Protocol

import duckdb
import pandas as pd

from journeymap.settings import Settings

WriteMode = Literal["replace", "append"]
WRITE_MODES: tuple[str, ...] = ("replace", "append")

SNOWFLAKE_ENV_VARS = (
    "SNOWFLAKE_ACCOUNT",
    "SNOWFLAKE_USER",
    "SNOWFLAKE_PASSWORD",
    "SNOWFLAKE_ROLE",
    "SNOWFLAKE_WAREHOUSE",
    "SNOWFLAKE_DATABASE",
)


class WarehouseBusyError(RuntimeError):
    """Another process holds the DuckDB file's write lock."""


class Warehouse(Protocol):
    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None: ...

    def query_df(self, sql: str, params: Sequence[Any] | None = None) -> pd.DataFrame: ...

    def write_frame(
        self, schema: str, table: str, df: pd.DataFrame, mode: WriteMode = "replace"
    ) -> int: ...

    def close(self) -> None: ...


def quote_identifier(name: str) -> str:
    """Double-quote an identifier for SQL (works on DuckDB and Snowflake)."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    """A SQL string literal (single quotes doubled; works on DuckDB and Snowflake)."""
    return "'" + value.replace("'", "''") + "'"


def quote_literals(values: Iterable[str]) -> str:
    """Comma-separated SQL string literals, for `in (...)` lists."""
    return ", ".join(quote_literal(value) for value in values)


def timestamp_literal(value: Any) -> str:
    """A portable SQL timestamp literal (DuckDB and Snowflake), to the second."""
    return f"timestamp '{pd.Timestamp(value).strftime('%Y-%m-%d %H:%M:%S')}'"


def query_frame(warehouse: Warehouse, sql: str) -> pd.DataFrame:
    """``warehouse.query_df`` with lower-case column names (Snowflake returns upper case)."""
    frame = warehouse.query_df(sql)
    frame.columns = [str(c).lower() for c in frame.columns]
    return frame


def _check_mode(mode: str) -> None:
    if mode not in WRITE_MODES:
        raise ValueError(f"write mode must be one of {', '.join(WRITE_MODES)}, not {mode!r}")


def _display_path(path: Path) -> str:
    """The path relative to the working directory when it lies below it (shorter messages)."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


_LOCK_PID = re.compile(r"\(PID (\d+)\)")


def configure_session(connection: duckdb.DuckDBPyConnection) -> None:
    """UTC session (timestamps without an offset mean UTC), no progress bar in logs."""
    connection.execute("set TimeZone = 'UTC'")
    connection.execute("set enable_progress_bar = false")


class DuckDBWarehouse:
    """A DuckDB file. The connection opens on first use (or on ``with``) and holds the
    file's write lock until ``close``; a second writing process gets ``WarehouseBusyError``.

    Every session runs with ``TimeZone = 'UTC'`` so timestamps without an offset mean UTC.
    """

    def __init__(self, path: str | os.PathLike[str], read_only: bool = False) -> None:
        self.path = Path(path).resolve()
        self.read_only = read_only
        self._connection: duckdb.DuckDBPyConnection | None = None
        self._in_transaction = False

    def __enter__(self) -> DuckDBWarehouse:
        _ = self.connection
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"DuckDBWarehouse({str(self.path)!r})"

    @property
    def connection(self) -> duckdb.DuckDBPyConnection:
        if self._connection is None:
            self._connection = self._connect()
        return self._connection

    def _connect(self) -> duckdb.DuckDBPyConnection:
        if not self.read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            connection = duckdb.connect(str(self.path), read_only=self.read_only)
        except duckdb.IOException as error:
            if "lock" not in str(error).lower():
                raise
            pid = _LOCK_PID.search(str(error))
            raise WarehouseBusyError(
                f"{_display_path(self.path)} is being written by another process "
                f"(pid {pid.group(1) if pid else 'unknown'}); "
                "runs that write the warehouse go one after another"
            ) from error
        configure_session(connection)
        return connection

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """All statements inside commit together or not at all."""
        connection = self.connection
        if self._in_transaction:  # nested: the outer transaction commits
            yield connection
            return
        connection.execute("begin transaction")
        self._in_transaction = True
        try:
            yield connection
        except BaseException:
            connection.execute("rollback")
            raise
        else:
            connection.execute("commit")
        finally:
            self._in_transaction = False

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None:
        self.connection.execute(sql, params)

    def query_df(self, sql: str, params: Sequence[Any] | None = None) -> pd.DataFrame:
        return self.connection.execute(sql, params).df()

    def write_frame(
        self, schema: str, table: str, df: pd.DataFrame, mode: WriteMode = "replace"
    ) -> int:
        """Write ``df`` to ``schema.table`` (created from the frame's columns if absent)."""
        _check_mode(mode)
        target = f"{quote_identifier(schema)}.{quote_identifier(table)}"
        connection = self.connection
        connection.register("_journeymap_frame", df)
        try:
            with self.transaction():
                connection.execute(f"create schema if not exists {quote_identifier(schema)}")
                if mode == "replace":
                    connection.execute(
                        f"create or replace table {target} as select * from _journeymap_frame"
                    )
                else:
                    connection.execute(
                        f"create table if not exists {target} as "
                        "select * from _journeymap_frame limit 0"
                    )
                    connection.execute(
                        f"insert into {target} by name select * from _journeymap_frame"
                    )
        finally:
            connection.unregister("_journeymap_frame")
        return len(df)


class SnowflakeWarehouse:
    """Snowflake, configured from SNOWFLAKE_* environment variables only."""

    def __init__(self, env: dict[str, str] | None = None) -> None:
        env = dict(os.environ if env is None else env)
        missing = [name for name in SNOWFLAKE_ENV_VARS if not env.get(name)]
        if missing:
            raise RuntimeError(f"Snowflake needs these environment variables: {', '.join(missing)}")
        self._settings = {
            name.removeprefix("SNOWFLAKE_").lower(): env[name] for name in SNOWFLAKE_ENV_VARS
        }
        self._connection: Any = None

    def __enter__(self) -> SnowflakeWarehouse:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def connection(self) -> Any:
        if self._connection is None:
            import snowflake.connector  # imported late: only Snowflake users pay for it

            self._connection = snowflake.connector.connect(**self._settings)
        return self._connection

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None:
        with self.connection.cursor() as cursor:
            cursor.execute(sql, params)

    def query_df(self, sql: str, params: Sequence[Any] | None = None) -> pd.DataFrame:
        with self.connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetch_pandas_all()

    def write_frame(
        self, schema: str, table: str, df: pd.DataFrame, mode: WriteMode = "replace"
    ) -> int:
        _check_mode(mode)
        from snowflake.connector.pandas_tools import write_pandas

        self.execute(f"create schema if not exists {quote_identifier(schema.upper())}")
        # Upper-case names: Snowflake folds unquoted identifiers to upper case, so dbt models
        # can then refer to the table and its columns without quotes.
        success, _, rows, _ = write_pandas(
            self.connection,
            df.rename(columns=str.upper),
            table_name=table.upper(),
            schema=schema.upper(),
            auto_create_table=True,
            overwrite=mode == "replace",
            quote_identifiers=True,
        )
        if not success:
            raise RuntimeError(f"write_pandas failed for {schema}.{table}")
        return rows


@contextmanager
def open_warehouse(settings: Settings, read_only: bool = False) -> Iterator[Warehouse]:
    """The warehouse of ``settings`` (``warehouse_kind``), open for the ``with`` block."""
    if settings.warehouse_kind == "snowflake":
        with SnowflakeWarehouse() as warehouse:
            yield warehouse
        return
    with DuckDBWarehouse(settings.duckdb_path, read_only=read_only) as warehouse:
        yield warehouse
