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
Snowflake, and this module patches the emulator (``EMULATOR_PATCHES``). Each entry: the gap,
what the test setup does about it, and its upstream fakesnow issue
(https://github.com/tekumara/fakesnow/issues; fakesnow 0.12.1, searched December 2026).

1. NULL timestamps in query results. The server encodes a timestamp column as Arrow structs
   (epoch, fraction) without the column's null mask, so every NULL timestamp reaches the client
   as 1970-01-01 00:00:00 (``fakesnow.arrow.timestamp_to_sf_struct``). Patched: the struct
   keeps the mask. Without it the DuckDB and Snowflake marts cannot be compared, and the churn
   model would read every open subscription as cancelled in 1970. Upstream: none found.
2. ``create temporary table <database>.<schema>.<name>`` (dbt's unit tests build their inputs
   this way) fails: DuckDB keeps temporary tables in its own ``temp`` catalog, so it cannot
   create one in a named database (DuckDB's behaviour by design:
   https://github.com/duckdb/duckdb/issues/13543). Patched: the emulator creates such a table
   as an ordinary table in that schema (left there until the emulator stops; the name ends in
   ``__dbt_tmp``). Upstream: none found.
3. Query tags. The emulator ignores the session's query tag, and its ``alter session`` takes
   only QUOTED_IDENTIFIERS_IGNORE_CASE and AUTOCOMMIT (``transforms.alter_session``; any other
   parameter is a parser error: https://github.com/tekumara/fakesnow/issues/251, where the
   maintainer suggests ``nop_regexes``), so journeymap sets the tag when a session logs in, as
   Snowflake allows too. Patched: each login's query tag is appended to
   ``<data-dir>/sessions.jsonl``, so a test can check the tag every session of a Dagster run
   carried.
4. ``to_varchar(<timestamp>, '<format>')`` ignores the format: sqlglot's DuckDB output drops
   it ("Argument 'format' is not supported for expression 'ToChar'"), so the emulator casts
   with DuckDB's default text. Keys built from timestamps (macros/keys.sql, timestamp_text)
   format explicitly on Snowflake. Patched: the emulator formats with DuckDB's strftime and
   the format translated by sqlglot's Snowflake time mapping. Upstream: none found.
5. ``rtrim(x, '<characters>')``, ``ltrim`` and ``trim`` with characters trim spaces only:
   fakesnow wraps the trimmed value in a cast to varchar and rebuilds the TRIM without its
   characters and side (``trim_cast_varchar``). Patched: the cast is added, the rest kept.
   Upstream: none found.
6. Integer sums are floats. The emulator computes SUM, AVG, MEDIAN and the variances over
   ``try_cast(<argument> as double)`` (``numeric_agg_implicit_cast``, for Snowflake's implicit
   cast of text to numbers), so a sum of integers is a DOUBLE where Snowflake's is
   NUMBER(38, 0), and its text is '1.0' where Snowflake's (and DuckDB's) is '1': a key built
   from it (the attribution journeys' ``journey_number``) differs. Patched: a DOUBLE cast to
   text drops a trailing '.0', as Snowflake's text of a whole float has none. Upstream: none
   found.

7. User-defined functions. fakesnow translates ``create function`` to a DuckDB macro whose
   body is the UDF's body as a string literal (and drops SECURE, LANGUAGE and HANDLER), so a
   Python UDF (journeymap's privacy functions, journeymap.privacy.snowflake_udf_statements)
   returns its own source text. Patched: a ``create [or replace] [secure] function ...
   language python ... handler = '<name>' as $$<body>$$`` over text arguments runs its body
   and registers the handler on the emulator's DuckDB as a Python function of that name, as
   Snowflake runs the body in its Python runtime (NULL arguments reach the handler as None);
   a replaced function calls the new body (DuckDB lets only the registering session drop a
   Python function, so the emulator registers each name once, as a call to its latest body).
   Upstream: none found.

What the emulator cannot show at all, and what therefore rests on the sqlglot guard
(tests/helpers/snowflake_sql.py, run by tests/integration/test_snowflake_sql.py in
`make test`) and on documentation: Snowflake's own function set and syntax (the emulator runs
DuckDB underneath, so a DuckDB-only function passes it), fixed-point NUMBER arithmetic (ratios
are rounded to Snowflake's division scale, DuckDB divides in double precision), transient
tables and clustering keys (accepted and ignored), query tags in ``query_history``, and
warehouse credits.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
from pathlib import Path
from typing import Any

from sqlglot import exp

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


def _temporary_tables_in_named_schemas(statement: exp.Expr) -> exp.Expr:
    """Gap 2: `create temporary table db.schema.name` becomes an ordinary table."""
    if isinstance(statement, exp.Create):
        table = statement.find(exp.Table)
        temporary = statement.find(exp.TemporaryProperty)
        if table is not None and temporary is not None and (table.catalog or table.db):
            temporary.pop()
    return statement


def _formatted_timestamps(statement: exp.Expr) -> exp.Expr:
    """Gap 4: `to_varchar(timestamp, '<format>')` formats as Snowflake does (DuckDB's strftime
    with the format translated) instead of dropping the format."""
    from sqlglot.dialects.snowflake import Snowflake
    from sqlglot.time import format_time

    def strftime(node: exp.Expr) -> exp.Expr:
        pattern = node.args.get("format") if isinstance(node, exp.ToChar) else None
        if not isinstance(pattern, exp.Literal) or not pattern.is_string:
            return node
        translated = format_time(pattern.name, Snowflake.TIME_MAPPING, Snowflake.TIME_TRIE)
        return exp.TimeToStr(this=node.this, format=exp.Literal.string(translated))

    return statement.transform(strftime)


def _trim_keeps_its_characters() -> None:
    """Gap 5: TRIM, LTRIM and RTRIM keep the characters and the side they trim."""
    import fakesnow.transforms

    def trim_cast_varchar(expression: exp.Expr) -> exp.Expr:
        if not isinstance(expression, exp.Trim):
            return expression
        operand = expression.this
        if isinstance(operand, exp.Cast) and operand.to.is_type("varchar", "text"):
            return expression
        expression.set("this", exp.Cast(this=operand, to=exp.DataType.build("varchar")))
        return expression

    fakesnow.transforms.trim_cast_varchar = trim_cast_varchar


def _whole_floats_as_text(statement: exp.Expr) -> exp.Expr:
    """Gap 6: `cast(x as varchar)` of a DOUBLE holding a whole number gives '1', not '1.0'
    (decided by the value's type when DuckDB binds it, so any argument type still binds).
    Innermost casts first, so a cast inside another one is rewritten too."""
    casts = [
        node
        for node in statement.find_all(exp.Cast, bfs=True)
        if type(node) is exp.Cast
        and node.to.is_type("varchar", "text")
        and not isinstance(node.this, (exp.DPipe, exp.Concat, exp.Literal, exp.Cast))
    ]
    for node in reversed(casts):  # breadth-first, reversed: the deepest first
        is_float = exp.In(
            this=exp.Anonymous(this="typeof", expressions=[node.this.copy()]),
            expressions=[exp.Literal.string("DOUBLE"), exp.Literal.string("FLOAT")],
        )
        whole = exp.RegexpReplace(
            this=node.copy(),
            expression=exp.Literal.string(r"\.0$"),
            replacement=exp.Literal.string(""),
        )
        node.replace(exp.Case(ifs=[exp.If(this=is_float, true=whole)], default=node.copy()))
    return statement


# Gap 7: the handlers of the Python UDFs created so far, by name. Each name is registered once
# on the emulator's own DuckDB connection, as a call to whatever handler its latest ``create``
# defined: DuckDB lets only the registering connection drop a Python function, and a function
# registered on a session's connection crashes the server once that session has closed.
_UDF_HANDLERS: dict[str, Any] = {}


def _python_udf(database: Any, statement: exp.Expr) -> exp.Expr:
    """Gap 7: a Python UDF over text runs its body and becomes a Python function of the DuckDB
    connection ``database`` (one that lives as long as the emulator)."""
    if not (isinstance(statement, exp.Create) and statement.kind == "FUNCTION"):
        return statement
    properties = statement.args.get("properties")
    found = {type(p).__name__: p for p in (properties.expressions if properties else [])}
    language = found.get("LanguageProperty")
    if language is None or language.name.lower() != "python":
        return statement
    function = statement.this
    name = function.this.name.lower()
    arguments = function.expressions
    if any(not a.args["kind"].is_type(*exp.DataType.TEXT_TYPES) for a in arguments):
        raise NotImplementedError(f"the emulator runs Python UDFs over text only: {name}")
    if name in _UDF_HANDLERS and not statement.args.get("replace"):  # as Snowflake says
        raise NotImplementedError(f"function {name} exists (the emulator needs 'or replace')")
    namespace: dict[str, Any] = {"__name__": f"udf_{name}"}
    exec(statement.expression.name, namespace)  # the UDF's own body, as Snowflake runs it
    _UDF_HANDLERS[name] = namespace[found["HandlerProperty"].this.name]
    registered = database.execute(
        "select function_name from duckdb_functions() where function_name = ?", [name]
    ).fetchall()
    if not registered:
        database.create_function(
            name,
            lambda *values: _UDF_HANDLERS[name](*values),
            ["VARCHAR"] * len(arguments),
            "VARCHAR",
            null_handling="special",
        )
    return exp.select(exp.Literal.string(f"Function {name.upper()} successfully created."))


STATEMENT_REWRITES = (_temporary_tables_in_named_schemas, _formatted_timestamps)
TRANSLATED_REWRITES = (_whole_floats_as_text,)


def _rewrite_statements() -> None:
    """Gaps 2 and 4: rewrite a statement before fakesnow translates it; gap 6: after; gap 7:
    a Python UDF is registered instead of translated."""
    import fakesnow.cursor
    import fakesnow.server

    transform = fakesnow.cursor.FakeSnowflakeCursor._transform

    def _transform(self: Any, expression: exp.Expr, params: Any) -> exp.Expr:
        expression = _python_udf(fakesnow.server.shared_fs.duck_conn, expression)
        for rewrite in STATEMENT_REWRITES:
            expression = rewrite(expression)
        expression = transform(self, expression, params)
        for rewrite in TRANSLATED_REWRITES:
            expression = rewrite(expression)
        return expression

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


EMULATOR_PATCHES = (_keep_timestamp_nulls, _rewrite_statements, _trim_keeps_its_characters)


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
