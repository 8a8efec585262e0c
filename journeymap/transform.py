"""Run dbt on the journeymap project against the configured warehouse.

dbt runs as a subprocess of the venv's own `dbt`: its output streams to the console, its memory
is its own (benchmarks measure it), and one process per command keeps dbt's global state clean.

The user's project reaches dbt in two ways, and every dbt command journeymap runs (the CLI's,
Dagster's, ``journeymap dbt ...``) gets both from ``Settings``:

* seeds: the project's seed files are copied into ``project_seeds/<project>/`` of the dbt
  project (before every command), which ``dbt_project.yml`` reads as a second seed path
  (``JOURNEYMAP_PROJECT_SEEDS_DIR``), leaving out the shipped seeds they replace
  (``JOURNEYMAP_SEED_OVERRIDES``);
* vars: the project's vars and event sources, as ``--vars`` (``Settings.dbt_vars``).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from journeymap.settings import Settings

SEEDS_DIR_ENV_VAR = "JOURNEYMAP_PROJECT_SEEDS_DIR"
PROJECT_SEEDS_FOLDER = "project_seeds"  # in the dbt project; copies of projects' seeds
NO_PROJECT_SEEDS = "seeds/none"  # a seed path that does not exist
SEED_OVERRIDES_ENV_VAR = "JOURNEYMAP_SEED_OVERRIDES"
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


def project_seed_copies(settings: Settings) -> dict[Path, Path]:
    """Where dbt reads the project's seed files from (copy -> the project's file): a folder of
    the dbt project, one per user project. dbt needs seed paths inside its project: it writes
    each seed's load SQL to <target>/run/<seed path>, and for a path outside the project that
    is the seed file itself."""
    overrides = settings.project.seed_overrides() if settings.project else {}
    if not overrides or settings.project is None:
        return {}
    key = hashlib.sha256(str(settings.project.root).encode()).hexdigest()[:12]
    folder = settings.project_dir / PROJECT_SEEDS_FOLDER / key
    return {folder / path.name: path for path in overrides.values()}


def sync_project_seeds(copies: Mapping[Path, Path]) -> None:
    """Make the copies equal the project's files (and drop copies of files it removed)."""
    for folder in {copy.parent for copy in copies}:
        folder.mkdir(parents=True, exist_ok=True)
        for stale in set(folder.glob("*.csv")) - set(copies):
            stale.unlink()
    for copy, original in copies.items():
        if not copy.exists() or copy.read_bytes() != original.read_bytes():
            shutil.copyfile(original, copy)


def seed_env(settings: Settings) -> dict[str, str]:
    """What dbt_project.yml reads to use the project's seeds: the folder of their copies
    (relative to the dbt project), and the shipped seeds they replace (left out by an
    `enabled` line there). Brings the copies up to date."""
    copies = project_seed_copies(settings)
    if not copies:
        return {SEEDS_DIR_ENV_VAR: NO_PROJECT_SEEDS, SEED_OVERRIDES_ENV_VAR: ""}
    sync_project_seeds(copies)
    folder = next(iter(copies)).parent
    return {
        SEEDS_DIR_ENV_VAR: folder.relative_to(settings.project_dir).as_posix(),
        SEED_OVERRIDES_ENV_VAR: ",".join(sorted(copy.stem for copy in copies)),
    }


def warehouse_env(settings: Settings) -> dict[str, str]:
    """What dbt_project.yml and profiles.yml read to reach the warehouse and the seeds of
    ``settings`` (Snowflake credentials stay in the environment's SNOWFLAKE_* variables)."""
    return {
        "JOURNEYMAP_TARGET": settings.warehouse_kind,
        "JOURNEYMAP_DUCKDB_PATH": str(settings.duckdb_path),
        **seed_env(settings),
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
