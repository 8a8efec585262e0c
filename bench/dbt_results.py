"""Per-node figures of one dbt command, read from the run_results.json it wrote.

Every model, test and seed name in the results comes from here, so the report follows the
project as models are added, split or renamed; nothing in the harness lists model names.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SLOWEST_NODES = 5  # per dbt command, in the markdown report
SLOWEST_TESTS = 15  # per dbt command, in the JSON


def node_type(unique_id: str) -> str:
    """``model``, ``test``, ``unit_test``, ``seed``, ``operation`` ..."""
    return unique_id.split(".", 1)[0]


def node_name(unique_id: str) -> str:
    """The node's name without its type and package: ``model.journeymap.fct_events`` ->
    ``fct_events``. A generic test's trailing hash is left out; a unit test keeps the model
    it tests in front of its own name (two unit tests of one model must not collide)."""
    parts = unique_id.split(".")
    if len(parts) <= 2:
        return unique_id
    if parts[0] == "unit_test" and len(parts) > 3:
        return f"{parts[2]}.{parts[3]}"
    return parts[2]


def _seconds(result: dict[str, Any]) -> float:
    return result.get("execution_time") or 0.0


def run_results_summary(target_dir: Path, top: int = SLOWEST_NODES) -> dict[str, Any]:
    """The slowest nodes, every model's time and the totals by node type."""
    path = target_dir / "run_results.json"
    if not path.exists():
        return {"available": False}
    data = json.loads(path.read_text())
    results = data.get("results", [])
    statuses: dict[str, int] = {}
    by_type: dict[str, float] = {}
    for result in results:
        statuses[result["status"]] = statuses.get(result["status"], 0) + 1
        kind = node_type(result["unique_id"])
        by_type[kind] = by_type.get(kind, 0.0) + _seconds(result)
    ranked = sorted(results, key=lambda r: -_seconds(r))
    tests = [r for r in ranked if node_type(r["unique_id"]) in ("test", "unit_test")]
    return {
        "available": True,
        "dbt_elapsed_seconds": data.get("elapsed_time"),
        "nodes": len(results),
        "statuses": statuses,
        "seconds_by_node_type": {k: round(v, 2) for k, v in sorted(by_type.items())},
        "slowest": [
            {
                "node": node_name(r["unique_id"]),
                "type": node_type(r["unique_id"]),
                "seconds": round(_seconds(r), 2),
                "status": r["status"],
            }
            for r in ranked[:top]
        ],
        "models": {
            node_name(r["unique_id"]): round(_seconds(r), 2)
            for r in ranked
            if node_type(r["unique_id"]) == "model"
        },
        "slowest_tests": {
            node_name(r["unique_id"]): round(_seconds(r), 2) for r in tests[:SLOWEST_TESTS]
        },
        "problems": [
            {
                "node": node_name(r["unique_id"]),
                "status": r["status"],
                "message": (r.get("message") or "")[:300],
            }
            for r in results
            if r["status"] not in ("success", "pass")
        ],
    }
