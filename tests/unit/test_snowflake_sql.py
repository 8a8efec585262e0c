"""The Snowflake SQL guard's checks on SQL text (tests/helpers/snowflake_sql.py)."""

from __future__ import annotations

import pytest

from journeymap.quality.suites import SUITES
from tests.helpers.snowflake_sql import called_functions, snowflake_sql_problems

SNOWFLAKE_SQL = [
    # What the models compile to on Snowflake, and other Snowflake idioms.
    "select md5(cast(coalesce(cast(a as varchar), '_null_') as varchar)) as k from t",
    "select percentile_cont(0.5) within group (order by x) from t",
    "select listagg(e, ' > ') within group (order by i) from t group by p",
    "select dateadd(minute, 30, a), datediff('second', a, b), convert_timezone('UTC', "
    "current_timestamp()) from t",
    "select min_by(c, k), max_by(c, k), count_if(x > 1), iff(a, 1, 2) from t",
    "select rtrim(rtrim(to_varchar(ts, 'YYYY-MM-DD HH24:MI:SS.FF6'), '0'), '.') from t",
    "select * from t qualify row_number() over (partition by a order by b) = 1",
    "select cast(a as number(38, 0)), a::timestamp_ntz, cast(b as varchar(16)) from t",
    "select a + interval '30 minutes' from t",
    "with x as (select 1 as a) select * from x as y (b) where exists (select 1 from x)",
]


@pytest.mark.parametrize("sql", SNOWFLAKE_SQL)
def test_snowflake_sql_passes(sql: str) -> None:
    assert snowflake_sql_problems(sql) == []


@pytest.mark.parametrize(
    ("sql", "problem"),
    [
        ("select regexp_full_match(a, 'x') from t", "REGEXP_FULL_MATCH() is not"),
        ("select string_agg(a, ',') from t", "STRING_AGG() is not"),
        ("select starts_with(a, 'x') from t", "STARTS_WITH() is not"),  # Snowflake: STARTSWITH
        ("select date_diff('day', a, b) from t", "DATE_DIFF() is not"),
        ("select arg_max(a, b), list(a) from t", "ARG_MAX() is not"),
        ("select getvariable('x') from t", "GETVARIABLE() is not"),
        ("select count(*) filter (where a) from t", "FILTER (WHERE"),
        ("select cast(a as hugeint) from t", "INT128 is not a Snowflake type"),
        ("select cast(a as json) from t", "JSON is not a Snowflake type"),
        ("select a + interval 30 minute from t", "interval that is not a string"),
        ("select cast(a as ubigint) from t", "does not parse as Snowflake SQL"),
    ],
)
def test_duckdb_only_sql_is_named(sql: str, problem: str) -> None:
    problems = snowflake_sql_problems(sql)
    assert any(problem in found for found in problems), problems


def test_function_names_are_read_as_written() -> None:
    sql = "select left(a, 2), coalesce(b, c), lag(d) over (order by e) from t as x (a, b)"
    assert called_functions(sql) == ["LEFT", "COALESCE", "LAG"]


@pytest.mark.parametrize("suite", sorted(SUITES))
def test_every_quality_suite_queries_snowflake_sql(suite: str) -> None:
    """The Great Expectations suites' own SQL (row selects, reconciliations, freshness) runs
    on Snowflake too, where the emulator cannot tell DuckDB-only SQL apart."""
    for relation in SUITES[suite].relations:
        assert snowflake_sql_problems(relation.query) == [], f"{suite}: {relation.name}"
