"""The dbt project as Dagster sees it: one ``DbtProject`` per installation, made on first
use, and parsed (``dbt parse``) only when asked: by ``journeymap demo`` and the tests before
they build the definitions, and by ``dagster dev`` when its code location loads
(definitions.py), so model edits show up on reload. Importing this module does nothing.

Dagster's manifest lives in its own folder under the dbt target dir, so `dbt build` runs of
the CLI (which write target/manifest.json) and Dagster's parse do not overwrite each other.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from dagster_dbt import DbtProject

from journeymap.settings import Settings
from journeymap.transform import prepare_dbt_dir, run_dbt


def manifest_dir(settings: Settings) -> Path:
    return settings.dbt_target_dir / "dagster"


@cache
def _dbt_project(
    project_dir: Path, profiles_dir: Path, target_path: Path, target: str
) -> DbtProject:
    return DbtProject(
        project_dir=project_dir, target_path=target_path, profiles_dir=profiles_dir, target=target
    )


def dbt_project(settings: Settings) -> DbtProject:
    """The dbt project of ``settings`` (the folder dbt runs in, made up to date: the package's,
    or the user project's own, journeymap.transform.prepare_dbt_dir), for its warehouse
    (profiles.yml output)."""
    return _dbt_project(
        prepare_dbt_dir(settings),
        settings.project_dir,
        manifest_dir(settings),
        settings.warehouse_kind,
    )


def step_vars(test_scope: str = "all") -> dict[str, str]:
    """The ``--vars`` of a dbt step (assets/dbt.py). The parse uses the default step's, so each
    step's command can reuse it (``PARSE_STATE``): dbt parses everything again when its vars or
    target change."""
    return {"test_scope": test_scope}


# dbt's saved parse state, copied into each step's own target folder (resources.py).
PARSE_STATE = "partial_parse.msgpack"


def prepare_dbt_project(settings: Settings) -> Path:
    """Parse the dbt project into Dagster's ``manifest.json`` (partial parsing keeps repeats
    quick) and return its path."""
    project = dbt_project(settings)
    # The vars and --target of the dbt steps (resources.py), which dbt's check of a saved
    # parse compares.
    run_dbt(
        settings,
        "parse",
        *("--vars", json.dumps(step_vars())),
        *("--target", settings.warehouse_kind),
        *("--target-path", str(project.target_path)),
        quiet=True,
    )
    return project.manifest_path
