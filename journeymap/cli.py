"""journeymap's command line: init, import-events, load, build, summary, dbt, demo, generate,
attribute, classify-text, clv, predict-next, forget, purge.

Every command works on one project (``journeymap init``): the folder given with ``--project``,
else ``$JOURNEYMAP_PROJECT``, else the nearest folder with a journeymap.yml from the working
directory up; without one, the working directory with the package's seeds and vars (``clv fit``
reads only the file it is given)."""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import date
from pathlib import Path

from journeymap.settings import Settings


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


def cmd_init(args: argparse.Namespace, settings: Settings) -> None:
    from journeymap.project import init_project

    root = Path(args.dir).resolve()
    written = init_project(root)
    for path in written:
        _say(f"wrote {path}")
    if not written:
        _say(f"{root} is a journeymap project already; nothing to write")
    _say("next: journeymap import-events EXPORT --project " + _shown(root))


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd())) or "."
    except ValueError:
        return str(path)


def cmd_load(args: argparse.Namespace, settings: Settings) -> None:
    from journeymap.load import load_landing
    from journeymap.warehouse import open_warehouse, query_tag, warehouse_label

    landing = Path(args.landing) if args.landing else settings.landing_dir
    _say(f"loading new files from {landing} into {warehouse_label(settings)}")
    with open_warehouse(settings, tag=query_tag(command="load")) as warehouse:
        report = load_landing(warehouse, landing, contracts=settings.source_contracts)
    _say(report.summary())


def _comma_list(value: str | None) -> tuple[str, ...] | None:
    return tuple(v.strip() for v in value.split(",") if v.strip()) if value else None


def cmd_import_events(args: argparse.Namespace, settings: Settings) -> None:
    from journeymap.byo import BYO_SOURCES, ColumnChoices, import_events

    choices = ColumnChoices(
        event_id=args.id_column,
        user_id=args.user_column,
        anonymous_id=args.anonymous_column,
        event_name=args.event_column,
        occurred_at=args.timestamp_column,
        event_order=args.order_column,
        properties=_comma_list(args.property_columns),
        timestamp_format=args.timestamp_format,
    )
    report = import_events(
        Path(args.file),
        source=args.source,
        landing_dir=settings.landing_dir,
        strict=args.strict,
        preset=args.preset,
        columns=choices,
        dry_run=args.dry_run,
        event_sources=(*BYO_SOURCES, *(s.name for s in settings.landing_sources)),
    )
    _say(report.summary())


def cmd_build(args: argparse.Namespace, settings: Settings) -> None:
    """The daily Dagster job (journeymap_full) in this process: new landing files, dbt, the
    Python models, checks, the journey map page and the data docs."""
    from journeymap.orchestration.assets.dbt import dbt_run_config
    from journeymap.orchestration.run import run_job
    from journeymap.warehouse import warehouse_label

    _say(f"build {warehouse_label(settings)}{' (full refresh)' if args.full_refresh else ''}")
    job = run_job(
        settings, "journeymap_full", dbt_run_config(full_refresh=args.full_refresh), say=_say
    )
    _raise_if_failed(job)
    _say(f"done in {job.seconds:.0f}s; the journey map: {settings.build_dir / 'journey_map.html'}")


def _raise_if_failed(job) -> None:
    if not job.success:
        checks = f"; failed checks: {', '.join(job.failed_checks)}" if job.failed_checks else ""
        raise RuntimeError(f"the Dagster run failed at {', '.join(job.failed_steps)}{checks}")


def cmd_dbt(args: argparse.Namespace, settings: Settings) -> None:
    """dbt itself on the project's warehouse, seeds and vars (``journeymap dbt build ...``)."""
    from journeymap.transform import run_dbt

    if not args.dbt_args:
        raise ValueError("give dbt's command, e.g. `journeymap dbt build --select marts`")
    run_dbt(settings, *args.dbt_args)


def cmd_summary(args: argparse.Namespace, settings: Settings) -> None:
    from journeymap.summary import summarize
    from journeymap.warehouse import open_warehouse, query_tag

    with open_warehouse(settings, read_only=True, tag=query_tag(command="summary")) as warehouse:
        print(summarize(warehouse, settings.dbt_vars.get("primary_funnel", "purchase")))


def demo_key_file(settings: Settings) -> Path:
    """Where the demo keeps the pseudonymization key it made (beside the warehouse file)."""
    return settings.duckdb_path.parent / "demo_pseudonym.key"


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
    from journeymap.privacy import ensure_demo_key
    from journeymap.warehouse import warehouse_label

    started = time.perf_counter()
    if args.out:
        settings = replace(settings, data_dir=Path(args.out).resolve())
    ensure_demo_key(demo_key_file(settings), _say)
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
        experiment=not args.no_experiment,
    )
    _raise_if_failed(demo)
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


def cmd_clv_fit(args: argparse.Namespace, settings: Settings) -> None:
    """Fit BG/NBD and Gamma-Gamma on any transaction file and print the parameters."""
    from journeymap.ml.clv_cli import fit_transaction_file

    print(
        fit_transaction_file(
            Path(args.transactions),
            customer=args.customer_column,
            date=args.date_column,
            value=args.value_column,
            calibration_end=args.calibration_end,
            time_unit_days=args.time_unit_days,
            date_format=args.date_format,
            as_json=args.json,
        )
    )


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


def cmd_forget(args: argparse.Namespace, settings: Settings) -> None:
    """Erase one person everywhere and verify it (journeymap.erasure)."""
    from journeymap.erasure import forget
    from journeymap.privacy import KEY_ENV, ensure_demo_key

    if not os.environ.get(KEY_ENV) and demo_key_file(settings).exists():
        ensure_demo_key(demo_key_file(settings), _say)  # the demo's warehouse, the demo's key
    if (args.customer is None) == (args.email is None):
        raise ValueError("give --customer ID or --email ADDRESS (one of them)")
    forget(settings, customer_id=args.customer, email=args.email, say=_say)


def cmd_purge(args: argparse.Namespace, settings: Settings) -> None:
    """Purge raw and quarantine rows older than the retention period (journeymap.retention)."""
    from journeymap.retention import purge

    purge(settings, dry_run=args.dry_run, say=_say)


def cmd_predict_next(args: argparse.Namespace, settings: Settings) -> None:
    """Next step and drop-off: evaluate on held-out time (and predict) from the warehouse's
    fct_events, or from a case/activity/timestamp process log (--log)."""
    from journeymap.ml.next_step import NextStepConfig, evaluation_table, score_next_steps
    from journeymap.ml.next_step_io import default_as_of, read_process_log, run_next_step
    from journeymap.transform import dbt_var
    from journeymap.warehouse import open_warehouse

    horizon = args.horizon_days or float(dbt_var(settings, "next_step_horizon_days", 14))
    config = NextStepConfig(horizon_days=horizon)
    if args.log:
        log = read_process_log(Path(args.log), args.case, args.activity, args.timestamp)
        run = score_next_steps(log, default_as_of(log), config)
        if args.output:
            run.predictions.to_csv(args.output, index=False)
    else:
        with open_warehouse(settings, read_only=args.evaluate) as warehouse:
            run = run_next_step(warehouse, config, write=not args.evaluate)
    entry = run.report_entry()
    window = entry["training_window"]
    _say(
        f"held-out time: {window['training_journeys']:,} journeys before {window['split_at']} "
        f"train, {window['held_out_prefixes']:,} prefixes of {window['held_out_journeys']:,} "
        f"later journeys test (horizon {horizon:g} days)"
    )
    print(evaluation_table(entry))
    if not args.evaluate or args.output:
        _say(f"{len(run.predictions):,} open journeys predicted")


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


def _add_import_flags(byo: argparse.ArgumentParser) -> None:
    from journeymap.byo import PRESETS

    byo.add_argument("file", help="the export file (CSV, JSONL or Parquet)")
    byo.add_argument(
        "--source",
        default="web_events",
        help="web_events (default), app_events or an event source of journeymap.yml",
    )
    byo.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        help="the export's shape: "
        + "; ".join(f"{name}: {preset.description}" for name, preset in PRESETS.items()),
    )
    for flag, meaning in (
        ("--id-column", "the event id (default: one made from the event's content)"),
        ("--user-column", "the known user's id (a process log's case id)"),
        ("--anonymous-column", "the device's or cookie's anonymous id"),
        ("--event-column", "the event name (a process log's activity)"),
        ("--timestamp-column", "when it happened (ISO text or epoch s/ms/us)"),
        ("--order-column", "orders events at the same instant (default: the file's order)"),
    ):
        byo.add_argument(flag, metavar="COLUMN", help=meaning)
    byo.add_argument(
        "--timestamp-format",
        metavar="FORMAT",
        help="strptime format of the timestamps, e.g. '%%d.%%m.%%Y %%H:%%M' (default: ISO 8601 "
        "or epoch seconds/ms/us; times without an offset are UTC)",
    )
    byo.add_argument(
        "--property-columns",
        metavar="A,B,...",
        help="keep only these other columns in properties (default: every other column)",
    )
    byo.add_argument(
        "--dry-run", action="store_true", help="show the mapping and the first rows; write nothing"
    )
    byo.add_argument(
        "--strict", action="store_true", help="stop at the first bad row instead of quarantining it"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="journeymap", description=__doc__)
    project = argparse.ArgumentParser(add_help=False)
    project.add_argument(
        "--project",
        metavar="DIR",
        default=None,
        help="the project folder (default: $JOURNEYMAP_PROJECT, or found from here upwards)",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    def command(name: str, handler, **kwargs) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, parents=[project], **kwargs)
        sub.set_defaults(handler=handler)
        return sub

    init = commands.add_parser(
        "init",
        help="make a project: journeymap.yml and editable taxonomy, stages, funnels and actions",
    )
    init.add_argument("dir", help="the project folder (made if missing)")
    init.set_defaults(handler=cmd_init, project=None)

    _add_import_flags(
        command(
            "import-events",
            cmd_import_events,
            help="bring your own events: an export from GA4, Segment, Mixpanel, Amplitude, "
            "Snowplow, a process-mining log, a CSV...",
        )
    )

    load = command("load", cmd_load, help="load new landing files into the raw schema")
    load.add_argument("--landing", default=None, help="landing folder (default <data>/landing)")

    build = command(
        "build",
        cmd_build,
        help="the full pipeline (the daily Dagster job): load new landing files, dbt, models, "
        "checks, the journey map page",
    )
    build.add_argument(
        "--full-refresh", action="store_true", help="rebuild incremental models from scratch"
    )

    command("summary", cmd_summary, help="print rows per mart, funnel and top paths")

    dbt = command(
        "dbt",
        cmd_dbt,
        help="run dbt on the project's warehouse, seeds and vars, e.g. `journeymap dbt build "
        "--select marts`",
    )
    dbt.add_argument("dbt_args", nargs=argparse.REMAINDER, help="dbt's own arguments")

    attribute = command(
        "attribute",
        cmd_attribute,
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
    classify = command(
        "classify-text",
        cmd_classify_text,
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

    forget = command(
        "forget",
        cmd_forget,
        help="erase a person everywhere (warehouse, landing files, outputs) on request",
    )
    forget.add_argument("--customer", help="the person's customer id (as the CRM has it)")
    forget.add_argument("--email", help="the person's email address")
    purge = command(
        "purge",
        cmd_purge,
        help="purge raw and quarantine rows older than the retention period (retention.raw_days)",
    )
    purge.add_argument("--dry-run", action="store_true", help="only print what would be purged")
    predict = command(
        "predict-next",
        cmd_predict_next,
        help="next step and drop-off of open journeys (and their evaluation)",
    )
    predict.add_argument(
        "--evaluate", action="store_true", help="only print the held-out evaluation table"
    )
    predict.add_argument("--log", help="a case/activity/timestamp event log (CSV or Parquet)")
    predict.add_argument("--case", default="case_id", help="its case column (default case_id)")
    predict.add_argument("--activity", default="activity", help="activity column")
    predict.add_argument("--timestamp", default="timestamp", help="timestamp column")
    predict.add_argument("--output", help="with --log: write the predictions to this CSV")
    predict.add_argument(
        "--horizon-days", type=float, default=None, help="default: dbt var next_step_horizon_days"
    )

    demo = command("demo", cmd_demo, help="generate, load, build and summarize in one go")
    _add_generation_flags(demo)
    demo.add_argument(
        "--no-experiment",
        action="store_true",
        help="one run over all days, without the planted next-best-action experiment",
    )

    clv = commands.add_parser(
        "clv", parents=[project], help="lifetime value models on your own transactions"
    )
    clv_fit = clv.add_subparsers(dest="clv_command", required=True).add_parser(
        "fit", help="fit BG/NBD and Gamma-Gamma to a transaction file, print the parameters"
    )
    clv_fit.add_argument("--transactions", required=True, help="CSV, TSV, Parquet or JSONL")
    clv_fit.add_argument("--customer-column", required=True, help="column of customer ids")
    clv_fit.add_argument("--date-column", required=True, help="column of transaction times")
    clv_fit.add_argument("--value-column", required=True, help="column of transaction values")
    clv_fit.add_argument(
        "--calibration-end", default=None, help="last day fitted (default: the last date)"
    )
    clv_fit.add_argument(
        "--time-unit-days", type=float, default=7.0, help="days per time unit (default 7: weeks)"
    )
    clv_fit.add_argument(
        "--date-format", default=None, help="strptime format of the dates, e.g. %%Y%%m%%d"
    )
    clv_fit.add_argument("--json", action="store_true", help="print JSON instead of a table")
    clv_fit.set_defaults(handler=cmd_clv_fit)

    generate = command("generate", cmd_generate, help="write the sample business's landing files")
    _add_generation_flags(generate)
    return parser


def _take_project_from_dbt_args(args: argparse.Namespace) -> None:
    """``journeymap dbt build --project DIR``: dbt has no --project, so it is journeymap's."""
    dbt_args = getattr(args, "dbt_args", None) or []
    if "--project" in dbt_args[:-1]:
        at = dbt_args.index("--project")
        args.project = dbt_args[at + 1]
        args.dbt_args = dbt_args[:at] + dbt_args[at + 2 :]


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _take_project_from_dbt_args(args)
    try:
        settings = Settings() if args.command == "init" else Settings.load(args.project)
        args.handler(args, settings)
    except Exception as error:  # one readable line for users; JOURNEYMAP_DEBUG=1 for the traceback
        if os.environ.get("JOURNEYMAP_DEBUG"):
            raise
        print(f"journeymap: error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
