"""Snowflake behind the warehouse interface (journeymap.warehouse).

The connection comes from ``SNOWFLAKE_*`` environment variables only (the same ones
profiles.yml reads for dbt). Reads come back as frames with lower-case column names and
64-bit integers. Writes go through a stage, the way Snowflake loads data in bulk: a frame (or
a landing file the loader has checked) becomes a Parquet file, ``PUT`` to a temporary stage,
and ``COPY INTO`` the table by column name inside a transaction, so readers see all of a
write or none of it.

Identifiers are upper case (``"RAW"."WEB_EVENTS"``), as Snowflake folds unquoted names, so
dbt models and BI tools refer to these tables without quotes. Tables Python writes are
permanent in ``raw`` (the source of truth: Time Travel and Fail-safe) and transient
elsewhere (rebuildable: no Fail-safe storage to pay for).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import pandas as pd

from journeymap.warehouse import (
    SessionWarehouse,
    WriteMode,
    check_mode,
    column_definitions,
    existing_columns,
    quote_identifier,
    quote_literal,
    table_ddl,
)

# Set these for every connection (dbt reads the same from profiles.yml).
REQUIRED_ENV = (
    "SNOWFLAKE_ACCOUNT",
    "SNOWFLAKE_USER",
    "SNOWFLAKE_ROLE",
    "SNOWFLAKE_WAREHOUSE",
    "SNOWFLAKE_DATABASE",
)
# One of these authenticates: a password, a key pair (what Snowflake recommends for service
# users), or another authenticator (e.g. externalbrowser for a person at a laptop).
AUTH_ENV = ("SNOWFLAKE_PASSWORD", "SNOWFLAKE_PRIVATE_KEY_PATH", "SNOWFLAKE_AUTHENTICATOR")
# Optional: the session's default schema, the key's passphrase, and an explicit endpoint
# (a private-link host, or a local emulator reached over http).
OPTIONAL_ENV = (
    "SNOWFLAKE_SCHEMA",
    "SNOWFLAKE_PRIVATE_KEY_PASSPHRASE",
    "SNOWFLAKE_HOST",
    "SNOWFLAKE_PORT",
    "SNOWFLAKE_PROTOCOL",
)
SNOWFLAKE_ENV = (*REQUIRED_ENV, *AUTH_ENV, *OPTIONAL_ENV)

# Portable column type -> Snowflake's (explicit NTZ: the account's TIMESTAMP_TYPE_MAPPING
# could otherwise make `timestamp` mean LTZ).
SNOWFLAKE_TYPES = {
    "varchar": "varchar",
    "bigint": "number(38, 0)",
    "double": "float",
    "boolean": "boolean",
    "timestamp": "timestamp_ntz",
    "date": "date",
}
# information_schema.columns.data_type of each portable type.
_REPORTED_TYPES = {
    "varchar": "TEXT",
    "bigint": "NUMBER",
    "double": "FLOAT",
    "boolean": "BOOLEAN",
    "timestamp": "TIMESTAMP_NTZ",
    "date": "DATE",
}
PERMANENT_SCHEMAS = ("raw",)
UPLOAD_STAGE = "journeymap_upload"
PARQUET_FORMAT = "file_format = (type = parquet use_logical_type = true)"


@dataclass(frozen=True)
class SnowflakeConfig:
    """Connection settings read from ``SNOWFLAKE_*`` variables (``env`` or the process's)."""

    values: Mapping[str, str]

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> SnowflakeConfig:
        env = os.environ if env is None else env
        values = {name: env[name] for name in SNOWFLAKE_ENV if env.get(name)}
        missing = [name for name in REQUIRED_ENV if name not in values]
        if not any(name in values for name in AUTH_ENV):
            missing.append(" or ".join(AUTH_ENV))
        if missing:
            raise RuntimeError(f"Snowflake needs these environment variables: {', '.join(missing)}")
        return cls(values)

    @property
    def database(self) -> str:
        return self.values["SNOWFLAKE_DATABASE"]

    def connect_args(self, tag: str | None = None) -> dict[str, Any]:
        """Keyword arguments for ``snowflake.connector.connect``."""
        names = {
            "SNOWFLAKE_ACCOUNT": "account",
            "SNOWFLAKE_USER": "user",
            "SNOWFLAKE_ROLE": "role",
            "SNOWFLAKE_WAREHOUSE": "warehouse",
            "SNOWFLAKE_DATABASE": "database",
            "SNOWFLAKE_SCHEMA": "schema",
            "SNOWFLAKE_PASSWORD": "password",
            "SNOWFLAKE_PRIVATE_KEY_PATH": "private_key_file",
            "SNOWFLAKE_PRIVATE_KEY_PASSPHRASE": "private_key_file_pwd",
            "SNOWFLAKE_AUTHENTICATOR": "authenticator",
            "SNOWFLAKE_HOST": "host",
            "SNOWFLAKE_PROTOCOL": "protocol",
        }
        args: dict[str, Any] = {names[k]: v for k, v in self.values.items() if k in names}
        if "SNOWFLAKE_PORT" in self.values:
            args["port"] = int(self.values["SNOWFLAKE_PORT"])
        # UTC sessions, as on DuckDB: timestamps without a zone mean UTC.
        parameters = {"TIMEZONE": "UTC"}
        if tag:
            parameters["QUERY_TAG"] = tag
        return {
            **args,
            "paramstyle": "qmark",  # the same `?` placeholders as DuckDB
            "application": "journeymap",
            "session_parameters": parameters,
        }


def snowflake_identifier(name: str) -> str:
    """An identifier as Snowflake stores an unquoted name: upper case (quoted, so any name
    is safe)."""
    return quote_identifier(name.upper())


def _frame_column_type(values: pd.Series) -> str:
    """The portable type of a frame column (what ``write_frame`` declares)."""
    kind = values.dtype.kind
    if kind == "b" or str(values.dtype) == "boolean":
        return "boolean"
    if kind in "iu":
        return "bigint"
    if kind == "f":
        return "double"
    if kind == "M":
        return "timestamp"
    return "varchar"


def _normalized(frame: pd.DataFrame) -> pd.DataFrame:
    """Lower-case column names (Snowflake returns unquoted names upper case) and integers
    as int64 (Arrow results carry the narrowest type that fits a chunk, e.g. int8, which
    would overflow in arithmetic)."""
    frame.columns = [str(column).lower() for column in frame.columns]
    for column in frame.columns:
        if frame[column].dtype.kind in "iu":
            frame[column] = frame[column].astype("int64")
    return frame


class SnowflakeWarehouse(SessionWarehouse):
    """Snowflake, configured from ``SNOWFLAKE_*`` environment variables only. The connection
    opens on first use; ``tag`` becomes its QUERY_TAG (journeymap.warehouse.query_tag)."""

    def __init__(self, env: Mapping[str, str] | None = None, tag: str | None = None) -> None:
        self.config = SnowflakeConfig.from_env(env)
        self.tag = tag
        self._connection: Any = None
        self._stages: set[str] = set()

    def __enter__(self) -> SnowflakeWarehouse:
        return self

    def __repr__(self) -> str:
        return f"SnowflakeWarehouse({self.config.database!r})"

    @property
    def connection(self) -> Any:
        if self._connection is None:
            import snowflake.connector  # imported late: only Snowflake users pay for it

            self._connection = snowflake.connector.connect(**self.config.connect_args(self.tag))
        return self._connection

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
            self._stages.clear()

    # ------------------------------------------------------------------ SQL
    # Transactions (SessionWarehouse.transaction): Snowflake commits an open transaction
    # before any DDL, so tables and stages are created before one begins.

    def _cursor_execute(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        cursor = self.connection.cursor()
        cursor.execute(sql, list(params) if params is not None else None)
        return cursor

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None:
        self._cursor_execute(sql, params).close()

    def query_df(self, sql: str, params: Sequence[Any] | None = None) -> pd.DataFrame:
        """Rows as a frame: lower-case column names, integers as int64."""
        cursor = self._cursor_execute(sql, params)
        try:
            frame = cursor.fetch_pandas_all()
            if frame.empty and not len(frame.columns):
                frame = pd.DataFrame(columns=[column.name for column in cursor.description])
        finally:
            cursor.close()
        return _normalized(frame)

    def query_batches(
        self, sql: str, params: Sequence[Any] | None = None
    ) -> Iterator[pd.DataFrame]:
        """Rows as frames, one per result chunk the client downloads (bounded memory)."""
        cursor = self._cursor_execute(sql, params)
        try:
            for frame in cursor.fetch_pandas_batches():
                yield _normalized(frame)
        finally:
            cursor.close()

    def quote(self, name: str) -> str:
        return snowflake_identifier(name)

    def relation(self, schema: str, table: str) -> str:
        return f"{snowflake_identifier(schema)}.{snowflake_identifier(table)}"

    # ------------------------------------------------------------------ tables

    def _columns(self, schema: str, table: str) -> dict[str, str]:
        """Column name (lower case) -> information_schema data type, in table order."""
        frame = self.query_df(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = ? and table_name = ? order by ordinal_position",
            [schema.upper(), table.upper()],
        )
        names, types = frame.iloc[:, 0], frame.iloc[:, 1]
        return {str(n).lower(): str(t).upper() for n, t in zip(names, types, strict=True)}

    def _table_kind(self, schema: str) -> str:
        return "table" if schema.lower() in PERMANENT_SCHEMAS else "transient table"

    def ensure_tables(self, schema: str, tables: Mapping[str, Mapping[str, str]]) -> None:
        """Create each table of ``tables`` (table -> column name -> portable type) in
        ``schema`` if absent, or add the columns it lacks: two statements when nothing is
        missing."""
        self.execute(f"create schema if not exists {self.quote(schema)}")
        existing = existing_columns(
            self.query_df(
                "select table_name, column_name from information_schema.columns "
                "where table_schema = ?",
                [schema.upper()],
            )
        )
        kind = self._table_kind(schema)
        for table, columns in tables.items():
            statements = table_ddl(
                self, schema, table, columns, existing.get(table.lower()), kind, SNOWFLAKE_TYPES
            )
            for statement in statements:
                self.execute(statement)

    # ------------------------------------------------------------------ bulk writes

    def stage_parquet(self, schema: str, path: Path) -> str:
        """Upload a Parquet file to a temporary stage of ``schema`` (gone when the session
        ends) under a prefix of its own; returns the staged location for ``copy_staged``.
        Runs outside transactions: creating the stage is DDL."""
        stage = f"{self.quote(schema)}.{self.quote(UPLOAD_STAGE)}"
        if stage not in self._stages:
            self.execute(f"create temporary stage if not exists {stage} {PARQUET_FORMAT}")
            self._stages.add(stage)
        location = f"@{stage}/{uuid.uuid4().hex}/"
        file_url = "file://" + str(Path(path).resolve()).replace("\\", "/")
        self.execute(
            f"put {quote_literal(file_url)} {location} auto_compress = false overwrite = true"
        )
        return location

    def copy_staged(self, schema: str, table: str, location: str, expected_rows: int) -> None:
        """``COPY INTO schema.table`` the staged Parquet file by column name (columns the file
        lacks stay null), then remove it. Raises unless exactly ``expected_rows`` loaded."""
        cursor = self._cursor_execute(
            f"copy into {self.relation(schema, table)} from {location} {PARQUET_FORMAT} "
            "match_by_column_name = case_insensitive on_error = abort_statement "
            # journeymap's own ledger decides what loads; Snowflake's load history (which
            # skips a file name it has seen) must not.
            "force = true purge = true"
        )
        try:
            names = [column.name.lower() for column in cursor.description]
            rows = cursor.fetchall()
        finally:
            cursor.close()
        loaded = sum(int(row[names.index("rows_loaded")] or 0) for row in rows)
        if loaded != expected_rows:
            raise RuntimeError(
                f"COPY INTO {schema}.{table} loaded {loaded} rows, expected {expected_rows}"
            )

    def write_frame(
        self, schema: str, table: str, df: pd.DataFrame, mode: WriteMode = "replace"
    ) -> int:
        """Write ``df`` to ``schema.table`` through a stage. ``replace`` swaps the rows in one
        transaction (the table keeps its grants), recreating the table only when its columns
        changed; ``append`` adds them. A new table gets the frame's columns and types."""
        check_mode(mode)
        columns = {str(name): _frame_column_type(df[name]) for name in df.columns}
        wanted = {name.lower(): _REPORTED_TYPES[kind] for name, kind in columns.items()}
        target = self.relation(schema, table)
        self.execute(f"create schema if not exists {self.quote(schema)}")
        existing = self._columns(schema, table)
        kind = self._table_kind(schema)
        if existing != wanted and (mode == "replace" or not existing):
            definitions = column_definitions(self, columns, SNOWFLAKE_TYPES)
            self.execute(f"create or replace {kind} {target} ({definitions})")
        with TemporaryDirectory(prefix="journeymap-") as folder:
            path = Path(folder) / f"{table}.parquet"
            df.to_parquet(path, index=False)
            location = self.stage_parquet(schema, path) if len(df) else None
            with self.transaction():
                if mode == "replace":
                    self.execute(f"delete from {target}")
                if location is not None:
                    self.copy_staged(schema, table, location, len(df))
        return len(df)
