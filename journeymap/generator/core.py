"""``generate``: simulate the business chunk by chunk and stream it to files."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from time import perf_counter
from typing import Any

from journeymap.generator.clock import Clock, campaign_calendar
from journeymap.generator.customer import CustomerSim
from journeymap.generator.defects import DEFECT_TYPES
from journeymap.generator.friction import friction_truth
from journeymap.generator.marketing import attribution_truth, spend_rows
from journeymap.generator.params import PROSPECTS_PER_CUSTOMER
from journeymap.generator.person import SimContext
from journeymap.generator.prospect import ProspectSim
from journeymap.generator.rng import IdMaker
from journeymap.generator.schema import SOURCE_NAMES, SPEND
from journeymap.generator.truth import PersonOutput, Tallies, churn_truth, funnel_truth
from journeymap.generator.writer import LandingWriter, TruthWriter

TRUTH_VERSION = 2  # 2: texts.csv (label truth of every customer text), friction_theme


@dataclass(frozen=True)
class GenerationSummary:
    out_dir: Path
    customers: int
    prospects: int
    rows: dict[str, int]  # rows written per source (genuine + defect rows)
    defects: dict[str, int]  # defect rows per defect type
    seconds: float
    paths: dict[str, Path] = field(default_factory=dict)

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    @property
    def rows_per_second(self) -> float:
        return self.total_rows / self.seconds if self.seconds else 0.0


def generate(
    out_dir: Path,
    customers: int = 5000,
    days: int = 90,
    end_date: date = date(2026, 10, 31),
    seed: int = 42,
    defect_rate: float = 0.005,
    chunk_customers: int = 5000,
) -> GenerationSummary:
    """Write landing files and ground truth for a simulated business under ``out_dir``.

    Deterministic: the same arguments give byte-identical files, whatever ``chunk_customers``
    (which only bounds memory). Existing ``landing/`` and ``ground_truth/`` folders are replaced.
    """
    if customers < 1 or chunk_customers < 1:
        raise ValueError("customers and chunk_customers must be at least 1")
    if not 0.0 <= defect_rate < 1.0:
        raise ValueError("defect_rate must be in [0, 1)")
    started = perf_counter()
    out_dir = Path(out_dir)
    landing_dir, truth_dir = out_dir / "landing", out_dir / "ground_truth"
    for folder in (landing_dir, truth_dir):
        if folder.exists():
            shutil.rmtree(folder)
    clock = Clock(end_date, days)
    ctx = SimContext(seed, clock, defect_rate, IdMaker(seed), campaign_calendar(clock))
    prospects = round(customers * PROSPECTS_PER_CUSTOMER)
    tallies = Tallies()
    with LandingWriter(landing_dir, clock) as landing, TruthWriter(truth_dir) as truth:
        for sim_class, count in ((CustomerSim, customers), (ProspectSim, prospects)):
            for lo in range(0, count, chunk_customers):
                for index in range(lo, min(count, lo + chunk_customers)):
                    _write_person(sim_class(ctx, index).run(), landing, truth, tallies)
                landing.flush()
        landing.add_rows(SPEND, spend_rows(tallies.paid_clicks, clock, seed))
    rows = landing.rows_per_source()
    defect_rows = dict(zip(SOURCE_NAMES, landing.defect_rows, strict=True))
    params = {
        "customers": customers,
        "prospects": prospects,
        "days": days,
        "start_date": clock.first_day.isoformat(),
        "end_date": end_date.isoformat(),
        "seed": seed,
        "defect_rate": defect_rate,
    }
    truth_path = truth_dir / "truth.json"
    truth_json = _truth_json(params, rows, defect_rows, tallies)
    truth_path.write_text(json.dumps(truth_json, indent=2) + "\n")
    return GenerationSummary(
        out_dir=out_dir,
        customers=customers,
        prospects=prospects,
        rows=rows,
        defects={k: tallies.defects[k] for k in DEFECT_TYPES},
        seconds=perf_counter() - started,
        paths={
            "landing": landing_dir,
            "ground_truth": truth_dir,
            "truth": truth_path,
            **truth.paths,
        },
    )


def _write_person(
    out: PersonOutput, landing: LandingWriter, truth: TruthWriter, tallies: Tallies
) -> None:
    defects = landing.add_person(out.records)
    tallies.add(out, [d[4] for d in defects])
    if defects:
        truth.write("defects", defects)
    if out.customer is not None:
        truth.write("customers", (out.customer,))
    if out.texts:
        truth.write("texts", out.texts)


def _truth_json(
    params: dict[str, Any], rows: dict[str, int], defect_rows: dict[str, int], t: Tallies
) -> dict[str, Any]:
    return {
        "version": TRUTH_VERSION,
        "parameters": params,
        "rows": rows,  # data rows in the landing files, defect rows included
        "genuine_rows": {s: rows[s] - defect_rows[s] for s in SOURCE_NAMES},
        "defect_rows": defect_rows,
        "defects": {k: t.defects[k] for k in DEFECT_TYPES},
        "personas": dict(sorted(t.personas.items())),
        "prospect_personas": dict(sorted(t.prospect_personas.items())),
        "funnel": funnel_truth(t),
        "churn": churn_truth(t),
        "attribution": attribution_truth(t.retargeted_visits, t.email_click_visits, t.paid_clicks),
        "friction_theme": friction_truth(t),
    }
