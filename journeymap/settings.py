"""Where things live and which warehouse to use: resolved once (env vars with defaults) into
one ``Settings`` object that the CLI, the Dagster resources and the tests pass around."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
WAREHOUSE_KINDS = ("duckdb", "snowflake")


def _path(var: str, default: Path) -> Path:
    value = os.environ.get(var)
    return Path(value).resolve() if value else default


def _warehouse_kind() -> str:
    kind = os.environ.get("JOURNEYMAP_TARGET", "duckdb")
    if kind not in WAREHOUSE_KINDS:
        raise ValueError(f"JOURNEYMAP_TARGET must be one of {', '.join(WAREHOUSE_KINDS)}: {kind!r}")
    return kind


@dataclass(frozen=True)
class Settings:
    """Paths and warehouse of one journeymap installation.

    JOURNEYMAP_DATA_DIR     generated data and landing files (default ./data)
    JOURNEYMAP_DUCKDB_PATH  the warehouse file (default ./warehouse/journeymap.duckdb)
    JOURNEYMAP_BUILD_DIR    report, model report and data docs (default ./build)
    JOURNEYMAP_DBT_TARGET   dbt's target folder (default ./target); give two builds two folders
    JOURNEYMAP_TARGET       the warehouse: duckdb (default) or snowflake (SNOWFLAKE_* env vars)
    JOURNEYMAP_ALERT_WEBHOOK_URL  where risk alerts are POSTed (default: none, outbox only)
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

    @property
    def landing_dir(self) -> Path:
        return self.data_dir / "landing"

    @property
    def truth_dir(self) -> Path:
        return self.data_dir / "ground_truth"

    @classmethod
    def for_workspace(cls, root: Path) -> Settings:
        """Data, warehouse, outputs and dbt target under one folder (tests, benchmarks)."""
        root = Path(root).resolve()
        return cls(
            data_dir=root / "data",
            duckdb_path=root / "warehouse" / "journeymap.duckdb",
            build_dir=root / "build",
            dbt_target_dir=root / "target",
        )


def get_settings() -> Settings:
    return Settings()
