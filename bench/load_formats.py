"""The raw loader per landing format: ``python -m bench.load_formats [--rows 1000000]``.

Writes one orders CSV and one web_events JSON lines file of ``--rows`` rows each, in a clean
and a broken variant (one malformed record per 10,000 rows: a ragged CSV row, a JSON line that
is not an object), and loads each into a fresh DuckDB warehouse with ``load_file``, best of
``--repeat`` runs. Prints and writes ``bench/results/load_formats.json``: seconds, rows per
second, rows loaded and quarantined, and the load average. The broken variant shows what
setting malformed records aside costs next to a clean file.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from bench.measure import machine_load, print_figures

RESULTS = Path(__file__).resolve().parent / "results" / "load_formats.json"
BROKEN_EVERY = 10_000
ORDER_HEADER = "order_id,customer_id,occurred_at,status,amount,currency\n"


def _order(i: int, broken: bool) -> str:
    if broken and i % BROKEN_EVERY == 0:
        return f"o{i},c{i % 5000},2026-09-01T10:00:00Z,completed,1.5,EUR,extra\n"
    return f"o{i},c{i % 5000},2026-09-01T10:00:00Z,completed,{i % 100}.5,EUR\n"


def _event(i: int, broken: bool) -> str:
    if broken and i % BROKEN_EVERY == 0:
        return f'["e{i}", "page_viewed"]\n'
    record = {
        "event_id": f"e{i}",
        "event_name": "page_viewed",
        "occurred_at": "2026-09-01T10:00:00Z",
        "anonymous_id": f"a{i % 9000}",
        "page_url": "/products/p",
    }
    return json.dumps(record) + "\n"


def write_files(folder: Path, rows: int, broken: bool) -> dict[str, Path]:
    """source -> its landing file under ``folder``."""
    variant = "broken" if broken else "clean"
    orders = folder / variant / "orders" / f"orders_{variant}.csv"
    events = folder / variant / "web_events" / f"web_events_{variant}.jsonl"
    for path in (orders, events):
        path.parent.mkdir(parents=True)
    with orders.open("w") as handle:
        handle.write(ORDER_HEADER)
        handle.writelines(_order(i, broken) for i in range(1, rows + 1))
    with events.open("w") as handle:
        handle.writelines(_event(i, broken) for i in range(1, rows + 1))
    return {"orders": orders, "web_events": events}


def time_load(source: str, path: Path, scratch: Path, repeat: int) -> dict:
    """Best of ``repeat`` loads of one file, each into a fresh warehouse."""
    from journeymap.load import load_file
    from journeymap.warehouse import DuckDBWarehouse

    best = None
    for attempt in range(repeat):
        database = scratch / f"{path.stem}_{attempt}.duckdb"
        with DuckDBWarehouse(database) as warehouse:
            started = time.perf_counter()
            result = load_file(warehouse, source, path)
            seconds = time.perf_counter() - started
        database.unlink()
        if best is None or seconds < best["seconds"]:
            best = {
                "seconds": round(seconds, 3),
                "rows_per_second": round(result.rows_in_file / seconds),
                "rows_loaded": result.rows_loaded,
                "rows_quarantined": result.rows_quarantined,
            }
    return best or {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("JOURNEYMAP_PSEUDONYM_KEY", "bench-load-formats-key")
    figures: dict = {"rows_per_file": args.rows, "broken_every": BROKEN_EVERY}
    with tempfile.TemporaryDirectory(prefix="journeymap-bench-") as tmp:
        scratch = Path(tmp)
        for broken in (False, True):
            variant = "broken" if broken else "clean"
            for source, path in write_files(scratch, args.rows, broken).items():
                figures[f"{source}_{variant}"] = time_load(source, path, scratch, args.repeat)
    figures.update(machine_load())
    print_figures(figures, RESULTS)


if __name__ == "__main__":
    main()
