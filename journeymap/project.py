"""A user's journeymap project: a folder with ``journeymap.yml`` and editable seeds.

The package ships the dbt models, macros and default seeds; a project holds what is the
user's: where the warehouse and the landing files live, dbt vars, their own event sources,
and copies of the seeds (``seeds/event_taxonomy.csv`` ...) that override the shipped ones
file by file. ``journeymap init DIR`` writes one; every command finds it from ``--project``,
``$JOURNEYMAP_PROJECT`` or the working directory (and its parents). The demo is one such
project (the repository's own ``journeymap.yml``).

``journeymap.yml`` (every key optional; paths relative to the project folder)::

    warehouse:
      kind: duckdb                          # or snowflake (credentials: SNOWFLAKE_* env vars)
      duckdb_path: warehouse/journeymap.duckdb
    paths:
      data: data                            # landing files in data/landing/<source>/
      build: build                          # journey map page, model report, data docs
      dbt_target: target
    vars:                                   # dbt vars (README, Configuration)
      session_timeout_minutes: 30
    retention:                              # off unless set (journeymap.retention)
      raw_days: 400                         # purge raw rows of files loaded 400+ days ago
    sources:                                # event sources of your own
      helpdesk:
        channel: support                    # the channel of its events (taxonomy fallback)
        session_based: false                # true: cut into sessions per device, like web
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

PROJECT_FILE = "journeymap.yml"
PROJECT_ENV_VAR = "JOURNEYMAP_PROJECT"
SEEDS_FOLDER = "seeds"
# The dbt project the package ships: models, macros and the default seeds; installed as data of
# the package (journeymap/dbt/, pyproject.toml), in a checkout the repository's own folders.
# journeymap only reads it: a project's dbt runs in a folder of its own (journeymap.transform).
_INSTALLED_DBT_DIR = Path(__file__).resolve().parent / "dbt"
PACKAGE_DBT_DIR = (
    _INSTALLED_DBT_DIR
    if (_INSTALLED_DBT_DIR / "dbt_project.yml").is_file()
    else Path(__file__).resolve().parent.parent
)
# The seeds a project may override (each has an `enabled` line in dbt_project.yml).
PACKAGE_SEEDS_DIR = PACKAGE_DBT_DIR / SEEDS_FOLDER / "defaults"
# Seeds `init` copies into a new project for the user to edit.
EDITABLE_SEEDS = ("event_taxonomy", "journey_stages", "funnel_definitions", "actions")

SOURCE_NAME = re.compile(r"[a-z][a-z0-9_]{0,62}")
TOP_LEVEL_KEYS = ("warehouse", "paths", "vars", "retention", "sources")
RETENTION_KEYS = ("raw_days",)
SOURCE_KEYS = ("channel", "session_based", "description", "table", "columns", "loaded_at")


class ProjectError(ValueError):
    """A project folder or ``journeymap.yml`` that cannot be used, with what to do about it."""


@dataclass(frozen=True)
class EventSource:
    """An event source the user declares (``sources:`` in journeymap.yml).

    Its events land like web events (``import-events --source <name>``) in ``raw.<name>``,
    or are read from a table already in the warehouse (``table``: a table, a view or, on
    DuckDB, a table function such as ``read_parquet('exports/*.parquet')``) with ``columns``
    mapping the contract's columns to the table's. They flow through the taxonomy (rows with
    ``source = <name>``), paths and stages; only ``session_based`` sources are cut into
    sessions."""

    name: str
    channel: str
    session_based: bool = False
    description: str = ""
    table: str | None = None
    columns: Mapping[str, str] = field(default_factory=dict, hash=False)
    loaded_at: str | None = None  # the table's load-time column (incremental runs need one)

    def dbt_var(self) -> dict[str, Any]:
        """How dbt sees the source (var event_sources)."""
        value: dict[str, Any] = {"channel": self.channel, "session_based": self.session_based}
        if self.table:
            value.update(table=self.table, columns=dict(self.columns), loaded_at=self.loaded_at)
        return value


@dataclass(frozen=True)
class Project:
    """A loaded ``journeymap.yml`` (paths resolved against the project folder)."""

    root: Path
    warehouse_kind: str | None = None
    duckdb_path: Path | None = None
    data_dir: Path | None = None
    build_dir: Path | None = None
    dbt_target_dir: Path | None = None
    vars: Mapping[str, Any] = field(default_factory=dict, hash=False)
    sources: tuple[EventSource, ...] = ()
    retention_raw_days: int | None = None  # journeymap.retention; None: off

    @property
    def seeds_dir(self) -> Path:
        return self.root / SEEDS_FOLDER

    def seed_overrides(self) -> dict[str, Path]:
        """The project's seed files by seed name (each replaces the shipped seed)."""
        return seed_overrides(self.seeds_dir)


def seed_overrides(seeds_dir: Path) -> dict[str, Path]:
    """The seed files of a project's ``seeds_dir`` by seed name; a file that is not a seed
    journeymap ships is an error naming the ones it does."""
    if not seeds_dir.is_dir():
        return {}
    overrides = {path.stem: path for path in sorted(seeds_dir.glob("*.csv"))}
    shipped = {path.stem for path in PACKAGE_SEEDS_DIR.glob("*.csv")}
    unknown = sorted(set(overrides) - shipped)
    if unknown:
        raise ProjectError(
            f"{seeds_dir}: {', '.join(f'{u}.csv' for u in unknown)} is not a journeymap "
            f"seed; the seeds a project can override are {', '.join(sorted(shipped))}"
        )
    return overrides


def find_project(start: Path | None = None) -> Path | None:
    """The project folder: ``$JOURNEYMAP_PROJECT``, else the nearest folder holding
    journeymap.yml from ``start`` (the working directory) upwards; None when there is none."""
    explicit = os.environ.get(PROJECT_ENV_VAR)
    if explicit:
        return Path(explicit).resolve()
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / PROJECT_FILE).is_file():
            return folder
    return None


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ProjectError(f"{where} must be a mapping of names to values, not {value!r}")
    return value


def _check_keys(values: Mapping[str, Any], allowed: tuple[str, ...], where: str) -> None:
    unknown = sorted(set(values) - set(allowed))
    if unknown:
        raise ProjectError(
            f"{where}: unknown key {', '.join(unknown)} (known keys: {', '.join(allowed)})"
        )


def _event_source(name: str, values: Any, where: str, builtin: tuple[str, ...]) -> EventSource:
    values = _mapping(values, f"{where}: sources.{name}")
    _check_keys(values, SOURCE_KEYS, f"{where}: sources.{name}")
    if not SOURCE_NAME.fullmatch(name):
        raise ProjectError(
            f"{where}: source name {name!r} must be lower case letters, digits and _ "
            "(it names a landing folder and a raw table)"
        )
    if name in builtin:
        raise ProjectError(f"{where}: {name!r} is a built-in source; give yours another name")
    if not values.get("channel"):
        raise ProjectError(f"{where}: sources.{name} needs a channel (e.g. support, store, web)")
    columns = _mapping(values.get("columns"), f"{where}: sources.{name}.columns")
    if values.get("table") and not {"event_name", "occurred_at"} <= set(columns):
        raise ProjectError(
            f"{where}: sources.{name} reads table {values['table']!r}: its columns must map at "
            "least event_name and occurred_at (and event_id, anonymous_id or user_id)"
        )
    return EventSource(
        name=name,
        channel=str(values["channel"]),
        session_based=bool(values.get("session_based", False)),
        description=str(values.get("description") or ""),
        table=values.get("table"),
        columns={str(k): str(v) for k, v in columns.items()},
        loaded_at=values.get("loaded_at"),
    )


def retention_days(value: Any, where: str) -> int | None:
    """A retention period in whole days (None, empty or 0: off); anything else is an error."""
    if value in (None, "", 0, "0"):
        return None
    if isinstance(value, bool) or not str(value).strip().isdigit():
        raise ProjectError(
            f"{where} must be a whole number of days (0 or empty: off), not {value!r}"
        )
    return int(str(value).strip())


def load_project(root: Path) -> Project:
    """Read ``<root>/journeymap.yml``; a clear ProjectError for anything it cannot use."""
    from journeymap.contract import SOURCES

    root = Path(root).resolve()
    path = root / PROJECT_FILE
    if not path.is_file():
        raise ProjectError(
            f"{root} is not a journeymap project (no {PROJECT_FILE}); "
            f"make one with `journeymap init {root}`"
        )
    try:
        config = _mapping(yaml.safe_load(path.read_text()), str(path))
    except yaml.YAMLError as error:
        raise ProjectError(f"{path} is not valid YAML: {error}") from error
    _check_keys(config, TOP_LEVEL_KEYS, str(path))
    warehouse = _mapping(config.get("warehouse"), f"{path}: warehouse")
    paths = _mapping(config.get("paths"), f"{path}: paths")

    def resolve(value: Any) -> Path | None:
        return (root / str(value)).resolve() if value else None

    sources = _mapping(config.get("sources"), f"{path}: sources")
    retention = _mapping(config.get("retention"), f"{path}: retention")
    _check_keys(retention, RETENTION_KEYS, f"{path}: retention")
    return Project(
        root=root,
        warehouse_kind=warehouse.get("kind"),
        duckdb_path=resolve(warehouse.get("duckdb_path")),
        data_dir=resolve(paths.get("data")),
        build_dir=resolve(paths.get("build")),
        dbt_target_dir=resolve(paths.get("dbt_target")),
        vars=_mapping(config.get("vars"), f"{path}: vars"),
        retention_raw_days=retention_days(retention.get("raw_days"), f"{path}: retention.raw_days"),
        sources=tuple(
            _event_source(str(name), values, str(path), tuple(SOURCES))
            for name, values in sources.items()
        ),
    )


PROJECT_TEMPLATE = """\
# A journeymap project (README: "Bring your own data"). Paths are relative to this folder;
# environment variables (JOURNEYMAP_DUCKDB_PATH, ...) override them.
warehouse:
  kind: duckdb                          # or snowflake (credentials: SNOWFLAKE_* env vars)
  duckdb_path: warehouse/journeymap.duckdb
paths:
  data: data                            # landing files: data/landing/<source>/
  build: build                          # build/journey_map.html, model report, data docs
  dbt_target: target
vars:                                   # dbt vars; the README lists them all
  session_timeout_minutes: 30
  max_path_steps: 12
  primary_funnel: purchase
# Retention period: raw and quarantine rows of files loaded more than raw_days days ago are
# purged at the start of every run (`journeymap purge --dry-run` shows what would go).
retention: {}
#  raw_days: 400
# Event sources of your own besides web_events, app_events and the other built-in ones.
# Import an export with `journeymap import-events FILE --source helpdesk`.
sources: {}
#  helpdesk:
#    channel: support                  # the channel of its events
#    session_based: false              # true: cut into sessions per device, like web events
"""


def init_project(root: Path) -> list[Path]:
    """Write a new project: journeymap.yml and editable copies of the shipped seeds.
    Files that exist are left as they are; returns the files written."""
    root = Path(root).resolve()
    root.mkdir(parents=True, exist_ok=True)
    written = []
    config = root / PROJECT_FILE
    if not config.exists():
        config.write_text(PROJECT_TEMPLATE)
        written.append(config)
    seeds = root / SEEDS_FOLDER
    seeds.mkdir(exist_ok=True)
    for name in EDITABLE_SEEDS:
        target = seeds / f"{name}.csv"
        if not target.exists():
            shutil.copyfile(PACKAGE_SEEDS_DIR / f"{name}.csv", target)
            written.append(target)
    return written
