"""Shared fixtures. The expensive one, `built_warehouse`, generates a sample business and runs
the full job on it once per test session; tests that change a warehouse copy it first."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from journeymap.settings import Settings

# Staging pseudonymizes identifiers with this key (journeymap.privacy); never a real one.
os.environ.setdefault("JOURNEYMAP_PSEUDONYM_KEY", "journeymap-tests-not-a-secret-key")

# Big enough for stable planted truths (funnel drop-off, churn driver), small enough for CI.
FIXTURE_CUSTOMERS = 2000
FIXTURE_DAYS = 90
FIXTURE_SEED = 7


@dataclass(frozen=True)
class BuiltWarehouse:
    settings: Settings

    @property
    def duckdb_path(self) -> Path:
        return self.settings.duckdb_path

    @property
    def landing_dir(self) -> Path:
        return self.settings.landing_dir

    @property
    def truth_dir(self) -> Path:
        return self.settings.truth_dir

    def truth(self) -> dict:
        return json.loads((self.truth_dir / "truth.json").read_text())


def build_workspace(root: Path, customers: int, days: int, seed: int) -> Settings:
    """Generate a business under `root` and run the full Dagster job on it, as the daily run
    would: raw loads, the core dbt step, the Python models, the enriched step, the report."""
    from journeymap.generator import generate
    from journeymap.orchestration.run import run_job

    settings = Settings.for_workspace(root)
    generate(settings.data_dir, customers=customers, days=days, seed=seed)
    job = run_job(settings, "journeymap_full", say=lambda _: None)
    assert job.success, f"fixture build failed at {job.failed_steps}: {job.failed_checks}"
    # What the run recorded (metadata of every step), for the privacy scan.
    run_events(settings).write_text("\n".join(repr(event) for event in job.result.all_events))
    return settings


def run_events(settings: Settings) -> Path:
    """The fixture run's Dagster events (with their metadata) as text."""
    return settings.build_dir / "dagster_run_events.txt"


def copy_workspace(source: Settings, root: Path) -> Settings:
    """A private copy of a built workspace (data and warehouse) that a test may change."""
    target = Settings.for_workspace(root)
    shutil.copytree(source.data_dir, target.data_dir)
    target.duckdb_path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source.duckdb_path, target.duckdb_path)
    return target


@pytest.fixture(scope="session")
def built_warehouse(tmp_path_factory: pytest.TempPathFactory) -> BuiltWarehouse:
    """Built once per session. For quick local iterations set JOURNEYMAP_FIXTURE_DIR to a
    folder: the first run builds there and later runs reuse it (delete it after model changes)."""
    reuse = os.environ.get("JOURNEYMAP_FIXTURE_DIR")
    if reuse:
        root = Path(reuse)
        done = root / ".built"
        if not done.exists():
            build_workspace(root, FIXTURE_CUSTOMERS, FIXTURE_DAYS, FIXTURE_SEED)
            done.touch()
        return BuiltWarehouse(Settings.for_workspace(root))
    root = tmp_path_factory.mktemp("built_warehouse")
    return BuiltWarehouse(build_workspace(root, FIXTURE_CUSTOMERS, FIXTURE_DAYS, FIXTURE_SEED))
