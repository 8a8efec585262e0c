"""The README's "Bring your own data" walk, run as written: a project made with `journeymap
init`, a help desk declared as a source of its own, a Segment tracks export and a process-mining
log imported, the taxonomy extended, `journeymap build` (the daily Dagster job) and
`journeymap summary`. Then a re-delivery of the log under another name changes nothing."""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from journeymap.cli import main
from journeymap.project import PACKAGE_DBT_DIR
from tests.integration.marts import query, scalar

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
WALK = re.compile(r"<!-- byo-walk:start.*?-->(.*?)<!-- byo-walk:end -->", re.S)
BLOCK = re.compile(r"```(\w+)\n(.*?)```", re.S)
SEGMENT_ROWS, HELPDESK_ROWS = 187, 36  # rows of examples/exports/*.csv


def readme_steps() -> list[tuple[str, str]]:
    """(language, text) of each code block of the README's walk, in order."""
    (walk,) = WALK.findall((ROOT / "README.md").read_text())
    return BLOCK.findall(walk)


def commands(script: str) -> list[list[str]]:
    lines = script.replace("\\\n", " ").splitlines()
    return [shlex.split(line, comments=True) for line in lines if line.split("#")[0].strip()]


@dataclass
class Walk:
    project: Path
    output: dict[str, str]  # first word after `journeymap` -> what it printed last

    @property
    def warehouse(self) -> Path:
        return self.project / "warehouse" / "journeymap.duckdb"


def journeymap(args: list[str], cwd: Path) -> str:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.chdir(cwd), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(args)
    assert code == 0, f"journeymap {' '.join(args)} failed: {err.getvalue()}{out.getvalue()}"
    return out.getvalue()


def package_state() -> dict[str, int]:
    """The package's dbt project (every file dbt reads, by modification time) and the names at
    its top: what a user project must never write into (an installed package may be read-only,
    and is shared by every project)."""
    files = [PACKAGE_DBT_DIR / "dbt_project.yml", PACKAGE_DBT_DIR / "profiles.yml"]
    for folder in ("models", "macros", "seeds", "tests/dbt"):
        files += sorted((PACKAGE_DBT_DIR / folder).rglob("*"))
    state = {str(path): path.stat().st_mtime_ns for path in files}
    return state | {name: 0 for name in os.listdir(PACKAGE_DBT_DIR)}


@pytest.fixture(scope="module")
def walk(tmp_path_factory: pytest.TempPathFactory) -> Walk:
    root = tmp_path_factory.mktemp("readme")  # a folder outside the repository
    shutil.copytree(ROOT / "examples", root / "examples")
    cwd, project, output = root, None, {}
    package_before = package_state()
    with pytest.MonkeyPatch.context() as env:
        for name in (
            "JOURNEYMAP_PROJECT",
            "JOURNEYMAP_DUCKDB_PATH",
            "JOURNEYMAP_DATA_DIR",
            "JOURNEYMAP_BUILD_DIR",
            "JOURNEYMAP_DBT_TARGET",
            "DAGSTER_HOME",
        ):
            env.delenv(name, raising=False)
        for language, text in readme_steps():
            if language == "bash":
                for args in commands(text):
                    if args[0] == "cd":
                        cwd = cwd / args[1]
                        continue
                    assert args[0] == "journeymap", args
                    if args[1] == "init":
                        project = cwd / args[2]
                    output[args[1]] = journeymap(args[1:], cwd)
            elif language == "yaml":
                assert project is not None
                config = project / "journeymap.yml"
                assert "sources: {}\n" in config.read_text()
                config.write_text(config.read_text().replace("sources: {}\n", text))
            elif language == "csv":
                assert project is not None
                with (project / "seeds" / "event_taxonomy.csv").open("a") as taxonomy:
                    taxonomy.write(text)
            else:
                raise AssertionError(f"unexpected block {language}")
    assert project is not None
    assert package_state() == package_before
    return Walk(project, output)


def test_readme_walk_lands_every_event_and_writes_the_page(walk: Walk) -> None:
    assert (walk.project / "journeymap.yml").is_file()
    events = query(
        walk.warehouse,
        "select source, count(*) as events, count(session_key) as in_sessions, "
        "count_if(canonical_event = 'unmapped') as unmapped, min(channel) as channel "
        "from marts.fct_events group by source order by source",
    ).set_index("source")
    assert events.events.to_dict() == {"helpdesk": HELPDESK_ROWS, "web_events": SEGMENT_ROWS}
    assert events.unmapped.sum() == 0
    # The help desk is not session based: its events have no session, the clickstream's all do.
    assert events.in_sessions.to_dict() == {"helpdesk": 0, "web_events": SEGMENT_ROWS}
    assert events.loc["helpdesk", "channel"] == "support"
    # The process log's cases joined the customers' web journeys (--user-column Customer).
    assert scalar(
        walk.warehouse,
        "select count(distinct customer_key) from marts.fct_events where source = 'helpdesk' "
        "and customer_key in (select customer_key from marts.fct_events "
        "where source = 'web_events')",
    ) == scalar(
        walk.warehouse,
        "select count(distinct customer_key) from marts.fct_events where source = 'helpdesk'",
    )
    assert "would import" in walk.output["import-events"] or (walk.project / "data").is_dir()

    # dbt ran in the project's own dbt folder, on its seeds; the package was only read.
    dbt_folder = walk.project / "target" / "dbt_project"
    assert (dbt_folder / "seeds" / "defaults" / "event_taxonomy.csv").resolve() == (
        walk.project / "seeds" / "event_taxonomy.csv"
    )
    assert (dbt_folder / "models").resolve() == PACKAGE_DBT_DIR / "models"

    page = (walk.project / "build" / "journey_map.html").read_text()
    assert "help desk" in page
    assert "from 2 sources (helpdesk, web_events)" in page
    assert "No churn scores yet" in page  # no subscriptions: said in words
    summary = walk.output["summary"]
    assert f"Data: {SEGMENT_ROWS + HELPDESK_ROWS} landed rows from 2 sources" in summary
    assert "every row accounted for" in summary


def test_events_at_the_same_second_keep_the_logs_order(walk: Walk) -> None:
    """Each ticket is opened and assigned in the same second: paths follow the log's order,
    also where the hashed event keys sort the other way round."""
    reversed_by_key = scalar(
        walk.warehouse,
        """
        select count(*)
        from marts.fct_events as opened
        inner join marts.fct_events as assigned
            on opened.customer_key = assigned.customer_key
            and opened.occurred_at = assigned.occurred_at
            and opened.canonical_event = 'ticket_opened'
            and assigned.canonical_event = 'ticket_assigned'
        where opened.event_key > assigned.event_key and opened.event_order < assigned.event_order
        """,
    )
    assert reversed_by_key > 0  # the order by key alone would put these the wrong way round
    paths = query(
        walk.warehouse,
        "select path from marts.fct_journey_paths where path like '%ticket_assigned%'",
    ).path
    assert len(paths) > 0
    assert all("ticket_opened > ticket_assigned" in path for path in paths)
    assert not any("ticket_assigned > ticket_opened" in path for path in paths)


def test_reimport_under_another_name_changes_no_event(walk: Walk) -> None:
    """Run inside the project folder: the commands find the project without --project."""
    before = query(walk.warehouse, "select * exclude (processed_at) from marts.fct_events")
    again = walk.project / "tickets_resent.csv"
    shutil.copyfile(walk.project.parent / "examples" / "exports" / "helpdesk_tickets.csv", again)
    journeymap(
        [
            "import-events",
            str(again),
            "--source",
            "helpdesk",
            "--preset",
            "process-mining",
            "--user-column",
            "Customer",
        ],
        walk.project,
    )
    loaded = journeymap(["load"], walk.project)
    assert "the same content as an earlier load" in loaded
    journeymap(["dbt", "build", "--select", "stg_project__events+", "--quiet"], walk.project)

    after = query(walk.warehouse, "select * exclude (processed_at) from marts.fct_events")
    columns = list(before.columns)
    assert (
        before.sort_values(columns)
        .reset_index(drop=True)
        .equals(after.sort_values(columns).reset_index(drop=True))
    )
    helpdesk = query(
        walk.warehouse,
        "select * from marts.mart_data_reconciliation where source_name = 'helpdesk'",
    ).iloc[0]
    assert (helpdesk.files, helpdesk.landed_rows) == (2, 2 * HELPDESK_ROWS)
    assert helpdesk.duplicate_file_rows == HELPDESK_ROWS and helpdesk.is_reconciled
