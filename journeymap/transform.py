"""Run dbt on the journeymap project against the configured warehouse.

dbt runs as a subprocess of the venv's own `dbt`: its output streams to the console, its memory
is its own (benchmarks measure it), and one process per command keeps dbt's global state clean.

The user's project reaches dbt in two ways, and every dbt command journeymap runs (the CLI's,
Dagster's, ``journeymap dbt ...``) gets both from ``Settings``:

* seeds: ``dbt_project.yml`` reads its seed path from ``JOURNEYMAP_SEEDS_DIR``; when the project
  overrides seeds, that is a folder under the dbt target dir holding the project's seed files
  and the shipped ones it does not override (rewritten before every command);
* vars: the project's vars and event sources, as ``--vars`` (``Settings.dbt_vars``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from journeymap.project import PACKAGE_SEEDS_DIR
from journeymap.settings import Settings

SEEDS_ENV_VAR = "JOURNEYMAP_SEEDS_DIR"
# dbt commands that take --vars (the others reject the flag).
COMMANDS_WITH_VARS = frozenset(
    {
        "build",
        "run",
        "test",
        "seed",
        "compile",
        "parse",
        "ls",
        "list",
        "show",
        "snapshot",
        "docs",
        "source",
        "run-operation",
        "retry",
        "clone",
    }
)


class DbtError(RuntimeError):
    """A dbt command failed; dbt's own output above says which node and why."""


def dbt_executable() -> str:
    """The dbt of this Python environment (the venv's bin is often not on PATH)."""
    candidate = Path(sys.executable).with_name("dbt")
    return str(candidate) if candidate.exists() else (shutil.which("dbt") or "dbt")


def seeds_dir(settings: Settings) -> Path:
    """The seeds dbt reads for ``settings``: the shipped folder, or - when the project
    overrides some - ``<dbt target>/journeymap_seeds`` with the project's files and the
    shipped ones it does not override (and the seeds' YAML)."""
    overrides = settings.project.seed_overrides() if settings.project else {}
    if not overrides:
        return PACKAGE_SEEDS_DIR
    merged = settings.dbt_target_dir / "journeymap_seeds"
    if merged.exists():
        shutil.rmtree(merged)
    merged.mkdir(parents=True)
    for shipped in sorted(PACKAGE_SEEDS_DIR.iterdir()):
        if shipped.is_file():
            source = overrides.get(shipped.stem, shipped) if shipped.suffix == ".csv" else shipped
            shutil.copyfile(source, merged / shipped.name)
    return merged


def _relative_to_dbt_project(path: Path, settings: Settings) -> str:
    """Shipped seeds as the relative path dbt_project.yml names (so their dbt names stay)."""
    return os.path.relpath(path, settings.project_dir) if path == PACKAGE_SEEDS_DIR else str(path)


def warehouse_env(settings: Settings) -> dict[str, str]:
    """What dbt_project.yml and profiles.yml read to reach the warehouse and the seeds of
    ``settings`` (Snowflake credentials stay in the environment's SNOWFLAKE_* variables)."""
    return {
        "JOURNEYMAP_TARGET": settings.warehouse_kind,
        "JOURNEYMAP_DUCKDB_PATH": str(settings.duckdb_path),
        SEEDS_ENV_VAR: _relative_to_dbt_project(seeds_dir(settings), settings),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }


def dbt_env(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    env.update(warehouse_env(settings))
    env["DBT_PROFILES_DIR"] = str(settings.project_dir)
    env["DBT_TARGET_PATH"] = str(settings.dbt_target_dir)
    env["DBT_LOG_PATH"] = str(settings.dbt_target_dir / "logs")
    return env


def merge_vars(args: Sequence[str], values: Mapping[str, Any]) -> list[str]:
    """dbt arguments with ``values`` as ``--vars``, under any ``--vars`` the arguments give."""
    args = list(args)
    if not values or not args or args[0] not in COMMANDS_WITH_VARS:
        return args
    if "--vars" in args:
        at = args.index("--vars") + 1
        given = yaml.safe_load(args[at]) or {}
        args[at] = json.dumps({**values, **given})
        return args
    return [*args, "--vars", json.dumps(dict(values))]


def run_dbt(settings: Settings, *args: str, quiet: bool = False) -> None:
    """Run one dbt command (e.g. "build", "--full-refresh") in the project directory."""
    settings.duckdb_path.parent.mkdir(parents=True, exist_ok=True)
    command = [
        dbt_executable(),
        *merge_vars(args, settings.dbt_vars),
        "--project-dir",
        str(settings.project_dir),
    ]
    if quiet:
        command.insert(1, "--quiet")
    completed = subprocess.run(
        command, cwd=settings.project_dir, env=dbt_env(settings), check=False
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
