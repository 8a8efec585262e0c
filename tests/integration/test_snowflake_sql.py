"""The Snowflake SQL guard in `make test` (tests/helpers/snowflake_sql.py): every model and
data test, compiled by dbt-snowflake (first builds and incremental runs), is Snowflake SQL;
and a model using a DuckDB-only function fails the guard, naming the model and function."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass

import pytest

from journeymap.settings import PROJECT_DIR
from tests.helpers.snowflake_sql import check_nodes, compile_for_snowflake

pytestmark = pytest.mark.integration

PLANTED = "model.journeymap.planted_duckdb_only"
# A DuckDB habit in a model: regexp_full_match and epoch_ms exist in DuckDB only (Snowflake:
# regexp_like, date_part(epoch_millisecond, ...)); the emulator runs DuckDB underneath and
# would run this model without complaint.
PLANTED_SQL = """
with events as (

    select * from {{ ref('int_events_sessionized') }}

),

final as (

    select
        event_key,
        regexp_full_match(page_url, '.*/checkout.*') as is_checkout_page,
        epoch_ms(occurred_at) as occurred_at_ms
    from events

)

select * from final
"""


@dataclass(frozen=True)
class Compiled:
    sql: dict[str, str]  # node id (and "<id>#incremental") -> compiled SQL
    manifest: dict


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> Compiled:
    """The project compiled for Snowflake, with one planted model that uses DuckDB-only
    functions (in a copy: the project itself stays as it is)."""
    project = tmp_path_factory.mktemp("snowflake_sql")
    for name in ("dbt_project.yml", "profiles.yml"):
        shutil.copy2(PROJECT_DIR / name, project / name)
    for folder in ("models", "macros", "seeds", "tests/dbt"):
        shutil.copytree(PROJECT_DIR / folder, project / folder)
    (project / "models" / "marts" / "planted_duckdb_only.sql").write_text(PLANTED_SQL)
    sql = compile_for_snowflake(project / "target", project_dir=project)
    return Compiled(sql, json.loads((project / "target" / "manifest.json").read_text()))


def test_every_model_and_test_compiles_to_snowflake_sql(compiled: Compiled) -> None:
    report = check_nodes({node: sql for node, sql in compiled.sql.items() if PLANTED not in node})
    assert not report.problems, report.describe()
    models = [n for n in compiled.manifest["nodes"].values() if n["resource_type"] == "model"]
    incremental = [n for n in models if n["config"]["materialized"] == "incremental"]
    assert len(incremental) >= 10
    # Every model was checked, and every incremental model's incremental run as well.
    for node in models:
        assert node["unique_id"] in compiled.sql
    for node in incremental:
        incremental_sql = compiled.sql[node["unique_id"] + "#incremental"]
        assert incremental_sql != compiled.sql[node["unique_id"]], node["unique_id"]


def test_a_duckdb_only_function_fails_the_guard(compiled: Compiled) -> None:
    report = check_nodes({PLANTED: compiled.sql[PLANTED]})
    assert report.problems == {
        PLANTED: [
            "EPOCH_MS() is not a Snowflake function",
            "REGEXP_FULL_MATCH() is not a Snowflake function",
        ]
    }
