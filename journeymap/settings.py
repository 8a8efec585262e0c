"""Where things live and which warehouse to use: resolved once into one ``Settings`` object
that the CLI, the Dagster resources and the tests pass around.

Sources, weakest first: the defaults, the user's project (``journeymap.yml``, see
journeymap.project), then environment variables, which override both."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from journeymap.contract import SOURCES, Source, event_source
from journeymap.project import (
    PACKAGE_DBT_DIR,
    EventSource,
    Project,
    find_project,
    load_project,
    retention_days,
)

PROJECT_DIR = PACKAGE_DBT_DIR
WAREHOUSE_KINDS = ("duckdb", "snowflake")


def _path(var: str, default: Path) -> Path:
    value = os.environ.get(var)
    return Path(value).resolve() if value else default


RETENTION_ENV_VAR = "JOURNEYMAP_RETENTION_RAW_DAYS"


def _retention_raw_days(configured: int | None = None) -> int | None:
    value = os.environ.get(RETENTION_ENV_VAR)
    return retention_days(value, RETENTION_ENV_VAR) if value is not None else configured


def _warehouse_kind(configured: str | None = None) -> str:
    kind = os.environ.get("JOURNEYMAP_TARGET") or configured or "duckdb"
    if kind not in WAREHOUSE_KINDS:
        raise ValueError(
            f"the warehouse (JOURNEYMAP_TARGET or warehouse.kind) must be one of "
            f"{', '.join(WAREHOUSE_KINDS)}: {kind!r}"
        )
    return kind


@dataclass(frozen=True)
class Settings:
    """Paths and warehouse of one journeymap installation.

    ``project_dir`` is the dbt project the package ships (models, macros, default seeds);
    ``project`` is the user's project (journeymap.yml), None for the package's defaults.

    JOURNEYMAP_PROJECT      the project folder (default: found from the working directory)
    JOURNEYMAP_DATA_DIR     generated data and landing files (default <project>/data)
    JOURNEYMAP_DUCKDB_PATH  the warehouse file (default <project>/warehouse/journeymap.duckdb)
    JOURNEYMAP_BUILD_DIR    report, model report and data docs (default <project>/build)
    JOURNEYMAP_DBT_TARGET   dbt's target folder (default <project>/target)
    JOURNEYMAP_TARGET       the warehouse: duckdb (default) or snowflake (SNOWFLAKE_* env vars)
    JOURNEYMAP_ALERT_WEBHOOK_URL  where risk alerts are POSTed (default: none, outbox only)
    JOURNEYMAP_RETENTION_RAW_DAYS  retention period of raw and quarantine rows in days
                            (journeymap.yml ``retention: raw_days``; default: off, 0 turns it off)
    """

    project_dir: Path = PROJECT_DIR
    data_dir: Path = field(
        default_factory=lambda: _path("JOURNEYMAP_DATA_DIR", PROJECT_DIR / "data")
    )
    duckdb_path: Path = field(
        default_factory=lambda: _path(
            "JOURNEYMAP_DUCKDB_PATH", PROJECT_DIR / "warehouse" / "journeymap.duckdb"
        )
    )
    build_dir: Path = field(
        default_factory=lambda: _path("JOURNEYMAP_BUILD_DIR", PROJECT_DIR / "build")
    )
    dbt_target_dir: Path = field(
        default_factory=lambda: _path("JOURNEYMAP_DBT_TARGET", PROJECT_DIR / "target")
    )
    warehouse_kind: str = field(default_factory=_warehouse_kind)
    alert_webhook_url: str | None = field(
        default_factory=lambda: os.environ.get("JOURNEYMAP_ALERT_WEBHOOK_URL") or None
    )
    retention_raw_days: int | None = field(default_factory=_retention_raw_days)
    project: Project | None = field(default=None, hash=False)

    @property
    def landing_dir(self) -> Path:
        return self.data_dir / "landing"

    @property
    def truth_dir(self) -> Path:
        return self.data_dir / "ground_truth"

    @property
    def event_sources(self) -> tuple[EventSource, ...]:
        """The project's own event sources (journeymap.yml ``sources``)."""
        return self.project.sources if self.project else ()

    @property
    def landing_sources(self) -> tuple[EventSource, ...]:
        """The project's event sources that arrive as landing files (not read from a table)."""
        return tuple(s for s in self.event_sources if not s.table)

    @property
    def source_contracts(self) -> dict[str, Source]:
        """The raw contract of every source that lands files: the built-in ones and the
        project's (journeymap.contract.event_source)."""
        return {
            **SOURCES,
            **{s.name: event_source(s.name, s.description) for s in self.landing_sources},
        }

    @property
    def dbt_vars(self) -> dict[str, Any]:
        """The dbt vars of the project (journeymap.yml ``vars``) and its event sources; dbt
        gets them as ``--vars`` on every command journeymap runs."""
        values: dict[str, Any] = dict(self.project.vars) if self.project else {}
        values["event_sources"] = {s.name: s.dbt_var() for s in self.event_sources}
        return values

    @classmethod
    def for_workspace(cls, root: Path, project: Project | None = None) -> Settings:
        """Data, warehouse, outputs and dbt target under one folder (tests, benchmarks)."""
        root = Path(root).resolve()
        return cls(
            data_dir=root / "data",
            duckdb_path=root / "warehouse" / "journeymap.duckdb",
            build_dir=root / "build",
            dbt_target_dir=root / "target",
            retention_raw_days=_retention_raw_days(project and project.retention_raw_days),
            project=project,
        )

    @classmethod
    def load(cls, project_dir: str | Path | None = None) -> Settings:
        """The settings of the project in ``project_dir`` (default: ``find_project()``),
        environment variables overriding it. Without a project, data, warehouse and outputs
        go in the working directory (never into the package) with the shipped seeds and vars."""
        root = Path(project_dir).resolve() if project_dir else find_project()
        project = load_project(root) if root else None
        base = root or Path.cwd()

        def path(var: str, configured: Path | None, default: str) -> Path:
            return _path(var, configured or base / default)

        return cls(
            data_dir=path("JOURNEYMAP_DATA_DIR", project and project.data_dir, "data"),
            duckdb_path=path(
                "JOURNEYMAP_DUCKDB_PATH",
                project and project.duckdb_path,
                "warehouse/journeymap.duckdb",
            ),
            build_dir=path("JOURNEYMAP_BUILD_DIR", project and project.build_dir, "build"),
            dbt_target_dir=path(
                "JOURNEYMAP_DBT_TARGET", project and project.dbt_target_dir, "target"
            ),
            warehouse_kind=_warehouse_kind(project and project.warehouse_kind),
            retention_raw_days=_retention_raw_days(project and project.retention_raw_days),
            project=project,
        )


def get_settings() -> Settings:
    return Settings.load()
