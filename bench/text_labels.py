"""How fast the embedded text backend labels: ``python -m bench.text_labels [--texts 20000]``.

Makes ``--texts`` distinct customer texts the way the sample business writes them (its
phrasings with orders, amounts and products filled in, greetings and typing slips), fits the
embedded model once (timed apart: a run fits once per process), then labels them all in one
call, the way the text asset labels a warehouse's new texts, in one process and in
``--workers`` processes (forked after the fit). Prints and writes
``bench/results/text_labels.json``: texts per second of wall time and per CPU second (on a
shared machine the wall figure depends on the neighbours; the load average is recorded).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from random import Random

RESULTS = Path(__file__).resolve().parent / "results" / "text_labels.json"


def make_texts(n: int, seed: int = 5) -> list[str]:
    """``n`` distinct texts from the generator's phrasings (slots filled, dressed)."""
    from journeymap.generator.params import FEATURES, PLANS, PRODUCTS
    from journeymap.generator.wording import PHRASINGS, REVIEWS, compose, dress

    r = Random(seed).random
    pools = [p for pool in (*PHRASINGS.values(), *REVIEWS.values()) for p in pool]
    texts: set[str] = set()
    while len(texts) < n:
        phrasing = pools[int(r() * len(pools))]
        fill = {
            "order": f"O-{int(r() * 1e12):012x}",
            "amount": f"${20 + r() * 280:.2f}",
            "product": PRODUCTS[int(r() * len(PRODUCTS))][1],
            "plan": PLANS[int(r() * len(PLANS))],
            "feature": FEATURES[int(r() * len(FEATURES))].replace("_", " "),
        }
        written = compose(r, phrasing, fill, "frustration" if r() < 0.3 else None)
        texts.add(dress(r, written.text, typed=True))
    return sorted(texts)


def _label(texts: list[str]) -> int:
    from journeymap.ml.text.embedded import embedded_model

    return len(embedded_model().label(texts))


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime + children.ru_utime + children.ru_stime


def measure(texts: list[str], workers: int) -> dict[str, float]:
    started, cpu = time.perf_counter(), _cpu()
    if workers == 1:
        labelled = _label(texts)
    else:
        size = -(-len(texts) // workers)
        parts = [texts[i : i + size] for i in range(0, len(texts), size)]
        with ProcessPoolExecutor(workers) as pool:  # forked: the fitted model is shared
            labelled = sum(pool.map(_label, parts))
    seconds = time.perf_counter() - started
    return {
        "workers": workers,
        "texts": labelled,
        "seconds": round(seconds, 3),
        "cpu_seconds": round(_cpu() - cpu, 3),
        "texts_per_second": round(labelled / seconds),
        # On a busy machine wall time is shared: per CPU-second is what the work costs.
        "texts_per_cpu_second": round(labelled / max(_cpu() - cpu, 1e-9)),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.text_labels", description=__doc__)
    parser.add_argument("--texts", type=int, default=20_000, help="distinct texts (20000)")
    parser.add_argument("--workers", type=int, default=2, help="processes for the second run")
    args = parser.parse_args(argv)
    from journeymap.ml.text.embedded import embedded_model

    texts = make_texts(args.texts)
    started = time.perf_counter()
    model = embedded_model()
    fit_seconds = time.perf_counter() - started
    runs = [measure(texts, 1), measure(texts, args.workers)]
    result = {
        "measured_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "model_version": model.version,
        "texts": len(texts),
        "mean_words": round(sum(len(t.split()) for t in texts) / len(texts), 1),
        "fit_seconds": round(fit_seconds, 2),
        "runs": runs,
        "cores": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "target_texts_per_second": 5000,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    for run in runs:
        print(
            f"[bench.text_labels] {run['workers']} process(es): {run['texts']:,} texts in "
            f"{run['seconds']:.2f} s = {run['texts_per_second']:,} texts/s "
            f"(cpu {run['cpu_seconds']:.2f} s: {run['texts_per_cpu_second']:,} texts per cpu-s)"
        )
    print(f"[bench.text_labels] fit {fit_seconds:.1f} s; load {result['load_average']}; {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
