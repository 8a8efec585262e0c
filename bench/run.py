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
import hashlib
import importlib.metadata
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from bench.baseline import compare_with_dbt, run_baseline
from bench.measure import RssPoller, gnu_time_available, run_measured, tail
from journeymap.settings import PROJECT_DIR, Settings
from journeymap.transform import dbt_env, dbt_executable

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"
SCRATCH_DIR = BENCH_DIR / "scratch"

DEFAULT_SIZES = "1M,10M"
QUICK_SIZES = "200k"
DAYS = 90
SEED = 42
CALIBRATION_CUSTOMERS = 2000
BYTES_PER_LANDING_ROW = 170  # CSV bytes per row, measured; for the free-disk check only
GIB = 1024**3

# The targets of issue 4, checked at 10M events (see README).
TARGET_BUILD_OVER_BASELINE = 3.0
TARGET_INCREMENTAL_SHARE = 0.10
TARGET_PEAK_RSS_BYTES = 4 * GIB
TARGET_LINEAR_EXPONENT = 1.15  # time ~ events^b; b <= 1.15 counts as linear
TARGET_SIZE = "10M"


def say(message: str) -> None:
    print(f"[bench {datetime.now():%H:%M:%S}] {message}", flush=True)


# ---------------------------------------------------------------- sizes and environment


def parse_size(text: str) -> int:
    text = text.strip().lower().replace("_", "")
    factor = {"k": 1_000, "m": 1_000_000, "g": 1_000_000_000}.get(text[-1:], 1)
    number = text[:-1] if text[-1:] in "kmg" else text
    value = int(float(number) * factor)
    if value < 1000:
        raise argparse.ArgumentTypeError(f"size {text!r} is too small (at least 1k events)")
    return value


def machine_info() -> dict[str, Any]:
    cpu_model = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except FileNotFoundError:
        pass
    memory = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = int(line.split()[1]) * 1024
    except FileNotFoundError:
        pass
    return {
        "cores": os.cpu_count(),
        "memory_bytes": memory,
        "memory_gib": round(memory / GIB, 1) if memory else None,
        "cpu_model": cpu_model,
        "os": platform.platform(),
        "hostname_hash": hashlib.sha256(platform.node().encode()).hexdigest()[:8],
    }


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for package in ("duckdb", "dbt-core", "dbt-duckdb"):
        try:
            found[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            found[package] = "not installed"
    return found


def project_fingerprint() -> dict[str, Any]:
    """Which dbt SQL was measured: git HEAD, whether the dbt files differ from it, and a hash."""
    digest = hashlib.sha256()
    paths = [PROJECT_DIR / "dbt_project.yml", PROJECT_DIR / "profiles.yml"]
    for folder in ("models", "macros", "seeds"):
        paths += sorted(p for p in (PROJECT_DIR / folder).rglob("*") if p.is_file())
    for path in paths:
        if path.exists():
            digest.update(str(path.relative_to(PROJECT_DIR)).encode())
            digest.update(path.read_bytes())

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", *args], cwd=PROJECT_DIR, capture_output=True, text=True, check=False
        )
        return done.stdout.strip()

    dirty = git("status", "--porcelain", "--", "models", "macros", "seeds", "dbt_project.yml")
    return {
        "git_head": git("rev-parse", "--short", "HEAD") or None,
        "dbt_files_differ_from_head": bool(dirty),
        "dbt_files_sha256": digest.hexdigest()[:16],
    }


def free_disk_bytes(path: Path) -> int:
    path.mkdir(parents=True, exist_ok=True)
    return shutil.disk_usage(path).free


def file_size(path: Path) -> int:
    size = path.stat().st_size if path.exists() else 0
    wal = path.with_name(path.name + ".wal")
    return size + (wal.stat().st_size if wal.exists() else 0)


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def load_average() -> float:
    return round(os.getloadavg()[0], 2)


# ---------------------------------------------------------------- steps


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


def calibrate(scratch: Path, days: int, seed: int) -> dict[str, Any]:
    """Landing rows per customer, from a small generation with the same days and seed."""
    root = scratch / "calibration"
    say(f"calibrating: {CALIBRATION_CUSTOMERS:,} customers over {days} days")
    _, generated = python_step(
        "generate",
        [
            "generate",
            "--out",
            str(root / "data"),
            "--customers",
            str(CALIBRATION_CUSTOMERS),
            "--days",
            str(days),
            "--seed",
            str(seed),
        ],
        root / "logs",
    )
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


def run_results_summary(target_dir: Path, top: int = 5) -> dict[str, Any]:
    """The slowest nodes and totals from dbt's run_results.json."""
    path = target_dir / "run_results.json"
    if not path.exists():
        return {"available": False}
    data = json.loads(path.read_text())
    results = data.get("results", [])

    def kind(unique_id: str) -> str:
        return unique_id.split(".", 1)[0]

    def short(unique_id: str) -> str:
        parts = unique_id.split(".")
        return parts[2] if len(parts) > 2 else unique_id

    statuses: dict[str, int] = {}
    for result in results:
        statuses[result["status"]] = statuses.get(result["status"], 0) + 1
    by_kind: dict[str, float] = {}
    for result in results:
        by_kind[kind(result["unique_id"])] = by_kind.get(kind(result["unique_id"]), 0.0) + (
            result.get("execution_time") or 0.0
        )
    ranked = sorted(results, key=lambda r: -(r.get("execution_time") or 0.0))
    return {
        "available": True,
        "dbt_elapsed_seconds": data.get("elapsed_time"),
        "nodes": len(results),
        "statuses": statuses,
        "seconds_by_node_type": {k: round(v, 2) for k, v in sorted(by_kind.items())},
        "slowest": [
            {
                "node": short(r["unique_id"]),
                "type": kind(r["unique_id"]),
                "seconds": round(r.get("execution_time") or 0.0, 2),
                "status": r["status"],
            }
            for r in ranked[:top]
        ],
        "models": {
            short(r["unique_id"]): round(r.get("execution_time") or 0.0, 2)
            for r in ranked
            if kind(r["unique_id"]) == "model"
        },
        "slowest_tests": {
            short(r["unique_id"]): round(r.get("execution_time") or 0.0, 2)
            for r in [r for r in ranked if kind(r["unique_id"]) in ("test", "unit_test")][:15]
        },
        "problems": [
            {
                "node": short(r["unique_id"]),
                "status": r["status"],
                "message": (r.get("message") or "")[:300],
            }
            for r in results
            if r["status"] not in ("success", "pass")
        ],
    }


def dbt_step(
    settings: Settings, name: str, dbt_args: list[str], logs: Path, threads: int | None = None
) -> dict[str, Any]:
    """Run one dbt command measured; keep a copy of its run_results.json in the logs."""
    results = settings.dbt_target_dir / "run_results.json"
    if results.exists():
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


def bench_size(
    label: str,
    target_events: int,
    rows_per_customer: float,
    args: argparse.Namespace,
    run_dir: Path,
) -> dict[str, Any]:
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
    measured, generated = python_step(
        "generate",
        [
            "generate",
            "--out",
            str(settings.data_dir),
            "--customers",
            str(customers),
            "--days",
            str(args.days),
            "--seed",
            str(args.seed),
        ],
        logs,
    )
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
    measured, loaded = python_step(
        "load_initial",
        ["load", "--db", str(settings.duckdb_path), "--landing", str(settings.landing_dir)],
        logs,
    )
    result["load"] = {**measured, **loaded, "warehouse_bytes": file_size(settings.duckdb_path)}
    say(f"  loaded {loaded['rows_loaded']:,} rows in {measured['seconds']:.1f}s")

    raw_snapshot = workspace / "raw_snapshot.duckdb"
    shutil.copy2(settings.duckdb_path, raw_snapshot)

    # Full build: the first `dbt build` of a warehouse holding only the raw data (incremental
    # models take their full-refresh branch), with every test.
    result["load_average_before_build"] = load_average()
    result["build_full"] = dbt_step(settings, "build_full", ["build"], logs, args.threads)

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
    measured, loaded = python_step(
        "load_day",
        ["load", "--db", str(settings.duckdb_path), "--landing", str(settings.landing_dir)],
        logs,
    )
    result["load_day"] = {**measured, **loaded}
    say(f"  loaded {loaded['rows_loaded']:,} rows in {measured['seconds']:.1f}s")
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
    result["fct_events_rows"] = _count(settings.duckdb_path, "marts.fct_events")
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


# dbt's --vars of the daily schedule's runs on Monday to Saturday (orchestration/schedules.py).
DAILY_VARS = ("--vars", "{test_scope: changed}")


def copy_for_daily_run(settings: Settings, root: Path, logs: Path) -> Settings:
    """A copy of the warehouse, after the day was loaded, for the daily schedule's build.
    dbt parses the project there first (unmeasured, like the partial parse the other builds
    reuse): new --vars make dbt parse the whole project once."""
    daily = Settings.for_workspace(root)
    daily.duckdb_path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(settings.duckdb_path, daily.duckdb_path)
    dbt_step(daily, "parse_daily", ["parse", *DAILY_VARS], logs)
    return daily


def _count(path: Path, table: str) -> int | None:
    try:
        with duckdb.connect(str(path), read_only=True) as connection:
            return connection.execute(f"select count(*) from {table}").fetchone()[0]
    except duckdb.Error:
        return None


# ---------------------------------------------------------------- derived figures


def _seconds(result: dict, step: str, figure: str = "seconds") -> float | None:
    value = result.get(step, {})
    return value.get(figure) if isinstance(value, dict) else None


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a and b else None


def derive(result: dict[str, Any]) -> dict[str, Any]:
    millions = result["events"] / 1e6
    build = _seconds(result, "build_full")
    run = _seconds(result, "run_full")
    baseline = _seconds(result, "baseline")
    incremental = _seconds(result, "build_incremental")
    daily = _seconds(result, "build_incremental_daily")
    no_new_data = _seconds(result, "build_no_new_data")
    peaks = [
        result.get(step, {}).get("peak_rss_bytes") or 0
        for step in (
            "build_full",
            "run_full",
            "build_incremental",
            "build_incremental_daily",
            "build_no_new_data",
        )
    ]
    cpu = {
        step: _seconds(result, step, "cpu_seconds")
        for step in (
            "build_full",
            "run_full",
            "baseline",
            "build_incremental",
            "build_incremental_daily",
        )
    }
    derived = {
        "build_over_baseline": _ratio(build, baseline),
        "run_over_baseline": _ratio(run, baseline),
        "incremental_over_full_build": _ratio(incremental, build),
        "build_over_baseline_cpu": _ratio(cpu["build_full"], cpu["baseline"]),
        "run_over_baseline_cpu": _ratio(cpu["run_full"], cpu["baseline"]),
        "incremental_over_full_build_cpu": _ratio(cpu["build_incremental"], cpu["build_full"]),
        "daily_over_full_build": _ratio(daily, build),
        "daily_over_full_build_cpu": _ratio(cpu["build_incremental_daily"], cpu["build_full"]),
        "no_new_data_over_full_build": _ratio(no_new_data, build),
        "tests_share_of_build": (build - run) / build if build and run else None,
        "peak_rss_bytes": max(peaks),
        "seconds_per_million_events": {
            step: round(_seconds(result, step) / millions, 2)
            for step in (
                "generate",
                "load",
                "build_full",
                "run_full",
                "baseline",
                "build_incremental",
            )
            if _seconds(result, step)
        },
        "cpu_seconds_per_million_events": {
            step: round(_seconds(result, step, "cpu_seconds") / millions, 2)
            for step in (
                "generate",
                "load",
                "build_full",
                "run_full",
                "baseline",
                "build_incremental",
            )
            if _seconds(result, step, "cpu_seconds")
        },
    }
    dbt_elapsed = result.get("build_full", {}).get("dbt", {}).get("dbt_elapsed_seconds")
    if dbt_elapsed and baseline:
        derived["build_over_baseline_excluding_dbt_startup"] = dbt_elapsed / baseline
    return derived


def linearity(sizes: list[dict[str, Any]]) -> dict[str, Any]:
    """Scaling exponent b in time ~ events^b between consecutive sizes (1.0 = linear)."""
    steps = ("generate", "load", "build_full", "run_full", "baseline", "build_incremental")
    pairs = []
    ordered = sorted((s for s in sizes if s.get("events")), key=lambda s: s["events"])
    for small, large in zip(ordered, ordered[1:], strict=False):
        exponents, cpu_exponents = {}, {}
        growth = (
            math.log(large["events"] / small["events"]) if large["events"] != small["events"] else 0
        )
        for step in steps:
            a, b = _seconds(small, step, "cpu_seconds"), _seconds(large, step, "cpu_seconds")
            if a and b and growth:
                cpu_exponents[step] = round(math.log(b / a) / growth, 2)
            a, b = _seconds(small, step), _seconds(large, step)
            if a and b and growth:
                exponents[step] = round(
                    math.log(b / a) / math.log(large["events"] / small["events"]), 2
                )
        pairs.append(
            {
                "from": small["label"],
                "to": large["label"],
                "exponents": exponents,
                "cpu_exponents": cpu_exponents,
            }
        )
    return {"pairs": pairs}


def _cpu_note(value: float | None, fmt: str) -> str:
    return f" (cpu {fmt.format(value)})" if value else ""


def targets(sizes: list[dict[str, Any]], lin: dict[str, Any], requested: list[str]) -> list[dict]:
    checks: list[dict[str, Any]] = []
    at = next((s for s in sizes if s["label"].lower() == TARGET_SIZE.lower()), None)
    note = ""
    if at is None and sizes:
        at = max(sizes, key=lambda s: s.get("events", 0))
        note = f" (measured at {at['label']}; the target is for {TARGET_SIZE})"
    if at is not None:
        d = at.get("derived", {})
        ratio = d.get("build_over_baseline")
        checks.append(
            {
                "target": f"full dbt build within {TARGET_BUILD_OVER_BASELINE:g}x the baseline"
                + note,
                "value": (f"{ratio:.1f}x" if ratio else "n/a")
                + _cpu_note(d.get("build_over_baseline_cpu"), "{:.1f}x"),
                "met": ratio is not None and ratio <= TARGET_BUILD_OVER_BASELINE,
            }
        )
        share = d.get("incremental_over_full_build")
        daily = d.get("daily_over_full_build")
        checks.append(
            {
                "target": f"incremental day within {TARGET_INCREMENTAL_SHARE:.0%} of the full build"
                + note,
                "value": (f"{share:.0%}" if share else "n/a")
                + _cpu_note(d.get("incremental_over_full_build_cpu"), "{:.0%}")
                + (f"; the daily schedule's build {daily:.0%}" if daily else ""),
                "met": any(
                    value is not None and value <= TARGET_INCREMENTAL_SHARE
                    for value in (share, daily)
                ),
            }
        )
        peak = d.get("peak_rss_bytes")
        checks.append(
            {
                "target": f"peak RSS below {TARGET_PEAK_RSS_BYTES / GIB:g} GiB{note}",
                "value": f"{peak / GIB:.2f} GiB" if peak else "n/a",
                "met": bool(peak) and peak < TARGET_PEAK_RSS_BYTES,
            }
        )
    hundred = next((s for s in sizes if s["label"].lower() == "100m"), None)
    checks.append(
        {
            "target": "100M completes",
            "value": (
                "not run (opt-in: --sizes 100M)"
                if hundred is None
                else (
                    "completed"
                    if hundred.get("build_incremental", {}).get("returncode") == 0
                    else "failed"
                )
            ),
            "met": None
            if hundred is None
            else hundred.get("build_incremental", {}).get("returncode") == 0,
        }
    )
    # Wall and CPU exponents must both be linear: wall time alone mixes in fixed costs and
    # other processes, CPU time alone hides lost parallelism.
    build_exponents = [
        b
        for p in lin["pairs"]
        for b in (p["exponents"].get("build_full"), p["cpu_exponents"].get("build_full"))
        if b is not None
    ]
    checks.append(
        {
            "target": "linear growth of the full build "
            f"(exponent of wall and CPU time <= {TARGET_LINEAR_EXPONENT})",
            "value": ", ".join(
                f"{p['from']}->{p['to']}: {p['exponents'].get('build_full')} "
                f"(cpu {p['cpu_exponents'].get('build_full')})"
                for p in lin["pairs"]
            )
            or "needs two sizes",
            "met": None
            if not build_exponents
            else all(b <= TARGET_LINEAR_EXPONENT for b in build_exponents),
        }
    )
    return checks


# ---------------------------------------------------------------- reporting


def _fmt_seconds(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.1f} s" if value < 600 else f"{value / 60:,.1f} min"


def _fmt_bytes(value: int | None) -> str:
    if not value:
        return "-"
    return f"{value / GIB:.2f} GiB" if value >= GIB / 2 else f"{value / 1024**2:,.0f} MiB"


def _fmt_ratio(value: float | None, percent: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value:.0%}" if percent else f"{value:.1f}x"


def _get(s: dict, *path: str) -> Any:
    value: Any = s
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _time(step: str) -> Any:
    """Wall time, with CPU time (all cores) in brackets."""

    def show(s: dict) -> str:
        wall, cpu = _seconds(s, step), _seconds(s, step, "cpu_seconds")
        if wall is None:
            return "-"
        return _fmt_seconds(wall) + (f" (cpu {_fmt_seconds(cpu)})" if cpu else "")

    return show


def _wall_cpu_ratio(wall_key: str, cpu_key: str, percent: bool = False) -> Any:
    def show(s: dict) -> str:
        wall, cpu = _get(s, "derived", wall_key), _get(s, "derived", cpu_key)
        text = _fmt_ratio(wall, percent)
        return text + (f" (cpu {_fmt_ratio(cpu, percent)})" if cpu else "")

    return show


SUMMARY_ROWS: list[tuple[str, Any]] = [
    ("events (landing rows, all sources)", lambda s: f"{s.get('events', 0):,}"),
    ("customers generated", lambda s: f"{s['customers']:,}"),
    ("fct_events rows after the incremental day", lambda s: f"{s.get('fct_events_rows') or 0:,}"),
    ("generate", _time("generate")),
    ("load (raw loader, all days but the last)", _time("load")),
    ("dbt build, full (seeds + models + tests)", _time("build_full")),
    (
        "  of which dbt's own elapsed time",
        lambda s: _fmt_seconds(_get(s, "build_full", "dbt", "dbt_elapsed_seconds")),
    ),
    ("dbt run, full (models only)", _time("run_full")),
    ("baseline SQL", _time("baseline")),
    (
        "full build / baseline (target <= 3x)",
        _wall_cpu_ratio("build_over_baseline", "build_over_baseline_cpu"),
    ),
    ("full run / baseline", _wall_cpu_ratio("run_over_baseline", "run_over_baseline_cpu")),
    ("load of the held-back day", _time("load_day")),
    ("dbt build, incremental day", _time("build_incremental")),
    (
        "incremental / full build (target <= 10%)",
        _wall_cpu_ratio("incremental_over_full_build", "incremental_over_full_build_cpu", True),
    ),
    (
        "dbt build, incremental day, the daily schedule's tests (test_scope changed)",
        _time("build_incremental_daily"),
    ),
    (
        "daily schedule's build / full build",
        _wall_cpu_ratio("daily_over_full_build", "daily_over_full_build_cpu", True),
    ),
    ("dbt build, no new data (a daily run's fixed cost)", _time("build_no_new_data")),
    (
        "no new data / full build",
        lambda s: _fmt_ratio(_get(s, "derived", "no_new_data_over_full_build"), True),
    ),
    ("peak RSS, full build", lambda s: _fmt_bytes(_get(s, "build_full", "peak_rss_bytes"))),
    ("peak RSS, full run", lambda s: _fmt_bytes(_get(s, "run_full", "peak_rss_bytes"))),
    (
        "peak RSS, incremental build",
        lambda s: _fmt_bytes(_get(s, "build_incremental", "peak_rss_bytes")),
    ),
    ("peak RSS, load", lambda s: _fmt_bytes(_get(s, "load", "peak_rss_bytes"))),
    (
        "peak RSS, baseline (harness process)",
        lambda s: _fmt_bytes(_get(s, "baseline", "peak_rss_bytes")),
    ),
    ("landing CSV size", lambda s: _fmt_bytes(_get(s, "generate", "landing_bytes"))),
    ("warehouse size, raw only", lambda s: _fmt_bytes(_get(s, "load", "warehouse_bytes"))),
    (
        "warehouse size, after full build",
        lambda s: _fmt_bytes(_get(s, "build_full", "warehouse_bytes")),
    ),
    (
        "warehouse size, after incremental day",
        lambda s: _fmt_bytes(_get(s, "build_incremental", "warehouse_bytes")),
    ),
    ("baseline = dbt (events, sessions, funnel)", lambda s: _same(_get(s, "baseline", "check"))),
    ("dbt build status (full)", lambda s: _statuses(_get(s, "build_full", "dbt", "statuses"))),
    (
        "dbt build status (incremental)",
        lambda s: _statuses(_get(s, "build_incremental", "dbt", "statuses")),
    ),
    (
        "mean load average during full build / baseline",
        lambda s: (
            f"{_get(s, 'build_full', 'mean_load_average')} / "
            f"{_get(s, 'baseline', 'mean_load_average')}"
        ),
    ),
]


def summary_rows(sizes: list[dict[str, Any]]) -> list[tuple[str, list[str]]]:
    return [(label, [fn(s) for s in sizes]) for label, fn in SUMMARY_ROWS]


def _same(check: dict | None) -> str:
    if not check:
        return "-"
    flags = [check.get("same_events"), check.get("same_sessions"), check.get("same_funnel")]
    return "yes" if all(flags) else "/".join("yes" if f else "NO" for f in flags)


def _statuses(statuses: dict | None) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(statuses.items())) if statuses else "-"


def text_table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
    lines = ["  ".join(str(h).ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(lines)


def md_table(headers: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def markdown(report: dict[str, Any]) -> str:
    sizes = report["sizes"]
    machine, vers = report["machine"], report["versions"]
    out = [
        "# journeymap benchmark results",
        "",
        f"Run {report['started_at']} ({report['total_seconds'] / 60:.1f} min), command "
        f"`{report['command']}`.",
        "",
        f"Machine: {machine['cores']} cores, {machine['memory_gib']} GiB RAM, "
        f"{machine['cpu_model']}, "
        f"{machine['os']}.  ",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in vers.items()) + ".  ",
        f"dbt project: git {report['project']['git_head']}"
        + (
            " with uncommitted dbt changes"
            if report["project"]["dbt_files_differ_from_head"]
            else ""
        )
        + f" (dbt files sha256 {report['project']['dbt_files_sha256']})"
        + (
            "; **the dbt files changed during the run**"
            if report["project"].get("dbt_files_changed_during_run")
            else ""
        )
        + ".  ",
        f"Generator: {report['days']} days, seed {report['seed']}, "
        f"{report['calibration']['rows_per_customer']:.1f} landing rows per customer "
        "(calibrated).  ",
        f"Peak RSS: {report['rss_method']}.",
        "",
        "## Figures",
        "",
        md_table(
            ["figure", *[s["label"] for s in sizes]],
            [[label, *vals] for label, vals in summary_rows(sizes)],
        ),
        "",
        "## Targets",
        "",
        md_table(
            ["target", "measured", "met"],
            [
                [t["target"], t["value"], {True: "yes", False: "**no**", None: "-"}[t["met"]]]
                for t in report["targets"]
            ],
        ),
        "",
        "## Linearity",
        "",
        "Seconds per million events (landing rows), wall time / CPU time (all cores):",
        "",
    ]
    steps = ("generate", "load", "build_full", "run_full", "baseline", "build_incremental")

    def per_million(s: dict, step: str) -> str:
        wall = _get(s, "derived", "seconds_per_million_events", step)
        cpu = _get(s, "derived", "cpu_seconds_per_million_events", step)
        return f"{wall if wall is not None else '-'} / {cpu if cpu is not None else '-'}"

    out.append(
        md_table(
            ["step", *[s["label"] for s in sizes]],
            [[step, *[per_million(s, step) for s in sizes]] for step in steps],
        )
    )
    pairs = report["linearity"]["pairs"]
    if pairs:
        out += [
            "",
            "Scaling exponent b in time ~ events^b, wall / CPU "
            "(1.0 = linear; below 1 = fixed costs still dominate):",
            "",
        ]
        out.append(
            md_table(
                ["step", *[f"{p['from']} -> {p['to']}" for p in pairs]],
                [
                    [
                        step,
                        *[
                            f"{p['exponents'].get(step, '-')} / {p['cpu_exponents'].get(step, '-')}"
                            for p in pairs
                        ],
                    ]
                    for step in steps
                ],
            )
        )
    out += ["", "## Slowest dbt nodes", ""]
    for s in sizes:
        for step, title in (
            ("build_full", "full build"),
            ("run_full", "full run"),
            ("build_incremental", "incremental build"),
            ("build_incremental_daily", "incremental build, the daily schedule's tests"),
            ("build_no_new_data", "build with no new data"),
        ):
            dbt = s.get(step, {}).get("dbt", {})
            if not dbt.get("available"):
                continue
            out += [f"### {s['label']}, {title}", ""]
            out.append(
                md_table(
                    ["node", "type", "seconds", "status"],
                    [
                        [n["node"], n["type"], f"{n['seconds']:.1f}", n["status"]]
                        for n in dbt["slowest"]
                    ],
                )
            )
            by_type = ", ".join(f"{k} {v:.1f} s" for k, v in dbt["seconds_by_node_type"].items())
            out += ["", f"Node time by type (summed over dbt's 2 threads): {by_type}.", ""]
    for failed in report.get("failed_sizes", []):
        out += [f"**{failed['label']} did not complete:** {failed.get('error', '')}", ""]
    out += ["## Baseline steps", ""]
    for s in sizes:
        base = s.get("baseline", {})
        if "steps" in base:
            out.append(
                f"- {s['label']}: " + ", ".join(f"{k} {v:.1f} s" for k, v in base["steps"].items())
            )
    return "\n".join(out) + "\n"


def write_results(report: dict[str, Any], name: str, dated: bool) -> list[Path]:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    payload = json.dumps(report, indent=2, default=str) + "\n"
    text = markdown(report)
    written = []
    stems = [name]
    if dated:
        stamp = datetime.fromisoformat(report["started_at"]).strftime("%Y-%m-%d_%H%M")
        stems.append(f"{stamp}_{'-'.join(s['label'] for s in report['sizes'])}")
    for stem in stems:
        for suffix, content in ((".json", payload), (".md", text)):
            path = RESULTS_DIR / f"{stem}{suffix}"
            path.write_text(content)
            written.append(path)
    return written


# ---------------------------------------------------------------- main


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
    scratch = Path(args.scratch).resolve()
    run_dir = scratch / f"run_{started_at:%Y%m%d_%H%M%S}"
    run_dir.mkdir(parents=True, exist_ok=True)
    rss_method = (
        "max of GNU time -v (kernel max RSS of the largest process) and /proc polling of the "
        "process tree's summed RSS every 0.1 s"
        if gnu_time_available()
        else "/proc polling of the process tree's summed RSS every 0.1 s (GNU time not installed)"
    )
    say(f"sizes {', '.join(labels)}; scratch {run_dir}; peak RSS by {rss_method}")

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
        "rss_method": rss_method,
        "method": {
            "full_build": "first `dbt build` (seeds, models, tests) of a warehouse holding only "
            "the "
            "raw data of all days but the last; incremental models take their full-refresh branch",
            "full_run": "`dbt run` (models only) on another fresh copy of the same raw data, after "
            "`dbt seed` (timed separately)",
            "incremental": "the last day's landing files are held back from the first load; then "
            "loaded, and `dbt build` (with tests) runs again on the built warehouse",
            "baseline": "bench/baseline.py: one hand-written DuckDB SQL pass over the same raw "
            "data, "
            "in the harness process, on its own copy of the raw warehouse",
            "events": "landing rows of all sources (web, app, identifies, email, CRM, orders, "
            "subscriptions, support, reviews)",
        },
        "sizes": [],
    }
    exit_code = 0
    for label, target in targets_by_label.items():
        try:
            report["sizes"].append(
                bench_size(label, target, calibration["rows_per_customer"], args, run_dir)
            )
        except Exception as error:  # report what there is, and go on with the next size
            say(f"  {label} failed: {error}")
            report["sizes"].append(
                {"label": label, "target_events": target, "customers": 0, "error": str(error)}
            )
            exit_code = 1
        report["linearity"] = linearity([s for s in report["sizes"] if "derived" in s])
        report["targets"] = targets(
            [s for s in report["sizes"] if "derived" in s], report["linearity"], labels
        )
        report["total_seconds"] = time.perf_counter() - started
        ok_sizes = [s for s in report["sizes"] if "derived" in s]
        if ok_sizes:  # results so far, rewritten after every size
            write_results({**report, "sizes": ok_sizes}, results_name, dated=False)

    at_end = project_fingerprint()
    report["project"]["dbt_files_changed_during_run"] = (
        at_end["dbt_files_sha256"] != report["project"]["dbt_files_sha256"]
    )
    if report["project"]["dbt_files_changed_during_run"]:
        say("warning: the dbt project's files changed during the run; sizes may not compare")
    ok_sizes = [s for s in report["sizes"] if "derived" in s]
    report["failed_sizes"] = [s for s in report["sizes"] if "derived" not in s]
    report["sizes"] = ok_sizes
    if not args.keep:
        shutil.rmtree(run_dir, ignore_errors=True)
    if not ok_sizes:
        say("no size completed")
        return 1
    written = write_results(report, results_name, dated=not args.quick)
    print()
    print(
        text_table(
            ["figure", *[s["label"] for s in ok_sizes]],
            [[label, *vals] for label, vals in summary_rows(ok_sizes)],
        )
    )
    print()
    print(
        text_table(
            ["target", "measured", "met"],
            [
                [t["target"], t["value"], {True: "yes", False: "NO", None: "-"}[t["met"]]]
                for t in report["targets"]
            ],
        )
    )
    print()
    for s in ok_sizes:
        slowest = s["build_full"]["dbt"].get("slowest", [])
        say(
            f"{s['label']} slowest nodes (full build): "
            + ", ".join(f"{n['node']} {n['seconds']:.1f}s" for n in slowest)
        )
    say("wrote " + ", ".join(str(p.relative_to(PROJECT_DIR)) for p in written))
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
