"""Steps the harness runs in a process of their own, so that their time and memory are
measured alone: ``python -m bench.steps generate|load ... --json OUT``."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def _generate(args: argparse.Namespace) -> dict:
    from journeymap.generator import generate

    summary = generate(
        Path(args.out),
        customers=args.customers,
        days=args.days,
        seed=args.seed,
        chunk_customers=args.chunk_customers,
    )
    rows = dict(getattr(summary, "rows", None) or getattr(summary, "rows_per_source", {}))
    return {
        "customers": args.customers,
        "prospects": getattr(summary, "prospects", None),
        "rows_per_source": rows,
        "rows": sum(rows.values()),
        "generator_seconds": summary.seconds,
    }


def _load(args: argparse.Namespace) -> dict:
    from journeymap.load import load_landing
    from journeymap.warehouse import DuckDBWarehouse

    started = time.perf_counter()
    with DuckDBWarehouse(Path(args.db)) as warehouse:
        report = load_landing(warehouse, Path(args.landing))
    return {
        "files_loaded": len(report.loaded),
        "files_skipped": len(report.skipped),
        "rows_in_files": report.rows_in_file,
        "rows_loaded": report.rows_loaded,
        "rows_quarantined": report.rows_quarantined,
        "loader_seconds": time.perf_counter() - started,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.steps", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    gen = commands.add_parser("generate")
    gen.add_argument("--out", required=True)
    gen.add_argument("--customers", type=int, required=True)
    gen.add_argument("--days", type=int, required=True)
    gen.add_argument("--seed", type=int, required=True)
    gen.add_argument("--chunk-customers", type=int, default=5000)
    gen.add_argument("--json", required=True)
    gen.set_defaults(handler=_generate)
    load = commands.add_parser("load")
    load.add_argument("--db", required=True)
    load.add_argument("--landing", required=True)
    load.add_argument("--json", required=True)
    load.set_defaults(handler=_load)
    args = parser.parse_args(argv)
    result = args.handler(args)
    Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
