"""No silently stale marts: a change to anything the incremental models were built with - a
seed, a var, the project's event sources - rebuilds what it affects, so the marts equal a
build from scratch with the new settings (macros/settings_state.sql)."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from journeymap.generator import generate
from journeymap.load import load_landing
from journeymap.project import EventSource, init_project, load_project
from journeymap.retention import purge
from journeymap.settings import Settings
from journeymap.transform import DbtError, run_dbt
from journeymap.warehouse import DuckDBWarehouse
from tests.integration.marts import assert_same_marts, mart_snapshot, query, scalar
from tests.integration.test_retention import age_loads

pytestmark = pytest.mark.integration
# Seeds and models without the tests (they pass on these builds; they cost most of the time).
BUILD = ("build", "--exclude", "resource_type:test", "resource_type:unit_test")


@dataclass
class Workspace:
    settings: Settings
    root: Path

    @property
    def seeds(self) -> Path:
        assert self.settings.project is not None
        return self.settings.project.seeds_dir

    def with_vars(self, **values) -> None:
        project = self.settings.project
        assert project is not None
        self.settings = replace(
            self.settings, project=replace(project, vars={**project.vars, **values})
        )

    def with_source(self, source: EventSource) -> None:
        project = self.settings.project
        assert project is not None
        self.settings = replace(
            self.settings, project=replace(project, sources=(*project.sources, source))
        )

    def edit_seed(self, name: str, old: str, new: str) -> None:
        path = self.seeds / f"{name}.csv"
        assert old in path.read_text(), (name, old)
        path.write_text(path.read_text().replace(old, new))


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    root = tmp_path_factory.mktemp("settings")
    init_project(root / "project")  # editable copies of the seeds
    settings = Settings.for_workspace(root / "ws", project=load_project(root / "project"))
    generate(settings.data_dir, customers=60, days=10, seed=3)
    with DuckDBWarehouse(settings.duckdb_path) as warehouse:
        load_landing(warehouse, settings.landing_dir)
    run_dbt(settings, *BUILD, quiet=True)
    return Workspace(settings, root)


def kiosk_table(workspace: Workspace) -> EventSource:
    """A source read in place from Parquet files (no landing, no loader): three visits of
    known customers, two of them at the same second, ordered by the file's own sequence."""
    customers = query(
        workspace.settings.duckdb_path,
        "select customer_id from staging.stg_crm__contacts order by customer_id limit 2",
    ).customer_id.tolist()
    path = workspace.root / "kiosk.parquet"
    pq.write_table(
        pa.table(
            {
                "member_id": [customers[0], customers[0], customers[1]],
                "action": ["Kiosk Visit", "Coupon Printed", "Kiosk Visit"],
                "ts": ["2026-10-30 10:00:00", "2026-10-30 10:00:00", "2026-10-30 11:00:00"],
                "seq": [2, 1, 3],
            }
        ),
        path,
    )
    return EventSource(
        name="kiosk",
        channel="store",
        session_based=True,
        table=f"read_parquet('{path}')",
        columns={
            "user_id": "member_id",
            "event_name": "action",
            "occurred_at": "ts",
            "event_order": "seq",
        },
    )


def purge_first_days(workspace: Workspace) -> None:
    """A retention period that purges the loads of the first three days' landing files
    (made 500 days old): the incremental models must not keep rows built from them."""
    days = sorted({p.stem.rsplit("_", 1)[-1] for p in workspace.settings.landing_dir.glob("*/*")})
    workspace.settings = replace(workspace.settings, retention_raw_days=400)
    with duckdb.connect(str(workspace.settings.duckdb_path)) as connection:
        age_loads(connection, days[2], datetime.now(UTC).replace(tzinfo=None) - timedelta(500))
    result = purge(workspace.settings, say=lambda _: None)
    assert result is not None and result.rows_purged > 0


# Each change is applied on top of the ones before, to the same warehouse.
SETTINGS = {
    "session_timeout_minutes": lambda w: w.with_vars(session_timeout_minutes=2),
    "max_path_steps": lambda w: w.with_vars(max_path_steps=3),
    "path_excluded_events": lambda w: w.with_vars(
        path_excluded_events=["email_sent", "email_delivered", "email_opened", "unmapped"]
    ),
    "funnel_max_steps": lambda w: w.with_vars(funnel_max_steps=5),
    "event_taxonomy": lambda w: w.edit_seed(
        "event_taxonomy",
        "web_events,Pricing Viewed,100,pricing_viewed,web,pricing page,consideration",
        "web_events,Pricing Viewed,100,pricing_viewed,web,pricing page,awareness",
    ),
    "journey_stages": lambda w: w.edit_seed(
        "journey_stages", "retention,4,Retention", "retention,6,Retention"
    ),
    "funnel_definitions": lambda w: w.edit_seed(
        "funnel_definitions",
        "purchase,2,Added to cart,product_added",
        "purchase,2,Compared products,products_compared",
    ),
    "event_sources": lambda w: w.with_source(kiosk_table(w)),
    "retention_purge": purge_first_days,
}
# Settings changed together rebuild disjoint sets of incremental models (each model only
# inherits what is upstream of it), so one that failed to rebuild its models could not be
# covered by another: path length (int_journey_paths), funnel length (int_funnel_progress) and
# stages (int_customer_stage_transitions); path exclusions (the path steps) and funnels
# (int_funnel_progress). The others reach every model downstream of the event stream.
CHANGES = (
    ("session_timeout_minutes",),
    ("max_path_steps", "funnel_max_steps", "journey_stages"),
    ("path_excluded_events", "funnel_definitions"),
    ("event_taxonomy",),
    ("event_sources",),
    ("retention_purge",),  # not a setting but a change of raw all the same
)


def _apply_and_build(workspace: Workspace, setting: str) -> None:
    SETTINGS[setting](workspace)
    run_dbt(workspace.settings, *BUILD, quiet=True)


@pytest.mark.parametrize("settings", CHANGES, ids="+".join)
def test_changed_setting_gives_the_marts_of_a_build_from_scratch(
    workspace: Workspace, settings: tuple[str, ...], tmp_path: Path
) -> None:
    before = mart_snapshot(workspace.settings.duckdb_path)
    for setting in settings:
        SETTINGS[setting](workspace)
    run_dbt(workspace.settings, *BUILD, quiet=True)
    incremental = mart_snapshot(workspace.settings.duckdb_path)

    scratch = replace(workspace.settings, duckdb_path=tmp_path / "scratch.duckdb")
    shutil.copy2(workspace.settings.duckdb_path, scratch.duckdb_path)
    run_dbt(scratch, *BUILD, "--full-refresh", quiet=True)
    assert_same_marts(incremental, mart_snapshot(scratch.duckdb_path))
    assert [m for m in before if not before[m].equals(incremental[m])]  # it changed something


def test_truncated_paths_continue_in_the_transitions(workspace: Workspace) -> None:
    """After max_path_steps went down to 3: every cut path flows to 'continues' at step 3."""
    if workspace.settings.dbt_vars.get("max_path_steps") != 3:
        _apply_and_build(workspace, "max_path_steps")  # run alone: make the change here
    path = workspace.settings.duckdb_path
    continuing = scalar(
        path,
        "select coalesce(sum(paths), 0) from marts.mart_path_transitions "
        "where to_event = 'continues' and step_index = 3",
    )
    assert continuing == scalar(
        path, "select count(*) from marts.fct_journey_paths where is_truncated"
    )
    assert continuing > 0


def test_table_source_flows_like_a_built_in_one(workspace: Workspace) -> None:
    if "kiosk" not in workspace.settings.dbt_vars["event_sources"]:
        _apply_and_build(workspace, "event_sources")  # run alone: make the change here
    events = query(
        workspace.settings.duckdb_path,
        "select raw_event_name, channel, session_key is not null as in_session, event_order "
        "from marts.fct_events where source = 'kiosk' order by occurred_at, event_order",
    )
    assert events.raw_event_name.tolist() == ["Coupon Printed", "Kiosk Visit", "Kiosk Visit"]
    assert set(events.channel) == {"store"} and events.in_session.all()
    reconciliation = query(
        workspace.settings.duckdb_path,
        "select * from marts.mart_data_reconciliation where source_name = 'kiosk'",
    ).iloc[0]
    assert (reconciliation.landed_rows, reconciliation.staged_rows) == (3, 3)
    assert reconciliation.is_reconciled


def test_a_changed_setting_can_stop_the_run_instead(
    workspace: Workspace, capfd: pytest.CaptureFixture[str]
) -> None:
    workspace.with_vars(max_path_steps=4, on_settings_change="fail")
    with pytest.raises(DbtError):
        run_dbt(workspace.settings, "run", "--select", "int_journey_paths")
    output = capfd.readouterr().out
    assert "int_journey_paths was built with other settings than now (var max_path_steps)" in (
        output
    ), output
    assert "journeymap build --full-refresh" in output
