"""What a suite run returns: which expectations failed, on which rows, in plain words."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

SAMPLE_ROWS = 5  # offending rows named per failed expectation


def json_safe(value: Any) -> Any:
    """``value`` with numpy/pandas scalars, times and NaN turned into plain JSON values."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_safe(v) for v in value]
    item = getattr(value, "item", None)  # numpy scalar
    if callable(item):
        try:
            return json_safe(item())
        except (TypeError, ValueError):
            pass
    isoformat = getattr(value, "isoformat", None)  # pandas Timestamp
    if callable(isoformat):
        try:
            return None if value != value else isoformat()  # NaT != NaT
        except (TypeError, ValueError):
            pass
    if value != value:  # NA-like
        return None
    return str(value)


@dataclass
class FailedExpectation:
    expectation: str  # GX expectation type, e.g. expect_column_values_to_not_be_null
    column: str | None  # the column (or "a, b" for pairs and compound keys); None for table checks
    unexpected_count: int | None  # offending rows (None for table-level expectations)
    unexpected_sample: list[dict[str, Any]]  # a few offending rows: their keys and values
    kwargs: dict[str, Any]
    severity: str = "blocking"  # blocking | warning
    description: str = ""  # the rule in plain words
    relation: str = "rows"  # which relation of the suite was validated
    element_count: int | None = None  # rows the expectation looked at
    observed_value: Any = None  # for table-level expectations
    exception: str | None = None  # GX raised instead of evaluating

    @property
    def blocking(self) -> bool:
        return self.severity == "blocking"

    def to_dict(self) -> dict[str, Any]:
        return json_safe(
            {
                "expectation": self.expectation,
                "column": self.column,
                "severity": self.severity,
                "description": self.description,
                "relation": self.relation,
                "unexpected_count": self.unexpected_count,
                "element_count": self.element_count,
                "unexpected_sample": self.unexpected_sample,
                "observed_value": self.observed_value,
                "kwargs": self.kwargs,
                "exception": self.exception,
            }
        )

    def sentence(self) -> str:
        """One sentence: what failed, how often, on which rows."""
        subject = f"{self.expectation}"
        if self.column:
            subject += f" on {self.column}"
        rule = f" ({self.description})" if self.description else ""
        if self.exception:
            return (
                f"{self.severity.upper()} {subject}{rule} could not be evaluated: {self.exception}"
            )
        if self.unexpected_count is not None:
            of = f" of {self.element_count}" if self.element_count is not None else ""
            count = f"{self.unexpected_count}{of}"
            text = f"{self.severity.upper()} {subject}{rule} failed on {count} rows"
            if self.unexpected_sample:
                text += ", e.g. " + "; ".join(_row_text(r) for r in self.unexpected_sample)
            return text
        text = f"{self.severity.upper()} {subject}{rule} failed"
        if self.unexpected_sample:
            text += ": " + "; ".join(_row_text(r) for r in self.unexpected_sample)
        elif self.observed_value is not None:
            text += f": observed {_value_text(self.observed_value)}"
        return text


def _value_text(value: Any) -> str:
    value = json_safe(value)
    return value if isinstance(value, str) else json.dumps(value)


def _row_text(row: dict[str, Any]) -> str:
    return ", ".join(f"{k}={_value_text(v)}" for k, v in row.items())


@dataclass
class ValidationOutcome:
    suite_name: str
    success: bool  # no blocking expectation failed
    statistics: dict[
        str, Any
    ]  # evaluated/successful/unsuccessful expectations, blocking/warning failures
    failures: list[FailedExpectation] = field(default_factory=list)
    table: str = ""
    reference_time: datetime | None = None  # the "now" freshness was measured against
    engine: str = ""  # "sql" (inside the warehouse) or "pandas" (chunked frames)
    seconds: float = 0.0
    # GX's own result (an ExpectationSuiteValidationResult), for data docs.
    gx_result: Any = field(default=None, repr=False, compare=False)

    @property
    def blocking_failures(self) -> list[FailedExpectation]:
        return [f for f in self.failures if f.blocking]

    @property
    def warnings(self) -> list[FailedExpectation]:
        return [f for f in self.failures if not f.blocking]

    def describe(self) -> str:
        """One readable paragraph: the verdict, then each failed expectation and its rows."""
        s = self.statistics
        evaluated = s.get("evaluated_expectations", 0)
        if not self.failures:
            return f"{self.suite_name}: passed, all {evaluated} expectations met."
        verdict = "passed with warnings" if self.success else "FAILED"
        head = (
            f"{self.suite_name}: {verdict}; {len(self.failures)} of {evaluated} expectations "
            f"failed ({len(self.blocking_failures)} blocking, {len(self.warnings)} warning)."
        )
        ordered = self.blocking_failures + self.warnings
        return " ".join([head, *(f.sentence() + "." for f in ordered)])

    def metadata(self) -> dict[str, Any]:
        """JSON-able summary (for Dagster check metadata)."""
        return json_safe(
            {
                "suite": self.suite_name,
                "table": self.table,
                "success": self.success,
                "statistics": self.statistics,
                "engine": self.engine,
                "reference_time": self.reference_time,
                "seconds": round(self.seconds, 3),
                "failed_expectations": [f.to_dict() for f in self.failures],
                "summary": self.describe(),
            }
        )
