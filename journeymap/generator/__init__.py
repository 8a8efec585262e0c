"""Deterministic sample-data generator: a simulated subscription shop streamed to landing files.

``generate(out_dir, ...)`` writes ``landing/<source>/<source>_<YYYY-MM-DD>.csv`` (the raw
contract of ``journeymap.contract``) and ``ground_truth/`` (customers, texts, defects and
truth.json with the planted funnel drop-off, churn driver, friction theme and attribution truth).

Modules: params (the business in numbers), rng/clock (streams, ids, time), person/customer/
prospect/channels (pure per-person simulation), marketing (paid spend, the attribution truth),
texts and wording (what customers write and its label truth), friction (the planted friction
theme), defects, writer, truth, core.
"""

from journeymap.generator.core import GenerationSummary, generate

__all__ = ["GenerationSummary", "generate"]
