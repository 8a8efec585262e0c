"""Data-quality gates: Great Expectations suites kept as code, for every raw source and the
main marts, and the API the Dagster asset checks call.

    from journeymap.quality import SUITES, validate, build_data_docs

    outcome = validate(warehouse, "marts.fct_events")       # now=... to fix the reference time
    outcome.success                                          # no blocking expectation failed
    outcome.describe()                                       # what failed, on which rows
    outcome.metadata()                                       # JSON-able, for Dagster check metadata
    build_data_docs([outcome, ...], Path("build/data_docs"))  # GX data docs, returns index.html
"""

from journeymap.quality.docs import build_data_docs
from journeymap.quality.outcome import FailedExpectation, ValidationOutcome
from journeymap.quality.runner import validate
from journeymap.quality.suites import (
    SUITES,
    Check,
    Freshness,
    Relation,
    RelativeTime,
    Severity,
    SuiteDefinition,
)

__all__ = [
    "SUITES",
    "Check",
    "FailedExpectation",
    "Freshness",
    "Relation",
    "RelativeTime",
    "Severity",
    "SuiteDefinition",
    "ValidationOutcome",
    "build_data_docs",
    "validate",
]
