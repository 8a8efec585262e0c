"""The warehouse interface: DuckDB writes, one writer per file, Snowflake configuration."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from journeymap.snowflake import SnowflakeWarehouse
from journeymap.warehouse import DuckDBWarehouse, WarehouseBusyError, query_tag


def test_context_manager_creates_parent_folders_and_runs_in_utc(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "folder" / "journeymap.duckdb"
    with DuckDBWarehouse(path) as warehouse:
        warehouse.execute("create table t as select 1 as x")
        zone = warehouse.query_df("select current_setting('TimeZone') as tz")["tz"][0]
    assert path.exists()
    assert zone == "UTC"


def test_write_frame_replaces_and_appends(tmp_path: Path) -> None:
    frame = pd.DataFrame({"customer_id": ["c1", "c2"], "score": [0.5, 0.75]})
    with DuckDBWarehouse(tmp_path / "w.duckdb") as warehouse:
        assert warehouse.write_frame("ml", "scores", frame) == 2
        warehouse.write_frame("ml", "scores", frame.iloc[:1], mode="append")
        assert warehouse.query_df("select count(*) as n from ml.scores")["n"][0] == 3
        warehouse.write_frame("ml", "scores", frame.iloc[:1], mode="replace")
        result = warehouse.query_df("select * from ml.scores")
    assert result.to_dict("records") == [{"customer_id": "c1", "score": 0.5}]


def test_write_frame_rejects_unknown_mode(tmp_path: Path) -> None:
    with (
        DuckDBWarehouse(tmp_path / "w.duckdb") as warehouse,
        pytest.raises(ValueError, match="append"),
    ):
        warehouse.write_frame("ml", "t", pd.DataFrame({"a": [1]}), mode="upsert")  # type: ignore[arg-type]


def test_transaction_rolls_back_on_error(tmp_path: Path) -> None:
    with DuckDBWarehouse(tmp_path / "w.duckdb") as warehouse:
        warehouse.execute("create table t (x integer)")
        with pytest.raises(RuntimeError), warehouse.transaction() as connection:
            connection.execute("insert into t values (1)")
            raise RuntimeError("crash half way")
        assert warehouse.query_df("select count(*) as n from t")["n"][0] == 0


HOLD_LOCK = textwrap.dedent(
    """
    import sys, duckdb
    connection = duckdb.connect(sys.argv[1])
    connection.execute("create table if not exists t (x integer)")
    print("locked", flush=True)
    sys.stdin.read()  # hold the lock until the test closes stdin
    """
)


def test_second_writer_gets_a_clear_busy_error(tmp_path: Path) -> None:
    path = tmp_path / "warehouse" / "journeymap.duckdb"
    path.parent.mkdir()
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(WarehouseBusyError) as caught:
            DuckDBWarehouse(path).execute("select 1")
        message = str(caught.value)
        assert (
            f"journeymap.duckdb is being written by another process (pid {holder.pid})" in message
        )
        assert "runs that write the warehouse go one after another" in message
    finally:
        holder.communicate(input="", timeout=30)
    with DuckDBWarehouse(path) as warehouse:  # free again once the other process is done
        assert warehouse.query_df("select count(*) as n from t")["n"][0] == 0


SNOWFLAKE_ENV = {
    "SNOWFLAKE_ACCOUNT": "acme",
    "SNOWFLAKE_USER": "loader",
    "SNOWFLAKE_ROLE": "transformer",
    "SNOWFLAKE_WAREHOUSE": "compute_wh",
    "SNOWFLAKE_DATABASE": "journeymap",
}


def test_snowflake_reads_credentials_from_env_only() -> None:
    with pytest.raises(
        RuntimeError, match="SNOWFLAKE_ROLE, SNOWFLAKE_WAREHOUSE, SNOWFLAKE_DATABASE"
    ):
        SnowflakeWarehouse(env={"SNOWFLAKE_ACCOUNT": "a", "SNOWFLAKE_USER": "u"})
    with pytest.raises(RuntimeError, match="SNOWFLAKE_PASSWORD or SNOWFLAKE_PRIVATE_KEY_PATH"):
        SnowflakeWarehouse(env=SNOWFLAKE_ENV)
    tag = query_tag(run_id="r1", step="raw/orders")
    warehouse = SnowflakeWarehouse(env={**SNOWFLAKE_ENV, "SNOWFLAKE_PASSWORD": "secret"}, tag=tag)
    args = warehouse.config.connect_args(warehouse.tag)  # nothing connects until first use
    assert (args["account"], args["database"], args["password"]) == ("acme", "journeymap", "secret")
    assert args["paramstyle"] == "qmark"
    assert args["session_parameters"] == {"TIMEZONE": "UTC", "QUERY_TAG": tag}
    assert json.loads(tag) == {"app": "journeymap", "run_id": "r1", "step": "raw/orders"}


def test_snowflake_key_pair_and_endpoint_are_optional_settings() -> None:
    env = {
        **SNOWFLAKE_ENV,
        "SNOWFLAKE_PRIVATE_KEY_PATH": "/keys/rsa_key.p8",
        "SNOWFLAKE_HOST": "acme.privatelink.snowflakecomputing.com",
        "SNOWFLAKE_PORT": "443",
    }
    args = SnowflakeWarehouse(env=env).config.connect_args()
    assert args["private_key_file"] == "/keys/rsa_key.p8"
    assert (args["host"], args["port"]) == ("acme.privatelink.snowflakecomputing.com", 443)
    assert "password" not in args and "QUERY_TAG" not in args["session_parameters"]


def test_dbt_and_python_read_the_same_snowflake_variables() -> None:
    """profiles.yml (dbt) and journeymap.snowflake (Python) reach the same account; the
    README documents every variable."""
    from journeymap.settings import PROJECT_DIR
    from journeymap.snowflake import SNOWFLAKE_ENV

    profiles = (PROJECT_DIR / "profiles.yml").read_text()
    readme = (PROJECT_DIR / "README.md").read_text()
    assert set(re.findall(r"env_var\('(SNOWFLAKE_\w+)'", profiles)) == set(SNOWFLAKE_ENV)
    assert all(f"`{name}`" in readme for name in SNOWFLAKE_ENV)
