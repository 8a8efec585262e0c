"""Great Expectations suites kept as code: one per raw source (derived from the data contract,
so they never drift from what the loader writes) and one per main mart.

A suite validates one or more *relations*: SQL ``select`` statements over the suite's table,
each validated as one GX batch. ``rows`` selects only the columns its checks need (plus a few
derived columns computed in SQL); ``schema`` is the table with no rows; aggregate relations
(``freshness``) and reconciliation relations (``ledger``, ``session_keys``...) push work that
spans the whole table into the warehouse, so GX validates a small result.

Every check is a GX expectation with a severity: ``blocking`` failures fail the suite (and
stop downstream Dagster assets), ``warning`` failures are reported but do not.
Times that depend on *now* (freshness, "not in the future") are ``RelativeTime`` values,
resolved when a suite runs, so tests can inject the reference time.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

import great_expectations.expectations as gxe
from great_expectations.expectations.expectation import Expectation

from journeymap.contract import (
    FUTURE_TOLERANCE_HOURS,
    SOURCES,
    Source,
)
from journeymap.load import (
    LEDGER_TABLE,
    QUARANTINE_TABLE,
    RAW_SCHEMA,
    source_table_columns,
)
from journeymap.ml.outputs import (
    CHANNEL_ATTRIBUTION,
    CHURN_SCORE_COLUMNS,
    CUSTOMER_SEGMENTS,
    CUSTOMER_VALUE,
    PERSONA_CARDS,
    RISK_BANDS,
    TEXT_LABELS,
    consenting_sql,
)
from journeymap.ml.text.labels import BACKENDS, LABEL_SETS, POLARITIES
from journeymap.privacy import PRIVATE_SCHEMAS
from journeymap.warehouse import quote_literals

MARTS_SCHEMA = "marts"
ML_SCHEMA = "ml"
ENRICHED_SCHEMA = "enriched"
MARTS_YAML = Path(__file__).resolve().parents[2] / "models" / "marts" / "_marts__models.yml"

# Relation names.
ROWS = "rows"
SCHEMA = "schema"
FRESHNESS = "freshness"
RECONCILIATION = "reconciliation"

# Clock skew allowed between the loader's clock and the reference time.
CLOCK_SKEW = timedelta(minutes=5)


class Severity(StrEnum):
    BLOCKING = "blocking"  # fails the suite, stops downstream assets
    WARNING = "warning"  # reported, does not fail the suite

    @property
    def gx(self) -> str:
        """GX's own severity for the expectation (shown in data docs)."""
        return "critical" if self is Severity.BLOCKING else "warning"


# ------------------------------------------------------------------ freshness settings


@dataclass(frozen=True)
class Freshness:
    """How old the newest data may be before the freshness checks warn.

    JOURNEYMAP_QUALITY_MAX_LOAD_AGE_HOURS   newest load (_loaded_at, loaded_at), default 36
    JOURNEYMAP_QUALITY_MAX_EVENT_AGE_HOURS  newest event (occurred_at in fct_events), default 72
    JOURNEYMAP_QUALITY_MAX_SCORE_AGE_HOURS  newest churn score (scored_at), default 192 (8 days)
    """

    max_load_age: timedelta = timedelta(hours=36)
    max_event_age: timedelta = timedelta(hours=72)
    max_score_age: timedelta = timedelta(hours=192)

    ENV = {
        "max_load_age": "JOURNEYMAP_QUALITY_MAX_LOAD_AGE_HOURS",
        "max_event_age": "JOURNEYMAP_QUALITY_MAX_EVENT_AGE_HOURS",
        "max_score_age": "JOURNEYMAP_QUALITY_MAX_SCORE_AGE_HOURS",
    }

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Freshness:
        env = os.environ if env is None else env
        values: dict[str, timedelta] = {}
        for name, var in cls.ENV.items():
            raw = env.get(var)
            if raw:
                try:
                    values[name] = timedelta(hours=float(raw))
                except ValueError:
                    raise ValueError(f"{var} must be a number of hours, not {raw!r}") from None
        return cls(**values)


@dataclass(frozen=True)
class RelativeTime:
    """A time relative to the reference time of a run: ``now - <freshness age> + plus``."""

    age: str | None = None  # a Freshness field, subtracted from now
    plus: timedelta = timedelta(0)

    def resolve(self, now: datetime, freshness: Freshness) -> datetime:
        value = now + self.plus
        if self.age is not None:
            value -= getattr(freshness, self.age)
        return value

    def __str__(self) -> str:
        text = "now"
        if self.age:
            text += f" - {self.age}"
        if self.plus:
            text += f" + {self.plus}"
        return text


NOT_IN_FUTURE = RelativeTime(plus=CLOCK_SKEW)


# ------------------------------------------------------------------ definitions


@dataclass(frozen=True)
class Check:
    """One expectation of a suite, on one relation, with a severity."""

    expectation: type[Expectation]
    kwargs: Mapping[str, Any]
    severity: Severity = Severity.BLOCKING
    relation: str = ROWS
    description: str = ""

    @property
    def type(self) -> str:
        return self.expectation.expectation_type  # type: ignore[attr-defined]

    @property
    def columns(self) -> tuple[str, ...]:
        """The relation columns the expectation reads."""
        out: list[str] = []
        for name in ("column", "column_A", "column_B"):
            if name in self.kwargs:
                out.append(self.kwargs[name])
        out.extend(self.kwargs.get("column_list", ()))
        return tuple(out)

    def resolved_kwargs(self, now: datetime, freshness: Freshness) -> dict[str, Any]:
        return {
            key: value.resolve(now, freshness) if isinstance(value, RelativeTime) else value
            for key, value in self.kwargs.items()
        }

    def build(self, index: int, now: datetime, freshness: Freshness) -> Expectation:
        """The GX expectation; ``meta`` carries what maps its result back to this check."""
        kwargs = self.resolved_kwargs(now, freshness)
        for key, value in kwargs.items():
            if isinstance(value, list | tuple):
                kwargs[key] = list(value)
        return self.expectation(
            **kwargs,
            severity=self.severity.gx,
            description=self.description or None,
            meta={
                "journeymap_check": index,
                "severity": str(self.severity),
                "relation": self.relation,
            },
        )


@dataclass(frozen=True)
class Relation:
    """A SQL select a suite validates as one batch.

    ``sample_columns`` name an offending row in failure samples (``_file_name, _row_number``
    for raw tables, the primary key for marts). A relation with ``partition_by`` is row-level:
    the bounded-memory (pandas) engine may validate it in chunks split by a hash of those
    columns, so rows sharing a key always land in the same chunk and uniqueness on those
    columns holds across chunks. Only map expectations (row by row) may use such a relation.
    """

    name: str
    sql: str
    sample_columns: tuple[str, ...] = ()
    partition_by: tuple[str, ...] = ()
    # The rows of a raw or staging table (clear personal data): failure samples, which data
    # docs and Dagster metadata show, locate a row but never quote its values.
    private: bool = False

    @property
    def row_level(self) -> bool:
        return bool(self.partition_by)

    @property
    def query(self) -> str:
        """The SQL as one ``select`` (GX's query assets must start with SELECT)."""
        if self.sql.lstrip().lower().startswith("select "):
            return self.sql
        return f"select * from (\n{self.sql}\n) as relation"


@dataclass(frozen=True)
class SuiteDefinition:
    name: str  # e.g. "raw.web_events"
    table: str  # the table it guards, e.g. "raw.web_events"
    description: str
    relations: tuple[Relation, ...]
    checks: tuple[Check, ...]
    key: tuple[str, ...] = ()  # the table's key (informational)

    def __post_init__(self) -> None:
        names = [r.name for r in self.relations]
        if len(set(names)) != len(names):
            raise ValueError(f"{self.name}: relation names repeat: {names}")
        for check in self.checks:
            relation = self.relation(check.relation)
            if relation.row_level and not _is_map_expectation(check.expectation):
                raise ValueError(
                    f"{self.name}: {check.type} is not row by row, so it cannot use the "
                    f"row-level relation {relation.name!r}"
                )
            unique_check = check.type in UNIQUENESS_TYPES
            if relation.row_level and unique_check and check.columns != relation.partition_by:
                raise ValueError(
                    f"{self.name}: uniqueness of {check.columns} needs a relation "
                    f"partitioned by those columns (not {relation.partition_by})"
                )

    def relation(self, name: str) -> Relation:
        for relation in self.relations:
            if relation.name == name:
                return relation
        raise KeyError(f"{self.name} has no relation {name!r}")

    def checks_on(self, relation: str) -> list[tuple[int, Check]]:
        return [(i, c) for i, c in enumerate(self.checks) if c.relation == relation]

    @property
    def blocking_checks(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if c.severity is Severity.BLOCKING)


UNIQUENESS_TYPES = frozenset(
    {"expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique"}
)


def _is_map_expectation(expectation: type[Expectation]) -> bool:
    from great_expectations.expectations.expectation import (
        ColumnMapExpectation,
        ColumnPairMapExpectation,
        MulticolumnMapExpectation,
    )

    return issubclass(
        expectation, ColumnMapExpectation | ColumnPairMapExpectation | MulticolumnMapExpectation
    )


# ------------------------------------------------------------------ building blocks


def not_null(
    columns: Iterable[str], severity: Severity = Severity.BLOCKING, why: str = ""
) -> list[Check]:
    return [
        Check(
            gxe.ExpectColumnValuesToNotBeNull,
            {"column": c},
            severity,
            description=why or f"{c} is never empty",
        )
        for c in columns
    ]


def in_set(
    column: str, values: Iterable[Any], severity: Severity = Severity.BLOCKING, why: str = ""
) -> Check:
    values = list(values)
    return Check(
        gxe.ExpectColumnValuesToBeInSet,
        {"column": column, "value_set": values},
        severity,
        description=why or f"{column} is one of {', '.join(map(str, values))}",
    )


def between(
    column: str,
    min_value: Any = None,
    max_value: Any = None,
    severity: Severity = Severity.BLOCKING,
    why: str = "",
    relation: str = ROWS,
) -> Check:
    kwargs: dict[str, Any] = {"column": column}
    if min_value is not None:
        kwargs["min_value"] = min_value
    if max_value is not None:
        kwargs["max_value"] = max_value
    if not why:
        if min_value is not None and max_value is not None:
            why = f"{column} lies between {min_value} and {max_value}"
        elif min_value is not None:
            why = f"{column} is at least {min_value}"
        else:
            why = f"{column} is at most {max_value}"
    return Check(gxe.ExpectColumnValuesToBeBetween, kwargs, severity, relation, why)


def at_least(
    column_a: str,
    column_b: str,
    severity: Severity = Severity.BLOCKING,
    why: str = "",
    relation: str = ROWS,
) -> Check:
    """column_a >= column_b on every row where both are present."""
    return Check(
        gxe.ExpectColumnPairValuesAToBeGreaterThanB,
        {
            "column_A": column_a,
            "column_B": column_b,
            "or_equal": True,
            "ignore_row_if": "either_value_is_missing",
        },
        severity,
        relation,
        why or f"{column_a} is not before/below {column_b}",
    )


def equal(
    column_a: str, column_b: str, relation: str, why: str, severity: Severity = Severity.BLOCKING
) -> Check:
    return Check(
        gxe.ExpectColumnPairValuesToBeEqual,
        {"column_A": column_a, "column_B": column_b, "ignore_row_if": "either_value_is_missing"},
        severity,
        relation,
        why,
    )


def flag_is(
    column: str, value: bool, relation: str, why: str, severity: Severity = Severity.BLOCKING
) -> Check:
    """A boolean column computed in SQL (a derived or reconciliation flag) has ``value``."""
    return Check(
        gxe.ExpectColumnValuesToBeInSet,
        {"column": column, "value_set": [value]},
        severity,
        relation,
        why,
    )


def unique(
    columns: tuple[str, ...],
    severity: Severity = Severity.BLOCKING,
    mostly: float | None = None,
    why: str = "",
) -> Check:
    kwargs: dict[str, Any]
    if len(columns) == 1:
        expectation: type[Expectation] = gxe.ExpectColumnValuesToBeUnique
        kwargs = {"column": columns[0]}
    else:
        expectation = gxe.ExpectCompoundColumnsToBeUnique
        kwargs = {"column_list": list(columns)}
    if mostly is not None:
        kwargs["mostly"] = mostly
    return Check(
        expectation, kwargs, severity, description=why or f"{', '.join(columns)} identifies one row"
    )


def columns_match(
    columns: Iterable[str], exact: bool, severity: Severity = Severity.BLOCKING, why: str = ""
) -> Check:
    columns = list(columns)
    return Check(
        gxe.ExpectTableColumnsToMatchSet,
        {"column_set": columns, "exact_match": exact},
        severity,
        SCHEMA,
        why
        or (
            "the table has exactly the expected columns"
            if exact
            else "the table has every column downstream code reads"
        ),
    )


def rows_relation(
    table: str,
    checks: Iterable[Check],
    sample_columns: tuple[str, ...],
    partition_by: tuple[str, ...],
    derived: Mapping[str, str] | None = None,
) -> Relation:
    """``select`` of only the columns the row checks read, plus derived columns (name -> SQL)."""
    derived = dict(derived or {})
    columns: list[str] = []
    for name in (*sample_columns, *partition_by):
        if name not in columns:
            columns.append(name)
    for check in checks:
        if check.relation != ROWS:
            continue
        for name in check.columns:
            if name not in columns and name not in derived:
                columns.append(name)
    select = [*columns, *(f"{expression} as {name}" for name, expression in derived.items())]
    private = table.split(".")[0].strip('"').lower() in PRIVATE_SCHEMAS
    sql = f"select {', '.join(select)} from {table}"
    return Relation(ROWS, sql, sample_columns, partition_by, private=private)


def schema_relation(table: str) -> Relation:
    return Relation(SCHEMA, f"select * from {table} limit 0")


def documented_columns(model: str, path: Path = MARTS_YAML) -> list[str] | None:
    """The columns a mart's YAML documents (None when the dbt project is not at hand)."""
    if not path.is_file():
        return None
    import yaml

    for entry in yaml.safe_load(path.read_text()).get("models", []):
        if entry.get("name") == model:
            return [c["name"] for c in entry.get("columns", [])] or None
    return None


def _plus_hours(column: str, hours: int) -> str:
    # Portable (DuckDB and Snowflake) interval arithmetic.
    return f"{column} + interval '{hours} hours'"


# ------------------------------------------------------------------ raw suites


# Ranges and cross-column rules the contract cannot express, per source.
def _raw_extra_checks(source: Source) -> tuple[list[Check], dict[str, str]]:
    checks: list[Check] = []
    derived: dict[str, str] = {}
    name = source.name
    if name in ("web_events", "app_events"):
        derived["has_identity"] = "(anonymous_id is not null or user_id is not null)"
        checks.append(
            flag_is(
                "has_identity",
                True,
                ROWS,
                "every tracked event carries an anonymous_id or a user_id",
            )
        )
    if name in ("email_events", "support_messages", "reviews"):
        derived["has_customer"] = "(customer_id is not null or email is not null)"
        checks.append(
            flag_is(
                "has_customer",
                True,
                ROWS,
                "the row names its customer by customer_id or email",
                Severity.WARNING,
            )
        )
    if name == "orders":
        checks.append(between("amount", min_value=0, why="order amounts are not negative"))
        checks.append(
            Check(
                gxe.ExpectColumnValueLengthsToEqual,
                {"column": "currency", "value": 3},
                Severity.WARNING,
                description="currency is a three-letter ISO code",
            )
        )
    if name == "reviews":
        derived["score_in_range"] = (
            "(case when review_type = 'review' then score between 1 and 5 "
            "else score between 0 and 10 end)"
        )
        checks.append(
            flag_is("score_in_range", True, ROWS, "review scores are 1-5 and NPS scores 0-10")
        )
    if name == "support_messages":
        checks.append(between("csat", 1, 5, why="CSAT is 1-5 where given"))
    if name == "subscriptions":
        checks.append(
            at_least(
                "cancelled_at", "started_at", why="a subscription is cancelled after it started"
            )
        )
        checks.append(
            at_least(
                "updated_at",
                "started_at",
                Severity.WARNING,
                "a version is not older than the start",
            )
        )
    if name == "crm_contacts":
        checks.append(
            at_least(
                "updated_at",
                "created_at",
                Severity.WARNING,
                "a contact version is not older than the contact",
            )
        )
    return checks, derived


def raw_suite(source: Source) -> SuiteDefinition:
    table = f"{RAW_SCHEMA}.{source.name}"
    rows: list[Check] = []
    key_not_required = [k for k in source.key if k not in source.required]
    rows += not_null((*source.required, *key_not_required))
    rows += not_null(("_load_id", "_file_name", "_row_number", "_loaded_at"))
    for column in source.columns:
        if column.allowed:
            rows.append(in_set(column.name, column.allowed))
    rows.append(
        unique(
            source.key,
            Severity.WARNING,
            mostly=0.99,
            why=f"{', '.join(source.key)} repeats on at most 1% of rows (staging deduplicates)",
        )
    )
    derived = {"_latest_allowed_time": _plus_hours("_loaded_at", FUTURE_TOLERANCE_HOURS)}
    rows.append(
        at_least(
            "_latest_allowed_time",
            source.event_time,
            why=f"{source.event_time} is at most {FUTURE_TOLERANCE_HOURS}h after its load",
        )
    )
    rows.append(
        between("_loaded_at", max_value=NOT_IN_FUTURE, why="_loaded_at is not in the future")
    )
    extra, extra_derived = _raw_extra_checks(source)
    rows += extra
    derived.update(extra_derived)

    checks = [
        columns_match(
            source_table_columns(source),
            exact=True,
            why="the columns are the contract's, the load columns and _extra",
        ),
        *rows,
        *_ledger_checks(),
        Check(
            gxe.ExpectColumnValuesToBeBetween,
            {"column": "latest_loaded_at", "min_value": RelativeTime("max_load_age")},
            Severity.WARNING,
            FRESHNESS,
            "the newest row was loaded within the max load age",
        ),
    ]
    sample = ("_file_name", "_row_number")
    relations = (
        schema_relation(table),
        rows_relation(table, checks, sample, source.key, derived),
        Relation("ledger", _ledger_sql(source.name), ("file_name", "_load_id")),
        Relation(
            FRESHNESS,
            f"select max(_loaded_at) as latest_loaded_at, count(*) as row_count from {table}",
        ),
    )
    return SuiteDefinition(
        name=table,
        table=table,
        description=f"Raw {source.name}: {source.description}",
        relations=relations,
        checks=tuple(checks),
        key=source.key,
    )


def _ledger_sql(source: str) -> str:
    """Per load: the ledger's counts next to the rows actually in raw and in quarantine."""
    s = quote_literals([source])
    return f"""
with ledger as (
    select _load_id, file_name, rows_in_file, rows_loaded, rows_quarantined
    from {RAW_SCHEMA}.{LEDGER_TABLE} where source = {s}
),
raw_rows as (
    select _load_id, max(_file_name) as file_name, count(*) as raw_rows
    from {RAW_SCHEMA}.{source} group by _load_id
),
quarantined as (
    select _load_id, max(_file_name) as file_name, count(*) as quarantined_rows
    from {RAW_SCHEMA}.{QUARANTINE_TABLE} where source = {s} group by _load_id
),
loads as (
    select _load_id from ledger
    union select _load_id from raw_rows
    union select _load_id from quarantined
)
select
    loads._load_id,
    coalesce(ledger.file_name, raw_rows.file_name, quarantined.file_name) as file_name,
    coalesce(ledger.rows_in_file, 0) as rows_in_file,
    coalesce(ledger.rows_loaded, 0) as rows_loaded,
    coalesce(ledger.rows_quarantined, 0) as rows_quarantined,
    coalesce(raw_rows.raw_rows, 0) as raw_rows,
    coalesce(quarantined.quarantined_rows, 0) as quarantined_rows,
    coalesce(raw_rows.raw_rows, 0) + coalesce(quarantined.quarantined_rows, 0) as accounted_rows
from loads
left join ledger on ledger._load_id = loads._load_id
left join raw_rows on raw_rows._load_id = loads._load_id
left join quarantined on quarantined._load_id = loads._load_id
""".strip()


def _ledger_checks() -> list[Check]:
    return [
        equal(
            "rows_in_file",
            "accounted_rows",
            "ledger",
            "per load: raw rows + quarantined rows = rows_in_file in the ledger",
        ),
        equal(
            "rows_loaded", "raw_rows", "ledger", "per load: raw rows = rows_loaded in the ledger"
        ),
        equal(
            "rows_quarantined",
            "quarantined_rows",
            "ledger",
            "per load: quarantined rows = rows_quarantined in the ledger",
        ),
    ]


# ------------------------------------------------------------------ mart suites

# One system per kind of check: keys, not-null, accepted values and relationships of the marts
# are dbt tests (models/*/_*__models.yml). The mart suites hold what dbt does poorly: ranges
# and row logic, freshness against now, and reconciliation across tables.


def _mart_schema_checks(model: str, required: Iterable[str]) -> list[Check]:
    checks = [columns_match(required, exact=False)]
    documented = documented_columns(model)
    if documented:
        checks.append(
            columns_match(
                documented,
                exact=True,
                severity=Severity.WARNING,
                why=f"the columns are exactly those documented in {MARTS_YAML.name}",
            )
        )
    return checks


def fct_events_suite() -> SuiteDefinition:
    table = f"{MARTS_SCHEMA}.fct_events"
    key = ("event_key",)
    derived = {
        "latest_allowed_occurred_at": _plus_hours("loaded_at", FUTURE_TOLERANCE_HOURS),
        "revenue_without_conversion": "(revenue is not null and not is_conversion)",
    }
    checks = [
        *_mart_schema_checks(
            "fct_events",
            (
                "event_key",
                "source",
                "source_event_id",
                "customer_key",
                "occurred_at",
                "canonical_event",
                "channel",
                "touchpoint",
                "journey_stage",
                "is_conversion",
                "revenue",
                "session_key",
                "loaded_at",
            ),
        ),
        between("revenue", min_value=0, why="revenue is not negative"),
        flag_is(
            "revenue_without_conversion",
            False,
            ROWS,
            "only conversions carry revenue",
            Severity.WARNING,
        ),
        at_least(
            "latest_allowed_occurred_at",
            "occurred_at",
            why=f"occurred_at is at most {FUTURE_TOLERANCE_HOURS}h after the row was loaded",
        ),
        between("loaded_at", max_value=NOT_IN_FUTURE, why="loaded_at is not in the future"),
        Check(
            gxe.ExpectColumnValuesToBeBetween,
            {"column": "latest_loaded_at", "min_value": RelativeTime("max_load_age")},
            Severity.WARNING,
            FRESHNESS,
            "the newest event was loaded within the max load age",
        ),
        Check(
            gxe.ExpectColumnValuesToBeBetween,
            {"column": "latest_occurred_at", "min_value": RelativeTime("max_event_age")},
            Severity.WARNING,
            FRESHNESS,
            "the newest event happened within the max event age",
        ),
    ]
    return SuiteDefinition(
        name=table,
        table=table,
        description="Every customer interaction, one row per event, in the canonical taxonomy.",
        relations=(
            schema_relation(table),
            rows_relation(table, checks, key, key, derived),
            Relation(
                FRESHNESS,
                "select max(loaded_at) as latest_loaded_at, "
                f"max(occurred_at) as latest_occurred_at from {table}",
            ),
        ),
        checks=tuple(checks),
        key=key,
    )


def fct_sessions_suite() -> SuiteDefinition:
    table = f"{MARTS_SCHEMA}.fct_sessions"
    key = ("session_key",)
    derived = {"bounce_matches_events": "(is_bounce = (event_count = 1))"}
    checks = [
        *_mart_schema_checks(
            "fct_sessions",
            (
                "session_key",
                "session_partition",
                "customer_key",
                "channel",
                "started_at",
                "ended_at",
                "duration_seconds",
                "event_count",
                "converted",
                "conversions",
                "conversion_revenue",
            ),
        ),
        between("duration_seconds", min_value=0, why="duration_seconds is not negative"),
        between("event_count", min_value=1, why="a session has at least one event"),
        between("conversions", min_value=0),
        between("conversion_revenue", min_value=0, why="conversion_revenue is not negative"),
        at_least("ended_at", "started_at", why="a session ends after it starts"),
        at_least(
            "event_count", "distinct_event_count", why="distinct events are no more than events"
        ),
        flag_is(
            "bounce_matches_events",
            True,
            ROWS,
            "is_bounce is true exactly for one-event sessions",
            Severity.WARNING,
        ),
        flag_is(
            "in_fct_sessions",
            True,
            "session_keys",
            "every session_key in fct_events has its row in fct_sessions",
        ),
        flag_is(
            "in_fct_events",
            True,
            "session_keys",
            "every session in fct_sessions has its events in fct_events",
        ),
        equal(
            "event_count",
            "events_in_fct_events",
            "session_keys",
            "a session's event_count equals its events in fct_events",
        ),
    ]
    session_keys_sql = f"""
with sessions as (
    select session_key, event_count from {table}
),
event_sessions as (
    select session_key, count(*) as events_in_fct_events
    from {MARTS_SCHEMA}.fct_events where session_key is not null group by session_key
)
select
    coalesce(sessions.session_key, event_sessions.session_key) as session_key,
    sessions.session_key is not null as in_fct_sessions,
    event_sessions.session_key is not null as in_fct_events,
    sessions.event_count,
    event_sessions.events_in_fct_events
from sessions
full outer join event_sessions on sessions.session_key = event_sessions.session_key
""".strip()
    return SuiteDefinition(
        name=table,
        table=table,
        description="One row per web or app session; its keys reconcile with fct_events.",
        relations=(
            schema_relation(table),
            rows_relation(table, checks, key, key, derived),
            Relation("session_keys", session_keys_sql, key, key),
        ),
        checks=tuple(checks),
        key=key,
    )


def dim_customers_suite() -> SuiteDefinition:
    table = f"{MARTS_SCHEMA}.dim_customers"
    key = ("customer_key",)
    derived = {"known_without_customer_id": "(is_known and customer_id is null)"}
    counts = (
        "events",
        "sessions",
        "devices",
        "orders",
        "support_messages",
        "email_opens",
        "email_clicks",
        "subscriptions",
        "cancelled_subscriptions",
    )
    checks = [
        *_mart_schema_checks(
            "dim_customers",
            (
                "customer_key",
                "customer_id",
                "is_known",
                "first_seen_at",
                "last_seen_at",
                "orders",
                "revenue",
                "current_stage",
            ),
        ),
        flag_is("known_without_customer_id", False, ROWS, "known customers have a customer_id"),
        *(between(c, min_value=0) for c in counts),
        between("revenue", min_value=0, why="revenue is not negative"),
        between("current_stage_order", 1, 5),
        at_least("last_seen_at", "first_seen_at", why="last seen is not before first seen"),
        at_least("last_order_at", "first_order_at", why="last order is not before first order"),
        at_least(
            "subscriptions",
            "cancelled_subscriptions",
            why="no more subscriptions cancelled than started",
        ),
        flag_is(
            "in_dim_customers",
            True,
            "customer_keys",
            "every customer_key in fct_events has its row in dim_customers",
        ),
    ]
    customer_keys_sql = f"""
select events.customer_key, customers.customer_key is not null as in_dim_customers
from (
    select distinct customer_key from {MARTS_SCHEMA}.fct_events where customer_key is not null
) as events
left join {table} as customers on customers.customer_key = events.customer_key
""".strip()
    return SuiteDefinition(
        name=table,
        table=table,
        description="One row per customer; every customer in fct_events has one.",
        relations=(
            schema_relation(table),
            rows_relation(table, checks, key, key, derived),
            Relation("customer_keys", customer_keys_sql, key, key),
        ),
        checks=tuple(checks),
        key=key,
    )


def churn_scores_suite() -> SuiteDefinition:
    table = f"{ML_SCHEMA}.churn_scores"
    key = ("customer_key",)
    checks = [
        columns_match(
            CHURN_SCORE_COLUMNS,
            exact=True,
            why="the columns are those of the ML output contract (journeymap.ml.outputs)",
        ),
        *not_null(("customer_key", "churn_score", "risk_band", "model_version", "scored_at")),
        unique(key),
        between("churn_score", 0, 1, why="churn_score is a probability (0-1)"),
        in_set("risk_band", RISK_BANDS),
        at_least("scored_at", "cutoff_at", why="scores are written after their feature cutoff"),
        between("scored_at", max_value=NOT_IN_FUTURE, why="scored_at is not in the future"),
        flag_is(
            "in_dim_customers",
            True,
            "customer_keys",
            "every scored customer is in dim_customers",
            Severity.WARNING,
        ),
        Check(
            gxe.ExpectColumnValuesToBeBetween,
            {"column": "latest_scored_at", "min_value": RelativeTime("max_score_age")},
            Severity.WARNING,
            FRESHNESS,
            "the newest score is within the max score age",
        ),
    ]
    customer_keys_sql = f"""
select scores.customer_key, customers.customer_key is not null as in_dim_customers
from {table} as scores
left join {MARTS_SCHEMA}.dim_customers as customers on customers.customer_key = scores.customer_key
""".strip()
    return SuiteDefinition(
        name=table,
        table=table,
        description="Churn scores from the ML churn asset, one per customer.",
        relations=(
            schema_relation(table),
            rows_relation(table, checks, key, key),
            Relation("customer_keys", customer_keys_sql, key, key),
            Relation(FRESHNESS, f"select max(scored_at) as latest_scored_at from {table}"),
        ),
        checks=tuple(checks),
        key=key,
    )


def reconciled_suite(
    table: str,
    description: str,
    checks: list[Check],
    key: tuple[str, ...],
    reconciliation_sql: str,
) -> SuiteDefinition:
    """A table's suite: its schema, its rows (by key) and one reconciliation query."""
    return SuiteDefinition(
        name=table,
        table=table,
        description=description,
        relations=(
            schema_relation(table),
            rows_relation(table, checks, key, key),
            Relation(RECONCILIATION, reconciliation_sql),
        ),
        checks=tuple(checks),
        key=key,
    )


def text_labels_suite() -> SuiteDefinition:
    """Label values in their sets (journeymap.ml.text.labels), confidences in [0, 1], every
    text of marts.fct_customer_texts labelled exactly once."""
    table = f"{ML_SCHEMA}.{TEXT_LABELS.table}"
    key = TEXT_LABELS.key
    confidences = [c for c in TEXT_LABELS.column_names if c.endswith("_confidence")]
    checks = [
        columns_match(
            TEXT_LABELS.column_names,
            exact=True,
            why="the columns are those of the ML output contract (journeymap.ml.outputs)",
        ),
        *not_null(
            (*key, *LABEL_SETS, "sentiment", "polarity", *confidences, "backend", "model_version")
        ),
        unique(key),
        *(in_set(column, values) for column, values in LABEL_SETS.items()),
        in_set("polarity", POLARITIES),
        in_set("backend", BACKENDS),
        between("sentiment", -1, 1, why="sentiment lies in [-1, 1]"),
        *(between(c, 0, 1, why=f"{c} is a probability (0-1)") for c in confidences),
        between("labelled_at", max_value=NOT_IN_FUTURE, why="labelled_at is not in the future"),
        equal(
            "labelled_texts",
            "texts",
            RECONCILIATION,
            "one label row per text of marts.fct_customer_texts (analytics consent given)",
        ),
        between(
            "unlabelled_texts",
            0,
            0,
            relation=RECONCILIATION,
            why="every text of marts.fct_customer_texts is labelled",
        ),
    ]
    # Texts of customers who refused analytics get no label (ml.outputs.write_output).
    reconciliation_sql = f"""
with analysed_texts as (
    select * from {MARTS_SCHEMA}.fct_customer_texts as texts
    where {consenting_sql("texts", MARTS_SCHEMA)}
)
select
    (select count(*) from analysed_texts) as texts,
    (select count(*) from {table}) as labelled_texts,
    (
        select count(*) from analysed_texts as texts
        left join {table} as labels
            on labels.source = texts.source and labels.source_text_id = texts.source_text_id
        where labels.source_text_id is null
    ) as unlabelled_texts
""".strip()
    description = "Text labels from the ML text asset, one per customer text."
    return reconciled_suite(table, description, checks, key, reconciliation_sql)


def customer_360_suite() -> SuiteDefinition:
    table = f"{ENRICHED_SCHEMA}.dim_customer_360"
    key = ("customer_key",)
    checks = [
        columns_match(
            ("customer_key", "churn_score", "churn_risk_band"),
            exact=False,
        ),
        between("churn_score", 0, 1, why="churn_score is a probability (0-1)"),
        equal(
            "customers_in_360",
            "customers_in_dim_customers",
            RECONCILIATION,
            "one row per customer of marts.dim_customers",
        ),
        equal(
            "scores_in_360",
            "scores_of_known_customers",
            RECONCILIATION,
            "every churn score of a customer in dim_customers reaches the customer table",
        ),
    ]
    reconciliation_sql = f"""
select
    (select count(*) from {table}) as customers_in_360,
    (select count(*) from {MARTS_SCHEMA}.dim_customers) as customers_in_dim_customers,
    (select count(churn_score) from {table}) as scores_in_360,
    (
        select count(*) from {ML_SCHEMA}.churn_scores as scores
        inner join {MARTS_SCHEMA}.dim_customers as customers
            on customers.customer_key = scores.customer_key
    ) as scores_of_known_customers
""".strip()
    description = "The enriched customer table: every customer once, every churn score on it."
    return reconciled_suite(table, description, checks, key, reconciliation_sql)


# ------------------------------------------------------------------ customer suites
# Lifetime value, segments and persona cards (the ML tables), retention and lifecycle (the
# core marts): ranges, and reconciliation - every customer scored once, segment ids kept by
# a re-run without new data, cohort and lifecycle figures that add up.


def _suite(
    table: str,
    key: tuple[str, ...],
    description: str,
    checks: list[Check],
    *relations: Relation,
    derived: Mapping[str, str] | None = None,
) -> SuiteDefinition:
    """A suite over ``table``: its schema, the rows its checks read, and further relations."""
    return SuiteDefinition(
        name=table,
        table=table,
        description=description,
        relations=(
            schema_relation(table),
            rows_relation(table, checks, key, key, derived),
            *relations,
        ),
        checks=tuple(checks),
        key=key,
    )


def _contract_columns(columns: Iterable[str]) -> Check:
    return columns_match(
        columns,
        exact=True,
        why="the columns are those of the ML output contract (journeymap.ml.outputs)",
    )


def customer_value_suite() -> SuiteDefinition:
    table = f"{ML_SCHEMA}.customer_value"
    key = ("customer_key",)
    checks = [
        _contract_columns(CUSTOMER_VALUE.column_names),
        *not_null(("customer_key", "probability_alive", "predicted_value", "scored_at")),
        unique(key),
        between("probability_alive", 0, 1, why="probability_alive is a probability (0-1)"),
        between("predicted_purchases", min_value=0, why="predicted purchases are not negative"),
        between("predicted_value", min_value=0, why="predicted value is not negative"),
        between("purchases", min_value=1, why="a valued customer has ordered"),
        at_least("purchases", "repeat_purchases", why="repeat purchases are part of purchases"),
        at_least(
            "days_since_first_purchase",
            "days_first_to_last_purchase",
            why="the last purchase lies between the first and the end of the data",
        ),
        equal(
            "customers_valued",
            "ordering_customers",
            RECONCILIATION,
            "every customer with a completed order (analytics consent given) is valued once",
        ),
    ]
    reconciliation_sql = f"""
select
    (select count(*) from {table}) as customers_valued,
    (
        select count(distinct events.customer_key) from {MARTS_SCHEMA}.fct_events as events
        inner join {MARTS_SCHEMA}.dim_customers as customers
            on customers.customer_key = events.customer_key
        where events.is_conversion and customers.has_analytics_consent
            and events.occurred_at < (select max(cutoff_at) from {table})
    ) as ordering_customers
""".strip()
    return _suite(
        table,
        key,
        "Lifetime values: every customer who ordered, once, with values in range.",
        checks,
        Relation(RECONCILIATION, reconciliation_sql),
    )


def customer_segments_suite() -> SuiteDefinition:
    table = f"{ML_SCHEMA}.customer_segments"
    key = ("customer_key",)
    checks = [
        _contract_columns(CUSTOMER_SEGMENTS.column_names),
        *not_null(("customer_key", "segment_id", "persona_name", "loaded_through")),
        unique(key),
        between("membership_probability", 0, 1, why="membership is a probability (0-1)"),
        equal(
            "customers_segmented",
            "customers_to_segment",
            RECONCILIATION,
            "every known customer with a web or app session (analytics consent given) has one "
            "segment",
        ),
        equal(
            "segments_in_cards",
            "segments",
            RECONCILIATION,
            "every segment has its persona card",
        ),
        equal(
            "segment_id",
            "previous_segment_id",
            "reruns",
            "a re-run on the same data and cutoff keeps every customer's segment id",
        ),
    ]
    reconciliation_sql = f"""
select
    (select count(*) from {table}) as customers_segmented,
    (
        select count(distinct sessions.customer_key)
        from {MARTS_SCHEMA}.fct_sessions as sessions
        inner join {MARTS_SCHEMA}.dim_customers as customers
            on customers.customer_key = sessions.customer_key
        where customers.is_known and customers.has_analytics_consent
            and sessions.started_at < (select max(cutoff_at) from {table})
    ) as customers_to_segment,
    (select count(distinct segment_id) from {table}) as segments,
    (
        select count(*) from {ML_SCHEMA}.persona_cards
        where segment_id in (select segment_id from {table})
    ) as segments_in_cards
""".strip()
    reruns_sql = f"""
select customer_key, segment_id, previous_segment_id
from {table}
where previous_loaded_through = loaded_through
    and previous_cutoff_at = cutoff_at
    and previous_segment_id is not null
""".strip()
    return _suite(
        table,
        key,
        (
            "Segments: every known customer with a session once; ids unchanged by a re-run "
            "without new data."
        ),
        checks,
        Relation(RECONCILIATION, reconciliation_sql),
        Relation("reruns", reruns_sql, key, key),
    )


def persona_cards_suite() -> SuiteDefinition:
    table = f"{ML_SCHEMA}.persona_cards"
    key = ("segment_id",)
    checks = [
        _contract_columns(PERSONA_CARDS.column_names),
        *not_null(("segment_id", "persona_name", "customers", "narrative")),
        unique(key),
        between("share", 0, 1, why="share is a share (0-1)"),
        between("customers", min_value=1, why="a segment has members"),
        between("mean_churn_score", 0, 1, why="mean churn score is a probability (0-1)"),
        between("high_churn_risk_share", 0, 1, why="high churn risk share is a share (0-1)"),
        between("mean_probability_alive", 0, 1, why="probability alive is a probability (0-1)"),
        between("typical_path_share", 0, 1, why="typical path share is a share (0-1)"),
        equal(
            "customers_on_cards",
            "customers_segmented",
            RECONCILIATION,
            "the cards' sizes add up to the customers segmented",
        ),
    ]
    reconciliation_sql = f"""
select
    (select sum(customers) from {table}) as customers_on_cards,
    (select count(*) from {ML_SCHEMA}.customer_segments) as customers_segmented
""".strip()
    return _suite(
        table,
        key,
        "Persona cards: one per segment, sizes adding up, figures in range.",
        checks,
        Relation(RECONCILIATION, reconciliation_sql),
    )


def retention_cohorts_suite() -> SuiteDefinition:
    table = f"{MARTS_SCHEMA}.mart_retention_cohorts"
    key = ("retention_cohort_key",)
    checks = [
        *_mart_schema_checks(
            "mart_retention_cohorts",
            ("cohort_type", "cohort_week", "weeks_since", "cohort_customers", "active_rate"),
        ),
        between("active_rate", 0, 1, why="active_rate is a share of the cohort (0-1)"),
        between("ordering_rate", 0, 1, why="ordering_rate is a share of the cohort (0-1)"),
        between("weeks_since", min_value=0, why="weeks are counted from the cohort week"),
        at_least("cohort_customers", "active_customers", why="no more active than the cohort"),
        at_least("active_customers", "ordering_customers", why="who orders is active"),
        flag_is(
            "orders_in_its_first_week",
            True,
            "first_order_weeks",
            "a first-order cohort ordered, all of it, in its cohort week",
        ),
        equal(
            "cohort_customers",
            "customers_in_breakdown",
            "breakdown_totals",
            "a cohort's customers add up over every breakdown's values",
        ),
    ]
    first_order_weeks_sql = f"""
select retention_cohort_key, ordering_customers = cohort_customers as orders_in_its_first_week
from {table}
where cohort_type = 'first_order' and weeks_since = 0
""".strip()
    breakdown_totals_sql = f"""
with totals as (
    select cohort_type, cohort_week, cohort_customers
    from {table}
    where breakdown = 'all' and weeks_since = 0
),
parts as (
    select cohort_type, cohort_week, breakdown, sum(cohort_customers) as customers_in_breakdown
    from {table}
    where breakdown <> 'all' and weeks_since = 0
    group by cohort_type, cohort_week, breakdown
)
select parts.cohort_type, parts.cohort_week, parts.breakdown, totals.cohort_customers,
    parts.customers_in_breakdown
from parts
inner join totals
    on parts.cohort_type = totals.cohort_type and parts.cohort_week = totals.cohort_week
""".strip()
    return _suite(
        table,
        key,
        "Retention cohorts: rates in range, first-order cohorts that add up.",
        checks,
        Relation("first_order_weeks", first_order_weeks_sql, key, key),
        Relation("breakdown_totals", breakdown_totals_sql),
    )


def customer_lifecycle_suite() -> SuiteDefinition:
    table = f"{MARTS_SCHEMA}.mart_customer_lifecycle"
    key = ("lifecycle_key",)
    states = "new_customers + returning_customers + resurrected_customers"
    days = " + ".join(f"customers_active_{d}_day{'s' if d > 1 else ''}" for d in range(1, 8))
    derived = {
        "states_add_up": f"(active_customers = {states})",
        "stickiness_adds_up": f"(active_customers = {days})",
    }
    checks = [
        *_mart_schema_checks(
            "mart_customer_lifecycle",
            ("activity_week", "breakdown", "active_customers", "dormant_customers"),
        ),
        between("quick_ratio", min_value=0, why="the quick ratio is not negative"),
        between("mean_active_days", 1, 7, why="an active customer is active on 1 to 7 days"),
        flag_is(
            "states_add_up",
            True,
            ROWS,
            "active = new + returning + resurrected",
        ),
        flag_is(
            "stickiness_adds_up",
            True,
            ROWS,
            "the active-days distribution counts every active customer once",
        ),
    ]
    return _suite(
        table,
        key,
        "The lifecycle: states and stickiness that add up to the active customers.",
        checks,
        derived=derived,
    )


def _within(a: str, b: str) -> str:
    """SQL: two sums agree up to float rounding."""
    return f"abs({a} - {b}) <= 1e-6 * (1 + abs({b}))"


def _attribution_totals_sql(
    table: str, model: str, conversions: str, revenue: str, consenting_only: bool = False
) -> str:
    """Per model of ``table``: attributed conversions and revenue beside the path mart's
    (``consenting_only``: of customers who did not refuse analytics, all the data-driven
    models are fitted on)."""
    reconcile = _within("attributed.attributed_conversions", "converted.conversions")
    refused = f"\n    where {consenting_sql('paths', MARTS_SCHEMA)}" if consenting_only else ""
    return f"""
with attributed as (
    select {model} as model, sum({conversions}) as attributed_conversions,
        sum({revenue}) as attributed_revenue
    from {table}
    group by {model}
),
converted as (
    select count(*) as conversions, coalesce(sum(revenue), 0) as revenue
    from {MARTS_SCHEMA}.mart_conversion_paths as paths{refused}
)
select
    attributed.model,
    attributed.attributed_conversions,
    converted.conversions,
    {reconcile} as conversions_reconcile,
    {_within("attributed.attributed_revenue", "converted.revenue")} as revenue_reconciles
from attributed
cross join converted
""".strip()


def _attribution_reconciliation_checks(table: str, whose: str = "") -> list[Check]:
    return [
        flag_is(
            "conversions_reconcile",
            True,
            RECONCILIATION,
            f"per model, the conversions attributed in {table} add up to the conversions of "
            f"mart_conversion_paths{whose}",
        ),
        flag_is(
            "revenue_reconciles",
            True,
            RECONCILIATION,
            "per model, the attributed revenue adds up to the revenue of the conversions",
        ),
    ]


def channel_attribution_mart_suite() -> SuiteDefinition:
    table = f"{MARTS_SCHEMA}.mart_channel_attribution"
    key = ("channel", "attribution_model")
    checks = [
        *_mart_schema_checks("mart_channel_attribution", (*key, "attributed_conversions")),
        between("share_of_conversions", 0, 1, why="shares lie between 0 and 1"),
        between("attributed_conversions", min_value=0),
        between("spend", min_value=0, why="spend is not negative"),
        between("cost_per_conversion", min_value=0),
        *_attribution_reconciliation_checks(table),
        flag_is(
            "spend_reconciles",
            True,
            "spend",
            "every unit of staged spend is in the mart once",
        ),
    ]
    spend_sql = f"""
with staged as (
    select coalesce(sum(spend), 0) as spend from staging.stg_marketing__spend
),
in_mart as (
    select coalesce(sum(spend), 0) as spend
    from (select distinct channel, spend from {table}) as per_channel
)
select staged.spend as staged_spend, in_mart.spend as mart_spend,
    {_within("in_mart.spend", "staged.spend")} as spend_reconciles
from staged cross join in_mart
""".strip()
    return SuiteDefinition(
        name=table,
        table=table,
        description="Heuristic channel attribution: every conversion and unit of spend once.",
        relations=(
            schema_relation(table),
            rows_relation(table, checks, key, key),
            Relation(
                RECONCILIATION,
                _attribution_totals_sql(
                    table, "attribution_model", "attributed_conversions", "attributed_revenue"
                ),
            ),
            Relation("spend", spend_sql),
        ),
        checks=tuple(checks),
        key=key,
    )


def channel_attribution_suite() -> SuiteDefinition:
    table = f"{ML_SCHEMA}.{CHANNEL_ATTRIBUTION.table}"
    key = CHANNEL_ATTRIBUTION.key
    checks = [
        columns_match(
            CHANNEL_ATTRIBUTION.column_names,
            exact=True,
            why="the columns are those of the ML output contract (journeymap.ml.outputs)",
        ),
        *not_null(("model", "channel", "conversions", "computed_at")),
        unique(key),
        between("removal_effect", 0, 1, why="a removal effect is a share of conversions (0-1)"),
        between("value_removal_effect", 0, 1),
        *_attribution_reconciliation_checks(table, " (analytics consent given)"),
        Check(
            gxe.ExpectColumnValuesToBeBetween,
            {"column": "latest_computed_at", "min_value": RelativeTime("max_score_age")},
            Severity.WARNING,
            FRESHNESS,
            "the attribution was computed within the max score age",
        ),
    ]
    return SuiteDefinition(
        name=table,
        table=table,
        description="Data-driven channel attribution (Markov, Shapley): every conversion once.",
        relations=(
            schema_relation(table),
            rows_relation(table, checks, key, key),
            Relation(
                RECONCILIATION,
                _attribution_totals_sql(
                    table, "model", "conversions", "revenue", consenting_only=True
                ),
            ),
            Relation(FRESHNESS, f"select max(computed_at) as latest_computed_at from {table}"),
        ),
        checks=tuple(checks),
        key=key,
    )


def build_suites() -> dict[str, SuiteDefinition]:
    suites = [raw_suite(source) for source in SOURCES.values()]
    suites += [
        fct_events_suite(),
        fct_sessions_suite(),
        dim_customers_suite(),
        retention_cohorts_suite(),
        customer_lifecycle_suite(),
        churn_scores_suite(),
        text_labels_suite(),
        customer_value_suite(),
        customer_segments_suite(),
        persona_cards_suite(),
        customer_360_suite(),
        channel_attribution_mart_suite(),
        channel_attribution_suite(),
    ]
    return {suite.name: suite for suite in suites}


SUITES: dict[str, SuiteDefinition] = build_suites()


def suite(name: str) -> SuiteDefinition:
    try:
        return SUITES[name]
    except KeyError:
        raise KeyError(f"unknown suite {name!r}; known suites: {', '.join(SUITES)}") from None


__all__ = [
    "SUITES",
    "Check",
    "Freshness",
    "Relation",
    "RelativeTime",
    "Severity",
    "SuiteDefinition",
    "suite",
]
