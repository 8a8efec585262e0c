"""journeymap benchmarks: `python -m bench.run [--sizes 1M,10M] [--quick] [--keep]`.

For each size (a target number of landing rows across all sources, the "events"): generate a
sample business into a scratch workspace with the last day held back, load it, run a full
`dbt build` and a full `dbt run`, the hand-written baseline on the same raw data, then load the
held-back day and run an incremental `dbt build`. Wall time, peak RSS and warehouse size of every
step, the slowest dbt nodes, the ratio to the baseline and the linearity across sizes go to
bench/results/latest.{json,md} (and a dated copy). bench/README.md explains every figure.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.attribution import attribution_step
from bench.figures import linearity, targets
from bench.machine import machine_info, project_fingerprint, versions
from bench.measure import rss_method
from bench.report import METHOD, console_summary, write_results
from bench.sizes import bench_size, calibrate, say
from journeymap.settings import PROJECT_DIR

SCRATCH_DIR = Path(__file__).resolve().parent / "scratch"
DEFAULT_SIZES = "1M,10M"
QUICK_SIZES = "200k"
DAYS = 90
SEED = 42


def parse_size(text: str) -> int:
    """``200k``, ``10M``, ``1_000_000`` -> events."""
    text = text.strip().lower().replace("_", "")
    factor = {"k": 1_000, "m": 1_000_000, "g": 1_000_000_000}.get(text[-1:], 1)
    number = text[:-1] if text[-1:] in "kmg" else text
    value = int(float(number) * factor)
    if value < 1000:
        raise argparse.ArgumentTypeError(f"size {text!r} is too small (at least 1k events)")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--sizes",
        default=None,
        help=f"comma-separated event counts, e.g. 1M,10M,100M (default {DEFAULT_SIZES})",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"smoke run at {QUICK_SIZES} only; writes results/quick.* instead of latest.*",
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the scratch workspaces (data, warehouses, logs)"
    )
    parser.add_argument("--days", type=int, default=DAYS, help=f"days of history (default {DAYS})")
    parser.add_argument("--seed", type=int, default=SEED, help=f"generator seed (default {SEED})")
    parser.add_argument(
        "--rows-per-customer",
        type=float,
        default=None,
        help="skip calibration and use this many landing rows per customer",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="dbt --threads for build and run (default: the profile's, 2); "
        "1 gives per-node times that do not overlap",
    )
    parser.add_argument(
        "--scratch", default=str(SCRATCH_DIR), help="scratch folder (default bench/scratch)"
    )
    parser.add_argument(
        "--skip-run",
        action="store_true",
        help="skip the models-only `dbt run` on a second copy (saves a third of a size's time "
        "and a warehouse copy of disk; the 100M run uses it)",
    )
    parser.add_argument(
        "--results-name",
        default=None,
        help="results file name under bench/results/ (default latest, or quick with --quick); "
        "a separate name keeps a long run from replacing the latest figures",
    )
    return parser


def _completed(sizes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [s for s in sizes if "derived" in s]


def _shown(path: Path) -> str:
    return str(path.relative_to(PROJECT_DIR)) if path.is_relative_to(PROJECT_DIR) else str(path)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.quick and args.sizes:
        raise SystemExit("--quick and --sizes exclude each other")
    labels = [
        s.strip()
        for s in (QUICK_SIZES if args.quick else args.sizes or DEFAULT_SIZES).split(",")
        if s.strip()
    ]
    targets_by_label = {label: parse_size(label) for label in labels}
    results_name = args.results_name or ("quick" if args.quick else "latest")
    started_at = datetime.now(UTC).replace(microsecond=0)
    started = time.perf_counter()
    run_dir = Path(args.scratch).resolve() / f"run_{started_at:%Y%m%d_%H%M%S}"
    run_dir.mkdir(parents=True, exist_ok=True)
    method = rss_method()
    say(f"sizes {', '.join(labels)}; scratch {run_dir}; peak RSS by {method}")

    calibration = (
        {"rows_per_customer": args.rows_per_customer, "given": True}
        if args.rows_per_customer
        else calibrate(run_dir, args.days, args.seed)
    )
    report: dict[str, Any] = {
        "started_at": started_at.isoformat(),
        "command": "python -m bench.run " + " ".join(sys.argv[1:] if argv is None else argv),
        "machine": machine_info(),
        "versions": versions(),
        "project": project_fingerprint(),
        "days": args.days,
        "seed": args.seed,
        "dbt_threads": args.threads or "profile default",
        "calibration": calibration,
        "rss_method": method,
        "method": METHOD,
        "sizes": [],
    }
    exit_code = 0
    for label, target in targets_by_label.items():
        try:
            report["sizes"].append(
                bench_size(
                    label,
                    target,
                    calibration["rows_per_customer"],
                    args,
                    run_dir,
                    extra_steps={"attribution": attribution_step},
                )
            )
        except Exception as error:  # report what there is, and go on with the next size
            say(f"  {label} failed: {error}")
            report["sizes"].append(
                {"label": label, "target_events": target, "customers": 0, "error": str(error)}
            )
            exit_code = 1
        done = _completed(report["sizes"])
        report["linearity"] = linearity(done)
        report["targets"] = targets(done, report["linearity"], labels)
        report["total_seconds"] = time.perf_counter() - started
        if done:  # results so far, rewritten after every size
            write_results({**report, "sizes": done}, results_name, dated=False)

    at_end = project_fingerprint()
    report["project"]["dbt_files_changed_during_run"] = (
        at_end["dbt_files_sha256"] != report["project"]["dbt_files_sha256"]
    )
    if report["project"]["dbt_files_changed_during_run"]:
        say("warning: the dbt project's files changed during the run; sizes may not compare")
    done = _completed(report["sizes"])
    report["failed_sizes"] = [s for s in report["sizes"] if "derived" not in s]
    report["sizes"] = done
    if not args.keep:
        shutil.rmtree(run_dir, ignore_errors=True)
    if not done:
        say("no size completed")
        return 1
    written = write_results(report, results_name, dated=not args.quick)
    print()
    print(console_summary(report))
    print()
    for s in done:
        slowest = s["build_full"]["dbt"].get("slowest", [])
        say(
            f"{s['label']} slowest nodes (full build): "
            + ", ".join(f"{n['node']} {n['seconds']:.1f}s" for n in slowest)
        )
    say("wrote " + ", ".join(_shown(p) for p in written))
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
