"""Resources: every path and connection detail the assets use.

* ``settings``: the installation's ``Settings`` (paths and warehouse kind), resolved once and
  passed as it is. Assets open the warehouse with ``step_warehouse`` (``open_warehouse`` with
  the step's query tag);
  DuckDB allows one writer per file, so each asset opens it, writes and closes it before the
  next step starts (the jobs use the in-process executor), and a second process that tries to
  write gets ``WarehouseBusyError``. Snowflake reads its credentials from SNOWFLAKE_* env vars
  when a run opens it.
* ``dbt``: dagster-dbt's ``DbtCliResource`` on the project, whose ``dbt`` subprocess gets the
  warehouse's connection env and writes its artifacts under the settings' dbt target dir.

Every warehouse session a step opens carries the step's query tag (``run_query_tag``: job, run
id and step as JSON), so on Snowflake a run's queries and their cost can be found in
``query_history`` (``parse_json(query_tag):run_id``).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from dagster_dbt import DbtCliResource
from dagster_dbt.core.dbt_cli_invocation import DbtCliInvocation
from pydantic import Field

from journeymap.orchestration.project import PARSE_STATE, dbt_project, manifest_dir
from journeymap.settings import Settings
from journeymap.transform import (
    dbt_executable,
    dbt_folder_parts,
    link_dbt_folder,
    merge_vars,
    warehouse_env,
)
from journeymap.warehouse import Warehouse, open_warehouse, query_tag


def run_query_tag(context: Any) -> str:
    """The query tag of a step's warehouse sessions: its job, run and step (op)."""
    step = context.op_execution_context
    return query_tag(job=step.job_name, run_id=step.run_id, step=step.op.name)


@contextmanager
def step_warehouse(
    context: Any, settings: Settings, read_only: bool = False
) -> Iterator[Warehouse]:
    """The warehouse an asset's step opens, its sessions tagged with the step's run."""
    with open_warehouse(settings, read_only=read_only, tag=run_query_tag(context)) as warehouse:
        yield warehouse


class JourneymapDbtResource(DbtCliResource):
    """``DbtCliResource`` whose dbt subprocess reaches the configured warehouse.

    dagster-dbt builds the subprocess environment from ``os.environ``; ``warehouse_env`` is laid
    over it for the moment the subprocess starts (then restored), so one process can run
    workspaces with different DuckDB files one after another (tests, the demo). The project's
    dbt vars (``Settings.dbt_vars``) go under any ``--vars`` of the command. Artifacts of each
    invocation go to ``<artifacts_dir>/<step>-<run>-<id>``.
    """

    warehouse_env: dict[str, str] = Field(default_factory=dict)
    dbt_vars: dict[str, Any] = Field(default_factory=dict)
    # A user project's own dbt folder: {folder, package, project_seeds} of
    # journeymap.transform.link_dbt_folder, remade before every command (seeds come and go).
    dbt_folder: dict[str, str] = Field(default_factory=dict)
    artifacts_dir: str | None = Field(default=None)
    # Where prepare_dbt_project parsed: its saved state lets each command skip a full parse.
    parse_dir: str | None = Field(default=None)

    def cli(self, args: Sequence[str], **kwargs: Any) -> DbtCliInvocation:
        context = kwargs.get("context")
        if kwargs.get("target_path") is None and self.artifacts_dir:
            unique = self._get_unique_target_path(context=context)
            kwargs["target_path"] = Path(self.artifacts_dir) / unique.name
        if kwargs.get("target_path") is not None and self.parse_dir:
            _reuse_parse(Path(self.parse_dir), Path(kwargs["target_path"]))
        if self.dbt_folder:
            link_dbt_folder(**{name: Path(path) for name, path in self.dbt_folder.items()})
        env = dict(self.warehouse_env)
        if context is not None:
            env["JOURNEYMAP_QUERY_TAG"] = run_query_tag(context)
        with _environ(env):
            return super().cli(merge_vars(args, self.dbt_vars), **kwargs)


def _reuse_parse(parse_dir: Path, target_path: Path) -> None:
    """Copy the saved parse state into a command's target folder (dbt checks it is still valid
    and parses what changed)."""
    state = parse_dir / PARSE_STATE
    if state.is_file() and not (target_path / PARSE_STATE).exists():
        target_path.mkdir(parents=True, exist_ok=True)
        shutil.copy2(state, target_path / PARSE_STATE)


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


def build_resources(settings: Settings) -> dict[str, Any]:
    """The resources every journeymap asset, check and sensor needs, for one installation."""
    # "buildable" indirect selection: a test runs in a dbt step when every model it reads is
    # built in that step or before it, so a test of an enriched model that also reads a core
    # mart waits for the enriched step instead of running against a stale table in the first
    # (dbt's default, eager, would run it there).
    env = {**warehouse_env(settings), "DBT_INDIRECT_SELECTION": "buildable"}
    dbt = JourneymapDbtResource(
        project_dir=dbt_project(settings),
        target=settings.warehouse_kind,
        dbt_executable=dbt_executable(),
        warehouse_env=env,
        dbt_vars=settings.dbt_vars,
        dbt_folder={name: str(path) for name, path in dbt_folder_parts(settings).items()},
        artifacts_dir=str(settings.dbt_target_dir / "runs"),
        parse_dir=str(manifest_dir(settings)),
    )
    return {"settings": settings, "dbt": dbt}
