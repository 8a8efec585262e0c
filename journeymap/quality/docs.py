"""GX data docs for a set of validation outcomes (a static site, built with an ephemeral
context: the outcomes' GX results go into its in-memory results store, then GX renders)."""

from __future__ import annotations

import copy
import html
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import great_expectations as gx
from great_expectations.core.run_identifier import RunIdentifier
from great_expectations.data_context.types.resource_identifiers import (
    ExpectationSuiteIdentifier,
    ValidationResultIdentifier,
)

from journeymap.quality.outcome import ValidationOutcome
from journeymap.quality.runner import gx_context

SITE_NAME = "journeymap"


def build_data_docs(outcomes: list[ValidationOutcome], out_dir: Path) -> Path:
    """Write GX data docs for ``outcomes`` to ``out_dir``; returns the site's index.html."""
    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    context = gx_context(
        {
            SITE_NAME: {
                "class_name": "SiteBuilder",
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(out_dir),
                },
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            }
        }
    )
    run_time = datetime.now(UTC)
    for outcome in outcomes:
        if outcome.gx_result is None:
            raise ValueError(f"{outcome.suite_name}: the outcome carries no GX result")
        expectations = []
        for result in outcome.gx_result.results:
            expectation = result.expectation_config.to_domain_obj()
            expectation.id = None  # a copy, not the validated suite's own
            expectations.append(expectation)
        context.suites.add(
            gx.ExpectationSuite(
                name=outcome.suite_name, expectations=expectations, meta={"table": outcome.table}
            )
        )
        reference = outcome.reference_time or run_time
        identifier = ValidationResultIdentifier(
            expectation_suite_identifier=ExpectationSuiteIdentifier(name=outcome.suite_name),
            run_id=RunIdentifier(
                run_name=f"journeymap-{reference:%Y%m%dT%H%M%S}", run_time=run_time
            ),
            batch_identifier=outcome.table or outcome.suite_name,
        )
        context.validation_results_store.set(identifier, as_text(outcome.gx_result))
    context.build_data_docs(site_names=[SITE_NAME])
    return out_dir / "index.html"


# Parts of an expectation's result and configuration that quote the data.
_QUOTED_RESULT_KEYS = (
    "partial_unexpected_list",
    "partial_unexpected_counts",
    "partial_unexpected_index_list",
    "unexpected_list",
    "unexpected_index_list",
    "observed_value",
    "details",
)
_QUOTED_KWARGS = ("value_set", "value", "value_pair_set")


def as_text(gx_result: Any) -> Any:
    """A copy of a suite's GX result whose quoted data values are HTML-escaped: GX's renderers
    put some of them (failing values in particular) into the page as markup, so a value such
    as ``<img src=x onerror=...>`` from a customer text or an event name would run in the
    reader's browser. Escaped, the page shows it as the text it is."""
    safe = copy.deepcopy(gx_result)
    for result in safe.results:
        found = result.result or {}
        for key in _QUOTED_RESULT_KEYS:
            if key in found:
                found[key] = _escaped(found[key])
        kwargs = result.expectation_config.kwargs
        for key in _QUOTED_KWARGS:
            if key in kwargs:
                kwargs[key] = _escaped(kwargs[key])
    return safe


def _escaped(value: Any) -> Any:
    if isinstance(value, str):
        return html.escape(value)
    if isinstance(value, dict):
        return {k: _escaped(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_escaped(v) for v in value)
    return value
