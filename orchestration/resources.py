"""Resources: every path and connection detail the assets use, from env vars (``Settings``).

* ``warehouse``: where journeymap's files live and how to open the warehouse.
  ``DuckDBWarehouseResource`` is the default (one file); ``SnowflakeWarehouseResource`` offers
  the same ``open()`` and reads its credentials from SNOWFLAKE_* env vars only. Select with
  JOURNEYMAP_TARGET (duckdb|snowflake).
* ``dbt``: dagster-dbt's ``DbtCliResource`` on the project at the repo root, whose ``dbt``
  subprocess gets the warehouse's connection env (JOURNEYMAP_DUCKDB_PATH...) and writes its
  artifacts under the configured dbt target dir.

DuckDB allows one writer per file: each asset opens the warehouse, writes and closes it before
the next step starts (the jobs use the in-process executor), and a second process that tries to
write gets ``WarehouseBusyError``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from dagster import ConfigurableResource, EnvVar
from dagster_dbt import DbtCliResource
from dagster_dbt.core.dbt_cli_invocation import DbtCliInvocation
from pydantic import Field

from journeymap.orchestration.project import DBT_TARGET, dbt_executable, dbt_project
from journeymap.settings import Settings, get_settings
from journeymap.warehouse import (
    SNOWFLAKE_ENV_VARS,
    DuckDBWarehouse,
    SnowflakeWarehouse,
    Warehouse,
)


class WarehouseResource(ConfigurableResource):
    """Paths of one journeymap installation and a way to open its warehouse."""

    data_dir: str = Field(description="Generated data and landing files (JOURNEYMAP_DATA_DIR).")
    build_dir: str = Field(description="Report and data docs (JOURNEYMAP_BUILD_DIR).")
    dbt_target_dir: str = Field(description="dbt artifacts (JOURNEYMAP_DBT_TARGET).")

    @property
    def kind(self) -> str:
        raise NotImplementedError

    @property
    def landing_dir(self) -> Path:
        return Path(self.data_dir) / "landing"

    @property
    def build_path(self) -> Path:
        return Path(self.build_dir)

    def settings(self) -> Settings:
        raise NotImplementedError

    @contextmanager
    def open(self, read_only: bool = False) -> Iterator[Warehouse]:
        """The warehouse, opened for the ``with`` block and closed after it."""
        raise NotImplementedError
        yield  # pragma: no cover

    @contextmanager
    def open_duckdb(self, read_only: bool = False) -> Iterator[DuckDBWarehouse]:
        """DuckDB only: the raw loader reads landing files with DuckDB's readers."""
        raise NotImplementedError(
            f"the {self.kind} warehouse has no DuckDB file; load landing files into Snowflake "
            "with its own stage/COPY tooling"
        )
        yield  # pragma: no cover

    def dbt_env(self) -> dict[str, str]:
        """Environment the dbt subprocess needs to reach this warehouse (profiles.yml reads it)."""
        return {"JOURNEYMAP_TARGET": self.kind}


class DuckDBWarehouseResource(WarehouseResource):
    """The default warehouse: one DuckDB file."""

    duckdb_path: str = Field(description="The DuckDB file (JOURNEYMAP_DUCKDB_PATH).")

    @property
    def kind(self) -> str:
        return "duckdb"

    def settings(self) -> Settings:
        return Settings(
            data_dir=Path(self.data_dir),
            duckdb_path=Path(self.duckdb_path),
            build_dir=Path(self.build_dir),
            dbt_target_dir=Path(self.dbt_target_dir),
        )

    @contextmanager
    def open(self, read_only: bool = False) -> Iterator[Warehouse]:
        with self.open_duckdb(read_only=read_only) as warehouse:
            yield warehouse

    @contextmanager
    def open_duckdb(self, read_only: bool = False) -> Iterator[DuckDBWarehouse]:
        with DuckDBWarehouse(self.duckdb_path, read_only=read_only) as warehouse:
            yield warehouse

    def dbt_env(self) -> dict[str, str]:
        return {
            **super().dbt_env(),
            "JOURNEYMAP_DUCKDB_PATH": str(Path(self.duckdb_path).resolve()),
        }


class SnowflakeWarehouseResource(WarehouseResource):
    """Snowflake: credentials from SNOWFLAKE_* env vars only (resolved when a run starts)."""

    account: str
    user: str
    password: str
    role: str
    warehouse: str
    database: str

    @property
    def kind(self) -> str:
        return "snowflake"

    def settings(self) -> Settings:
        return Settings(
            data_dir=Path(self.data_dir),
            build_dir=Path(self.build_dir),
            dbt_target_dir=Path(self.dbt_target_dir),
        )

    def _env(self) -> dict[str, str]:
        return {
            "SNOWFLAKE_ACCOUNT": self.account,
            "SNOWFLAKE_USER": self.user,
            "SNOWFLAKE_PASSWORD": self.password,
            "SNOWFLAKE_ROLE": self.role,
            "SNOWFLAKE_WAREHOUSE": self.warehouse,
            "SNOWFLAKE_DATABASE": self.database,
        }

    @contextmanager
    def open(self, read_only: bool = False) -> Iterator[Warehouse]:
        with SnowflakeWarehouse(env=self._env()) as warehouse:
            yield warehouse


class JourneymapDbtResource(DbtCliResource):
    """``DbtCliResource`` whose dbt subprocess reaches the configured warehouse.

    dagster-dbt builds the subprocess environment from ``os.environ``; ``warehouse_env`` is laid
    over it for the moment the subprocess starts (then restored), so one process can run
    workspaces with different DuckDB files one after another (tests, the demo). Artifacts of
    each invocation go to ``<artifacts_dir>/<step>-<run>-<id>``.
    """

    warehouse_env: dict[str, str] = Field(default_factory=dict)
    artifacts_dir: str | None = Field(default=None)

    def cli(self, args: Sequence[str], **kwargs: Any) -> DbtCliInvocation:
        if kwargs.get("target_path") is None and self.artifacts_dir:
            unique = self._get_unique_target_path(context=kwargs.get("context"))
            kwargs["target_path"] = Path(self.artifacts_dir) / unique.name
        with _environ(self.warehouse_env):
            return super().cli(args, **kwargs)


@contextmanager
def _environ(values: Mapping[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def warehouse_resource(
    settings: Settings | None = None, kind: str | None = None
) -> WarehouseResource:
    settings = settings or get_settings()
    kind = kind or DBT_TARGET
    paths = {
        "data_dir": str(settings.data_dir),
        "build_dir": str(settings.build_dir),
        "dbt_target_dir": str(settings.dbt_target_dir),
    }
    if kind == "duckdb":
        return DuckDBWarehouseResource(duckdb_path=str(settings.duckdb_path), **paths)
    if kind == "snowflake":
        credentials = {
            name.removeprefix("SNOWFLAKE_").lower(): EnvVar(name) for name in SNOWFLAKE_ENV_VARS
        }
        return SnowflakeWarehouseResource(**credentials, **paths)
    raise ValueError(f"unknown warehouse kind {kind!r} (JOURNEYMAP_TARGET): duckdb or snowflake")


def build_resources(settings: Settings | None = None, kind: str | None = None) -> dict[str, Any]:
    """The resources every journeymap asset, check and sensor needs, for one installation."""
    settings = settings or get_settings()
    warehouse = warehouse_resource(settings, kind)
    # Snowflake credentials stay in os.environ, where profiles.yml reads them. "buildable"
    # indirect selection: a test runs in a step when all the models it reads are built in it or
    # before it, so `relationships` from fct_events to dim_customers waits for the step that
    # rebuilds dim_customers instead of failing on the stale one (dbt's default, eager, would
    # run it with fct_events).
    env = {
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_INDIRECT_SELECTION": "buildable",
        **warehouse.dbt_env(),
    }
    dbt = JourneymapDbtResource(
        project_dir=dbt_project,
        target=warehouse.kind,
        dbt_executable=dbt_executable(),
        warehouse_env=env,
        artifacts_dir=str(settings.dbt_target_dir / "runs"),
    )
    return {"warehouse": warehouse, "dbt": dbt}
