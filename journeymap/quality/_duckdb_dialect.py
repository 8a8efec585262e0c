"""A SQLAlchemy dialect that lets Great Expectations' SQL datasource run on DuckDB.

GX 1.24 executes every metric query as ``with engine.connect() as c: result = c.execute(q)``
and calls ``result.fetchall()`` only after the ``with`` block has closed the connection
(GX issues 10738, 11579). Closing a SQLAlchemy connection rolls back its transaction, and
duckdb_engine's cursor *is* the DuckDB connection, so the rollback discards the pending
result: every metric comes back as zero rows (``IndexError: list index out of range``).

This dialect is duckdb_engine's, with begin/commit/rollback turned into no-ops: DuckDB then
runs each statement in its own auto-committed transaction, nothing is rolled back when GX
closes the connection, and the result is still there when GX reads it. It is only used for
read-only validation queries (``dialect.name`` stays ``duckdb``).
"""

from __future__ import annotations

from typing import Any

from duckdb_engine import Dialect as _DuckDBDialect
from sqlalchemy.dialects import registry

DRIVER = "journeymap"
URL = f"duckdb+{DRIVER}:///:memory:"  # the real connection comes from the engine's creator


class JourneymapDuckDBDialect(_DuckDBDialect):
    supports_statement_cache = True

    def do_begin(self, dbapi_connection: Any) -> None:
        pass

    def do_commit(self, dbapi_connection: Any) -> None:
        pass

    def do_rollback(self, dbapi_connection: Any) -> None:
        pass


def register() -> None:
    registry.register(f"duckdb.{DRIVER}", __name__, "JourneymapDuckDBDialect")
