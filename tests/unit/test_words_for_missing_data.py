"""Data without orders, without funnel entrants, from one source: `journeymap summary` and the
journey map page say so in words instead of empty sections and 0.0% rates."""

from __future__ import annotations

from pathlib import Path

import pytest

from journeymap.report import render_journey_map
from journeymap.report.insights import biggest_stage_drop_off
from journeymap.summary import summarize
from journeymap.warehouse import DuckDBWarehouse
from tests.helpers.report_sample import sample_report_data

# The columns summary reads of each mart; a help desk log: one source, no conversions.
MARTS = {
    "fct_events": "select false as is_conversion from range(36)",
    "fct_sessions": "select 1 as x where false",
    "fct_journey_paths": "select 1 as x from range(12)",
    "fct_funnel_steps": (
        "select 1 as step_number, 'a' as step_name, 'all' as breakdown, 'all' as breakdown_value, "
        "'purchase' as funnel_name, 0.5 as conversion_from_previous where false"
    ),
    "fct_stage_transitions": "select 1 as x from range(12)",
    "dim_customers": "select 1 as x from range(12)",
    "mart_journey_map": "select 1 as x",
    "mart_path_transitions": "select 1 as x",
    "mart_unmapped_events": "select 1 as x where false",
    "mart_journey_stages": (
        "select * from (values ('Awareness', 1, 0, null), ('Retention', 4, 12, 0.0)) "
        "as t(stage_label, stage_order, customers_reached, conversion_to_next_stage)"
    ),
    "mart_path_summary": (
        "select 'customer' as path_grain, 'ticket_opened > ticket_solved' as path, "
        "9 as occurrences, 0.0 as conversion_rate, 1 as frequency_rank"
    ),
    "mart_data_reconciliation": (
        "select * from (values ('helpdesk', 36, 0, 0, true, 0), ('orders', 0, 0, 0, true, 0)) "
        "as t(source_name, landed_rows, quarantined_rows, deduplicated_rows, is_reconciled, "
        "unaccounted_rows)"
    ),
    "mart_conversion_paths": "select 'web' as channel_path where false",
    "mart_non_conversion_paths": "select 1 as x from range(12)",
    "fct_attribution_touches": "select 1 as x where false",
}


@pytest.fixture
def helpdesk_only(tmp_path: Path):
    with DuckDBWarehouse(tmp_path / "w.duckdb") as warehouse:
        warehouse.execute("create schema marts")
        warehouse.execute("create schema seeds")
        warehouse.execute("create schema enriched")
        warehouse.execute(
            "create table enriched.mart_attribution_comparison as select 'web' as channel, "
            "'last_touch' as attribution_model, 1.0 as share_of_conversions where false"
        )
        for name, sql in MARTS.items():
            warehouse.execute(f"create table marts.{name} as {sql}")
        warehouse.execute(
            "create table seeds.funnel_definitions as select 'purchase' as funnel_name, "
            "1 as step_number, 'product_viewed' as canonical_event"
        )
        yield warehouse


def test_summary_says_why_there_is_no_funnel_and_no_conversion(helpdesk_only) -> None:
    text = summarize(helpdesk_only)
    assert (
        "Funnel 'purchase': nobody entered it: no customer has its first step's event "
        "(product_viewed)." in text
    )
    assert "No conversions: no event is marked is_conversion" in text
    assert "        9  ticket_opened > ticket_solved" in text
    assert "0.0%  ticket_opened" not in text  # no conversion rate where nothing converts
    assert "Channel attribution: no conversions to attribute yet." in text
    assert "Top channel paths to conversion" not in text
    assert "Data: 36 landed rows from 1 source (helpdesk)" in text


def test_summary_names_a_funnel_that_is_not_defined(helpdesk_only) -> None:
    assert "funnel_definitions has no funnel of that name" in summarize(helpdesk_only, "signup")


def test_page_says_nobody_converted_when_nothing_is_a_conversion() -> None:
    data = sample_report_data(churn_scored=False)
    data["customers"]["ordering"] = 0
    for row in data["paths"]["transitions"]:
        if row["to_event"] == "converted":
            row["to_event"] = "dropped off"
    page = render_journey_map(data)
    assert "nobody converted: no event of this data is a conversion" in page
    assert "No churn scores yet" in page and "needs subscriptions" in page


def test_no_drop_off_headline_into_a_stage_the_data_never_reaches() -> None:
    """A help desk log reaches retention but has no advocacy events at all: retention's
    customers did not drop off, the data has no next stage."""
    data = sample_report_data()
    for stage in data["stages"]:
        if stage["journey_stage"] == "advocacy":
            stage["customers_reached"] = 0
        if stage["journey_stage"] == "retention":
            stage["customers_to_next_stage"], stage["drop_off_rate"] = 0, 1.0
            stage["conversion_to_next_stage"] = 0.0
    worst = biggest_stage_drop_off(data)
    assert worst is not None and worst["journey_stage"] != "retention"
