"""The Snowflake emulator the `make test-snowflake` suite runs against, and the one place that
lists where it differs from Snowflake and how the test setup handles it.

The emulator is fakesnow's server (PyPI ``fakesnow``: Snowflake's HTTP API over an in-memory
DuckDB, SQL translated with sqlglot) on 127.0.0.1, reached by dbt-snowflake and
snowflake-connector-python exactly as they reach Snowflake. Run it by hand with

    python -m tests.snowflake.emulator --port 8765 --data-dir /tmp/emulator

and point ``SNOWFLAKE_HOST=127.0.0.1 SNOWFLAKE_PORT=8765 SNOWFLAKE_PROTOCOL=http`` (plus any
account, user, password, role and warehouse names) at it. Its databases live in memory: one
DuckDB shared by every session, as dbt's parallel sessions need (fakesnow's per-session
``FAKESNOW_DB_PATH`` gives each session a DuckDB of its own). ``--data-dir`` holds what
``PUT`` uploads to stages and the log of session logins; the test fixture deletes it.

Where the emulator falls short, the models and the product code keep what is right for
Snowflake, and this module patches the emulator (``EMULATOR_PATCHES``):

1. NULL timestamps in query results. The server encodes a timestamp column as Arrow structs
   (epoch, fraction) without the column's null mask, so every NULL timestamp reaches the client
   as 1970-01-01 00:00:00 (``fakesnow.arrow.timestamp_to_sf_struct``). Patched: the struct
   keeps the mask. Without it the DuckDB and Snowflake marts cannot be compared, and the churn
   model would read every open subscription as cancelled in 1970.
2. ``create temporary table <database>.<schema>.<name>`` (dbt's unit tests build their inputs
   this way) fails: DuckDB keeps temporary tables in its own ``temp`` catalog, so it cannot
   create one in a named database. Patched: the emulator creates such a table as an ordinary
   table in that schema (left there until the emulator stops; the name ends in ``__dbt_tmp``).
3. Query tags. The emulator ignores them (and ``alter session set query_tag`` is not
   implemented, so journeymap sets the tag when a session logs in, which Snowflake honours
   too). Patched: each login's session parameters are appended to ``<data-dir>/sessions.jsonl``,
   so a test can check the tag every session of a Dagster run carried.

Upstream: fakesnow (https://github.com/tekumara/fakesnow) has no issue filed for 1-3 as of
fakesnow 0.12.1. What the emulator cannot show at all, and what therefore rests on the
sqlglot guard (tests/integration/test_snowflake_sql.py) and on documentation: Snowflake's
own function set and syntax (the emulator runs DuckDB underneath, so a DuckDB-only function
passes it), fixed-point NUMBER arithmetic (ratios are rounded to Snowflake's division scale,
DuckDB divides in double precision), transient tables and clustering keys (accepted and
ignored), and warehouse credits.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
from pathlib import Path
from typing import Any

SESSIONS_LOG = "sessions.jsonl"


def _keep_timestamp_nulls() -> None:
    """Gap 1: NULL timestamps reach the client as NULL, not as the epoch."""
    import fakesnow.arrow
    import pyarrow as pa

    encode = fakesnow.arrow.timestamp_to_sf_struct

    def timestamp_to_sf_struct(ts: pa.Array | pa.ChunkedArray) -> pa.Array:
        if isinstance(ts, pa.ChunkedArray):
            ts = ts.combine_chunks()
        encoded = encode(ts)
        if not ts.null_count:
            return encoded
        return pa.StructArray.from_arrays(
            encoded.flatten(), fields=list(encoded.type), mask=ts.is_null()
        )

    fakesnow.arrow.timestamp_to_sf_struct = timestamp_to_sf_struct


def _qualified_temporary_tables_as_tables() -> None:
    """Gap 2: `create temporary table db.schema.name` becomes an ordinary table."""
    import fakesnow.cursor
    from sqlglot import exp

    transform = fakesnow.cursor.FakeSnowflakeCursor._transform

    def _transform(self: Any, expression: exp.Expr, params: Any) -> exp.Expr:
        if isinstance(expression, exp.Create):
            table = expression.find(exp.Table)
            temporary = expression.find(exp.TemporaryProperty)
            if table is not None and temporary is not None and (table.catalog or table.db):
                temporary.pop()
        return transform(self, expression, params)

    fakesnow.cursor.FakeSnowflakeCursor._transform = _transform


def _app_logging_logins(data_dir: Path) -> Any:
    """Gap 3: fakesnow's app, with each login's database and query tag recorded."""
    import gzip

    import fakesnow.server
    from starlette.applications import Starlette
    from starlette.routing import Route

    login = fakesnow.server.login_request
    log_path = data_dir / SESSIONS_LOG

    async def login_request(request: Any) -> Any:
        body = await request.body()  # starlette keeps it for the login handler
        if request.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        parameters = json.loads(body)["data"].get("SESSION_PARAMETERS", {})
        entry = {
            "database": request.query_params.get("databaseName"),
            "query_tag": parameters.get("QUERY_TAG"),
        }
        with log_path.open("a") as log:
            log.write(json.dumps(entry) + "\n")
        return await login(request)

    routes = [
        Route(route.path, login_request, methods=["POST"]) if route.endpoint is login else route
        for route in fakesnow.server.routes
    ]
    return Starlette(routes=routes)


def _stages_in(data_dir: Path) -> None:
    """Stage uploads go to the data dir, not to a temporary folder nobody deletes."""
    import fakesnow.transforms.stage as stage

    stages = data_dir / "stages"
    stages.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(stage.LOCAL_BUCKET_PATH, ignore_errors=True)
    stage.LOCAL_BUCKET_PATH = str(stages)


EMULATOR_PATCHES = (_keep_timestamp_nulls, _qualified_temporary_tables_as_tables)


def serve(port: int, data_dir: Path, host: str = "127.0.0.1") -> None:
    """Patch fakesnow as documented above and serve until interrupted or terminated."""
    import uvicorn

    data_dir.mkdir(parents=True, exist_ok=True)
    for patch in EMULATOR_PATCHES:
        patch()
    _stages_in(data_dir)
    uvicorn.run(_app_logging_logins(data_dir), host=host, port=port, log_level="warning")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--data-dir", type=Path, required=True)
    args = parser.parse_args()
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    serve(args.port, args.data_dir)


if __name__ == "__main__":
    main()
