"""Deterministic sample-data generator: a simulated subscription shop streamed to landing files.

``generate(out_dir, ...)`` writes ``landing/<source>/<source>_<YYYY-MM-DD>.csv`` (the raw
contract of ``journeymap.contract``) and ``ground_truth/`` (customers, messages, defects and
truth.json with the planted funnel drop-off, churn driver and attribution truth).

Modules: params (the business in numbers), rng/clock (streams, ids, time), person/customer/
prospect/channels (pure per-person simulation), marketing (paid spend, the attribution truth),
texts (wording), defects, writer, truth, core.
"""

from journeymap.generator.core import GenerationSummary, generate

__all__ = ["GenerationSummary", "generate"]
