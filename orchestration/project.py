"""The dbt project as Dagster sees it: created once, prepared (``dbt parse``) only on request.

``dagster dev`` sets DAGSTER_IS_DEV_CLI, and ``prepare_if_dev`` then re-parses the project when the
code location loads, so model edits show up on reload. Everywhere else (tests, ``journeymap demo``,
a deployment) the manifest is made by an explicit step before the definitions are imported:
``prepare_dbt_project()`` here, or ``dagster-dbt project prepare-and-package --file
orchestration/project.py`` at build time. Nothing parses at import time outside ``dagster dev``.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from dagster_dbt import DbtProject

from journeymap.settings import PROJECT_DIR, get_settings

# dbt target (profiles.yml output) the definitions are built for: duckdb (default) or snowflake.
DBT_TARGET = os.environ.get("JOURNEYMAP_TARGET", "duckdb")

# Dagster's manifest lives in its own folder under the dbt target dir, so `dbt build` runs of the
# CLI (which write target/manifest.json) and Dagster's parse do not overwrite each other.
MANIFEST_DIR: Path = get_settings().dbt_target_dir / "dagster"


def dbt_executable() -> str:
    """The dbt of this Python environment (the venv's bin is often not on PATH)."""
    candidate = Path(sys.executable).with_name("dbt")
    return str(candidate) if candidate.exists() else (shutil.which("dbt") or "dbt")


# dagster-dbt's own preparer (prepare_if_dev) runs `dbt` from PATH: make it this venv's dbt.
if shutil.which("dbt") is None and Path(sys.executable).with_name("dbt").exists():
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"

dbt_project = DbtProject(
    project_dir=PROJECT_DIR,
    target_path=MANIFEST_DIR,
    profiles_dir=PROJECT_DIR,
    target=DBT_TARGET,
)
dbt_project.prepare_if_dev()


def prepare_dbt_project() -> Path:
    """Parse the dbt project into ``manifest.json`` (partial parsing keeps repeats quick)."""
    from journeymap.orchestration.resources import JourneymapDbtResource

    dbt = JourneymapDbtResource(project_dir=dbt_project, dbt_executable=dbt_executable())
    dbt.cli(["parse", "--quiet"], target_path=dbt_project.target_path).wait()
    return dbt_project.manifest_path


def manifest_ready() -> bool:
    return dbt_project.manifest_path.exists()
