"""The Snowflake SQL guard: is every compiled model (and data test) Snowflake SQL?

The Snowflake emulator runs DuckDB underneath, so a DuckDB-only function in a model passes
it; and sqlglot's Snowflake parser (the one fakesnow uses) accepts any ``name(...)`` as a
function call. So the guard parses each compiled node with sqlglot as Snowflake SQL and then
checks what a parse lets through:

- every function called is journeymap's own UDF (``JOURNEYMAP_UDFS``) or a Snowflake
  built-in (``SNOWFLAKE_FUNCTIONS``, the names of
  https://docs.snowflake.com/en/sql-reference/functions-all that SQL models use: aggregate,
  window, conditional, string, regular expression, numeric, date and time, conversion,
  semi-structured, hash and context functions);
- every type cast to is a Snowflake type;
- no aggregate ``FILTER (WHERE ...)`` clause (DuckDB's; Snowflake has COUNT_IF, IFF...);
- intervals are string literals (``interval '30 minutes'``), Snowflake's only form.

Nodes are compiled with dbt-snowflake against fakesnow in this process (no server): once on
an empty database (first builds) and once after every incremental model's table exists, so
the incremental branches are checked too. Run it by hand: ``python -m tests.helpers.snowflake_sql``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError
from sqlglot.tokens import TokenType

from journeymap.privacy import SQL_FUNCTIONS
from journeymap.settings import PROJECT_DIR


def _names(words: str) -> frozenset[str]:
    return frozenset(words.upper().split())


# journeymap's own functions, created on Snowflake before dbt builds (journeymap.privacy's secure
# Python UDFs, journeymap.transform.prepare_warehouse).
JOURNEYMAP_UDFS = _names(" ".join(SQL_FUNCTIONS))


SNOWFLAKE_FUNCTIONS = _names(
    """
    any_value approx_count_distinct approx_percentile approx_top_k array_agg array_union_agg
    array_unique_agg avg bitand_agg bitor_agg bitxor_agg booland_agg boolor_agg boolxor_agg
    corr count count_if covar_pop covar_samp grouping grouping_id hash_agg hll kurtosis listagg
    max max_by median min min_by mode object_agg percentile_cont percentile_disc regr_avgx
    regr_avgy regr_count regr_intercept regr_r2 regr_slope regr_sxx regr_sxy regr_syy skew
    stddev stddev_pop stddev_samp sum var_pop var_samp variance variance_pop variance_samp
    cume_dist dense_rank first_value lag last_value lead nth_value ntile percent_rank rank
    ratio_to_report row_number conditional_change_event conditional_true_event
    booland boolnot boolor boolxor coalesce decode equal_null greatest greatest_ignore_nulls
    iff ifnull least least_ignore_nulls nullif nullifzero nvl nvl2 zeroifnull
    ascii base64_decode_string base64_encode bit_length charindex chr char collate collation
    concat concat_ws contains editdistance endswith hex_decode_string hex_encode initcap insert
    jarowinkler_similarity left len length lower lpad ltrim octet_length parse_url position
    repeat replace reverse right rpad rtrim rtrimmed_length soundex space split split_part
    startswith strtok strtok_to_array substr substring translate trim try_base64_decode_string
    try_hex_decode_string unicode upper uuid_string randstr
    regexp_count regexp_instr regexp_like regexp_replace regexp_substr regexp_substr_all rlike
    abs acos acosh asin asinh atan atan2 atanh cbrt ceil cos cosh cot degrees div0 div0null exp
    factorial floor haversine ln log mod pi pow power radians round sign sin sinh sqrt square
    tan tanh trunc truncate width_bucket random uniform normal zipf seq1 seq2 seq4 seq8
    bitand bitnot bitor bitxor bitshiftleft bitshiftright getbit
    add_months convert_timezone current_date current_time current_timestamp date_from_parts
    date_part date_trunc dateadd datediff dayname day dayofmonth dayofweek dayofweekiso
    dayofyear extract hour last_day localtime localtimestamp minute month monthname
    months_between next_day previous_day quarter second sysdate getdate time_from_parts
    time_slice timeadd timediff timestamp_from_parts timestamp_ltz_from_parts
    timestamp_ntz_from_parts timestamp_tz_from_parts timestampadd timestampdiff week weekiso
    weekofyear year yearofweek yearofweekiso date time
    cast try_cast to_array to_binary to_boolean to_char to_varchar to_date to_decimal to_number
    to_numeric to_double to_geography to_geometry to_json to_object to_time to_timestamp
    to_timestamp_ltz to_timestamp_ntz to_timestamp_tz to_variant to_xml try_to_binary
    try_to_boolean try_to_date try_to_decimal try_to_number try_to_numeric try_to_double
    try_to_time try_to_timestamp try_to_timestamp_ltz try_to_timestamp_ntz try_to_timestamp_tz
    array_append array_cat array_compact array_construct array_construct_compact
    array_contains array_distinct array_except array_flatten array_generate_range array_insert
    array_intersection array_max array_min array_position array_prepend array_remove
    array_remove_at array_size array_slice array_sort array_to_string arrays_overlap
    arrays_to_object as_array as_boolean as_char as_varchar as_date as_decimal as_number
    as_double as_real as_integer as_object as_time as_timestamp_ltz as_timestamp_ntz
    as_timestamp_tz check_json flatten get get_ignore_case get_path is_array is_boolean is_char
    is_varchar is_date is_date_value is_decimal is_double is_real is_integer is_null_value
    is_object is_time is_timestamp_ltz is_timestamp_ntz is_timestamp_tz json_extract_path_text
    object_construct object_construct_keep_null object_delete object_insert object_keys
    object_pick parse_json try_parse_json parse_xml strip_null_value typeof filter transform
    reduce
    hash md5 md5_hex md5_binary md5_number_lower64 md5_number_upper64 sha1 sha1_hex sha1_binary
    sha2 sha2_hex sha2_binary
    current_account current_database current_role current_schema current_schemas
    current_session current_statement current_transaction current_user current_version
    current_warehouse current_region current_client last_query_id last_transaction
    generator result_scan split_to_table strtok_split_to_table identifier
    """
)

# sqlglot's names for the types Snowflake has (NUMBER parses as DECIMAL, TIMESTAMP_NTZ as
# TIMESTAMPNTZ, STRING and TEXT as VARCHAR...).
SNOWFLAKE_TYPES = _names(
    """
    varchar char nchar nvarchar text binary varbinary boolean date time datetime timestamp
    timestampntz timestampltz timestamptz decimal bigint int smallint tinyint double float
    variant object struct array map geography geometry vector
    """
)

# Keywords a parenthesis may follow without a function call.
_NOT_CALLS = _names(
    """
    as in over exists values using on where and or not then else when select from join by all
    any some distinct union intersect except minus having qualify case is like ilike between
    with lateral table into recursive limit offset
    """
)
_SNOWFLAKE = sqlglot.Dialect.get_or_raise("snowflake")
_TYPE_TOKENS = _SNOWFLAKE.parser_class.TYPE_TOKENS


def called_functions(sql: str) -> list[str]:
    """The names of the functions ``sql`` calls, as written (upper case)."""
    tokens = _SNOWFLAKE.tokenize(sql)
    names = []
    for index, token in enumerate(tokens[:-1]):
        if tokens[index + 1].token_type != TokenType.L_PAREN:
            continue
        before = tokens[index - 1].text.upper() if index else ""
        name = token.text.upper()
        if before in ("AS", "WITHIN", "INTO") or name in _NOT_CALLS:
            continue  # a column list, WITHIN GROUP, a CTE or a clause
        if token.token_type in _TYPE_TOKENS and name not in SNOWFLAKE_FUNCTIONS:
            continue  # a type with parameters (varchar(16), number(38, 0)): checked below
        if token.token_type == TokenType.VAR or name.isidentifier():
            names.append(name)
    return names


def snowflake_sql_problems(sql: str) -> list[str]:
    """What in ``sql`` is not Snowflake SQL (empty when nothing is found)."""
    try:
        statements = sqlglot.parse(sql, read="snowflake")
    except ParseError as error:
        return [f"does not parse as Snowflake SQL: {str(error).splitlines()[0]}"]
    problems = [
        f"{name}() is not a Snowflake function"
        for name in sorted(set(called_functions(sql)) - SNOWFLAKE_FUNCTIONS - JOURNEYMAP_UDFS)
    ]
    problems += _unquoted_intervals(sql)
    for statement in filter(None, statements):
        for node in statement.walk():
            problems.extend(_node_problems(node))
    return sorted(set(problems))


def _node_problems(node: exp.Expr) -> list[str]:
    if isinstance(node, exp.Filter):
        return ["an aggregate FILTER (WHERE ...) clause (Snowflake: count_if, iff inside)"]
    if isinstance(node, exp.DataType) and node.this.name not in SNOWFLAKE_TYPES:
        return [f"{node.sql(dialect='duckdb')} is not a Snowflake type"]
    return []


def _unquoted_intervals(sql: str) -> list[str]:
    """``interval 30 minute``: DuckDB's; Snowflake's intervals are string literals only
    (sqlglot's parse quotes the number, so this looks at the tokens)."""
    tokens = _SNOWFLAKE.tokenize(sql)
    return [
        "an interval that is not a string literal (Snowflake: interval '30 minutes')"
        for token, following in zip(tokens, tokens[1:], strict=False)
        if token.token_type == TokenType.INTERVAL and following.token_type != TokenType.STRING
    ]


@dataclass(frozen=True)
class GuardReport:
    """Problems by compiled node (``model.journeymap.fct_events`` -> [...])."""

    problems: dict[str, list[str]]
    checked: int

    def describe(self) -> str:
        return "\n".join(
            f"{node}: {problem}" for node, items in self.problems.items() for problem in items
        )


def check_nodes(compiled: Mapping[str, str]) -> GuardReport:
    problems = {}
    for node, sql in compiled.items():
        found = snowflake_sql_problems(sql)
        if found:
            problems[node] = found
    return GuardReport(problems, len(compiled))


# ------------------------------------------------------------------ compiling for Snowflake

COMPILE_ENV = {
    "JOURNEYMAP_TARGET": "snowflake",
    "SNOWFLAKE_ACCOUNT": "guard",
    "SNOWFLAKE_USER": "guard",
    "SNOWFLAKE_PASSWORD": "guard",
    "SNOWFLAKE_DATABASE": "JOURNEYMAP",
    "SNOWFLAKE_SCHEMA": "PUBLIC",
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
}


def compile_for_snowflake(
    target_dir: Path, project_dir: Path = PROJECT_DIR, select: Iterable[str] = ()
) -> dict[str, str]:
    """Compiled SQL of every model and test (``select``: a dbt selection) for the Snowflake
    target: the first build and, for incremental models, the incremental run. Runs dbt in a
    subprocess (dbt keeps global state) with the connector patched by fakesnow."""
    target_dir.mkdir(parents=True, exist_ok=True)
    output = target_dir / "compiled_for_snowflake.json"
    project = _guard_copy(project_dir, target_dir / "project")
    command = [sys.executable, "-m", "tests.helpers.snowflake_sql", "compile"]
    command += [str(project), str(target_dir), str(output), *select]
    env = {**os.environ, **COMPILE_ENV, "PYTHONPATH": str(PROJECT_DIR)}
    completed = subprocess.run(command, cwd=PROJECT_DIR, env=env, capture_output=True, text=True)
    if completed.returncode != 0:
        raise RuntimeError(f"compiling for Snowflake failed:\n{completed.stdout[-3000:]}")
    return json.loads(output.read_text())


PROJECT_PARTS = ("dbt_project.yml", "profiles.yml", "models", "macros", "seeds", "tests/dbt")
# dbt rebuilds an incremental model from scratch when no settings were recorded for its table
# (macros/settings_state.sql), and the guard's empty tables have none: in the guard's copy of
# the project every model's settings read as unchanged, so the incremental branch compiles.
SETTINGS_MACROS = Path("macros/settings_state.sql")
SETTINGS_READ = "{%- set current = journeymap.model_settings() -%}"


def _guard_copy(project_dir: Path, copy: Path) -> Path:
    """The dbt project copied to ``copy``, its settings check answering 'unchanged'."""
    shutil.rmtree(copy, ignore_errors=True)
    for part in PROJECT_PARTS:
        source = project_dir / part
        if source.is_dir():
            shutil.copytree(source, copy / part, symlinks=True)
        elif source.exists():
            copy.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, copy / part)
    macros = copy / SETTINGS_MACROS
    text = macros.read_text()
    if SETTINGS_READ not in text:
        raise RuntimeError(f"{SETTINGS_MACROS} no longer reads {SETTINGS_READ!r}: update the guard")
    macros.write_text(text.replace(SETTINGS_READ, "{{ return([]) }}\n    " + SETTINGS_READ, 1))
    return copy


def _compile(project_dir: Path, target_dir: Path, output: Path, select: list[str]) -> None:
    """In a fresh process: compile on an empty emulated database, create an empty table for
    every incremental model, compile again; write {node (and '#incremental'): sql}."""
    import fakesnow
    import snowflake.connector
    from dbt.cli.main import dbtRunner

    args = ["compile", "--project-dir", str(project_dir), "--profiles-dir", str(project_dir)]
    args += ["--target-path", str(target_dir), "--quiet"]
    phases = {  # the second compiles only what has an incremental branch
        "": ["--select", *select] if select else [],
        "#incremental": ["--select", "config.materialized:incremental"],
    }
    compiled: dict[str, str] = {}
    with fakesnow.patch():
        # The database and dbt's default schema exist before dbt's threads connect at once
        # (each would create them, and the emulator's catalog writes would conflict).
        connection = snowflake.connector.connect(
            database=COMPILE_ENV["SNOWFLAKE_DATABASE"], schema=COMPILE_ENV["SNOWFLAKE_SCHEMA"]
        )
        for phase, selection in phases.items():
            result = dbtRunner().invoke(args + selection)
            if not result.success:
                raise SystemExit(f"dbt compile failed: {result.exception}")
            manifest = json.loads((target_dir / "manifest.json").read_text())
            nodes = manifest["nodes"].values()
            for node in nodes:
                if node.get("compiled_code") and _in_phase(node, phase):
                    compiled[node["unique_id"] + phase] = node["compiled_code"]
            if not phase:
                _create_incremental_models(connection, nodes)
    output.write_text(json.dumps(compiled))


def _is_incremental(node: dict) -> bool:
    return node["resource_type"] == "model" and node["config"]["materialized"] == "incremental"


def _in_phase(node: dict, phase: str) -> bool:
    return _is_incremental(node) if phase else node["resource_type"] in ("model", "test")


def _create_incremental_models(connection, nodes) -> None:
    cursor = connection.cursor()
    for node in filter(_is_incremental, nodes):
        schema = f"{node['database']}.{node['schema']}"
        cursor.execute(f"create schema if not exists {schema}")
        cursor.execute(f"create table if not exists {schema}.{node['alias']} (id integer)")


def main() -> None:
    if sys.argv[1:2] == ["compile"]:
        project_dir, target_dir, output, *select = sys.argv[2:]
        _compile(Path(project_dir), Path(target_dir), Path(output), select)
        return
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        report = check_nodes(compile_for_snowflake(Path(folder)))
    print(report.describe() or f"{report.checked} compiled nodes are Snowflake SQL")
    sys.exit(1 if report.problems else 0)


if __name__ == "__main__":
    main()
