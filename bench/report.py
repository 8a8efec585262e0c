"""The results of a run as files: ``bench/results/<name>.json`` (everything) and ``<name>.md``
(the tables), plus a dated copy of both; and the short summary printed at the end."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.figures import SCALED_STEPS, step_figure
from bench.measure import GIB

RESULTS_DIR = Path(__file__).resolve().parent / "results"

# What each step is, written into every results file.
METHOD = {
    "full_build": "first `dbt build` (seeds, models, tests) of a warehouse holding only the "
    "raw data of all days but the last; incremental models take their full-refresh branch",
    "full_run": "`dbt run` (models only) on another fresh copy of the same raw data, after "
    "`dbt seed` (timed separately)",
    "incremental": "the last day's landing files are held back from the first load; then "
    "loaded, and `dbt build` (with tests) runs again on the built warehouse",
    "baseline": "bench/baseline.py: one hand-written DuckDB SQL pass over the same raw data, "
    "in the harness process, on its own copy of the raw warehouse",
    "events": "landing rows of all sources (web, app, identifies, email, CRM, orders, "
    "subscriptions, support, reviews)",
}

# dbt commands of a size whose slowest nodes the markdown lists, with their titles.
DBT_STEPS = (
    ("build_full", "full build"),
    ("run_full", "full run"),
    ("build_incremental", "incremental build"),
    ("build_incremental_daily", "incremental build, the daily schedule's tests"),
    ("build_no_new_data", "build with no new data"),
)

# ---------------------------------------------------------------- formatting


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


def _time(step: str) -> Callable[[dict], str]:
    """Wall time, with CPU time (all cores) in brackets."""

    def show(s: dict) -> str:
        wall, cpu = step_figure(s, step), step_figure(s, step, "cpu_seconds")
        if wall is None:
            return "-"
        return _fmt_seconds(wall) + (f" (cpu {_fmt_seconds(cpu)})" if cpu else "")

    return show


def _wall_cpu_ratio(wall_key: str, cpu_key: str, percent: bool = False) -> Callable[[dict], str]:
    def show(s: dict) -> str:
        wall, cpu = _get(s, "derived", wall_key), _get(s, "derived", cpu_key)
        text = _fmt_ratio(wall, percent)
        return text + (f" (cpu {_fmt_ratio(cpu, percent)})" if cpu else "")

    return show


def _bytes(*path: str) -> Callable[[dict], str]:
    return lambda s: _fmt_bytes(_get(s, *path))


def _same(check: dict | None) -> str:
    if not check:
        return "-"
    flags = [check.get("same_events"), check.get("same_sessions"), check.get("same_funnel")]
    return "yes" if all(flags) else "/".join("yes" if f else "NO" for f in flags)


def _statuses(statuses: dict | None) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(statuses.items())) if statuses else "-"


# ---------------------------------------------------------------- tables

SUMMARY_ROWS: list[tuple[str, Callable[[dict], str]]] = [
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
        "attribution marts, dbt build on the built warehouse (target <= 30 s)",
        lambda s: _fmt_seconds(_get(s, "attribution", "marts", "seconds")),
    ),
    (
        "attribution asset, Markov 1-3 + Shapley (target <= 30 s)",
        lambda s: _fmt_seconds(_get(s, "attribution", "asset", "seconds")),
    ),
    (
        "no new data / full build",
        lambda s: _fmt_ratio(_get(s, "derived", "no_new_data_over_full_build"), True),
    ),
    ("peak RSS, full build", _bytes("build_full", "peak_rss_bytes")),
    ("peak RSS, full run", _bytes("run_full", "peak_rss_bytes")),
    ("peak RSS, incremental build", _bytes("build_incremental", "peak_rss_bytes")),
    ("peak RSS, load", _bytes("load", "peak_rss_bytes")),
    ("peak RSS, baseline (harness process)", _bytes("baseline", "peak_rss_bytes")),
    ("landing CSV size", _bytes("generate", "landing_bytes")),
    ("warehouse size, raw only", _bytes("load", "warehouse_bytes")),
    ("warehouse size, after full build", _bytes("build_full", "warehouse_bytes")),
    ("warehouse size, after incremental day", _bytes("build_incremental", "warehouse_bytes")),
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


def summary_rows(sizes: list[dict[str, Any]]) -> list[list[str]]:
    """One row per figure: its label, then its value at each size."""
    return [[label, *(show(s) for s in sizes)] for label, show in SUMMARY_ROWS]


def target_rows(checks: list[dict[str, Any]], not_met: str) -> list[list[str]]:
    return [
        [t["target"], t["value"], {True: "yes", False: not_met, None: "-"}[t["met"]]]
        for t in checks
    ]


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


# ---------------------------------------------------------------- markdown


def _header(report: dict[str, Any]) -> list[str]:
    machine, project = report["machine"], report["project"]
    return [
        "# journeymap benchmark results",
        "",
        f"Run {report['started_at']} ({report['total_seconds'] / 60:.1f} min), command "
        f"`{report['command']}`.",
        "",
        f"Machine: {machine['cores']} cores, {machine['memory_gib']} GiB RAM, "
        f"{machine['cpu_model']}, {machine['os']}.  ",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in report["versions"].items()) + ".  ",
        f"dbt project: git {project['git_head']}"
        + (" with uncommitted dbt changes" if project["dbt_files_differ_from_head"] else "")
        + f" (dbt files sha256 {project['dbt_files_sha256']})"
        + (
            "; **the dbt files changed during the run**"
            if project.get("dbt_files_changed_during_run")
            else ""
        )
        + ".  ",
        f"Generator: {report['days']} days, seed {report['seed']}, "
        f"{report['calibration']['rows_per_customer']:.1f} landing rows per customer "
        "(calibrated).  ",
        f"Peak RSS: {report['rss_method']}.",
    ]


def _linearity(report: dict[str, Any]) -> list[str]:
    sizes = report["sizes"]

    def per_million(s: dict, step: str) -> str:
        wall = _get(s, "derived", "seconds_per_million_events", step)
        cpu = _get(s, "derived", "cpu_seconds_per_million_events", step)
        return f"{wall if wall is not None else '-'} / {cpu if cpu is not None else '-'}"

    out = [
        "## Linearity",
        "",
        "Seconds per million events (landing rows), wall time / CPU time (all cores):",
        "",
        md_table(
            ["step", *[s["label"] for s in sizes]],
            [[step, *[per_million(s, step) for s in sizes]] for step in SCALED_STEPS],
        ),
    ]
    pairs = report["linearity"]["pairs"]
    if pairs:
        out += [
            "",
            "Scaling exponent b in time ~ events^b, wall / CPU "
            "(1.0 = linear; below 1 = fixed costs still dominate):",
            "",
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
                    for step in SCALED_STEPS
                ],
            ),
        ]
    return out


def _slowest_nodes(sizes: list[dict[str, Any]]) -> list[str]:
    """The slowest nodes of every dbt command, named as dbt's run_results.json names them."""
    out = ["## Slowest dbt nodes", ""]
    for s in sizes:
        for step, title in DBT_STEPS:
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
    return out


def markdown(report: dict[str, Any]) -> str:
    sizes = report["sizes"]
    out = [
        *_header(report),
        "",
        "## Figures",
        "",
        md_table(["figure", *[s["label"] for s in sizes]], summary_rows(sizes)),
        "",
        "## Targets",
        "",
        md_table(["target", "measured", "met"], target_rows(report["targets"], "**no**")),
        "",
        *_linearity(report),
        "",
        *_slowest_nodes(sizes),
    ]
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


def console_summary(report: dict[str, Any]) -> str:
    """The figures and the targets as plain-text tables, for the end of a run."""
    sizes = report["sizes"]
    lines = [
        text_table(["figure", *[s["label"] for s in sizes]], summary_rows(sizes)),
        "",
        text_table(["target", "measured", "met"], target_rows(report["targets"], "NO")),
    ]
    return "\n".join(lines)


def write_results(report: dict[str, Any], name: str, dated: bool) -> list[Path]:
    """``<name>.json`` and ``<name>.md`` under RESULTS_DIR; with ``dated``, also
    ``<date>_<time>_<sizes>.*``."""
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
