"""The journey map page written from the dbt-built sample business: its figures match the marts."""

from __future__ import annotations

import json
import re

import pytest

from journeymap.report import write_journey_map
from journeymap.report.fmt import count, pct
from journeymap.warehouse import DuckDBWarehouse
from tests.integration.marts import query, scalar
from tests.unit.test_report_render import element, headline, visible_text

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def report(built_warehouse, tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "journey_map.html"
    with DuckDBWarehouse(built_warehouse.duckdb_path, read_only=True) as warehouse:
        summary = write_journey_map(warehouse, out)
    return summary, out.read_text(encoding="utf-8")


def test_writes_one_page_and_reports_it(report, built_warehouse):
    summary, page = report
    assert summary.path.exists()
    assert summary.bytes == summary.path.stat().st_size == len(page.encode("utf-8"))
    assert not list(summary.path.parent.glob("*.tmp"))
    meta = json.loads(json.dumps(summary.metadata()))
    assert meta["customers"] == scalar(
        built_warehouse.duckdb_path, "select count(*) from marts.dim_customers"
    )
    assert "<link" not in page and "src=" not in page and "href=" not in page


def test_stage_figures_match_the_stage_mart(report, built_warehouse):
    summary, page = report
    stages = query(
        built_warehouse.duckdb_path, "select * from marts.mart_journey_stages order by stage_order"
    )
    positions = []
    for stage in stages.itertuples():
        column = visible_text(element(page, f'class="stage" data-stage="{stage.journey_stage}"'))
        assert f"{count(stage.customers_reached)} customers reached" in column
        assert f"Furthest stage so far for {count(stage.customers_furthest_here)}" in column
        positions.append(page.index(f'data-stage="{stage.journey_stage}"'))
        if stage.stage_order < 5:
            between = visible_text(element(page, f'data-from="{stage.journey_stage}"'))
            assert f"{pct(stage.conversion_to_next_stage)} go on" in between
            assert f"{pct(stage.drop_off_rate)} drop off" in between
    assert positions == sorted(positions)
    assert list(stages.journey_stage) == [
        "awareness",
        "consideration",
        "purchase",
        "retention",
        "advocacy",
    ]

    worst = (
        stages[stages.stage_order < 5]
        .sort_values(["drop_off_rate", "stage_order"], ascending=[False, True])
        .iloc[0]
    )
    assert summary.biggest_drop_off_stage == worst.journey_stage
    assert summary.biggest_drop_off_rate == pytest.approx(worst.drop_off_rate)
    text = headline(page)
    assert (
        f"Customers struggle most after {worst.stage_label}: {pct(worst.drop_off_rate)} drop off"
        in text
    )
    lost = worst.customers_reached - worst.customers_to_next_stage
    assert f"{count(lost)} of the {count(worst.customers_reached)} customers" in text
    assert f'class="connector worst" data-from="{worst.journey_stage}"' in page


def test_touchpoints_match_the_journey_map_mart(report, built_warehouse):
    _, page = report
    touchpoints = query(
        built_warehouse.duckdb_path,
        """
        select * from marts.mart_journey_map
        qualify row_number() over (
            partition by journey_stage order by customers_reached desc, channel, touchpoint
        ) = 1
        """,
    )
    assert len(touchpoints) == 5
    for tp in touchpoints.itertuples():
        column = element(page, f'class="stage" data-stage="{tp.journey_stage}"')
        first = re.search(r'data-touchpoint="([^"]*)" data-channel="([^"]*)"', column)
        assert (first.group(1), first.group(2)) == (tp.touchpoint, tp.channel)
        item = visible_text(element(column, f'data-touchpoint="{tp.touchpoint}"'))
        assert count(tp.customers_reached) in item


def test_funnel_and_planted_mobile_gap(report, built_warehouse):
    summary, page = report
    steps = query(
        built_warehouse.duckdb_path,
        """
        select * from marts.fct_funnel_steps
        where funnel_name = 'purchase' and breakdown = 'all' order by step_number
        """,
    )
    for step in steps.itertuples():
        row = visible_text(element(page, f'data-step="{step.step_number}"'))
        assert f"{count(step.completed)} · {pct(step.conversion_from_entry)}" in row

    payment = query(
        built_warehouse.duckdb_path,
        """
        select breakdown_value, entered, completed, conversion_from_previous
        from marts.fct_funnel_steps
        where funnel_name = 'purchase' and breakdown = 'device_type'
            and canonical_event = 'payment_info_entered'
            and breakdown_value <> 'unknown' and entered >= 30
        """,
    ).set_index("breakdown_value")
    truth = built_warehouse.truth()["funnel"]
    assert truth["to_step"] == "payment_info_entered"
    others = payment.drop(index="mobile")
    others_rate = others.completed.sum() / others.entered.sum()
    mobile_rate = payment.loc["mobile", "conversion_from_previous"]

    # The planted slow mobile checkout is the step the page names and highlights.
    assert summary.device_gap_step == "Entered payment"
    assert summary.device_gap_worst_device == "mobile"
    assert "desktop" in summary.device_gap_compared_with
    assert summary.device_gap_points == pytest.approx((others_rate - mobile_rate) * 100, abs=0.1)
    text = headline(page)
    assert "mobile falls behind at Entered payment" in text
    assert f"{pct(mobile_rate)} on mobile went on, against {pct(others_rate)} on desktop" in text
    payment_step = int(
        steps.loc[steps.canonical_event == "payment_info_entered", "step_number"].iloc[0]
    )
    assert re.findall(r'class="funnel-row gap" data-step="(\d+)"', page) == [str(payment_step)]


def test_sankey_matches_the_path_transitions(report, built_warehouse):
    _, page = report
    first_step = scalar(
        built_warehouse.duckdb_path,
        """
        select sum(paths) from marts.mart_path_transitions
        where path_grain = 'customer' and step_index = 1
        """,
    )
    sankey = element(page, 'class="sankey"')
    assert f"Flows of {count(first_step)} customers" in sankey
    assert sankey.count("<rect") >= 10
    top_event = query(
        built_warehouse.duckdb_path,
        """
        select from_event, sum(paths) as paths from marts.mart_path_transitions
        where path_grain = 'customer' and step_index = 1
        group by from_event order by paths desc, from_event limit 1
        """,
    ).iloc[0]
    label = top_event.from_event.replace("_", " ")
    assert f"Step 1: {label}, {count(top_event.paths)} customers" in sankey


def test_churn_section_matches_the_customer_table(report, built_warehouse):
    summary, page = report
    scored = scalar(
        built_warehouse.duckdb_path,
        "select count(*) from enriched.dim_customer_360 where churn_score is not null",
    )
    churn = element(page, 'id="churn"')
    assert summary.churn_scored_customers == scored
    if scored == 0:
        assert 'data-churn="not-scored"' in churn
        assert summary.high_churn_risk_customers is None
        return
    bands = query(
        built_warehouse.duckdb_path,
        """
        select current_stage, churn_risk_band, count(*) as n from enriched.dim_customer_360
        where churn_risk_band is not null group by all
        """,
    )
    assert summary.high_churn_risk_customers == int(bands[bands.churn_risk_band == "high"].n.sum())
    for stage, group in bands.groupby("current_stage"):
        n = dict(zip(group.churn_risk_band, group.n, strict=True))
        row = visible_text(element(page, f'class="churn-row" data-stage="{stage}"'))
        expected = (
            f"{count(n.get('high', 0))} high · {count(n.get('medium', 0))} medium · "
            f"{count(n.get('low', 0))} low"
        )
        assert expected in row


def test_data_health_matches_reconciliation(report, built_warehouse):
    _, page = report
    landed, quarantined = query(
        built_warehouse.duckdb_path,
        "select sum(landed_rows), sum(quarantined_rows) from marts.mart_data_reconciliation",
    ).iloc[0]
    unmapped = scalar(
        built_warehouse.duckdb_path, "select count(*) from marts.mart_unmapped_events"
    )
    footer = visible_text(element(page, 'id="data-health"'))
    assert f"{count(landed)} rows landed" in footer
    assert f"{count(quarantined)} quarantined" in footer
    if unmapped:
        assert "not in the event taxonomy yet" in footer
    else:
        assert "Every raw event name is mapped" in footer
