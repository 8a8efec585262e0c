"""The baseline: the core of the warehouse's work as one hand-written DuckDB SQL pass.

It reads the same raw tables the dbt project reads (after the same load) and does what the
warehouse exists for, with nothing dbt adds (no staging views, no tests, no incremental
bookkeeping, no surrogate-key hashing, no wide mart columns):

1. tracked events (raw web + app events) and orders, deduplicated by id (latest load wins,
   as the staging models do), raw names mapped through ``seeds/event_taxonomy.csv``
   (LIKE patterns, highest priority wins);
2. identity stitching: a device belongs to the first user seen on it (``raw.identifies`` and
   events carrying both ids); an event's customer key is its user id, else its device's owner,
   else ``anon:<anonymous_id>``;
3. sessionization per device (``anonymous_id``) with the same 30-minute timeout;
4. one path string per session (canonical steps, consecutive repeats collapsed, unmapped left
   out, cut at 12 steps);
5. the funnel ``purchase`` of ``seeds/funnel_definitions.csv`` per customer: strict order,
   168-hour window from the first step-1 event, steps unrolled from the seed.

Every step is materialized as a table in schema ``baseline`` (the dbt project materializes its
results too). The funnel, session and event counts are compared with the dbt marts afterwards
(``compare_with_dbt``) so the baseline is known to do the same work.
"""

from __future__ import annotations

import csv
import time
from pathlib import Path

import duckdb

from journeymap.warehouse import quote_literal

SEEDS_DIR = Path(__file__).resolve().parent.parent / "seeds" / "defaults"
SESSION_TIMEOUT_MINUTES = 30  # dbt var session_timeout_minutes
MAX_PATH_STEPS = 12  # dbt var max_path_steps
FUNNEL = "purchase"  # dbt var primary_funnel
# The marts the baseline's counts are compared with (and the harness counts events in). They are
# the project's public contract, so they are named here; the models behind them may change.
EVENTS_MART = "marts.fct_events"
SESSIONS_MART = "marts.fct_sessions"
FUNNEL_MART = "marts.fct_funnel_steps"


def _funnel_steps(funnel: str) -> list[dict[str, str]]:
    with (SEEDS_DIR / "funnel_definitions.csv").open() as handle:
        steps = [row for row in csv.DictReader(handle) if row["funnel_name"] == funnel]
    return sorted(steps, key=lambda row: int(row["step_number"]))


def _tracked(table: str) -> str:
    return f"""
        select '{table}' as source, event_id, event_name as raw_event_name,
            nullif(trim(anonymous_id), '') as anonymous_id,
            nullif(trim(user_id), '') as user_id,
            occurred_at, _loaded_at, _file_name, _row_number
        from raw.{table}"""


def statements(funnel: str = FUNNEL) -> list[tuple[str, str]]:
    """(label, SQL) in execution order."""
    taxonomy = quote_literal(str(SEEDS_DIR / "event_taxonomy.csv"))
    steps = _funnel_steps(funnel)
    if not steps:
        raise ValueError(f"funnel {funnel!r} is not in funnel_definitions.csv")
    if steps[0]["ordering_mode"] != "strict":
        raise ValueError("the baseline implements strict funnels only")
    window_hours = int(steps[0]["conversion_window_hours"])
    step_values = ", ".join(
        f"({int(s['step_number'])}, {quote_literal(s['canonical_event'])})" for s in steps
    )
    timeout = f"interval {SESSION_TIMEOUT_MINUTES} minute"

    sql: list[tuple[str, str]] = [
        ("schema", "create schema if not exists baseline"),
        (
            "taxonomy",
            f"""
            create or replace table baseline.taxonomy as
            select source, event_name_pattern, priority::integer as priority, canonical_event,
                is_conversion::boolean as is_conversion
            from read_csv({taxonomy}, header = true, all_varchar = true)
            """,
        ),
        (
            "events (dedupe + taxonomy)",
            f"""
            create or replace table baseline.events as
            with raw_events as (
                {_tracked("web_events")}
                union all
                {_tracked("app_events")}
                union all
                select 'orders', order_id, 'order_' || status, null, customer_id,
                    occurred_at, _loaded_at, _file_name, _row_number
                from raw.orders
            ),
            deduplicated as (
                select * from raw_events
                qualify row_number() over (
                    partition by source, event_id
                    order by _loaded_at desc, _file_name desc, _row_number desc
                ) = 1
            ),
            names as (select distinct source, raw_event_name from deduplicated),
            mapped as (
                select names.source, names.raw_event_name, taxonomy.canonical_event
                from names
                join baseline.taxonomy as taxonomy
                    on names.source = taxonomy.source
                    and names.raw_event_name like taxonomy.event_name_pattern
                qualify row_number() over (
                    partition by names.source, names.raw_event_name
                    order by taxonomy.priority desc, taxonomy.event_name_pattern
                ) = 1
            )
            select
                deduplicated.source, deduplicated.event_id, deduplicated.anonymous_id,
                deduplicated.user_id, deduplicated.occurred_at,
                coalesce(mapped.canonical_event, 'unmapped') as canonical_event
            from deduplicated
            left join mapped using (source, raw_event_name)
            """,
        ),
        (
            "device owners (identity stitching)",
            """
            create or replace table baseline.device_owners as
            with sightings as (
                select nullif(trim(anonymous_id), '') as anonymous_id,
                    nullif(trim(user_id), '') as user_id, occurred_at
                from raw.identifies
                union all
                select anonymous_id, user_id, occurred_at
                from baseline.events
                where anonymous_id is not null and user_id is not null
            )
            select anonymous_id, arg_min(user_id, (occurred_at, user_id)) as customer_id
            from sightings
            where anonymous_id is not null and user_id is not null
            group by anonymous_id
            """,
        ),
        (
            "sessionized events",
            f"""
            create or replace table baseline.sessionized_events as
            with keyed as (
                select
                    events.*,
                    coalesce(events.user_id, owners.customer_id, 'anon:' || events.anonymous_id)
                        as customer_key,
                    case when events.source <> 'orders'
                        then coalesce(events.anonymous_id, 'user:' || events.user_id)
                    end as session_partition
                from baseline.events as events
                left join baseline.device_owners as owners
                    on events.anonymous_id = owners.anonymous_id
            ),
            gaps as (
                select
                    *,
                    lag(occurred_at) over w as previous_at,
                    lag(canonical_event) over w as previous_event
                from keyed
                window w as (partition by session_partition order by occurred_at, event_id)
            ),
            flagged as (
                select
                    *,
                    session_partition is not null
                        and (previous_at is null or occurred_at - previous_at > {timeout})
                        as is_session_start
                from gaps
            )
            select
                * exclude (previous_at, previous_event),
                case when session_partition is not null then sum(is_session_start::integer) over (
                    partition by session_partition order by occurred_at, event_id
                    rows between unbounded preceding and current row
                ) end as session_number,
                canonical_event <> 'unmapped'
                    and (is_session_start or previous_event is distinct from canonical_event)
                    as is_path_step
            from flagged
            """,
        ),
        (
            "sessions + paths",
            f"""
            create or replace table baseline.sessions as
            select
                session_partition,
                session_number,
                max(customer_key) as customer_key,
                min(occurred_at) as started_at,
                max(occurred_at) as ended_at,
                count(*) as events,
                array_to_string(
                    (list(canonical_event order by occurred_at, event_id)
                        filter (where is_path_step))[1:{MAX_PATH_STEPS}],
                    ' > '
                ) as path
            from baseline.sessionized_events
            where session_partition is not null
            group by session_partition, session_number
            """,
        ),
        (
            "path summary",
            """
            create or replace table baseline.path_summary as
            select path, count(*) as sessions
            from baseline.sessions
            group by path
            """,
        ),
    ]

    # Funnel: entry at the first step-1 event; step n at the first step-n event not before
    # step n-1 (strict) and within the window from entry.
    chain = [
        f"""
        funnel_events as (
            select events.customer_key, steps.step_number, events.occurred_at
            from baseline.sessionized_events as events
            join (values {step_values}) as steps(step_number, canonical_event)
                on events.canonical_event = steps.canonical_event
        ),
        step_1 as (
            select customer_key, min(occurred_at) as entered_at, min(occurred_at) as reached_at
            from funnel_events
            where step_number = 1
            group by customer_key
        ),
        in_window as (
            select funnel_events.*
            from funnel_events
            join step_1 using (customer_key)
            where funnel_events.step_number > 1
                and funnel_events.occurred_at >= step_1.entered_at
                and funnel_events.occurred_at <= step_1.entered_at + interval {window_hours} hour
        )"""
    ]
    for n in range(2, len(steps) + 1):
        chain.append(
            f"""
        step_{n} as (
            select previous.customer_key, previous.entered_at, min(next.occurred_at) as reached_at
            from step_{n - 1} as previous
            join in_window as next
                on next.customer_key = previous.customer_key
                and next.step_number = {n}
                and next.occurred_at >= previous.reached_at
            group by previous.customer_key, previous.entered_at
        )"""
        )
    counts = "\n            union all\n".join(
        f"            select {n} as step_number, count(*) as customers from step_{n}"
        for n in range(1, len(steps) + 1)
    )
    sql.append(
        (
            "funnel",
            f"""
            create or replace table baseline.funnel_steps as
            with {",".join(chain)}
{counts}
            """,
        )
    )
    return sql


def _scalar(connection: duckdb.DuckDBPyConnection, sql: str) -> int:
    return connection.execute(sql).fetchone()[0]


def _baseline_counts(connection: duckdb.DuckDBPyConnection) -> dict:
    return {
        "events": _scalar(connection, "select count(*) from baseline.events"),
        "sessions": _scalar(connection, "select count(*) from baseline.sessions"),
        "funnel": dict(
            connection.execute(
                "select step_number, customers from baseline.funnel_steps order by step_number"
            ).fetchall()
        ),
    }


def run_baseline(connection: duckdb.DuckDBPyConnection) -> dict:
    """Run every statement; returns total seconds and seconds per statement."""
    connection.execute("set TimeZone = 'UTC'")
    per_step: dict[str, float] = {}
    started = time.perf_counter()
    for label, sql in statements():
        step_started = time.perf_counter()
        connection.execute(sql)
        per_step[label] = round(time.perf_counter() - step_started, 3)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "steps": per_step, "counts": _baseline_counts(connection)}


def compare_with_dbt(connection: duckdb.DuckDBPyConnection, dbt_duckdb_path: Path) -> dict:
    """The baseline's counts next to the dbt marts' (attached read-only)."""
    connection.execute(f"attach {quote_literal(str(dbt_duckdb_path))} as built (read_only)")
    try:
        dbt_counts = {
            "events": _scalar(
                connection,
                f"select count(*) from built.{EVENTS_MART} "
                "where source in ('web_events', 'app_events', 'orders')",
            ),
            "sessions": _scalar(connection, f"select count(*) from built.{SESSIONS_MART}"),
            "funnel": dict(
                connection.execute(
                    f"select step_number, completed from built.{FUNNEL_MART} "
                    f"where funnel_name = {quote_literal(FUNNEL)} and breakdown = 'all' "
                    "order by step_number"
                ).fetchall()
            ),
        }
    finally:
        connection.execute("detach built")
    base = _baseline_counts(connection)
    return {
        "baseline": base,
        "dbt": dbt_counts,
        "same_events": base["events"] == dbt_counts["events"],
        "same_sessions": base["sessions"] == dbt_counts["sessions"],
        "same_funnel": base["funnel"] == dbt_counts["funnel"],
    }
