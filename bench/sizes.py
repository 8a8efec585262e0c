"""What the harness does for one size: generate a sample business with its last day held back,
load it, build it with dbt in full, run the baseline on the same raw data, then load the last
day and build again (as it comes, as the daily schedule builds it, and with nothing new).

Every step is measured on its own (``bench.measure``); ``bench.figures`` derives the ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from bench.baseline import EVENTS_MART, compare_with_dbt, run_baseline
from bench.dbt_results import run_results_summary
from bench.figures import derive
from bench.measure import (
    GIB,
    RssPoller,
    file_size,
    folder_size,
    free_disk_bytes,
    load_average,
    run_measured,
    tail,
)
from journeymap.settings import PROJECT_DIR, Settings
from journeymap.transform import dbt_env, dbt_executable

CALIBRATION_CUSTOMERS = 2000
BYTES_PER_LANDING_ROW = 170  # CSV bytes per row, measured; for the free-disk check only
# A step measured on the freshly built warehouse: (settings, logs, dbt threads) -> its figures.
ExtraStep = Callable[[Settings, Path, "int | None"], dict[str, Any]]
# dbt's --vars of the daily schedule's runs on Monday to Saturday (orchestration/schedules.py).
DAILY_VARS = ("--vars", "{test_scope: changed}")


def say(message: str) -> None:
    print(f"[bench {datetime.now():%H:%M:%S}] {message}", flush=True)


# ---------------------------------------------------------------- steps in their own process


def python_step(name: str, args: list[str], logs: Path) -> tuple[dict, dict]:
    """Run ``python -m bench.steps <args>`` measured; returns (measurement, step's JSON)."""
    out = logs / f"{name}.json"
    measured = run_measured(
        [sys.executable, "-m", "bench.steps", *args, "--json", str(out)],
        log_path=logs / f"{name}.log",
        cwd=PROJECT_DIR,
    )
    if not measured.ok:
        raise RuntimeError(
            f"step {name} failed (exit {measured.returncode}):\n{tail(measured.log)}"
        )
    return measured.as_dict(), json.loads(out.read_text())


def generate_step(out: Path, customers: int, days: int, seed: int, logs: Path) -> tuple[dict, dict]:
    return python_step(
        "generate",
        [
            "generate",
            "--out",
            str(out),
            "--customers",
            str(customers),
            "--days",
            str(days),
            "--seed",
            str(seed),
        ],
        logs,
    )


def load_step(name: str, settings: Settings, logs: Path) -> tuple[dict, dict]:
    measured, loaded = python_step(
        name,
        ["load", "--db", str(settings.duckdb_path), "--landing", str(settings.landing_dir)],
        logs,
    )
    say(f"  loaded {loaded['rows_loaded']:,} rows in {measured['seconds']:.1f}s")
    return measured, loaded


def dbt_step(
    settings: Settings, name: str, dbt_args: list[str], logs: Path, threads: int | None = None
) -> dict[str, Any]:
    """Run one dbt command measured; keep a copy of its run_results.json in the logs."""
    results = settings.dbt_target_dir / "run_results.json"
    if results.exists():  # a failed command must not report the previous one's nodes
        results.unlink()
    settings.duckdb_path.parent.mkdir(parents=True, exist_ok=True)
    say(f"  dbt {' '.join(dbt_args)} ({name}) ...")
    measured = run_measured(
        [
            dbt_executable(),
            *dbt_args,
            *(["--threads", str(threads)] if threads else []),
            "--project-dir",
            str(settings.project_dir),
        ],
        log_path=logs / f"{name}.log",
        env=dbt_env(settings),
        cwd=settings.project_dir,
    )
    summary = run_results_summary(settings.dbt_target_dir)
    if results.exists():
        shutil.copy2(results, logs / f"{name}.run_results.json")
    step = {
        **measured.as_dict(),
        "dbt": summary,
        "warehouse_bytes": file_size(settings.duckdb_path),
    }
    status = "ok" if measured.ok else f"FAILED (exit {measured.returncode})"
    say(
        f"  dbt {name}: {measured.seconds:.1f}s, peak RSS {measured.peak_rss_bytes / GIB:.2f} GiB, "
        f"{status}"
    )
    if not measured.ok:
        for problem in summary.get("problems", [])[:5]:
            say(f"    {problem['status']}: {problem['node']}: {problem['message'][:160]}")
        if not summary.get("problems"):
            print(tail(measured.log), flush=True)
    return step


# ---------------------------------------------------------------- steps in the harness


def calibrate(scratch: Path, days: int, seed: int) -> dict[str, Any]:
    """Landing rows per customer, from a small generation with the same days and seed."""
    root = scratch / "calibration"
    say(f"calibrating: {CALIBRATION_CUSTOMERS:,} customers over {days} days")
    _, generated = generate_step(root / "data", CALIBRATION_CUSTOMERS, days, seed, root / "logs")
    shutil.rmtree(root, ignore_errors=True)
    per_customer = generated["rows"] / CALIBRATION_CUSTOMERS
    say(f"calibration: {per_customer:.1f} landing rows per customer")
    return {
        "customers": CALIBRATION_CUSTOMERS,
        "rows": generated["rows"],
        "rows_per_customer": per_customer,
        "tracked_events_per_customer": (
            generated["rows_per_source"].get("web_events", 0)
            + generated["rows_per_source"].get("app_events", 0)
        )
        / CALIBRATION_CUSTOMERS,
    }


def hold_back_last_day(landing: Path, parked: Path) -> dict[str, Any]:
    """Move the files of the last day aside (they arrive "tomorrow", for the incremental run)."""
    days = sorted({p.stem.rsplit("_", 1)[-1] for p in landing.glob("*/*.csv")})
    if not days:
        raise RuntimeError(f"no landing files under {landing}")
    last_day = days[-1]
    moved, rows = 0, 0
    for path in sorted(landing.glob(f"*/*_{last_day}.csv")):
        target = parked / path.parent.name / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        with path.open("rb") as handle:
            rows += max(sum(1 for _ in handle) - 1, 0)  # approximate: quoted newlines count
        shutil.move(path, target)
        moved += 1
    return {"day": last_day, "days_generated": len(days), "files": moved, "rows": rows}


def release(parked: Path, landing: Path) -> None:
    for path in sorted(parked.glob("*/*.csv")):
        shutil.move(path, landing / path.parent.name / path.name)


def baseline_step(raw_snapshot: Path, workspace: Path, built: Path) -> dict[str, Any]:
    """The hand-written SQL pass on a private copy of the raw snapshot, in this process."""
    # Not "baseline.duckdb": the catalog would clash with the schema "baseline".
    copy = workspace / "baseline" / "raw_copy.duckdb"
    copy.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(raw_snapshot, copy)
    say("  baseline SQL ...")
    connection = duckdb.connect(str(copy))
    # The same memory bound as dbt's DuckDB (profiles.yml), so neither side spills more.
    memory_limit = os.environ.get("JOURNEYMAP_DUCKDB_MEMORY_LIMIT", "3GB")
    try:
        connection.execute(f"set memory_limit = '{memory_limit}'")
        cpu_before = time.process_time()
        with RssPoller(os.getpid(), include_tree=False) as poller:
            result = run_baseline(connection)
        result["cpu_seconds"] = round(time.process_time() - cpu_before, 2)
        result["mean_load_average"] = poller.mean_load_average
        result["peak_rss_bytes"] = poller.peak
        result["peak_rss_note"] = "this process (harness + DuckDB), sampled every 0.1 s"
        result["memory_limit"] = memory_limit
        try:
            result["check"] = compare_with_dbt(connection, built)
        except duckdb.Error as error:  # e.g. the dbt build failed before the marts
            result["check"] = {"error": str(error)}
    finally:
        connection.close()
    result["warehouse_bytes"] = file_size(copy)
    shutil.rmtree(copy.parent, ignore_errors=True)
    check = result["check"]
    same = check.get("same_events") and check.get("same_sessions") and check.get("same_funnel")
    say(
        f"  baseline: {result['seconds']:.1f}s; same events/sessions/funnel as dbt: "
        f"{'yes' if same else 'NO'}"
    )
    return result


def copy_for_daily_run(settings: Settings, root: Path, logs: Path) -> Settings:
    """A copy of the warehouse, after the day was loaded, for the daily schedule's build.
    dbt parses the project there first (unmeasured, like the partial parse the other builds
    reuse): new --vars make dbt parse the whole project once."""
    daily = Settings.for_workspace(root)
    daily.duckdb_path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(settings.duckdb_path, daily.duckdb_path)
    dbt_step(daily, "parse_daily", ["parse", *DAILY_VARS], logs)
    return daily


def count_rows(path: Path, relation: str) -> int | None:
    try:
        with duckdb.connect(str(path), read_only=True) as connection:
            return connection.execute(f"select count(*) from {relation}").fetchone()[0]
    except duckdb.Error:
        return None


# ---------------------------------------------------------------- one size


def bench_size(
    label: str,
    target_events: int,
    rows_per_customer: float,
    args: argparse.Namespace,
    run_dir: Path,
    extra_steps: dict[str, ExtraStep] | None = None,
) -> dict[str, Any]:
    """Every step of one size, measured; ``derived`` holds its ratios. ``extra_steps`` run
    after the full build, each on the built warehouse, their results under their names."""
    workspace = run_dir / label
    logs = workspace / "logs"
    settings = Settings.for_workspace(workspace)
    customers = max(1, round(target_events / rows_per_customer))
    result: dict[str, Any] = {
        "label": label,
        "target_events": target_events,
        "customers": customers,
    }
    say(f"== {label}: {customers:,} customers x {args.days} days (~{target_events:,} events)")

    needed = target_events * BYTES_PER_LANDING_ROW * 3  # CSVs + three warehouse copies, roughly
    free = free_disk_bytes(run_dir)
    if free < needed:
        say(
            f"  warning: {free / GIB:.0f} GiB free under {run_dir}, "
            f"this size wants ~{needed / GIB:.0f}"
        )

    result["load_average_at_start"] = load_average()
    measured, generated = generate_step(settings.data_dir, customers, args.days, args.seed, logs)
    events = generated["rows"]
    result.update(events=events, rows_per_source=generated["rows_per_source"])
    result["generate"] = {
        **measured,
        **generated,
        "landing_bytes": folder_size(settings.landing_dir),
    }
    say(
        f"  generated {events:,} rows in {measured['seconds']:.1f}s "
        f"({events / measured['seconds']:,.0f} rows/s)"
    )

    parked = workspace / "held_back"
    result["held_back"] = hold_back_last_day(settings.landing_dir, parked)
    say(f"  held back {result['held_back']['day']} ({result['held_back']['rows']:,} rows)")

    say("  loading ...")
    measured, loaded = load_step("load_initial", settings, logs)
    result["load"] = {**measured, **loaded, "warehouse_bytes": file_size(settings.duckdb_path)}

    raw_snapshot = workspace / "raw_snapshot.duckdb"
    shutil.copy2(settings.duckdb_path, raw_snapshot)

    # Full build: the first `dbt build` of a warehouse holding only the raw data (incremental
    # models take their full-refresh branch), with every test.
    result["load_average_before_build"] = load_average()
    result["build_full"] = dbt_step(settings, "build_full", ["build"], logs, args.threads)
    for name, step in (extra_steps or {}).items():  # bench.attribution's, on the built warehouse
        result[name] = step(settings, logs, args.threads)

    # Baseline on its own copy of the same raw snapshot, compared with the dbt marts.
    try:
        result["baseline"] = baseline_step(raw_snapshot, workspace, settings.duckdb_path)
    except duckdb.Error as error:
        result["baseline"] = {"error": str(error)}
        say(f"  baseline failed: {error}")

    # Models only, no tests: `dbt seed` then `dbt run` on another fresh copy of the raw snapshot.
    if not args.skip_run:
        run_settings = Settings.for_workspace(workspace / "run_copy")
        run_settings.duckdb_path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(raw_snapshot, run_settings.duckdb_path)
        result["seed"] = dbt_step(run_settings, "seed", ["seed"], logs)
        result["run_full"] = dbt_step(run_settings, "run_full", ["run"], logs, args.threads)
        if not args.keep:
            shutil.rmtree(workspace / "run_copy", ignore_errors=True)

    # Incremental: the held-back day arrives; load it and `dbt build` again (tests included).
    release(parked, settings.landing_dir)
    say("  loading the held-back day ...")
    measured, loaded = load_step("load_day", settings, logs)
    result["load_day"] = {**measured, **loaded}
    daily_settings = copy_for_daily_run(settings, workspace / "daily_copy", logs)
    result["load_average_before_incremental"] = load_average()
    result["build_incremental"] = dbt_step(
        settings, "build_incremental", ["build"], logs, args.threads
    )
    # The same day as the daily schedule builds it on Monday to Saturday: tests of
    # incremental models read only the rows the run wrote (var test_scope).
    result["build_incremental_daily"] = dbt_step(
        daily_settings, "build_incremental_daily", ["build", *DAILY_VARS], logs, args.threads
    )
    if not args.keep:
        shutil.rmtree(workspace / "daily_copy", ignore_errors=True)
    result["fct_events_rows"] = count_rows(settings.duckdb_path, EVENTS_MART)
    # The same build once more with nothing new: what a daily run costs however small the day
    # (tests on whole tables, models that rebuild in full, dbt start-up).
    result["build_no_new_data"] = dbt_step(
        settings, "build_no_new_data", ["build"], logs, args.threads
    )
    result["load_average_at_end"] = load_average()
    result["derived"] = derive(result)
    if not args.keep:  # with --keep, raw_snapshot.duckdb stays for experiments
        shutil.rmtree(workspace, ignore_errors=True)
    return result
