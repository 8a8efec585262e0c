"""Time and peak memory of the customer models at scale: segmentation (features, choice of k,
fit, cards, snapshots) and lifetime value (holdout check, fit, scores) for N customers.

    python -m bench.customers --customers 100000 [--warehouse PATH] [--json FILE]

The customers come from a generated business: by default a new one of ``--base`` customers
(generated and built through the full Dagster job in a scratch folder), or the warehouse of
an earlier build (``--warehouse``, e.g. the test fixture). Its known customers are drawn with
replacement up to N, each draw a new customer (new keys, its whole history shifted by a few
days), so the models see N customers with the base's variety. Each model runs in its own
process (its peak memory is its own), on 2 threads at most:

1. segmentation, first run: no previous run, so the snapshots of the earlier weeks are
   filled in (``backfill_weeks``, default 12);
2. segmentation, daily run: the first run's memberships and snapshots as the previous run
   (what the scheduled job does every day);
3. lifetime value.

The issue's bounds: segmentation of 100k customers under 60 s, lifetime value under 30 s.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

THREADS = {"OMP_NUM_THREADS": "2", "OPENBLAS_NUM_THREADS": "2", "MKL_NUM_THREADS": "2"}
TIME_COLUMNS = {
    "events": ("occurred_at",),
    "sessions": ("started_at",),
    "messages": ("occurred_at",),
    "reviews": ("occurred_at",),
    "subscriptions": ("started_at",),
    "customers": ("signed_up_at",),
}


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def build_base(folder: Path, customers: int) -> Path:
    """A generated business of ``customers`` built by the full job; its warehouse path."""
    from journeymap.generator import generate
    from journeymap.orchestration.run import run_job
    from journeymap.settings import Settings

    settings = Settings.for_workspace(folder)
    generate(settings.data_dir, customers=customers, days=90, seed=42)
    job = run_job(settings, "journeymap_full", say=lambda _: None)
    if not job.success:
        raise RuntimeError(f"the base business failed to build at {job.failed_steps}")
    return settings.duckdb_path


def read_inputs(warehouse_path: Path):
    from journeymap.ml.customers_io import read_card_facts, read_orders, read_segment_frames
    from journeymap.ml.warehouse_io import default_as_of, read_latest_event_at, read_latest_load
    from journeymap.warehouse import DuckDBWarehouse

    with DuckDBWarehouse(warehouse_path, read_only=True) as warehouse:
        latest = read_latest_event_at(warehouse)
        return {
            "frames": read_segment_frames(warehouse),
            "facts": read_card_facts(warehouse),
            "orders": read_orders(warehouse),
            "as_of": default_as_of(latest),
            "loaded_through": read_latest_load(warehouse),
        }


def scale_up(inputs: dict, customers: int, seed: int = 0) -> dict:
    """``customers`` draws (with replacement) of the base's known customers, each a new
    customer: its keys suffixed with the draw, its history shifted by 0-6 days earlier."""
    import numpy as np
    import pandas as pd

    frames = inputs["frames"]
    base = frames.customers["customer_key"].astype(str).to_numpy()
    rng = np.random.default_rng(seed)
    picks = rng.choice(base, size=customers, replace=True)
    draws = pd.DataFrame(
        {
            "customer_key": picks,
            "new_key": [f"{key}#{i}" for i, key in enumerate(picks)],
            "shift": pd.to_timedelta(rng.integers(0, 7, size=customers), unit="D"),
        }
    )

    def expand(frame: pd.DataFrame, times: tuple[str, ...]) -> pd.DataFrame:
        out = frame.assign(customer_key=frame["customer_key"].astype(str)).merge(
            draws, on="customer_key"
        )
        for column in times:
            out[column] = pd.to_datetime(out[column]) - out["shift"]
        for column in ("session_key", "anonymous_id", "subscription_id"):
            if column in out:
                out[column] = out[column].astype(str) + "#" + out["new_key"]
        return out.drop(columns=["customer_key", "shift"]).rename(
            columns={"new_key": "customer_key"}
        )

    scaled = replace(
        frames,
        **{name: expand(getattr(frames, name), times) for name, times in TIME_COLUMNS.items()},
    )
    facts = inputs["facts"]
    key_of = draws.set_index("new_key")["customer_key"]
    paths = facts.paths.reindex(key_of.to_numpy())
    paths.index = key_of.index
    orders = expand(inputs["orders"], ("at",))
    return {
        **inputs,
        "frames": scaled,
        "facts": replace(
            facts,
            paths=paths.dropna(),
            churn=_rekey(facts.churn, key_of),
            value=_rekey(facts.value, key_of),
        ),
        "orders": orders,
    }


def _rekey(frame, key_of):
    out = frame.reindex(key_of.to_numpy())
    out.index = key_of.index
    return out.dropna(how="all")


def run_step(step: str, inputs_path: Path, previous_path: Path | None) -> dict:
    """One model run in this process: its time, its parts and the peak memory."""
    with inputs_path.open("rb") as handle:
        inputs = pickle.load(handle)
    started = time.perf_counter()
    if step == "value":
        from journeymap.ml.customer_value import score_customer_value

        run = score_customer_value(inputs["orders"], inputs["as_of"])
        result = {"customers": len(run.scores), "parts": {}}
    else:
        from journeymap.ml.customers_io import PreviousRun
        from journeymap.ml.segments_run import score_segments

        previous = PreviousRun()
        if previous_path is not None:
            with previous_path.open("rb") as handle:
                previous = pickle.load(handle)
        run = score_segments(
            inputs["frames"], inputs["as_of"], inputs["loaded_through"], inputs["facts"], previous
        )
        result = {
            "customers": len(run.segments),
            "segments": run.segmentation.k,
            "parts": {name: round(seconds, 2) for name, seconds in run.timings.items()},
        }
        if previous_path is None:
            first = PreviousRun(
                assignments=run.segments.set_index("customer_key")["segment_id"],
                loaded_through=run.loaded_through,
                cutoff_at=run.as_of,
                snapshots=run.snapshots,
            )
            with (inputs_path.parent / "previous.pickle").open("wb") as handle:
                pickle.dump(first, handle)
    result["seconds"] = round(time.perf_counter() - started, 2)
    result["peak_rss_mb"] = round(peak_rss_mb(), 1)
    return result


def _child(step: str, inputs_path: Path, previous: Path | None) -> dict:
    command = [
        sys.executable,
        "-m",
        "bench.customers",
        "--step",
        step,
        "--inputs",
        str(inputs_path),
    ]
    if previous is not None:
        command += ["--previous", str(previous)]
    env = {**os.environ, **THREADS}
    done = subprocess.run(command, check=True, capture_output=True, text=True, env=env)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.customers", description=__doc__)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument(
        "--warehouse", type=Path, default=None, help="a built warehouse to draw from"
    )
    parser.add_argument("--base", type=int, default=2000, help="customers of a new base business")
    parser.add_argument(
        "--dir", type=Path, default=None, help="scratch folder (default: temporary)"
    )
    parser.add_argument("--json", type=Path, default=None, help="write the figures here too")
    parser.add_argument("--step", choices=["segments", "value"], help=argparse.SUPPRESS)
    parser.add_argument("--inputs", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--previous", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.step:
        print(json.dumps(run_step(args.step, args.inputs, args.previous)))
        return 0

    with tempfile.TemporaryDirectory(dir=args.dir) as scratch:
        folder = Path(scratch)
        warehouse = args.warehouse or build_base(folder / "base", args.base)
        started = time.perf_counter()
        inputs = scale_up(read_inputs(warehouse), args.customers)
        prepared = time.perf_counter() - started
        inputs_path = folder / "inputs.pickle"
        with inputs_path.open("wb") as handle:
            pickle.dump(inputs, handle)
        figures = {
            "customers_drawn": args.customers,
            "events": len(inputs["frames"].events),
            "sessions": len(inputs["frames"].sessions),
            "orders": len(inputs["orders"]),
            "preparation_seconds": round(prepared, 1),
            "segmentation_first_run": _child("segments", inputs_path, None),
            "segmentation_daily_run": _child("segments", inputs_path, folder / "previous.pickle"),
            "lifetime_value": _child("value", inputs_path, None),
            "load_average": os.getloadavg(),
            "cpus": os.cpu_count(),
        }
    text = json.dumps(figures, indent=2, default=str)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
