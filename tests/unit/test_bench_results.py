"""The benchmark report names dbt nodes as dbt's run_results.json does (bench/dbt_results.py):
no model name is written into the harness, so renamed or split models show up as they are."""

from __future__ import annotations

import json
from pathlib import Path

from bench.dbt_results import node_name, run_results_summary


def test_node_names_come_from_the_unique_ids():
    assert node_name("model.journeymap.int_events_sessionized") == "int_events_sessionized"
    assert node_name("test.journeymap.unique_fct_events_event_key.4f1ad2c3e2") == (
        "unique_fct_events_event_key"
    )
    assert node_name("unit_test.journeymap.fct_sessions.ties_at_start") == (
        "fct_sessions.ties_at_start"
    )
    assert node_name("seed.journeymap.event_taxonomy") == "event_taxonomy"


def test_summary_of_a_run(tmp_path: Path):
    results = [
        ("model.journeymap.int_events_sessionized", "success", 30.0),
        ("model.journeymap.fct_events", "success", 0.2),
        ("model.journeymap.a_new_model", "error", 1.0),
        ("test.journeymap.unique_fct_events_event_key.4f1ad2c3e2", "pass", 1.5),
        ("unit_test.journeymap.fct_sessions.one", "pass", 0.4),
        ("unit_test.journeymap.fct_sessions.two", "pass", 0.3),
        ("seed.journeymap.event_taxonomy", "success", None),
    ]
    (tmp_path / "run_results.json").write_text(
        json.dumps(
            {
                "elapsed_time": 35.0,
                "results": [
                    {"unique_id": u, "status": s, "execution_time": t, "message": "boom"}
                    for u, s, t in results
                ],
            }
        )
    )
    summary = run_results_summary(tmp_path, top=2)
    assert summary["nodes"] == 7
    assert summary["dbt_elapsed_seconds"] == 35.0
    assert [n["node"] for n in summary["slowest"]] == [
        "int_events_sessionized",
        "unique_fct_events_event_key",
    ]
    assert summary["models"] == {
        "int_events_sessionized": 30.0,
        "a_new_model": 1.0,
        "fct_events": 0.2,
    }
    assert list(summary["slowest_tests"]) == [
        "unique_fct_events_event_key",
        "fct_sessions.one",
        "fct_sessions.two",
    ]
    assert summary["seconds_by_node_type"] == {
        "model": 31.2,
        "seed": 0.0,
        "test": 1.5,
        "unit_test": 0.7,
    }
    assert summary["statuses"] == {"success": 3, "error": 1, "pass": 3}
    assert summary["problems"] == [{"node": "a_new_model", "status": "error", "message": "boom"}]


def test_no_run_results(tmp_path: Path):
    assert run_results_summary(tmp_path) == {"available": False}
