"""The attribution benchmark: the attribution marts and the Markov/Shapley asset on a built
warehouse, each measured alone (target: each under 30 s on 2 cores at 10M events).

    python -m bench.attribution --workspace DIR      # a workspace bench.run kept (--keep), or
    python -m bench.attribution --events 1M [--dir DIR] [--keep]   # generate, load, build first

Steps, each in a process of its own (``bench.measure``): ``dbt build`` of the attribution
models and their tests - touches, journeys, path transforms, paths to conversion and
non-conversion, heuristic credits, channel and campaign marts - on the already built warehouse
(they are tables, rebuilt in full), with their per-node times; then the attribution asset's
work (read the path marts, Markov chains of orders 1-3 solved exactly, Shapley values, held-out
evaluation, write both ml tables). ``bench.run`` runs the same two steps after each full build.
Results: bench/results/attribution_latest.json (and printed).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.measure import GIB, run_measured, tail
from bench.sizes import calibrate, dbt_step, generate_step, load_step, say
from journeymap.settings import PROJECT_DIR, Settings

RESULTS = Path(__file__).resolve().parent / "results" / "attribution_latest.json"
# The attribution models: everything downstream of the touches and conversions, but not the
# enriched step (it needs the ML asset first).
ATTRIBUTION_SELECTION = [
    "--select",
    "int_marketing_touches+",
    "int_attribution_conversions+",
    "--exclude",
    "path:models/enriched",
]
TARGET_SECONDS = 30.0


def asset_step(settings: Settings, logs: Path) -> dict[str, Any]:
    """The attribution asset's run, in its own process, measured."""
    out = logs / "attribution_asset.json"
    measured = run_measured(
        [
            sys.executable,
            "-m",
            "bench.attribution",
            "asset",
            "--db",
            str(settings.duckdb_path),
            "--json",
            str(out),
        ],
        log_path=logs / "attribution_asset.log",
        cwd=PROJECT_DIR,
    )
    if not measured.ok:
        raise RuntimeError(f"the attribution asset failed:\n{tail(measured.log)}")
    return {**measured.as_dict(), **json.loads(out.read_text())}


def attribution_step(settings: Settings, logs: Path, threads: int | None = None) -> dict[str, Any]:
    """Both measurements on a built warehouse (what bench.run calls after a full build)."""
    marts = dbt_step(
        settings, "attribution_marts", ["build", *ATTRIBUTION_SELECTION], logs, threads
    )
    asset = asset_step(settings, logs)
    say(
        f"  attribution asset: {asset['seconds']:.1f}s ({asset['asset_seconds']:.1f}s inside), "
        f"peak RSS {asset['peak_rss_bytes'] / GIB:.2f} GiB, {asset['journeys']:,} journeys"
    )
    return {
        "marts": marts,
        "asset": asset,
        "target_seconds": TARGET_SECONDS,
        "marts_within_target": marts["seconds"] <= TARGET_SECONDS,
        "asset_within_target": asset["seconds"] <= TARGET_SECONDS,
    }


def _asset(args: argparse.Namespace) -> int:
    from journeymap.ml.attribution_io import run_channel_attribution
    from journeymap.warehouse import DuckDBWarehouse

    started = time.perf_counter()
    with DuckDBWarehouse(Path(args.db)) as warehouse:
        run = run_channel_attribution(warehouse)
    result = {
        "asset_seconds": time.perf_counter() - started,
        "compute_seconds": run.runtime_seconds,
        "journeys": run.journeys,
        "conversions": run.conversions,
        "channels": int(run.attribution["channel"].nunique()),
        "transitions": len(run.transitions),
    }
    Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


def _build_workspace(events: int, root: Path) -> Settings:
    """Generate about ``events`` landing rows, load them and build every dbt model."""
    settings = Settings.for_workspace(root)
    logs = root / "logs"
    per_customer = calibrate(root / "scratch", days=90, seed=42)["rows_per_customer"]
    generate_step(settings.data_dir, max(1, round(events / per_customer)), 90, 42, logs)
    load_step("load", settings, logs)
    build = dbt_step(settings, "build_full", ["build"], logs)
    if build["returncode"] != 0:
        raise RuntimeError("the full dbt build failed; see the logs under " + str(logs))
    return settings


def _benchmark(args: argparse.Namespace) -> int:
    from bench.run import parse_size

    if args.workspace:
        settings = Settings.for_workspace(Path(args.workspace))
        root = Path(args.workspace)
    else:
        root = Path(args.dir or tempfile.mkdtemp(prefix="jm-attribution-bench-"))
        settings = _build_workspace(parse_size(args.events), root)
    logs = root / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    result = {"workspace": str(root), **attribution_step(settings, logs, args.threads)}
    models = result["marts"]["dbt"].get("models", {})
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(
        f"attribution marts (dbt build, models + tests): {result['marts']['seconds']:.1f}s; "
        f"asset: {result['asset']['seconds']:.1f}s; target {TARGET_SECONDS:.0f}s each"
    )
    for model, seconds in list(models.items())[:9]:
        print(f"  {model:<36} {seconds:6.2f}s")
    print(f"results in {RESULTS}")
    if not args.workspace and not args.keep:
        shutil.rmtree(root, ignore_errors=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.attribution",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command")
    asset = commands.add_parser("asset", help="(internal) the asset's run, for measurement")
    asset.add_argument("--db", required=True)
    asset.add_argument("--json", required=True)
    asset.set_defaults(handler=_asset)
    parser.add_argument("--workspace", help="a built bench workspace to measure in place")
    parser.add_argument("--events", default="1M", help="size to generate (default 1M)")
    parser.add_argument("--dir", help="where to build it (default a temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the built workspace")
    parser.add_argument("--threads", type=int, default=None, help="dbt --threads")
    parser.set_defaults(handler=_benchmark)
    args = parser.parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
