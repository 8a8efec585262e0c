"""Run a suite with Great Expectations and turn GX's result into a ``ValidationOutcome``.

Two engines, one set of suites:

- ``sql`` (DuckDB, the default): GX's SQL datasource on the warehouse's own DuckDB connection
  (a cursor of it, so no second open of the file and no lock conflict), through the dialect in
  ``_duckdb_dialect`` that works around GX's read-after-close bug. Every metric is a query
  inside DuckDB; Python only ever holds aggregates and a few sample rows.
- ``pandas`` (any ``Warehouse``, e.g. Snowflake, or DuckDB without duckdb_engine): GX's
  pandas datasource on frames read through the warehouse interface. A big row-level
  relation is read in one query, ordered by a hash bucket of its partition key, and streamed
  (``Warehouse.query_batches``) into chunks of about ``chunk_rows`` rows cut between buckets:
  memory stays bounded, the table is scanned once, and uniqueness on that key holds across
  chunks; chunk results are added up. Aggregates and reconciliations are computed by the
  warehouse in the relation's SQL.
"""

from __future__ import annotations

import math
import traceback
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from time import perf_counter
from typing import Any

import great_expectations as gx
import numpy as np
import pandas as pd
from great_expectations.core import ExpectationSuiteValidationResult, ExpectationValidationResult
from great_expectations.data_context.types.base import (
    DataContextConfig,
    InMemoryStoreBackendDefaults,
    ProgressBarsConfig,
)
from great_expectations.expectations.expectation import Expectation

from journeymap.quality.outcome import SAMPLE_ROWS, FailedExpectation, ValidationOutcome
from journeymap.quality.suites import Freshness, Relation, SuiteDefinition, suite
from journeymap.warehouse import DuckDBWarehouse, Warehouse

ENGINES = ("auto", "sql", "pandas")
DEFAULT_CHUNK_ROWS = 500_000


def gx_context(data_docs_sites: dict[str, Any] | None = None) -> Any:
    """An ephemeral GX context: in-memory stores, no analytics, no progress bars."""
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
        data_docs_sites=data_docs_sites or {},
    )
    return gx.get_context(mode="ephemeral", project_config=config)


def reference_time(now: datetime | None) -> datetime:
    """``now`` as a naive UTC datetime (the warehouse stores UTC without a zone)."""
    if now is None:
        return datetime.now(UTC).replace(tzinfo=None)
    if now.tzinfo is not None:
        return now.astimezone(UTC).replace(tzinfo=None)
    return now


def sql_engine_available() -> bool:
    try:
        import duckdb_engine  # noqa: F401
    except ImportError:
        return False
    return True


def choose_engine(warehouse: Warehouse, engine: str = "auto") -> str:
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    if engine == "sql" and not isinstance(warehouse, DuckDBWarehouse):
        raise ValueError("the sql engine runs on a DuckDBWarehouse; use engine='pandas'")
    if engine == "sql" and not sql_engine_available():
        raise RuntimeError("the sql engine needs the duckdb-engine package")
    if engine != "auto":
        return engine
    if isinstance(warehouse, DuckDBWarehouse) and sql_engine_available():
        return "sql"
    return "pandas"


def _result_format(relation: Relation) -> dict[str, Any]:
    result_format: dict[str, Any] = {
        "result_format": "SUMMARY",
        "partial_unexpected_count": SAMPLE_ROWS,
        "return_unexpected_index_query": False,
    }
    if relation.sample_columns:
        result_format["unexpected_index_column_names"] = list(relation.sample_columns)
    return result_format


def _error_results(
    expectations: Sequence[Expectation], error: BaseException
) -> list[ExpectationValidationResult]:
    info = {
        "raised_exception": True,
        "exception_message": f"{type(error).__name__}: {error}",
        "exception_traceback": traceback.format_exc(),
    }
    return [
        ExpectationValidationResult(
            success=False, expectation_config=e.configuration, result={}, exception_info=info
        )
        for e in expectations
    ]


class _Runner:
    def __init__(self, context: Any, suite_name: str) -> None:
        self.context = context
        self.suite_name = suite_name

    def _validation(
        self, relation: Relation, batch_definition: Any, expectations: Sequence[Expectation]
    ) -> Any:
        gx_suite = self.context.suites.add(
            gx.ExpectationSuite(
                name=f"{self.suite_name}:{relation.name}", expectations=list(expectations)
            )
        )
        return self.context.validation_definitions.add(
            gx.ValidationDefinition(
                name=f"{self.suite_name}:{relation.name}", data=batch_definition, suite=gx_suite
            )
        )

    def run(
        self, relation: Relation, expectations: Sequence[Expectation]
    ) -> list[ExpectationValidationResult]:
        raise NotImplementedError

    def close(self) -> None:
        pass


class SqlRunner(_Runner):
    """GX's SQL datasource on a cursor of the DuckDB warehouse connection."""

    def __init__(self, context: Any, suite_name: str, warehouse: DuckDBWarehouse) -> None:
        super().__init__(context, suite_name)
        from duckdb_engine import ConnectionWrapper
        from sqlalchemy.pool import StaticPool

        from journeymap.quality import _duckdb_dialect

        _duckdb_dialect.register()
        parent = warehouse.connection
        creator: Callable[[], Any] = lambda: ConnectionWrapper(parent.cursor())  # noqa: E731
        self.datasource = context.data_sources.add_sql(
            name="warehouse",
            connection_string=_duckdb_dialect.URL,
            create_temp_table=False,
            kwargs={"creator": creator, "poolclass": StaticPool},
        )

    def run(
        self, relation: Relation, expectations: Sequence[Expectation]
    ) -> list[ExpectationValidationResult]:
        asset = self.datasource.add_query_asset(name=relation.name, query=relation.query)
        batch_definition = asset.add_batch_definition_whole_table("all")
        validation = self._validation(relation, batch_definition, expectations)
        return list(validation.run(result_format=_result_format(relation)).results)

    def close(self) -> None:
        self.datasource.get_engine().dispose()


class PandasRunner(_Runner):
    """GX's pandas datasource on bounded frames read through ``Warehouse.query_df``."""

    def __init__(
        self, context: Any, suite_name: str, warehouse: Warehouse, chunk_rows: int
    ) -> None:
        super().__init__(context, suite_name)
        if chunk_rows < 1:
            raise ValueError("chunk_rows must be at least 1")
        self.warehouse = warehouse
        self.chunk_rows = chunk_rows
        self.datasource = context.data_sources.add_pandas(name="warehouse")
        self.chunks_read = 0
        self.max_chunk_rows = 0

    def chunks(self, relation: Relation) -> Iterator[pd.DataFrame]:
        """The relation's rows in frames of about ``chunk_rows`` (whole buckets each)."""
        if not relation.row_level:
            yield self.warehouse.query_df(relation.query)
            return
        counted = self.warehouse.query_df(
            f"select count(*) as n from ({relation.query}) as relation"
        )
        buckets = max(1, math.ceil(int(counted.iloc[0, 0]) / self.chunk_rows))
        if buckets == 1:
            yield self.warehouse.query_df(relation.query)
            return
        # Rows sharing a partition key share a bucket, and a bucket is never split between
        # chunks: uniqueness on the key holds across chunks.
        bucket = f"abs(mod(hash({', '.join(relation.partition_by)}), {buckets}))"
        sql = (
            f"select *, {bucket} as {_BUCKET} from ({relation.query}) as relation "
            f"order by {_BUCKET}"
        )
        yield from _whole_buckets(self.warehouse.query_batches(sql), self.chunk_rows)

    def run(
        self, relation: Relation, expectations: Sequence[Expectation]
    ) -> list[ExpectationValidationResult]:
        asset = self.datasource.add_dataframe_asset(name=relation.name)
        batch_definition = asset.add_batch_definition_whole_dataframe("all")
        validation = self._validation(relation, batch_definition, expectations)
        parts: dict[Any, list[ExpectationValidationResult]] = {}
        for frame in self.chunks(relation):
            self.chunks_read += 1
            self.max_chunk_rows = max(self.max_chunk_rows, len(frame))
            result = validation.run(
                batch_parameters={"dataframe": frame}, result_format=_result_format(relation)
            )
            del frame
            for r in result.results:
                parts.setdefault(r.expectation_config.meta["journeymap_check"], []).append(r)
        return [combine_chunk_results(p) for p in parts.values()]


def without_private_values(
    results: list[ExpectationValidationResult], relation: Relation
) -> list[ExpectationValidationResult]:
    """Failure samples of a relation over raw or staging (clear personal data) keep only the
    columns that locate a row (``_file_name``, ``_row_number``), never a value: they reach
    data docs and Dagster metadata, which people without access to raw read."""
    if not relation.private:
        return results
    keep = set(relation.sample_columns)
    for result in results:
        found = result.result or {}
        for name in ("partial_unexpected_list", "partial_unexpected_counts", "details"):
            found.pop(name, None)
        rows = found.get("partial_unexpected_index_list")
        if rows and isinstance(rows[0], dict):
            found["partial_unexpected_index_list"] = [
                {k: v for k, v in row.items() if k in keep} for row in rows
            ]
        elif rows:
            found.pop("partial_unexpected_index_list")
    return results


_BUCKET = "_journeymap_bucket"


def _whole_buckets(batches: Iterator[pd.DataFrame], chunk_rows: int) -> Iterator[pd.DataFrame]:
    """Frames of at least ``chunk_rows`` rows (the last may be smaller) from batches ordered
    by ``_BUCKET``, cut only where the bucket changes; the bucket column is dropped."""
    pending: list[pd.DataFrame] = []
    held = 0
    last_bucket = None
    for batch in batches:
        if batch.empty:
            continue
        buckets = batch[_BUCKET].to_numpy()
        # Where a bucket starts: within the batch, and at its first row if the last one ended.
        starts = list(np.flatnonzero(buckets[1:] != buckets[:-1]) + 1)
        if last_bucket is not None and buckets[0] != last_bucket:
            starts.insert(0, 0)
        begin = 0
        for start in starts:
            if held + start - begin >= chunk_rows:
                yield _chunk([*pending, batch.iloc[begin:start]])
                pending, held, begin = [], 0, start
        pending.append(batch.iloc[begin:])
        held += len(batch) - begin
        last_bucket = buckets[-1]
    if held:
        yield _chunk(pending)


def _chunk(parts: list[pd.DataFrame]) -> pd.DataFrame:
    return pd.concat(parts, ignore_index=True).drop(columns=_BUCKET)


_ADDITIVE = ("element_count", "missing_count", "unexpected_count")


def combine_chunk_results(parts: list[ExpectationValidationResult]) -> ExpectationValidationResult:
    """One result from the results of the same map expectation on disjoint chunks."""
    if len(parts) == 1:
        return parts[0]
    for part in parts:
        if _exception_message(part):
            return part
    first = parts[0]
    combined: dict[str, Any] = {}
    for name in _ADDITIVE:
        combined[name] = sum(int(p.result.get(name) or 0) for p in parts)
    nonmissing = combined["element_count"] - combined["missing_count"]
    unexpected = combined["unexpected_count"]
    combined["missing_percent"] = (
        100.0 * combined["missing_count"] / combined["element_count"]
        if combined["element_count"]
        else None
    )
    combined["unexpected_percent"] = 100.0 * unexpected / nonmissing if nonmissing else None
    for name in ("partial_unexpected_list", "partial_unexpected_index_list"):
        values = [v for p in parts for v in (p.result.get(name) or [])]
        if values:
            combined[name] = values[:SAMPLE_ROWS]
    if "unexpected_index_column_names" in first.result:
        combined["unexpected_index_column_names"] = first.result["unexpected_index_column_names"]
    mostly = first.expectation_config.kwargs.get("mostly", 1.0)
    success = nonmissing == 0 or (1 - unexpected / nonmissing) >= mostly - 1e-12
    return ExpectationValidationResult(
        success=success,
        expectation_config=first.expectation_config,
        result=combined,
        meta={"chunks": len(parts)},
        exception_info={
            "raised_exception": False,
            "exception_message": None,
            "exception_traceback": None,
        },
    )


# ------------------------------------------------------------------ results -> outcome


def _exception_message(result: ExpectationValidationResult) -> str | None:
    info = result.exception_info or {}
    if info.get("raised_exception"):
        return str(info.get("exception_message") or "exception")
    for value in info.values():  # GX keys metric errors by metric id
        if isinstance(value, dict) and value.get("exception_message"):
            return str(value["exception_message"])
    return None


def _column_of(kwargs: dict[str, Any]) -> str | None:
    if "column" in kwargs:
        return kwargs["column"]
    if "column_A" in kwargs:
        return f"{kwargs['column_A']}, {kwargs['column_B']}"
    if "column_list" in kwargs:
        return ", ".join(kwargs["column_list"])
    return None


def _sample(result: dict[str, Any], column: str | None) -> list[dict[str, Any]]:
    index_rows = result.get("partial_unexpected_index_list")
    if index_rows and isinstance(index_rows[0], dict):
        return [dict(r) for r in index_rows[:SAMPLE_ROWS]]
    values = result.get("partial_unexpected_list")
    if values:
        out = []
        for value in values[:SAMPLE_ROWS]:
            out.append(dict(value) if isinstance(value, dict) else {column or "value": value})
        return out
    mismatched = (result.get("details") or {}).get("mismatched")
    if mismatched:
        return [{k: v for k, v in mismatched.items() if v}]
    return []


def to_failure(
    definition: SuiteDefinition, result: ExpectationValidationResult
) -> FailedExpectation:
    config = result.expectation_config
    check = definition.checks[config.meta["journeymap_check"]]
    kwargs = {k: v for k, v in config.kwargs.items() if k != "batch_id"}
    column = _column_of(kwargs)
    body = result.result or {}
    unexpected = body.get("unexpected_count")
    return FailedExpectation(
        expectation=config.type,
        column=column,
        unexpected_count=int(unexpected) if unexpected is not None else None,
        unexpected_sample=_sample(body, column),
        kwargs=kwargs,
        severity=str(check.severity),
        description=check.description,
        relation=check.relation,
        element_count=body.get("element_count"),
        observed_value=body.get("observed_value"),
        exception=_exception_message(result),
    )


def outcome_from_results(
    definition: SuiteDefinition,
    results: list[ExpectationValidationResult],
    now: datetime,
    engine: str,
    seconds: float,
) -> ValidationOutcome:
    results.sort(key=lambda r: r.expectation_config.meta["journeymap_check"])
    failures = [
        to_failure(definition, r) for r in results if not r.success or _exception_message(r)
    ]
    blocking = sum(f.blocking for f in failures)
    evaluated = len(results)
    statistics = {
        "evaluated_expectations": evaluated,
        "successful_expectations": evaluated - len(failures),
        "unsuccessful_expectations": len(failures),
        "success_percent": 100.0 * (evaluated - len(failures)) / evaluated if evaluated else 100.0,
        "blocking_failures": blocking,
        "warning_failures": len(failures) - blocking,
    }
    success = blocking == 0
    gx_result = ExpectationSuiteValidationResult(
        success=success,
        results=results,
        suite_name=definition.name,
        statistics={k: statistics[k] for k in list(statistics)[:4]},
        meta={
            "great_expectations_version": gx.__version__,
            "run_id": {
                "run_name": f"{definition.name}@{now.isoformat()}",
                "run_time": now.isoformat(),
            },
            "validation_time": now.isoformat(),
            "active_batch_definition": {
                "datasource_name": "warehouse",
                "data_asset_name": definition.table,
            },
            "batch_spec": {"engine": engine},
            "journeymap": {"blocking_failures": blocking, "reference_time": now.isoformat()},
        },
        batch_id=definition.table,
    )
    return ValidationOutcome(
        suite_name=definition.name,
        success=success,
        statistics=statistics,
        failures=failures,
        table=definition.table,
        reference_time=now,
        engine=engine,
        seconds=seconds,
        gx_result=gx_result,
    )


def validate(
    warehouse: Warehouse,
    suite_name: str,
    now: datetime | None = None,
    *,
    engine: str = "auto",
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    freshness: Freshness | None = None,
) -> ValidationOutcome:
    """Run one suite against the warehouse.

    ``now`` is the reference time for freshness and "not in the future" checks (default: the
    current UTC time). ``engine`` is ``auto`` (sql on DuckDB, else pandas), ``sql`` or
    ``pandas``; ``chunk_rows`` bounds the rows per frame of the pandas engine.
    """
    definition = suite(suite_name)
    now = reference_time(now)
    freshness = freshness or Freshness.from_env()
    engine = choose_engine(warehouse, engine)
    started = perf_counter()
    context = gx_context()
    runner: _Runner
    if engine == "sql":
        assert isinstance(warehouse, DuckDBWarehouse)
        runner = SqlRunner(context, definition.name, warehouse)
    else:
        runner = PandasRunner(context, definition.name, warehouse, chunk_rows)
    results: list[ExpectationValidationResult] = []
    try:
        for relation in definition.relations:
            checks = definition.checks_on(relation.name)
            if not checks:
                continue
            expectations = [check.build(index, now, freshness) for index, check in checks]
            try:
                results += without_private_values(runner.run(relation, expectations), relation)
            except Exception as error:  # a missing table, a broken query: the checks fail
                results += _error_results(expectations, error)
    finally:
        runner.close()
    return outcome_from_results(definition, results, now, engine, perf_counter() - started)
