"""The one small interface Python reads and writes the warehouse through.

``DuckDBWarehouse`` (here) is the default: one file, no server. ``SnowflakeWarehouse``
(journeymap.snowflake) is the scale-out target. Both offer the same methods:

    execute(sql, params) / query_df(sql, params)   SQL with ``?`` placeholders; frames come
                                                     back with lower-case column names
    query_batches(sql, params)                     the same, streamed in frames (one scan,
                                                     bounded memory)
    transaction()                                  the statements inside commit together
    quote(name) / relation(schema, table)          identifiers as the warehouse spells them
    ensure_tables(schema, tables)                  create tables of portable column types,
                                                     or add the columns they lack
    write_frame(schema, table, frame, mode)        replace or append a table with a frame

Portable column types (``COLUMN_TYPES``) are DuckDB's names; Snowflake maps them to its own.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, Literal, Protocol

import duckdb
import pandas as pd

from journeymap.privacy import register_privacy_functions
from journeymap.settings import Settings

WriteMode = Literal["replace", "append"]
WRITE_MODES: tuple[str, ...] = ("replace", "append")
# Rows per frame of a streamed query on DuckDB (Snowflake streams its own result chunks).
BATCH_ROWS = 100_000
# The column types tables are declared with, on every warehouse.
COLUMN_TYPES: tuple[str, ...] = ("varchar", "bigint", "double", "boolean", "timestamp", "date")


class WarehouseBusyError(RuntimeError):
    """Another process holds the DuckDB file's write lock."""


class Warehouse(Protocol):
    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None: ...

    def query_df(self, sql: str, params: Sequence[Any] | None = None) -> pd.DataFrame: ...

    def query_batches(
        self, sql: str, params: Sequence[Any] | None = None
    ) -> Iterator[pd.DataFrame]: ...

    def transaction(self) -> AbstractContextManager[Any]: ...

    def quote(self, name: str) -> str: ...

    def relation(self, schema: str, table: str) -> str: ...

    def ensure_tables(self, schema: str, tables: Mapping[str, Mapping[str, str]]) -> None: ...

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


def check_mode(mode: str) -> None:
    if mode not in WRITE_MODES:
        raise ValueError(f"write mode must be one of {', '.join(WRITE_MODES)}, not {mode!r}")


def check_column_types(columns: Mapping[str, str]) -> None:
    unknown = {name: kind for name, kind in columns.items() if kind not in COLUMN_TYPES}
    if unknown:
        raise ValueError(f"column types must be among {', '.join(COLUMN_TYPES)}: {unknown}")


def table_exists(warehouse: Warehouse, schema: str, table: str) -> bool:
    """Whether ``schema.table`` (a table or a view) exists; names compare in lower case, as
    Snowflake stores unquoted names upper case."""
    found = warehouse.query_df(
        "select count(*) as n from information_schema.tables "
        "where lower(table_schema) = ? and lower(table_name) = ?",
        [schema.lower(), table.lower()],
    )
    return int(found["n"].iloc[0]) > 0


def existing_columns(frame: pd.DataFrame) -> dict[str, set[str]]:
    """Table -> its columns, from (table_name, column_name) rows, all lower case."""
    tables: dict[str, set[str]] = {}
    for table, column in zip(frame["table_name"], frame["column_name"], strict=True):
        tables.setdefault(str(table).lower(), set()).add(str(column).lower())
    return tables


def column_definitions(
    warehouse: Warehouse, columns: Mapping[str, str], types: Mapping[str, str]
) -> str:
    """``name type, ...`` for a create statement (portable types spelled as ``types`` maps)."""
    check_column_types(columns)
    return ", ".join(f"{warehouse.quote(n)} {types[t]}" for n, t in columns.items())


def table_ddl(
    warehouse: Warehouse,
    schema: str,
    table: str,
    columns: Mapping[str, str],
    existing: set[str] | None,
    kind: str = "table",
    types: Mapping[str, str] | None = None,
) -> list[str]:
    """The statements that create ``schema.table`` with ``columns`` (name -> portable type,
    spelled as ``types`` maps it) when it does not exist (``existing`` is None), or add the
    columns it lacks."""
    spell = types or {kind: kind for kind in COLUMN_TYPES}
    target = warehouse.relation(schema, table)
    if existing is None:
        definitions = column_definitions(warehouse, columns, spell)
        return [f"create {kind} if not exists {target} ({definitions})"]
    return [
        f"alter table {target} add column {warehouse.quote(name)} {spell[column_type]}"
        for name, column_type in columns.items()
        if name.lower() not in existing
    ]


def query_tag(**parts: str) -> str:
    """A warehouse query tag (Snowflake's QUERY_TAG): JSON naming journeymap and the run or
    command, so a day's queries can be found and costed (``parse_json(query_tag):run_id``)."""
    return json.dumps({"app": "journeymap", **parts}, separators=(",", ":"), sort_keys=True)


def _display_path(path: Path) -> str:
    """The path relative to the working directory when it lies below it (shorter messages)."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


_LOCK_PID = re.compile(r"\(PID (\d+)\)")


def configure_session(connection: duckdb.DuckDBPyConnection) -> None:
    """UTC session (timestamps without an offset mean UTC), no progress bar in logs, the
    privacy functions (the key is read only when a value is hashed)."""
    connection.execute("set TimeZone = 'UTC'")
    connection.execute("set enable_progress_bar = false")
    # Staging views of project sources call the privacy functions (macros/privacy.sql).
    register_privacy_functions(connection)


class SessionWarehouse:
    """What every warehouse class shares: ``with`` closes the connection, and transactions.
    Subclasses open their connection on first use and say what a transaction yields."""

    _in_transaction = False

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def _transaction_handle(self) -> Any:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        """All statements inside commit together or not at all (nested: the outer one
        commits)."""
        handle = self._transaction_handle()
        if self._in_transaction:
            yield handle
            return
        self.execute("begin transaction")
        self._in_transaction = True
        try:
            yield handle
        except BaseException:
            self.execute("rollback")
            raise
        else:
            self.execute("commit")
        finally:
            self._in_transaction = False


class DuckDBWarehouse(SessionWarehouse):
    """A DuckDB file. The connection opens on first use (or on ``with``) and holds the
    file's write lock until ``close``; a second writing process gets ``WarehouseBusyError``.

    Every session runs with ``TimeZone = 'UTC'`` so timestamps without an offset mean UTC.
    """

    def __init__(self, path: str | os.PathLike[str], read_only: bool = False) -> None:
        self.path = Path(path).resolve()
        self.read_only = read_only
        self._connection: duckdb.DuckDBPyConnection | None = None

    def __enter__(self) -> DuckDBWarehouse:
        _ = self.connection
        return self

    def _transaction_handle(self) -> duckdb.DuckDBPyConnection:
        return self.connection

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

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None:
        self.connection.execute(sql, params)

    def query_df(self, sql: str, params: Sequence[Any] | None = None) -> pd.DataFrame:
        frame = self.connection.execute(sql, params).df()
        frame.columns = [str(column).lower() for column in frame.columns]
        return frame

    def query_batches(
        self, sql: str, params: Sequence[Any] | None = None, rows: int = BATCH_ROWS
    ) -> Iterator[pd.DataFrame]:
        reader = self.connection.sql(sql, params=params).to_arrow_reader(rows)
        for batch in reader:
            frame = batch.to_pandas()
            frame.columns = [str(column).lower() for column in frame.columns]
            yield frame

    def quote(self, name: str) -> str:
        return quote_identifier(name)

    def relation(self, schema: str, table: str) -> str:
        return f"{quote_identifier(schema)}.{quote_identifier(table)}"

    def ensure_tables(self, schema: str, tables: Mapping[str, Mapping[str, str]]) -> None:
        """Create each table of ``tables`` (table -> column name -> portable type) in
        ``schema`` if it does not exist, and add the columns an existing one lacks (a contract
        that gained a column)."""
        self.execute(f"create schema if not exists {quote_identifier(schema)}")
        existing = existing_columns(
            self.query_df(
                "select table_name, column_name from information_schema.columns "
                "where table_schema = ?",
                [schema],
            )
        )
        for table, columns in tables.items():
            for statement in table_ddl(self, schema, table, columns, existing.get(table)):
                self.execute(statement)

    def write_frame(
        self, schema: str, table: str, df: pd.DataFrame, mode: WriteMode = "replace"
    ) -> int:
        """Write ``df`` to ``schema.table`` (created from the frame's columns if absent)."""
        check_mode(mode)
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


def run_lock_path(settings: Settings) -> Path:
    """The lock file of runs that write the warehouse of ``settings`` (next to the DuckDB file;
    for Snowflake it guards the runs of this machine's installation)."""
    return settings.duckdb_path.with_name(f"{settings.duckdb_path.name}.run.lock")


@contextmanager
def run_lock(settings: Settings, what: str) -> Iterator[None]:
    """Hold the installation's run lock for the ``with`` block, or stop at once with a clear
    message naming the run that holds it. A run's steps open and close the warehouse one
    after another, so DuckDB's own lock alone would let a second run write between them. The
    operating system drops the lock when its process ends, also when it is killed."""
    path = run_lock_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise WarehouseBusyError(
                f"{warehouse_label(settings)} is being written by {holder}; runs that write "
                "the warehouse go one after another: wait for it to finish"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{what} (pid {os.getpid()})")
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)


def warehouse_label(settings: Settings) -> str:
    """Where the warehouse of ``settings`` is, for messages."""
    if settings.warehouse_kind == "snowflake":
        database = os.environ.get("SNOWFLAKE_DATABASE", "(SNOWFLAKE_DATABASE not set)")
        return f"Snowflake database {database}"
    return _display_path(settings.duckdb_path)


@contextmanager
def open_warehouse(
    settings: Settings, read_only: bool = False, tag: str | None = None
) -> Iterator[Warehouse]:
    """The warehouse of ``settings`` (``warehouse_kind``), open for the ``with`` block.

    ``read_only`` opens a DuckDB file without its write lock (on Snowflake the role decides
    what a session may do); ``tag`` is the Snowflake query tag of the session's queries."""
    if settings.warehouse_kind == "snowflake":
        from journeymap.snowflake import SnowflakeWarehouse  # only Snowflake users load it

        with SnowflakeWarehouse(tag=tag) as warehouse:
            yield warehouse
        return
    with DuckDBWarehouse(settings.duckdb_path, read_only=read_only) as warehouse:
        yield warehouse
