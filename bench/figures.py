"""Figures derived from the measured steps of each size: ratios to the baseline and to the full
build, time per million events, scaling exponents across sizes, and the targets' verdicts."""

from __future__ import annotations

import math
from typing import Any

from bench.measure import GIB

# The targets of issue 4, checked at 10M events (bench/README.md).
TARGET_BUILD_OVER_BASELINE = 3.0
TARGET_INCREMENTAL_SHARE = 0.10
TARGET_PEAK_RSS_BYTES = 4 * GIB
TARGET_LINEAR_EXPONENT = 1.15  # time ~ events^b; b <= 1.15 counts as linear
TARGET_SIZE = "10M"

# Steps with a time per million events and a scaling exponent.
SCALED_STEPS = ("generate", "load", "build_full", "run_full", "baseline", "build_incremental")
# dbt commands whose peak RSS counts for the memory target.
DBT_PEAK_STEPS = (
    "build_full",
    "run_full",
    "build_incremental",
    "build_incremental_daily",
    "build_no_new_data",
)


def step_figure(result: dict, step: str, figure: str = "seconds") -> float | None:
    """One figure (wall ``seconds``, ``cpu_seconds`` ...) of one step of a size, if measured."""
    value = result.get(step, {})
    return value.get(figure) if isinstance(value, dict) else None


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a and b else None


def _per_million(result: dict[str, Any], figure: str) -> dict[str, float]:
    millions = result["events"] / 1e6
    return {
        step: round(step_figure(result, step, figure) / millions, 2)
        for step in SCALED_STEPS
        if step_figure(result, step, figure)
    }


def derive(result: dict[str, Any]) -> dict[str, Any]:
    """The ratios of one size (wall and CPU), its peak RSS and its cost per million events."""

    def wall(step: str) -> float | None:
        return step_figure(result, step)

    def cpu(step: str) -> float | None:
        return step_figure(result, step, "cpu_seconds")

    build, run = wall("build_full"), wall("run_full")
    derived = {
        "build_over_baseline": _ratio(build, wall("baseline")),
        "run_over_baseline": _ratio(run, wall("baseline")),
        "incremental_over_full_build": _ratio(wall("build_incremental"), build),
        "build_over_baseline_cpu": _ratio(cpu("build_full"), cpu("baseline")),
        "run_over_baseline_cpu": _ratio(cpu("run_full"), cpu("baseline")),
        "incremental_over_full_build_cpu": _ratio(cpu("build_incremental"), cpu("build_full")),
        "daily_over_full_build": _ratio(wall("build_incremental_daily"), build),
        "daily_over_full_build_cpu": _ratio(cpu("build_incremental_daily"), cpu("build_full")),
        "no_new_data_over_full_build": _ratio(wall("build_no_new_data"), build),
        "tests_share_of_build": (build - run) / build if build and run else None,
        "peak_rss_bytes": max(
            step_figure(result, s, "peak_rss_bytes") or 0 for s in DBT_PEAK_STEPS
        ),
        "seconds_per_million_events": _per_million(result, "seconds"),
        "cpu_seconds_per_million_events": _per_million(result, "cpu_seconds"),
    }
    dbt_elapsed = result.get("build_full", {}).get("dbt", {}).get("dbt_elapsed_seconds")
    if dbt_elapsed and wall("baseline"):
        derived["build_over_baseline_excluding_dbt_startup"] = dbt_elapsed / wall("baseline")
    return derived


def linearity(sizes: list[dict[str, Any]]) -> dict[str, Any]:
    """Scaling exponent b in time ~ events^b between consecutive sizes (1.0 = linear)."""
    pairs = []
    ordered = sorted((s for s in sizes if s.get("events")), key=lambda s: s["events"])
    for small, large in zip(ordered, ordered[1:], strict=False):
        growth = math.log(large["events"] / small["events"])
        exponents: dict[str, dict[str, float]] = {"seconds": {}, "cpu_seconds": {}}
        for figure, found in exponents.items():
            for step in SCALED_STEPS:
                a, b = step_figure(small, step, figure), step_figure(large, step, figure)
                if a and b and growth:
                    found[step] = round(math.log(b / a) / growth, 2)
        pairs.append(
            {
                "from": small["label"],
                "to": large["label"],
                "exponents": exponents["seconds"],
                "cpu_exponents": exponents["cpu_seconds"],
            }
        )
    return {"pairs": pairs}


def _cpu_note(value: float | None, fmt: str) -> str:
    return f" (cpu {fmt.format(value)})" if value else ""


def targets(sizes: list[dict[str, Any]], lin: dict[str, Any], requested: list[str]) -> list[dict]:
    """Each target with the measured value and whether it is met (None: not judged)."""
    checks: list[dict[str, Any]] = []
    at = next((s for s in sizes if s["label"].lower() == TARGET_SIZE.lower()), None)
    note = ""
    if at is None and sizes:
        at = max(sizes, key=lambda s: s.get("events", 0))
        note = f" (measured at {at['label']}; the target is for {TARGET_SIZE})"
    if at is not None:
        checks += _checks_at_target_size(at.get("derived", {}), note)
    hundred = next((s for s in sizes if s["label"].lower() == "100m"), None)
    completed = (
        None if hundred is None else step_figure(hundred, "build_incremental", "returncode") == 0
    )
    checks.append(
        {
            "target": "100M completes",
            "value": {None: "not run (opt-in: --sizes 100M)", True: "completed", False: "failed"}[
                completed
            ],
            "met": completed,
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


def _checks_at_target_size(d: dict[str, Any], note: str) -> list[dict[str, Any]]:
    ratio = d.get("build_over_baseline")
    share = d.get("incremental_over_full_build")
    daily = d.get("daily_over_full_build")
    peak = d.get("peak_rss_bytes")
    return [
        {
            "target": f"full dbt build within {TARGET_BUILD_OVER_BASELINE:g}x the baseline" + note,
            "value": (f"{ratio:.1f}x" if ratio else "n/a")
            + _cpu_note(d.get("build_over_baseline_cpu"), "{:.1f}x"),
            "met": ratio is not None and ratio <= TARGET_BUILD_OVER_BASELINE,
        },
        {
            # The daily schedule's build (tests read only the rows it wrote) also counts.
            "target": f"incremental day within {TARGET_INCREMENTAL_SHARE:.0%} of the full build"
            + note,
            "value": (f"{share:.0%}" if share else "n/a")
            + _cpu_note(d.get("incremental_over_full_build_cpu"), "{:.0%}")
            + (f"; the daily schedule's build {daily:.0%}" if daily else ""),
            "met": any(
                value is not None and value <= TARGET_INCREMENTAL_SHARE for value in (share, daily)
            ),
        },
        {
            "target": f"peak RSS below {TARGET_PEAK_RSS_BYTES / GIB:g} GiB{note}",
            "value": f"{peak / GIB:.2f} GiB" if peak else "n/a",
            "met": bool(peak) and peak < TARGET_PEAK_RSS_BYTES,
        },
    ]
