"""Run dbt on the journeymap project against the configured warehouse.

dbt runs as a subprocess of the venv's own `dbt`: its output streams to the console, its memory
is its own (benchmarks measure it), and one process per command keeps dbt's global state clean.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from journeymap.settings import Settings
from journeymap.warehouse import query_tag


class DbtError(RuntimeError):
    """A dbt command failed; dbt's own output above says which node and why."""


def dbt_executable() -> str:
    """The dbt of this Python environment (the venv's bin is often not on PATH)."""
    candidate = Path(sys.executable).with_name("dbt")
    return str(candidate) if candidate.exists() else (shutil.which("dbt") or "dbt")


def warehouse_env(settings: Settings, tag: str | None = None) -> dict[str, str]:
    """What profiles.yml reads to reach the warehouse of ``settings`` (Snowflake credentials
    stay in the environment's SNOWFLAKE_* variables), and the query tag of the run."""
    env = {
        "JOURNEYMAP_TARGET": settings.warehouse_kind,
        "JOURNEYMAP_DUCKDB_PATH": str(settings.duckdb_path),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    if tag:
        env["JOURNEYMAP_QUERY_TAG"] = tag
    return env


def dbt_env(settings: Settings, tag: str | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(warehouse_env(settings, tag))
    env["DBT_PROFILES_DIR"] = str(settings.project_dir)
    env["DBT_TARGET_PATH"] = str(settings.dbt_target_dir)
    env["DBT_LOG_PATH"] = str(settings.dbt_target_dir / "logs")
    return env


def run_dbt(settings: Settings, *args: str, quiet: bool = False) -> None:
    """Run one dbt command (e.g. "build", "--full-refresh") in the project directory."""
    settings.duckdb_path.parent.mkdir(parents=True, exist_ok=True)
    command = [dbt_executable(), *args, "--project-dir", str(settings.project_dir)]
    if quiet:
        command.insert(1, "--quiet")
    # A tag the user set (JOURNEYMAP_QUERY_TAG) wins over the command's own.
    tag = os.environ.get("JOURNEYMAP_QUERY_TAG") or query_tag(command=f"dbt {args[0]}")
    completed = subprocess.run(
        command, cwd=settings.project_dir, env=dbt_env(settings, tag), check=False
    )
    if completed.returncode != 0:
        raise DbtError(
            f"dbt {' '.join(args)} failed (exit {completed.returncode}); see dbt's output above"
        )


def build(settings: Settings, full_refresh: bool = False, select: str | None = None) -> None:
    """Seeds, models and tests in dependency order (`dbt build`)."""
    args = ["build"]
    if full_refresh:
        args.append("--full-refresh")
    if select:
        args += ["--select", select]
    run_dbt(settings, *args)
