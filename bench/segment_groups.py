"""What each kind of feature adds to the segmentation, on a generated business with its hidden
personas: the adjusted Rand index between segments and planted personas with every block, and
with each group of blocks left out (the number of segments chosen again each time, by the
segmentation's own criterion).

    python -m bench.segment_groups --warehouse PATH --truth DIR [--json FILE]

``--warehouse``: a built DuckDB warehouse (e.g. the test fixture's ``warehouse/journeymap.duckdb``,
read only); ``--truth``: its generator's ``ground_truth`` folder (``customers.csv``). A group
whose removal lowers the index carries persona signal; one whose removal raises it pulls the
segments towards something else (in issue 18's case the flat path bigrams, which split
personas into buyers and non-buyers). A quality measurement, not a speed one: about 10 s a
variant for 2,000 customers.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from bench.measure import print_figures

# The feature groups of ml.segment_features, by block name.
GROUPS = {
    "browse mix": ("browse_before_signup", "browse_after_signup"),
    "path bigrams": ("step_pairs",),
    "channels": ("visit_channel",),
    "devices": ("device_type", "platform"),
    "visit and page rates": ("visits", "pages_per_visit"),
    "orders": ("orders",),
    "support": ("support_contacts", "billing_complaints"),
    "email open rate": ("email_opens",),
    "sign-up speed": ("visits_before_signup", "days_to_signup"),
    "plan": ("plan",),
    "scores": ("review_score", "nps_score"),
    "texts": ("intents", "sentiments"),
}


def measure(warehouse_path: Path, truth_dir: Path) -> dict:
    from journeymap.ml.customers_io import planted_personas, read_segment_frames
    from journeymap.ml.segment_features import build_customer_features
    from journeymap.ml.segments import agreement_with, segment_customers
    from journeymap.ml.warehouse_io import resolve_as_of
    from journeymap.warehouse import DuckDBWarehouse

    truth = planted_personas(truth_dir)
    if truth is None:
        raise SystemExit(f"no customers.csv in {truth_dir}")
    with DuckDBWarehouse(warehouse_path, read_only=True) as warehouse:
        as_of = resolve_as_of(warehouse, None, nothing="nobody to segment")
        frames = read_segment_frames(warehouse)
    features = build_customer_features(frames, as_of)

    def variant(left_out: tuple[str, ...]) -> dict:
        started = time.perf_counter()
        blocks = [b for b in features.blocks if b.name not in left_out]
        run = segment_customers(features.customers, blocks)
        agreement = agreement_with(truth, run.assignments()) or {}
        return {
            "ari_vs_planted_personas": round(agreement.get("ari", float("nan")), 3),
            "segments": run.k,
            "seconds": round(time.perf_counter() - started, 1),
        }

    figures = {"customers": len(features.customers), "all blocks": variant(())}
    for group, blocks in GROUPS.items():
        figures[f"without {group}"] = variant(blocks)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.segment_groups", description=__doc__)
    parser.add_argument("--warehouse", type=Path, required=True)
    parser.add_argument("--truth", type=Path, required=True)
    parser.add_argument("--json", type=Path, default=None, help="write the figures here too")
    args = parser.parse_args(argv)
    print_figures(measure(args.warehouse, args.truth), args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
