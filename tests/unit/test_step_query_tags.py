"""Every warehouse session a Dagster asset opens carries its run's query tag (on Snowflake:
a run's queries and their cost in query_history): assets open the warehouse through
``step_warehouse``. The Snowflake suite checks the tags of a whole run's sessions."""

from __future__ import annotations

from journeymap.settings import PROJECT_DIR


def test_assets_open_the_warehouse_with_their_steps_query_tag() -> None:
    modules = sorted((PROJECT_DIR / "orchestration" / "assets").glob("*.py"))
    assert len(modules) >= 5
    untagged = [path.name for path in modules if "open_warehouse(" in path.read_text()]
    assert untagged == [], "use journeymap.orchestration.resources.step_warehouse"
