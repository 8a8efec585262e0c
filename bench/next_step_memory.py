"""Time and peak memory of the next-step and drop-off model at scale, run as its Dagster asset
runs it (read ``fct_events``, evaluate on held-out time, score the open journeys, write
``ml.next_step_predictions``):

    python -m bench.next_step_memory --customers 100000 --warehouse PATH [--json FILE]

The customers are drawn as ``bench.customers`` draws them (with replacement from a built
base's known customers, each draw a new customer with its whole history shifted 0-6 days):
``--warehouse`` is a built warehouse (the test fixture's, a bench size's), or a new base of
``--base`` customers is built. The model runs in a process of its own, so its peak RSS
(``ru_maxrss``) is its own. Training is capped at 25k prefixes and evaluation at 150k
(``NextStepConfig``), so memory should grow with the events read and the journeys scored,
not with the training set (100k customers: 59.5 s, 2,193 MB; bench/README.md).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from bench.customers import add_draw_arguments, build_base, peak_rss_mb, scale_up
from bench.measure import child_figures, machine_load, print_figures

# What the model reads of each drawn customer (journeymap.ml.next_step_io).
MARTS = {
    "fct_events": (
        "customer_key, occurred_at, canonical_event, raw_event_name, journey_stage, channel, "
        "device_type, event_key",
        ("occurred_at",),
        ("event_key",),
    ),
}
ML = {"text_labels": ("customer_key, occurred_at, intent", ("occurred_at",), ())}


def run_model(warehouse_path: Path) -> dict:
    from journeymap.ml.next_step_io import run_next_step
    from journeymap.warehouse import DuckDBWarehouse

    started = time.perf_counter()
    with DuckDBWarehouse(warehouse_path) as warehouse:
        run = run_next_step(warehouse)
    return {
        "open_journeys_scored": len(run.predictions),
        "seconds": round(time.perf_counter() - started, 1),
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }


def _copy_seed(base: Path, target: Path) -> None:
    import duckdb

    with duckdb.connect(str(target)) as db:
        db.execute(f"attach '{base}' as base (read_only)")
        db.execute("create schema if not exists seeds")
        db.execute("create table seeds.journey_stages as from base.seeds.journey_stages")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.next_step_memory", description=__doc__)
    add_draw_arguments(parser)
    parser.add_argument("--at", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.at:
        print(json.dumps(run_model(args.at)))
        return 0
    with tempfile.TemporaryDirectory(dir=args.dir) as scratch:
        folder = Path(scratch)
        base = Path(args.warehouse or build_base(folder / "base", args.base)).resolve()
        target = folder / "next_step.duckdb"
        started = time.perf_counter()
        rows = scale_up(base, target, args.customers, MARTS, ML)
        _copy_seed(base, target)
        preparation = round(time.perf_counter() - started, 1)
        figures = {
            "customers_drawn": args.customers,
            "rows": rows,
            "preparation_seconds": preparation,
            "next_step": child_figures("bench.next_step_memory", "--at", str(target)),
            **machine_load(),
        }
    print_figures(figures, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
