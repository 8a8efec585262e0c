"""From a landing file to its risk alert: ``python -m bench.alert_latency --workspace DIR``.

On a built workspace (``bench.run --sizes 10M --keep`` leaves one per size under
bench/scratch/run_<time>/<size>/, or a test fixture folder), it writes one new web_events
landing file in which a high-value customer starts a checkout and does not order (and another
visitor's page view two hours later, so the data covers the checkout's hour), evaluates the
landing-files sensor as the daemon would, and runs its alerts request (``journeymap_alerts``:
``raw/web_events``, the models between it and what the alert rules read, ``ml/risk_alerts``)
in this process. ``--then-full`` also runs the sensor's full request afterwards and times it.
Prints and writes ``bench/results/alert_latency.json``: per workspace, seconds from the file
landing to its alert in ``ml.risk_alerts``, the alerts run's time and the load average. The
daemon adds its tick interval (the sensor's 15 s at most) and the run launch. Work on a copy:
the workspace is changed. ``--workspace`` repeats, one per size.
"""

from __future__ import annotations

import argparse
import os
import time
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from bench.measure import print_figures

RESULTS = Path(__file__).resolve().parent / "results" / "alert_latency.json"


def _landing_file(settings, customer_id: str, at: pd.Timestamp) -> Path:
    day = (at + pd.Timedelta(days=1)).strftime("%Y-%m-%d")
    path = settings.landing_dir / "web_events" / f"web_events_{day}.csv"
    stamp = lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ")  # noqa: E731
    later = at + pd.Timedelta(hours=2)
    rows = [
        (
            "evt_bench_checkout",
            "a-bench-1",
            customer_id,
            "track",
            "Checkout Started",
            stamp(at),
            "https://shop.example.com/checkout",
            "",
            "",
            "",
            "",
            "mobile",
            "{}",
        ),
        (
            "evt_bench_later",
            "a-bench-2",
            "",
            "page",
            "Home Page Viewed",
            stamp(later),
            "https://shop.example.com/",
            "",
            "",
            "",
            "",
            "desktop",
            "{}",
        ),
    ]
    columns = (
        "event_id,anonymous_id,user_id,event_type,event_name,occurred_at,page_url,"
        "referrer,utm_source,utm_medium,utm_campaign,device_type,properties"
    )
    pd.DataFrame(rows, columns=columns.split(",")).to_csv(path, index=False)
    return path


def _alert_request(defs, settings):
    """The landing-files sensor's tick, as the daemon would evaluate it: its alerts and full
    run requests."""
    from dagster import DagsterInstance, build_sensor_context

    sensor = defs.resolve_sensor_def("landing_files_sensor")
    context = build_sensor_context(
        instance=DagsterInstance.ephemeral(), definitions=defs, resources={"settings": settings}
    )
    requests = {request.job_name: request for request in sensor(context).run_requests}
    return requests["journeymap_alerts"], requests["journeymap_full"]


def _alert_created_at(settings, customer_id: str) -> pd.Timestamp | None:
    from journeymap.warehouse import DuckDBWarehouse

    with DuckDBWarehouse(settings.duckdb_path, read_only=True) as warehouse:
        alert = warehouse.query_df(
            "select created_at from ml.risk_alerts where rule = 'checkout_drop_off_high_value' "
            f"and customer_key = '{customer_id}' order by created_at desc limit 1"
        )
    return pd.Timestamp(alert["created_at"].iloc[0]).tz_localize(UTC) if len(alert) else None


def measure(workspace: Path, then_full: bool) -> dict:
    """Land one file in ``workspace``, evaluate the sensor, run its alerts request (and with
    ``then_full`` its full request after it); the figures."""
    from journeymap.orchestration.definitions import build_definitions
    from journeymap.orchestration.project import prepare_dbt_project
    from journeymap.orchestration.run import execute_request
    from journeymap.settings import Settings
    from journeymap.warehouse import DuckDBWarehouse

    settings = Settings.for_workspace(workspace)
    with DuckDBWarehouse(settings.duckdb_path, read_only=True) as warehouse:
        end = pd.Timestamp(
            warehouse.query_df("select max(occurred_at) as t from marts.fct_events")["t"].iloc[0]
        )
        top = warehouse.query_df(
            "select customer_id from marts.dim_customers where is_known and revenue > 0 "
            "order by revenue desc limit 1"
        )["customer_id"].iloc[0]
        events = int(warehouse.query_df("select count(*) as n from marts.fct_events")["n"].iloc[0])
    prepare_dbt_project(settings)
    defs = build_definitions(settings)
    landed = time.time()
    path = _landing_file(settings, top, end + pd.Timedelta(minutes=1))
    alerts_request, full_request = _alert_request(defs, settings)
    alerts_run = execute_request(defs, alerts_request)
    alerts_seconds = time.time() - landed
    created = _alert_created_at(settings, top)
    figures = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "workspace": str(workspace),
        "events": events,
        "landing_file": path.name,
        "alerts_run_succeeded": alerts_run.success,
        "alerts_run_assets": len(alerts_request.asset_selection),
        "alerts_run_checks": len(alerts_request.asset_check_keys or ()),
        "alert_written": created is not None,
        "seconds_to_alert": None if created is None else round(created.timestamp() - landed, 1),
        "seconds_alerts_run": round(alerts_seconds, 1),
        "load_average": os.getloadavg(),
    }
    if then_full:
        started = time.time()
        full_run = execute_request(defs, full_request)
        figures["full_run_succeeded"] = full_run.success
        figures["seconds_full_run_after"] = round(time.time() - started, 1)
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--workspace",
        required=True,
        action="append",
        help="a built workspace (changed!); repeat for several sizes",
    )
    parser.add_argument(
        "--then-full",
        action="store_true",
        help="also run the sensor's full run of the file after the alerts run and time it",
    )
    args = parser.parse_args(argv)
    results = [measure(Path(workspace), args.then_full) for workspace in args.workspace]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    print_figures(results, RESULTS)


if __name__ == "__main__":
    main()
