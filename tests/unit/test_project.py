"""A user's project: journeymap.yml, its seeds and its sources reach Settings, dbt and the
loader; mistakes get a message that says what to do."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from journeymap.project import (
    EDITABLE_SEEDS,
    PACKAGE_DBT_DIR,
    PACKAGE_SEEDS_DIR,
    ProjectError,
    find_project,
    init_project,
    load_project,
)
from journeymap.settings import Settings
from journeymap.transform import dbt_project_dir, dbt_var, merge_vars, prepare_dbt_dir


def write_config(root: Path, config: dict) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "journeymap.yml").write_text(yaml.safe_dump(config))
    return root


def test_init_writes_config_and_editable_seeds_and_keeps_what_exists(tmp_path: Path) -> None:
    root = tmp_path / "shop"
    written = init_project(root)
    assert {p.name for p in written} == {"journeymap.yml", *(f"{s}.csv" for s in EDITABLE_SEEDS)}
    for name in EDITABLE_SEEDS:
        assert (root / "seeds" / f"{name}.csv").read_text() == (
            PACKAGE_SEEDS_DIR / f"{name}.csv"
        ).read_text()
    (root / "seeds" / "event_taxonomy.csv").write_text("edited")
    assert init_project(root) == []
    assert (root / "seeds" / "event_taxonomy.csv").read_text() == "edited"
    project = load_project(root)
    assert project.sources == () and project.vars["session_timeout_minutes"] == 30


def test_settings_come_from_the_project_and_env_vars_override(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = write_config(
        tmp_path / "p",
        {
            "warehouse": {"duckdb_path": "wh/x.duckdb"},
            "paths": {"data": "incoming"},
            "vars": {"session_timeout_minutes": 45},
            "sources": {"helpdesk": {"channel": "support"}},
        },
    )
    for name in ("JOURNEYMAP_DUCKDB_PATH", "JOURNEYMAP_DATA_DIR", "JOURNEYMAP_PROJECT"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings.load(root)
    assert settings.duckdb_path == root / "wh" / "x.duckdb"
    assert settings.landing_dir == root / "incoming" / "landing"
    assert settings.build_dir == root / "build"
    assert settings.dbt_vars == {
        "session_timeout_minutes": 45,
        "event_sources": {"helpdesk": {"channel": "support", "session_based": False}},
    }
    assert "helpdesk" in settings.source_contracts
    # The Python models read a var as dbt gets it: the project's over dbt_project.yml's.
    assert dbt_var(settings, "session_timeout_minutes") == 45
    assert dbt_var(settings, "action_holdout_share") == 0.1
    monkeypatch.setenv("JOURNEYMAP_DUCKDB_PATH", str(tmp_path / "elsewhere.duckdb"))
    assert Settings.load(root).duckdb_path == tmp_path / "elsewhere.duckdb"


def test_the_project_is_found_from_a_folder_inside_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("JOURNEYMAP_PROJECT", raising=False)
    root = write_config(tmp_path / "p", {})
    inside = root / "exports" / "2026"
    inside.mkdir(parents=True)
    assert find_project(inside) == root.resolve()
    monkeypatch.setenv("JOURNEYMAP_PROJECT", str(tmp_path / "other"))
    assert find_project(inside) == (tmp_path / "other").resolve()


def test_without_a_project_the_working_directory_holds_what_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("JOURNEYMAP_PROJECT", "JOURNEYMAP_DUCKDB_PATH", "JOURNEYMAP_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    for name in ("JOURNEYMAP_BUILD_DIR", "JOURNEYMAP_DBT_TARGET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    settings = Settings.load()
    assert settings.project is None
    assert settings.duckdb_path == tmp_path / "warehouse" / "journeymap.duckdb"
    assert (settings.data_dir, settings.build_dir, settings.dbt_target_dir) == (
        tmp_path / "data",
        tmp_path / "build",
        tmp_path / "target",
    )
    assert settings.project_dir == PACKAGE_DBT_DIR  # read, never written


def test_the_repository_is_the_demo_project() -> None:
    project = load_project(PACKAGE_DBT_DIR)
    assert project.seed_overrides() == {}  # the demo uses the shipped seeds


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"sourcez": {}}, "unknown key sourcez"),
        ({"sources": {"Help Desk": {"channel": "support"}}}, "must be lower case letters"),
        ({"sources": {"web_events": {"channel": "web"}}}, "is a built-in source"),
        ({"sources": {"helpdesk": {}}}, "needs a channel"),
        ({"sources": {"helpdesk": {"channel": "x", "sessions": True}}}, "unknown key sessions"),
        (
            {"sources": {"segment": {"channel": "web", "table": "segment.tracks"}}},
            "its columns must map at least event_name and occurred_at",
        ),
    ],
)
def test_config_mistakes_are_named(tmp_path: Path, config: dict, message: str) -> None:
    root = write_config(tmp_path / "p", config)
    with pytest.raises(ProjectError, match=message):
        load_project(root)


def test_no_project_and_unknown_seeds_say_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ProjectError, match="journeymap init"):
        load_project(tmp_path)
    root = write_config(tmp_path / "p", {})
    (root / "seeds").mkdir()
    (root / "seeds" / "actions_v2.csv").write_text("a\n")
    with pytest.raises(ProjectError, match="actions_v2.csv is not a journeymap seed"):
        load_project(root).seed_overrides()


def test_project_seeds_reach_dbt_through_the_projects_own_dbt_folder(tmp_path: Path) -> None:
    """dbt runs in a folder of the project's dbt target dir: links to the package's dbt
    project, whose seeds are the project's files where it has them. The package is only read."""
    root = tmp_path / "p"
    init_project(root)
    (root / "seeds" / "journey_stages.csv").unlink()  # keep the shipped stages
    settings = Settings.for_workspace(tmp_path / "ws", project=load_project(root))
    folder = prepare_dbt_dir(settings)
    assert folder == dbt_project_dir(settings) == tmp_path / "ws" / "target" / "dbt_project"
    seeds = folder / "seeds" / "defaults"
    assert {p.name: p.resolve() for p in seeds.iterdir()} == {
        "actions.csv": root / "seeds" / "actions.csv",
        "event_taxonomy.csv": root / "seeds" / "event_taxonomy.csv",
        "funnel_definitions.csv": root / "seeds" / "funnel_definitions.csv",
        "journey_stages.csv": PACKAGE_SEEDS_DIR / "journey_stages.csv",
    }
    for shared in ("dbt_project.yml", "models", "macros", "tests/dbt", "seeds/_seeds.yml"):
        assert (folder / shared).resolve() == PACKAGE_DBT_DIR / shared, shared

    # An edit needs nothing (the file is linked); a removed copy falls back to the shipped seed.
    (root / "seeds" / "event_taxonomy.csv").write_text("edited\n")
    (root / "seeds" / "funnel_definitions.csv").unlink()
    prepare_dbt_dir(settings)
    assert (seeds / "event_taxonomy.csv").read_text() == "edited\n"
    assert (seeds / "funnel_definitions.csv").resolve() == (
        PACKAGE_SEEDS_DIR / "funnel_definitions.csv"
    )
    assert (PACKAGE_SEEDS_DIR / "event_taxonomy.csv").read_text() != "edited\n"


def test_without_seeds_of_its_own_dbt_runs_in_the_package(tmp_path: Path) -> None:
    root = write_config(tmp_path / "p", {})
    settings = Settings.for_workspace(tmp_path / "ws", project=load_project(root))
    assert prepare_dbt_dir(settings) == PACKAGE_DBT_DIR
    assert not (tmp_path / "ws").exists()  # nothing written
    assert prepare_dbt_dir(Settings.for_workspace(tmp_path / "ws")) == PACKAGE_DBT_DIR


def test_project_vars_go_under_the_commands_own() -> None:
    values = {"session_timeout_minutes": 45, "test_scope": "all"}
    assert merge_vars(["build"], values) == ["build", "--vars", json.dumps(values)]
    merged = merge_vars(["build", "--vars", "{test_scope: changed}", "--select", "x"], values)
    assert json.loads(merged[2]) == {"session_timeout_minutes": 45, "test_scope": "changed"}
    assert merge_vars(["deps"], values) == ["deps"]
