"""From a landing file to its risk alert: ``python -m bench.alert_latency --workspace DIR``.

On a built workspace (``bench.run --keep`` leaves one per size under bench/scratch/, or a
test fixture folder), it writes one new web_events landing file in which a high-value
customer starts a checkout and does not order (and another visitor's page view two hours
later, so the data covers the checkout's hour), then runs what the landing-files sensor
requests for that file: ``raw/web_events`` and everything downstream of it, in one Dagster
run in this process. Prints and writes ``bench/results/alert_latency.json``: seconds from the
file landing to its alert in ``ml.risk_alerts`` (the run's steps in order, when the alert
was written), and the run's total time. Work on a copy: the workspace is changed.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

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


def main(argv: list[str] | None = None) -> None:
    from dagster import AssetSelection

    from journeymap.orchestration.definitions import build_definitions
    from journeymap.orchestration.keys import RAW_KEYS
    from journeymap.orchestration.project import prepare_dbt_project
    from journeymap.orchestration.run import _instance
    from journeymap.settings import Settings
    from journeymap.warehouse import DuckDBWarehouse

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workspace", required=True, help="a built workspace (changed!)")
    args = parser.parse_args(argv)
    settings = Settings.for_workspace(Path(args.workspace))
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
    selection = AssetSelection.assets(RAW_KEYS["web_events"]).downstream()
    job = defs.get_implicit_global_asset_job_def().get_subset(
        asset_selection=set(selection.resolve(defs.resolve_asset_graph()))
    )
    landed = time.time()
    path = _landing_file(settings, top, end + pd.Timedelta(minutes=1))
    result = job.execute_in_process(instance=_instance(), raise_on_error=False)
    total = time.time() - landed
    with DuckDBWarehouse(settings.duckdb_path, read_only=True) as warehouse:
        alert = warehouse.query_df(
            "select created_at from ml.risk_alerts where rule = 'checkout_drop_off_high_value' "
            f"and customer_key = '{top}' order by created_at desc limit 1"
        )
    created = pd.Timestamp(alert["created_at"].iloc[0]).tz_localize(UTC) if len(alert) else None
    figures = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "events": events,
        "landing_file": path.name,
        "run_succeeded": result.success,
        "alert_written": created is not None,
        "seconds_to_alert": None if created is None else round(created.timestamp() - landed, 1),
        "seconds_whole_run": round(total, 1),
        "load_average": os.getloadavg(),
    }
    print(json.dumps(figures, indent=2))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
