"""Time and peak memory of the customer models at scale, run as their Dagster assets run them
(read the marts, fit, write the ml tables): lifetime value and segmentation of N customers.

    python -m bench.customers --customers 100000 [--warehouse PATH] [--json FILE]

The customers come from a generated business: by default a new one of ``--base`` customers
(generated and built through the full Dagster job in a scratch folder), or the warehouse of an
earlier build (``--warehouse``, e.g. the test fixture's). A scratch DuckDB warehouse gets N
customers drawn with replacement from the base's known customers, each draw a new customer
(its keys suffixed with the draw number, its whole history shifted 0-6 days earlier), in
every mart the models read, so they see N customers with the base's variety. Each run then
goes in a process of its own (its peak memory is its own), one after the other:

1. lifetime value (``run_customer_value``);
2. segmentation, first run: no previous run, so the snapshots of the earlier weeks are filled
   in (``backfill_weeks``, 12);
3. segmentation, daily run: the first run's memberships and snapshots are there, as every day
   after the first.

The issue's bounds: segmentation of 100k customers under 60 s, lifetime value under 30 s, on
2 cores. The load average is recorded: on a busy machine every figure is slower.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

from bench.measure import child_figures, machine_load, print_figures

# What the draws copy of each mart: (table, columns, time columns shifted, key columns renamed).
MARTS = {
    "dim_customers": (
        "customer_key, is_known, crm_created_at",
        ("crm_created_at",),
        (),
    ),
    "fct_events": (
        "customer_key, occurred_at, canonical_event, source, session_key, is_conversion, "
        "revenue, loaded_at",
        ("occurred_at",),
        ("session_key",),
    ),
    "fct_sessions": (
        "customer_key, session_key, anonymous_id, started_at, channel, device_type, "
        "acquisition_channel",
        ("started_at",),
        ("session_key", "anonymous_id"),
    ),
    "fct_customer_texts": (
        "customer_key, text_key, source, occurred_at, text_type, subject, body, score",
        ("occurred_at",),
        ("text_key",),
    ),
    "fct_subscription_versions": (
        "customer_key, subscription_id, plan, started_at, cancelled_at, updated_at",
        ("started_at", "cancelled_at", "updated_at"),
        ("subscription_id",),
    ),
    "fct_journey_paths": ("customer_key, path_grain, path", (), ()),
}
# The ML tables the segmentation reads (the churn scores its cards quote; the text labels,
# features when the base has them), drawn the same way.
ML = {
    "churn_scores": ("customer_key, churn_score, risk_band", (), ()),
    "text_labels": (
        "customer_key, text_key, occurred_at, intent, polarity, emotion",
        ("occurred_at",),
        ("text_key",),
    ),
}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


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


def _select(columns: str, shifted: tuple[str, ...], renamed: tuple[str, ...]) -> str:
    out = []
    for column in (c.strip() for c in columns.split(",")):
        if column == "customer_key":
            out.append("draws.new_key as customer_key")
        elif column in shifted:
            out.append(f"t.{column} - draws.shift as {column}")
        elif column in renamed:
            out.append(f"t.{column} || '#' || draws.draw as {column}")
        else:
            out.append(f"t.{column}")
    return ", ".join(out)


def scale_up(
    base: Path,
    target: Path,
    customers: int,
    marts: dict[str, tuple] = MARTS,
    ml: dict[str, tuple] = ML,
) -> dict[str, int]:
    """The scratch warehouse: ``customers`` draws of the base's known customers in every mart
    of ``marts`` (and the ML tables of ``ml`` the base has). Returns its row counts."""
    import duckdb

    with duckdb.connect(str(target)) as db:
        db.execute(f"attach '{base}' as base (read_only)")
        db.execute("create schema marts; create schema ml")
        db.execute(
            f"""
            create table draws as
            with known as (
                select customer_key, row_number() over (order by customer_key) - 1 as position,
                    count(*) over () as known
                from base.marts.dim_customers where is_known
            ),
            picks as (
                select range as draw, hash(range) as h from range({customers})
            )
            select picks.draw, known.customer_key,
                known.customer_key || '#' || picks.draw as new_key,
                to_days(cast(picks.h % 7 as integer)) as shift
            from picks
            inner join known on known.position = picks.h % known.known
            """
        )
        for table, (columns, shifted, renamed) in marts.items():
            db.execute(
                f"""
                create table marts.{table} as
                select {_select(columns, shifted, renamed)}
                from base.marts.{table} as t
                inner join draws on draws.customer_key = t.customer_key
                """
            )
        base_ml = {
            name
            for (name,) in db.execute(
                "select table_name from information_schema.tables "
                "where table_catalog = 'base' and table_schema = 'ml'"
            ).fetchall()
        }
        for table, (columns, shifted, renamed) in ml.items():
            if table not in base_ml:
                continue
            db.execute(
                f"create table ml.{table} as select {_select(columns, shifted, renamed)} "
                f"from base.ml.{table} as t inner join draws on draws.customer_key = t.customer_key"
            )
        counted = [f"marts.{table}" for table in marts]
        counted += [f"ml.{table}" for table in ml if table in base_ml]
        return {name: db.execute(f"select count(*) from {name}").fetchone()[0] for name in counted}


def run_step(step: str, warehouse_path: Path) -> dict:
    """One model run, as its asset runs it, in this process."""
    from journeymap.warehouse import DuckDBWarehouse

    started = time.perf_counter()
    with DuckDBWarehouse(warehouse_path) as warehouse:
        if step == "value":
            from journeymap.ml.customer_value import run_customer_value

            run = run_customer_value(warehouse)
            result: dict = {"customers": len(run.scores)}
        else:
            from journeymap.ml.segments_run import run_segmentation

            run = run_segmentation(warehouse)
            result = {
                "customers": len(run.segments),
                "segments": run.segmentation.k,
                "parts": {name: round(seconds, 2) for name, seconds in run.timings.items()},
            }
    result["seconds"] = round(time.perf_counter() - started, 2)
    result["peak_rss_mb"] = round(peak_rss_mb(), 1)
    return result


def _child(step: str, warehouse_path: Path) -> dict:
    return child_figures("bench.customers", "--step", step, "--at", str(warehouse_path))


def add_draw_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of a bench that draws customers (``scale_up``) and writes figures."""
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--warehouse", type=Path, default=None, help="a built base warehouse")
    parser.add_argument("--base", type=int, default=2000, help="customers of a new base")
    parser.add_argument("--dir", type=Path, default=None, help="scratch folder (default: temp)")
    parser.add_argument("--json", type=Path, default=None, help="write the figures here too")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.customers", description=__doc__)
    add_draw_arguments(parser)
    parser.add_argument("--step", choices=["segments", "value"], help=argparse.SUPPRESS)
    parser.add_argument("--at", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.step:
        print(json.dumps(run_step(args.step, args.at)))
        return 0

    with tempfile.TemporaryDirectory(dir=args.dir) as scratch:
        folder = Path(scratch)
        base = args.warehouse or build_base(folder / "base", args.base)
        target = folder / "customers.duckdb"
        started = time.perf_counter()
        rows = scale_up(Path(base).resolve(), target, args.customers)
        figures = {
            "customers_drawn": args.customers,
            "rows": rows,
            "preparation_seconds": round(time.perf_counter() - started, 1),
            "lifetime_value": _child("value", target),
            "segmentation_first_run": _child("segments", target),
            "segmentation_daily_run": _child("segments", target),
            **machine_load(),
        }
    print_figures(figures, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
