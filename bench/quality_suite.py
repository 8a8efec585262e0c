"""Peak memory and time of the fct_events suite on a large generated table.

    python -m bench.quality_suite --rows 5000000 [--dir /tmp/qbench]

Builds ``marts.fct_events`` with N synthetic rows (every column the suite reads), then runs,
each in its own process so peak RSS is its own: the suite with the sql engine, the suite
with the chunked pandas engine, and the naive way (the suite's columns read into one frame).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

SUITE = "marts.fct_events"


def make_table(path: Path, rows: int) -> None:
    from journeymap.warehouse import DuckDBWarehouse

    with DuckDBWarehouse(path) as warehouse:
        warehouse.execute("create schema if not exists marts")
        warehouse.execute(
            f"""
            create or replace table marts.fct_events as
            select
                md5(i::varchar) as event_key,
                (['web_events', 'app_events', 'email_events', 'orders'])[1 + i % 4] as source,
                'src_' || i::varchar as source_event_id,
                'c' || (i % 200000)::varchar as customer_key,
                (['direct', 'device', 'email', 'anonymous'])[1 + i % 4] as identity_source,
                timestamp '2026-08-01' + to_seconds(i % 7776000) as occurred_at,
                'page_viewed' as canonical_event,
                (['web', 'app', 'email', 'store', 'support', 'reviews'])[1 + i % 6] as channel,
                'page ' || (i % 1000)::varchar as touchpoint,
                (['awareness', 'consideration', 'purchase', 'retention', 'advocacy'])[1 + i % 5]
                    as journey_stage,
                i % 50 = 0 as is_conversion,
                case when i % 50 = 0 then (i % 1000)::double end as revenue,
                case when i % 4 < 2 then md5((i // 7)::varchar) end as session_key,
                case when i % 4 < 2 then (['web', 'app'])[1 + i % 2] end as platform,
                case when i % 4 < 2 then (['desktop', 'mobile', 'tablet'])[1 + i % 3] end
                    as device_type,
                timestamp '2026-11-01' as loaded_at
            from range({rows}) as r(i)
            """
        )


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM; unlike ru_maxrss it starts afresh on exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(path: Path, mode: str, chunk_rows: int, memory_limit: str) -> dict:
    started = time.perf_counter()
    from journeymap.quality import validate
    from journeymap.quality.suites import SUITES
    from journeymap.warehouse import DuckDBWarehouse

    imported = peak_rss_mb()
    now = datetime(2026, 11, 1) + timedelta(hours=1)
    with DuckDBWarehouse(path, read_only=True) as warehouse:
        warehouse.execute(f"set memory_limit = '{memory_limit}'")
        t0 = time.perf_counter()
        if mode == "naive":
            frame = warehouse.query_df(SUITES[SUITE].relation("rows").sql)
            detail = {
                "rows_in_memory": len(frame),
                "frame_mb": frame.memory_usage(deep=True).sum() / 2**20,
            }
        else:
            outcome = validate(warehouse, SUITE, now=now, engine=mode, chunk_rows=chunk_rows)
            detail = {
                "success": outcome.success,
                "failures": [f.expectation for f in outcome.failures],
            }
        seconds = time.perf_counter() - t0
    return {
        "mode": mode,
        "seconds": round(seconds, 1),
        "peak_rss_mb": round(peak_rss_mb()),
        "rss_after_imports_mb": round(imported),
        "total_seconds": round(time.perf_counter() - started, 1),
        **detail,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--dir", type=Path, default=None)
    parser.add_argument("--chunk-rows", type=int, default=500_000)
    parser.add_argument("--memory-limit", default="1GB", help="DuckDB's memory_limit")
    parser.add_argument("--only", choices=["sql", "pandas", "naive"], default=None)
    parser.add_argument("--reuse", action="store_true", help="keep an existing bench table")
    parser.add_argument("--path", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.only and args.path:  # child process
        print(json.dumps(run(args.path, args.only, args.chunk_rows, args.memory_limit)))
        return 0
    folder = args.dir or Path(tempfile.mkdtemp(prefix="quality_bench_"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "bench.duckdb"
    t0 = time.perf_counter()
    if not (args.reuse and path.exists()):
        make_table(path, args.rows)
    print(f"built {args.rows:,} rows in {time.perf_counter() - t0:.1f}s: {path}", flush=True)
    for mode in [args.only] if args.only else ["sql", "pandas", "naive"]:
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "bench.quality_suite",
                "--only",
                mode,
                "--path",
                str(path),
                "--chunk-rows",
                str(args.chunk_rows),
                "--memory-limit",
                args.memory_limit,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        print(
            out.stdout.strip().splitlines()[-1] if out.returncode == 0 else out.stderr[-2000:],
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
