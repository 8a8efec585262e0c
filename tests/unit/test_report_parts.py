"""The journey map page's parts: Sankey layout, insights, formatting and row cleaning."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from journeymap.report import fmt, insights
from journeymap.report.data import records
from journeymap.report.sankey import layout_sankey
from tests.helpers.report_sample import sample_report_data


def _t(step, source, target, paths, end=False):
    return {
        "step_index": step,
        "from_event": source,
        "to_event": target,
        "is_path_end": end,
        "paths": paths,
    }


TRANSITIONS = [
    _t(1, "home_viewed", "product_viewed", 60),
    _t(1, "home_viewed", "dropped off", 40, end=True),
    _t(1, "ad_clicked", "product_viewed", 30),
    _t(2, "product_viewed", "order_placed", 50),
    _t(2, "product_viewed", "dropped off", 40, end=True),
    _t(3, "order_placed", "converted", 50, end=True),
]


def test_sankey_columns_values_and_conservation():
    layout = layout_sankey(TRANSITIONS, max_steps=6)
    nodes = {(n.column, n.event): n for n in layout.nodes}
    assert set(nodes) == {
        (1, "home_viewed"),
        (1, "ad_clicked"),
        (2, "product_viewed"),
        (2, "dropped off"),
        (3, "order_placed"),
        (3, "dropped off"),
        (4, "converted"),
    }
    assert layout.columns == 4
    assert layout.total_paths == 130
    assert nodes[(1, "home_viewed")].value == 100
    assert nodes[(2, "product_viewed")].value == 90
    assert nodes[(4, "converted")].kind == "converted"
    assert nodes[(3, "dropped off")].kind == "dropped"
    for n in layout.nodes:  # what flows in flows out
        if n.incoming and n.outgoing:
            assert sum(lk.value for lk in n.incoming) == sum(lk.value for lk in n.outgoing)
    # nodes never overlap inside a column; columns step to the right
    for column in range(1, layout.columns + 1):
        col = sorted((n for n in layout.nodes if n.column == column), key=lambda n: n.y)
        for upper, lower in zip(col, col[1:], strict=False):
            assert upper.y + upper.height <= lower.y
    xs = [min(n.x for n in layout.nodes if n.column == c) for c in range(1, 5)]
    assert xs == sorted(xs) and len(set(xs)) == 4
    # links leave and enter inside their nodes
    for link in layout.links:
        assert link.source.y <= link.source_y <= link.source.y + link.source.height
        assert link.target.y <= link.target_y <= link.target.y + link.target.height
    # end nodes sit below the events of their column
    assert nodes[(2, "dropped off")].y > nodes[(2, "product_viewed")].y


def test_sankey_cuts_at_max_steps_into_more_steps():
    layout = layout_sankey(TRANSITIONS, max_steps=1)
    nodes = {(n.column, n.event): n for n in layout.nodes}
    assert (2, "more steps") in nodes and nodes[(2, "more steps")].value == 90
    assert nodes[(2, "more steps")].kind == "more"
    assert layout.columns == 2


def test_paths_cut_at_the_warehouse_path_length_continue_rather_than_drop_off():
    """mart_path_transitions ends a path longer than var max_path_steps in "continues": the
    Sankey shows it as going on (more steps), never as dropped off."""
    transitions = [
        _t(1, "ticket_opened", "ticket_assigned", 70),
        _t(1, "ticket_opened", "dropped off", 10, end=True),
        _t(2, "ticket_assigned", "continues", 70, end=True),
    ]
    layout = layout_sankey(transitions, max_steps=6)
    nodes = {(n.column, n.event): n for n in layout.nodes}
    assert nodes[(3, "more steps")].kind == "more" and nodes[(3, "more steps")].value == 70
    assert (3, "dropped off") not in nodes and (3, "continues") not in nodes
    assert nodes[(2, "dropped off")].value == 10


def test_sankey_merges_small_events_of_a_column():
    transitions = [_t(1, f"event_{i}", "dropped off", 100 - i, end=True) for i in range(10)]
    layout = layout_sankey(transitions, max_nodes_per_column=4)
    first = [n for n in layout.nodes if n.column == 1]
    assert [n.event for n in first] == ["event_0", "event_1", "event_2", "event_3", "other events"]
    assert first[-1].value == sum(100 - i for i in range(4, 10))
    assert sum(n.value for n in first) == layout.total_paths


def test_sankey_with_no_paths():
    assert layout_sankey([]).nodes == []


def test_device_gap_compares_a_device_with_the_others_pooled():
    data = sample_report_data()
    gap = insights.biggest_device_gap(data)
    assert gap["step_name"] == "Entered payment"
    assert gap["previous_step_name"] == "Started checkout"
    assert gap["worst_device"] == "mobile"
    assert gap["compared_devices"] == ["desktop", "tablet"]
    assert gap["worst_rate"] == pytest.approx(93 / 194)
    assert gap["compared_rate"] == pytest.approx((194 + 23) / (243 + 32))
    assert gap["customers_lost"] == round(gap["gap"] * 194)


def _set(data, device, step, entered, completed):
    for row in data["funnel"]["rows"]:
        if row["breakdown_value"] == device and row["step_number"] == step:
            row.update(
                entered=entered, completed=completed, conversion_from_previous=completed / entered
            )


def test_device_gap_ignores_small_samples_noise_and_unknown_devices():
    data = sample_report_data()
    # a huge gap on a handful of tablet customers is noise, not a finding
    _set(data, "tablet", 2, 12, 1)
    assert insights.biggest_device_gap(data)["step_name"] == "Entered payment"
    # 'unknown' devices are never compared
    rows = data["funnel"]["rows"]
    rows += [
        dict(r, breakdown_value="unknown", completed=0, conversion_from_previous=0.0)
        for r in rows
        if r["breakdown_value"] == "desktop"
    ]
    assert insights.biggest_device_gap(data)["worst_device"] == "mobile"
    # a wide gap that is not significant (z < 1.96) is not named
    data = sample_report_data()
    for device in ("desktop", "mobile", "tablet"):
        _set(data, device, 4, 40, 30)
    _set(data, "mobile", 4, 40, 25)  # 62% against 75%: 13 points, z ~ 1.3
    gap = insights.biggest_device_gap(data)
    assert gap is None or gap["step_number"] != 4


def test_and_list():
    assert insights.and_list([]) == ""
    assert insights.and_list(["desktop"]) == "desktop"
    assert insights.and_list(["desktop", "tablet"]) == "desktop and tablet"
    assert insights.and_list(["a", "b", "c"]) == "a, b and c"


def test_stage_drop_off_ignores_advocacy_and_empty_stages():
    data = sample_report_data()
    worst = insights.biggest_stage_drop_off(data)
    assert worst["journey_stage"] == "retention"
    assert worst["customers_lost"] == 480 - 130
    assert worst["next_stage_label"] == "Advocacy"


def test_churn_by_stage_picks_the_most_common_reason():
    rows = {r["journey_stage"]: r for r in insights.churn_by_stage(sample_report_data())}
    assert (rows["retention"]["high"], rows["retention"]["medium"], rows["retention"]["low"]) == (
        64,
        95,
        180,
    )
    assert rows["retention"]["top_reason"] == "Repeated billing complaints"
    assert rows["awareness"]["scored"] == 0 and rows["awareness"]["top_reason"] is None
    assert insights.churn_by_stage(sample_report_data(churn_scored=False)) is None


@pytest.mark.parametrize(
    ("hours", "text"),
    [
        (None, "n/a"),
        (0.1, "6 min"),
        (0.001, "1 min"),
        (5.24, "5.2 hours"),
        (30, "30 hours"),
        (52.8, "2.2 days"),
    ],
)
def test_duration(hours, text):
    assert fmt.duration(hours) == text


def test_numbers():
    assert fmt.pct(0.4812) == "48%"
    assert fmt.pct(None) == "n/a"
    assert fmt.count(1234.4) == "1,234"
    assert fmt.plural(1, "customer") == "1 customer"
    assert fmt.plural(2, "customer") == "2 customers"
    assert fmt.esc('<a href="x">&') == "&lt;a href=&quot;x&quot;&gt;&amp;"


class _FakeWarehouse:
    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame

    def query_df(self, sql, params=None):
        return self.frame.copy()


def test_records_are_plain_python_with_none_for_missing():
    frame = pd.DataFrame(
        {
            "STAGE": ["awareness", None],
            "REACHED": np.array([3, 4], dtype="int64"),
            "RATE": [0.5, math.nan],
            "N": pd.array([1, pd.NA], dtype="Int64"),
            "AT": [pd.Timestamp("2026-06-01 10:00"), pd.NaT],
        }
    )
    rows = records(_FakeWarehouse(frame), "select 1")
    assert rows == [
        {"stage": "awareness", "reached": 3, "rate": 0.5, "n": 1, "at": "2026-06-01T10:00:00"},
        {"stage": None, "reached": 4, "rate": None, "n": None, "at": None},
    ]
    assert type(rows[0]["reached"]) is int
