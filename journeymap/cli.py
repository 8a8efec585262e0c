"""journeymap's command line: generate, load, import-events, build, summary, demo, attribute,
classify-text."""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import date
from pathlib import Path

from journeymap.settings import Settings, get_settings


def _say(message: str) -> None:
    print(f"[journeymap] {message}", flush=True)


def cmd_generate(args: argparse.Namespace, settings: Settings) -> None:
    from journeymap.generator import generate

    out = Path(args.out) if args.out else settings.data_dir
    _say(
        f"generating {args.customers:,} customers over {args.days} days into {out} "
        f"(seed {args.seed})"
    )
    summary = generate(
        out,
        customers=args.customers,
        days=args.days,
        end_date=date.fromisoformat(args.end_date),
        seed=args.seed,
    )
    total = sum(summary.rows.values())
    _say(f"wrote {total:,} rows in {summary.seconds:.1f}s; ground truth in {out / 'ground_truth'}")


def cmd_load(args: argparse.Namespace, settings: Settings) -> None:
    from journeymap.load import load_landing
    from journeymap.warehouse import open_warehouse, query_tag, warehouse_label

    landing = Path(args.landing) if args.landing else settings.landing_dir
    _say(f"loading new files from {landing} into {warehouse_label(settings)}")
    with open_warehouse(settings, tag=query_tag(command="load")) as warehouse:
        report = load_landing(warehouse, landing)
    _say(report.summary())


def cmd_import_events(args: argparse.Namespace, settings: Settings) -> None:
    from journeymap.byo import import_events

    report = import_events(
        Path(args.file), source=args.source, landing_dir=settings.landing_dir, strict=args.strict
    )
    _say(report.summary())


def cmd_build(args: argparse.Namespace, settings: Settings) -> None:
    from journeymap.transform import build
    from journeymap.warehouse import warehouse_label

    refresh = " (full refresh)" if args.full_refresh else ""
    _say(f"dbt build on {warehouse_label(settings)}{refresh}")
    build(settings, full_refresh=args.full_refresh, select=args.select)


def cmd_summary(args: argparse.Namespace, settings: Settings) -> None:
    from journeymap.summary import summarize
    from journeymap.warehouse import open_warehouse, query_tag

    with open_warehouse(settings, read_only=True, tag=query_tag(command="summary")) as warehouse:
        print(summarize(warehouse))


def cmd_attribute(args: argparse.Namespace, settings: Settings) -> None:
    from journeymap.attribute import attribute_file, format_table, write_result

    result, notes = attribute_file(
        Path(args.file),
        path_column=args.path_column,
        conversions_column=args.conversions_column,
        separator=args.separator,
        value_column=args.value_column,
        null_column=args.null_column,
        model=args.model,
        order=args.order,
        half_life=args.half_life,
    )
    out = write_result(result, Path(args.out))
    print(format_table(result))
    for note in notes:
        _say(f"note: {note}")
    _say(f"wrote {len(result):,} rows (model, channel, conversions, value) to {out}")


def cmd_demo(args: argparse.Namespace, settings: Settings) -> None:
    """The whole pipeline as one Dagster run in this process (orchestration/demo.py): sample data,
    raw loads, dbt, churn scoring, every check, the journey map and the data docs."""
    from dataclasses import replace

    from journeymap.orchestration.run import run_demo
    from journeymap.warehouse import warehouse_label

    started = time.perf_counter()
    if args.out:
        settings = replace(settings, data_dir=Path(args.out).resolve())
    _say(
        f"demo: {args.customers:,} customers over {args.days} days (seed {args.seed}), "
        f"run by Dagster into {warehouse_label(settings)}"
    )
    demo = run_demo(
        settings,
        customers=args.customers,
        days=args.days,
        seed=args.seed,
        end_date=args.end_date,
        say=_say,
    )
    if not demo.success:
        checks = f"; failed checks: {', '.join(demo.failed_checks)}" if demo.failed_checks else ""
        raise RuntimeError(f"the Dagster run failed at {', '.join(demo.failed_steps)}{checks}")
    print()
    cmd_summary(args, settings)
    print()
    _say(f"done in {time.perf_counter() - started:.0f}s. Where to look:")
    _say(f"  journey map  {settings.build_dir / 'journey_map.html'}")
    _say(f"  data docs    {settings.build_dir / 'data_docs' / 'index.html'}")
    _say(f"  warehouse    {warehouse_label(settings)}")
    if settings.warehouse_kind == "duckdb":
        _say(f'               e.g. duckdb {settings.duckdb_path} "from marts.mart_journey_map"')
    _say("  Dagster UI   make dev, then http://127.0.0.1:3000 (assets, checks, runs, automation)")


def cmd_classify_text(args: argparse.Namespace, settings: Settings) -> None:
    """Label one text (JSON on stdout) or a CSV file, with the configured text backend."""
    import json

    from journeymap.ml.text.backends import make_backend
    from journeymap.ml.text.classify import classify_file, classify_one

    if (args.text is None) == (args.input is None):
        raise ValueError("give a text to label, or --input FILE.csv (not both)")
    backend = make_backend(args.backend)
    if args.text is not None:
        print(json.dumps(classify_one(args.text, backend), indent=2))
        return
    output = Path(args.output) if args.output else None
    rows = classify_file(Path(args.input), args.text_column, output, backend)
    if output is not None:
        _say(f"labelled {rows:,} rows of {args.input} into {output} ({backend.name} backend)")


def _add_generation_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--customers", type=int, default=5000, help="known customers (default 5000)"
    )
    parser.add_argument("--days", type=int, default=90, help="days of history (default 90)")
    parser.add_argument(
        "--end-date", default="2026-10-31", help="last day simulated (default 2026-10-31)"
    )
    parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    parser.add_argument(
        "--out", default=None, help="output folder (default $JOURNEYMAP_DATA_DIR or ./data)"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="journeymap", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    generate = commands.add_parser("generate", help="write the sample business's landing files")
    _add_generation_flags(generate)
    generate.set_defaults(handler=cmd_generate)

    load = commands.add_parser("load", help="load new landing files into the raw schema")
    load.add_argument("--landing", default=None, help="landing folder (default <data>/landing)")
    load.set_defaults(handler=cmd_load)

    byo = commands.add_parser(
        "import-events",
        help="bring your own events: an export from GA4, Segment, Mixpanel, a CSV...",
    )
    byo.add_argument("file", help="the export file (CSV, JSONL or Parquet)")
    byo.add_argument("--source", default="web_events", choices=["web_events", "app_events"])
    byo.add_argument(
        "--strict", action="store_true", help="stop at the first bad row instead of quarantining it"
    )
    byo.set_defaults(handler=cmd_import_events)

    build = commands.add_parser("build", help="dbt build (seeds, models, tests)")
    build.add_argument(
        "--full-refresh", action="store_true", help="rebuild incremental models from scratch"
    )
    build.add_argument("--select", default=None, help="dbt selection, e.g. 'marts'")
    build.set_defaults(handler=cmd_build)

    summary = commands.add_parser("summary", help="print rows per mart, funnel and top paths")
    summary.set_defaults(handler=cmd_summary)

    attribute = commands.add_parser(
        "attribute",
        help="channel attribution of a path table (CSV/Parquet): heuristics, Markov, Shapley",
    )
    attribute.add_argument("file", help="the path table: one row per path or journey")
    attribute.add_argument("--path-column", default="path", help="paths (default path)")
    attribute.add_argument("--separator", default=">", help="between channels (default >)")
    attribute.add_argument(
        "--conversions-column", default="conversions", help="conversions (default conversions)"
    )
    attribute.add_argument("--value-column", default=None, help="conversion value (optional)")
    attribute.add_argument(
        "--null-column", default=None, help="journeys that did not convert (Markov, Shapley)"
    )
    attribute.add_argument(
        "--model",
        default="all",
        help="first, last, linear, time_decay, position, markov, shapley or all (default)",
    )
    attribute.add_argument("--order", type=int, default=1, help="Markov chain order, 1-3")
    attribute.add_argument(
        "--half-life", type=float, default=1.0, help="time decay: touches per halving (default 1)"
    )
    attribute.add_argument(
        "--out", default="attribution.csv", help="CSV written (default attribution.csv)"
    )
    attribute.set_defaults(handler=cmd_attribute)
    classify = commands.add_parser(
        "classify-text",
        help="label a text or a CSV file: intent, journey stage, sentiment, emotion",
    )
    classify.add_argument("text", nargs="?", help="a text to label (prints JSON)")
    classify.add_argument("--input", help="a CSV file with a column of texts")
    classify.add_argument("--text-column", default="text", help="the column (default text)")
    classify.add_argument("--output", help="the labelled CSV to write (default: stdout)")
    classify.add_argument(
        "--backend",
        choices=["embedded", "llm"],
        default=None,
        help="default: $JOURNEYMAP_TEXT_BACKEND, else embedded",
    )
    classify.set_defaults(handler=cmd_classify_text)

    demo = commands.add_parser("demo", help="generate, load, build and summarize in one go")
    _add_generation_flags(demo)
    demo.set_defaults(handler=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.handler(args, get_settings())
    except Exception as error:  # one readable line for users; JOURNEYMAP_DEBUG=1 for the traceback
        if os.environ.get("JOURNEYMAP_DEBUG"):
            raise
        print(f"journeymap: error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
