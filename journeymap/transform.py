"""Run dbt on the journeymap project against the configured warehouse.

dbt runs as a subprocess of the venv's own `dbt` (through `journeymap-dbt`, which dies with the
process that started it): its output streams to the console, its memory is its own (benchmarks
measure it), and one process per command keeps dbt's global state clean.

The user's project reaches dbt in two ways, and every dbt command journeymap runs (the CLI's,
Dagster's, ``journeymap dbt ...``) gets both from ``Settings``:

* seeds: a project with seeds of its own gets its own dbt project folder in its dbt target dir
  (``<target>/dbt_project``, ``dbt_project_dir``): links to the package's dbt project (models,
  macros, tests, dbt_project.yml) and a ``seeds/`` folder whose files link to the project's
  seeds where it has them and to the shipped ones otherwise. dbt runs there; the package is
  only read, so an installed (read-only) package serves any number of projects;
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

from journeymap.project import seed_overrides
from journeymap.settings import Settings
from journeymap.warehouse import query_tag

# A project's own dbt project folder, in its dbt target dir (dbt_project_dir).
DBT_PROJECT_FOLDER = "dbt_project"
# dbt_project.yml keys naming folders dbt reads (seed-paths are made per project).
DBT_READ_PATHS = ("model-paths", "macro-paths", "test-paths", "analysis-paths", "snapshot-paths")
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
    """The dbt of this Python environment (the venv's bin is often not on PATH), launched as
    ``journeymap-dbt`` (journeymap.dbt_process) so that it dies with the run that started it;
    plain ``dbt`` in an environment installed before that launcher existed."""
    for name in ("journeymap-dbt", "dbt"):
        candidate = Path(sys.executable).with_name(name)
        if candidate.exists():
            return str(candidate)
    return shutil.which("journeymap-dbt") or shutil.which("dbt") or "dbt"


def dbt_project_dir(settings: Settings) -> Path:
    """The folder dbt runs in: the package's dbt project, or the project's own folder of links
    to it when the project has seeds of its own (``prepare_dbt_dir`` makes it)."""
    if settings.project is None or not settings.project.seed_overrides():
        return settings.project_dir
    return settings.dbt_target_dir / DBT_PROJECT_FOLDER


def dbt_folder_links(package: Path, project_seeds: Path) -> dict[Path, Path]:
    """What a project's dbt folder holds (path in it -> the file or folder it links to):
    dbt_project.yml and the folders it reads from the ``package``'s dbt project, and every
    shipped seed file, replaced by the project's own copy where it has one."""
    config = yaml.safe_load((package / "dbt_project.yml").read_text())
    folders = [path for key in DBT_READ_PATHS for path in config.get(key, [])]
    links = {Path("dbt_project.yml"): package / "dbt_project.yml"}
    links |= {Path(f): package / f for f in folders if (package / f).exists()}
    shipped = {
        file.relative_to(package): file
        for folder in config.get("seed-paths", ["seeds"])
        for file in sorted((package / folder).rglob("*"))
        if file.is_file()
    }
    overrides = seed_overrides(project_seeds)
    for relative in shipped:
        if relative.suffix == ".csv" and relative.stem in overrides:
            shipped[relative] = overrides[relative.stem]
    return links | shipped


def link_dbt_folder(folder: Path, package: Path, project_seeds: Path) -> Path:
    """Bring a project's dbt folder up to date: links added, changed or dropped as the
    project's seeds come and go (a seed file's edits need nothing: it is linked)."""
    links = {
        folder / path: target for path, target in dbt_folder_links(package, project_seeds).items()
    }
    # Links that point elsewhere or are no longer wanted go, then folders left empty (the walk
    # does not enter linked folders: it never touches the package).
    for here, folders, files in os.walk(folder, topdown=False):
        for name in [*files, *folders]:
            entry = Path(here) / name
            if entry.is_symlink() and links.get(entry) != entry.readlink():
                entry.unlink()
            elif not entry.is_symlink() and entry.is_dir() and not any(entry.iterdir()):
                entry.rmdir()
    for link, target in links.items():
        if not link.is_symlink():
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(target, target_is_directory=target.is_dir())
    return folder


def dbt_folder_parts(settings: Settings) -> dict[str, Path]:
    """What ``link_dbt_folder`` makes the project's dbt folder of; empty when dbt runs in the
    package's own project."""
    folder = dbt_project_dir(settings)
    if settings.project is None or folder == settings.project_dir:
        return {}
    return {
        "folder": folder,
        "package": settings.project_dir,
        "project_seeds": settings.project.seeds_dir,
    }


def prepare_dbt_dir(settings: Settings) -> Path:
    """The folder dbt runs in, made up to date; writes nothing when dbt runs in the package's
    own project."""
    parts = dbt_folder_parts(settings)
    return link_dbt_folder(**parts) if parts else settings.project_dir


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


# dbt commands that build models, so staging may call the privacy functions.
COMMANDS_THAT_BUILD = frozenset({"build", "run"})


def prepare_warehouse(settings: Settings, args: Sequence[str], tag: str | None = None) -> None:
    """Before dbt builds: check that the pseudonymization key is the one the warehouse was built
    with (journeymap.privacy.check_pseudonym_key) and, on Snowflake, create (or replace) the
    privacy functions staging calls as secure Python UDFs of the session's schema; the key
    never passes through dbt. On DuckDB the dbt plugin registers them on each connection."""
    if not args or args[0] not in COMMANDS_THAT_BUILD:
        return
    from journeymap.privacy import check_pseudonym_key, pseudonym_key, snowflake_udf_statements
    from journeymap.warehouse import open_warehouse

    key = pseudonym_key()
    settings.duckdb_path.parent.mkdir(parents=True, exist_ok=True)
    with open_warehouse(settings, tag=tag) as warehouse:
        check_pseudonym_key(warehouse, key)
        if settings.warehouse_kind == "snowflake":
            for statement in snowflake_udf_statements(key):
                warehouse.execute(statement)


def run_dbt(settings: Settings, *args: str, quiet: bool = False) -> None:
    """Run one dbt command (e.g. "build", "--full-refresh") in the project directory."""
    settings.duckdb_path.parent.mkdir(parents=True, exist_ok=True)
    project_dir = prepare_dbt_dir(settings)
    command = [
        dbt_executable(),
        *merge_vars(args, settings.dbt_vars),
        "--project-dir",
        str(project_dir),
    ]
    if quiet:
        command.insert(1, "--quiet")
    # A tag the user set (JOURNEYMAP_QUERY_TAG) wins over the command's own.
    tag = os.environ.get("JOURNEYMAP_QUERY_TAG") or query_tag(command=f"dbt {args[0]}")
    prepare_warehouse(settings, args, tag)
    completed = subprocess.run(command, cwd=project_dir, env=dbt_env(settings, tag), check=False)
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


def dbt_var(settings: Settings, name: str, default: object = None) -> object:
    """A dbt var as dbt sees it, so the Python models read the same settings dbt does: the
    project's (journeymap.yml ``vars``, which dbt gets as ``--vars``), else dbt_project.yml's."""
    import yaml

    if name in settings.dbt_vars:
        return settings.dbt_vars[name]
    project = yaml.safe_load((settings.project_dir / "dbt_project.yml").read_text())
    return (project.get("vars") or {}).get(name, default)
