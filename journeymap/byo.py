"""Bring your own events: turn an analytics export into a contract landing file.

Most users start from an export (GA4's BigQuery export flattened, Segment, Mixpanel,
Amplitude, or a plain CSV). ``import_events`` recognises their column names, converts
timestamps to UTC ISO-8601 and writes ``<landing>/<source>/byo_<stem>.csv``, which the
loader then loads like any other landing file. Only an id (anonymous or user), an event
name and a timestamp are needed; every column that maps to nothing goes into
``properties`` so nothing is lost.

Column names match case-insensitively and ignoring punctuation, so ``anonymousId``,
``anonymous_id``, ``$device_id`` (as ``device_id``) and a nested ``context.page.url``
(as ``context_page_url``) all match. Nested objects of JSONL and Parquet exports are
flattened to dotted names; keys under ``properties.`` also match by their own name
(Mixpanel puts ``time`` and ``distinct_id`` there).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from journeymap.contract import SOURCES, Column, Source
from journeymap.load import (
    LANDING_FORMATS,
    TextRelation,
    materialize,
    present_sql,
    read_as_text,
    timestamp_sql,
)
from journeymap.settings import get_settings
from journeymap.warehouse import configure_session, quote_identifier, quote_literal

BYO_SOURCES = ("web_events", "app_events")
OUTPUT_PREFIX = "byo_"
PROPERTIES_PREFIX = "properties."
MAX_LISTED_PROBLEMS = 1000  # the report lists this many problems and counts them all
EXPORT_TABLE = "_journeymap_export"  # temp table holding the export as text


@dataclass(frozen=True)
class Alias:
    name: str
    unless_field: str | None = None  # skip this alias when that field has a column


def _aliases(*names: str) -> tuple[Alias, ...]:
    return tuple(Alias(name) for name in names)


# Export column names per contract column, best first. Fields resolve in this order and
# each export column is used once: event_name before event_type (Amplitude's event_type
# is the event name), user_id before anonymous_id (distinct_id is anonymous only when
# there is no user id column).
FIELD_ALIASES: dict[str, tuple[Alias, ...]] = {
    "event_name": _aliases("event_name", "event", "event_type", "name", "action"),
    "event_type": _aliases("event_type", "type"),
    "user_id": _aliases("user_id", "userId", "customer_id"),
    "anonymous_id": (
        *_aliases("anonymous_id", "anonymousId", "user_pseudo_id"),
        Alias("distinct_id", unless_field="user_id"),
        *_aliases("device_id", "cookie_id"),
    ),
    "event_id": _aliases(
        "event_id", "messageId", "message_id", "$insert_id", "insert_id", "uuid", "id"
    ),
    "occurred_at": _aliases(
        "occurred_at", "timestamp", "event_timestamp", "event_time", "time", "ts", "created_at"
    ),
    "page_url": _aliases("page_url", "page_location", "current_url", "context.page.url", "url"),
    "referrer": _aliases("referrer", "page_referrer", "context.page.referrer", "referring_url"),
    "utm_source": _aliases("utm_source", "traffic_source.source", "context.campaign.source"),
    "utm_medium": _aliases("utm_medium", "traffic_source.medium", "context.campaign.medium"),
    "utm_campaign": _aliases("utm_campaign", "traffic_source.name", "context.campaign.name"),
    "device_type": _aliases(
        "device_type", "device.category", "device_category", "context.device.type"
    ),
    "properties": _aliases("properties", "event_properties"),
}
ID_FIELDS = ("anonymous_id", "user_id")
REQUIRED_FIELDS = ("event_name", "occurred_at")

# Epoch numbers: the unit is decided by magnitude (GA4's event_timestamp is microseconds).
# Below 1e11 seconds (until year 5138), below 1e14 ms, below 1e17 us, else ns.
EPOCH_UNITS_TO_MICROS = ((1e11, 1e6), (1e14, 1e3), (1e17, 1.0))  # (below, factor)
NANOS_TO_MICROS = 1e-3
ISO_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


class ByoImportError(ValueError):
    """An export that cannot be imported (or, with strict=True, a bad row)."""


@dataclass(frozen=True)
class ByoProblem:
    file: str
    row: int
    column: str
    message: str

    def __str__(self) -> str:
        return f"{self.file} row {self.row}, column {self.column!r}: {self.message}"


@dataclass
class ImportReport:
    export_path: str
    source: str
    output_path: str
    rows: int
    mapping: dict[str, str]  # contract column -> export column
    properties_columns: list[str]  # export columns kept in properties
    generated_event_ids: bool
    problems: list[ByoProblem] = field(default_factory=list)  # the first MAX_LISTED_PROBLEMS
    problem_count: int = 0

    def summary(self, shown_problems: int = 20) -> str:
        lines = [
            f"imported {self.export_path} -> {self.output_path}: {self.rows:,} rows",
            "columns: " + ", ".join(f"{c} <- {e}" for c, e in self.mapping.items()),
        ]
        if self.properties_columns:
            lines.append("kept in properties: " + ", ".join(self.properties_columns))
        if self.generated_event_ids:
            lines.append("no event id column: ids made from the file name and row number")
        if self.problem_count:
            lines.append(
                f"{self.problem_count:,} row problems (rows kept as they are; the loader "
                "quarantines what the contract rejects):"
            )
            lines.extend(f"  {problem}" for problem in self.problems[:shown_problems])
            if self.problem_count > shown_problems:
                lines.append(f"  ... and {self.problem_count - shown_problems:,} more")
        return "\n".join(lines)


def normalise_name(name: str) -> str:
    """Lower case without punctuation: ``anonymousId`` == ``anonymous_id`` == ``anonymous.id``."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _candidates(columns: tuple[str, ...]) -> list[tuple[str, str]]:
    """(normalised name, export column), top-level names before ``properties.`` keys."""
    own = [(normalise_name(c), c) for c in columns]
    nested = [
        (normalise_name(c.removeprefix(PROPERTIES_PREFIX)), c)
        for c in columns
        if c.startswith(PROPERTIES_PREFIX)
    ]
    return own + nested


def map_columns(columns: tuple[str, ...]) -> dict[str, str]:
    """Contract column -> export column, following FIELD_ALIASES."""
    candidates = _candidates(columns)
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for field_name, aliases in FIELD_ALIASES.items():
        for alias in aliases:
            if alias.unless_field in mapping:
                continue
            match = next(
                (c for n, c in candidates if n == normalise_name(alias.name) and c not in used),
                None,
            )
            if match is not None:
                mapping[field_name] = match
                used.add(match)
                break
    return mapping


def _aliases_tried(*fields: str) -> str:
    return ", ".join(alias.name for f in fields for alias in FIELD_ALIASES[f])


def _check_required_columns(path: Path, columns: tuple[str, ...], mapping: dict[str, str]) -> None:
    found = f"the file has columns: {', '.join(columns) or '(none)'}"
    if not any(f in mapping for f in ID_FIELDS):
        raise ByoImportError(
            f"{path.name}: no column for anonymous_id or user_id (an id is required); "
            f"tried {_aliases_tried(*ID_FIELDS)}; {found}"
        )
    for field_name in REQUIRED_FIELDS:
        if field_name not in mapping:
            raise ByoImportError(
                f"{path.name}: no column for {field_name}; "
                f"tried {_aliases_tried(field_name)}; {found}"
            )


# ---------------------------------------------------------------- SQL pieces


def _text(relation: TextRelation, mapping: dict[str, str], field_name: str) -> str:
    return relation.alias(mapping[field_name]) if field_name in mapping else "null::varchar"


def _timestamp_sql(text: str) -> str:
    """UTC timestamp from an epoch number or ISO text (as the loader parses it); else null."""
    value = f"try_cast(trim({text}) as double)"
    to_micros = " ".join(
        f"when abs({value}) < {limit:g} then {factor:g}" for limit, factor in EPOCH_UNITS_TO_MICROS
    )
    factor = f"(case {to_micros} else {NANOS_TO_MICROS:g} end)"
    epoch = f"make_timestamp(cast(round({value} * {factor}) as bigint))"
    return (
        f"(case when regexp_full_match(trim({text}), '-?[0-9]+(\\.[0-9]+)?') then {epoch} "
        f"else {timestamp_sql(text)} end)"
    )


def _json_value(text: str) -> str:
    """A text value as JSON: objects and arrays stay nested, anything else is a string."""
    return (
        f"(case when json_valid({text}) and regexp_matches(ltrim({text}), '^[{{\\[]') "
        f"then {text}::json else to_json({text}) end)"
    )


def _property_key(column: str) -> str:
    return column.removeprefix(PROPERTIES_PREFIX)


def _object_or_wrapped(text: str) -> str:
    """The export's own properties: a JSON object as is, other text under "properties"."""
    is_object = f"json_valid({text}) and starts_with(ltrim({text}), '{{')"
    return (
        f"(case when {is_object} then {text}::json "
        f"when {present_sql(text)} then json_object('properties', {text}) else '{{}}'::json end)"
    )


def _rejected_value(column: Column, text: str, export_column: str) -> str:
    """{export column: value} when the value is outside the column's allowed set, else {}."""
    assert column.allowed is not None
    key = quote_literal(_property_key(export_column))
    return (
        f"(case when {present_sql(text)} and {_allowed_sql(column.allowed, text)} is null "
        f"then json_object({key}, {text}) else '{{}}'::json end)"
    )


def _properties_sql(source: Source, relation: TextRelation, mapping: dict[str, str]) -> str:
    """The export's properties object merged with every unmapped column (nulls dropped)
    and with the original of an allowed-set value the contract would reject."""
    parts = []
    if "properties" in mapping:
        parts.append(_object_or_wrapped(_text(relation, mapping, "properties")))
    leftovers = [c for c in relation.columns if c not in mapping.values()]
    if leftovers:
        pairs = [
            f"{quote_literal(_property_key(c))}, {_json_value(relation.alias(c))}"
            for c in leftovers
        ]
        parts.append(f"json_object({', '.join(pairs)})")
    parts.extend(
        _rejected_value(c, _text(relation, mapping, c.name), mapping[c.name])
        for c in source.columns
        if c.allowed is not None and c.name in mapping
    )
    if not parts:
        return "null::varchar"
    merged = parts[0] if len(parts) == 1 else f"json_merge_patch({', '.join(parts)})"
    return f"nullif({merged}::varchar, '{{}}')"


def _allowed_sql(allowed: tuple[str, ...], text: str) -> str:
    """The value lower-cased when in the allowed set, else null (the loader would reject it)."""
    values = ", ".join(quote_literal(v) for v in allowed)
    return f"(case when lower(trim({text})) in ({values}) then lower(trim({text})) end)"


def _output_columns(
    source: Source, relation: TextRelation, mapping: dict[str, str], file_name: str
) -> dict[str, str]:
    """Contract column -> SQL for the normalised landing file."""
    columns: dict[str, str] = {}
    for column in source.columns:
        text = _text(relation, mapping, column.name)
        if column.name == "event_id":
            generated = f"'byo-' || left(md5({quote_literal(file_name)} || ':' || _row_number), 24)"
            columns[column.name] = (
                f"(case when {present_sql(text)} then {text} else {generated} end)"
            )
        elif column.name == "occurred_at":
            parsed = _timestamp_sql(text)
            # Unparseable values stay as they are so the loader quarantines them.
            columns[column.name] = f"coalesce(strftime({parsed}, '{ISO_FORMAT}'), {text})"
        elif column.name == "properties":
            columns[column.name] = _properties_sql(source, relation, mapping)
        elif column.allowed is not None:
            columns[column.name] = _allowed_sql(column.allowed, text)
        else:
            columns[column.name] = text
    return columns


def _problems_sql(relation: TextRelation, mapping: dict[str, str]) -> str:
    """(row, column, message) for every row the loader would reject or cannot identify."""
    ids = [_text(relation, mapping, f) for f in ID_FIELDS]
    id_column = "/".join(mapping[f] for f in ID_FIELDS if f in mapping)
    time_text = _text(relation, mapping, "occurred_at")
    name_text = _text(relation, mapping, "event_name")
    checks = [
        (
            f"not ({' or '.join(present_sql(t) for t in ids)})",
            id_column,
            "'no anonymous id or user id'",
        ),
        (f"not {present_sql(time_text)}", mapping["occurred_at"], "'timestamp is empty'"),
        (
            f"{present_sql(time_text)} and {_timestamp_sql(time_text)} is null",
            mapping["occurred_at"],
            f"'''' || {time_text} || ''' is not a timestamp'",
        ),
        (f"not {present_sql(name_text)}", mapping["event_name"], "'event name is empty'"),
    ]
    selects = [
        f"select _row_number as row, {i} as check_order, {quote_literal(column)} as column_name, "
        f"{message} as message from ({relation.sql}) where {condition}"
        for i, (condition, column, message) in enumerate(checks)
    ]
    return " union all ".join(selects)


# ---------------------------------------------------------------- import


def _numbered(connection: duckdb.DuckDBPyConnection, relation: TextRelation) -> TextRelation:
    """The export stored in a temp table, with its 1-based ``_row_number``."""
    row_number = materialize(connection, EXPORT_TABLE, relation.sql)
    return TextRelation(
        f"select {row_number} as _row_number, * from {EXPORT_TABLE}", relation.columns
    )


def output_path_for(export_path: Path, source: str, landing_dir: Path) -> Path:
    name = export_path.name
    for suffix in sorted(LANDING_FORMATS, key=len, reverse=True):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
            break
    return landing_dir / source / f"{OUTPUT_PREFIX}{name}.csv"


def _find_problems(
    connection: duckdb.DuckDBPyConnection, sql: str, file_name: str
) -> tuple[list[ByoProblem], int]:
    total = connection.execute(f"select count(*) from ({sql})").fetchone()
    rows = connection.execute(
        f"select row, column_name, message from ({sql}) order by row, check_order "
        f"limit {MAX_LISTED_PROBLEMS}"
    ).fetchall()
    problems = [ByoProblem(file_name, int(row), column, message) for row, column, message in rows]
    return problems, int(total[0]) if total else 0


def _write_csv(
    connection: duckdb.DuckDBPyConnection,
    relation: TextRelation,
    columns: dict[str, str],
    output: Path,
) -> None:
    """Write the landing file atomically (the loader never sees half a file)."""
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(f".{output.name}.partial")
    selects = ", ".join(f"{sql} as {quote_identifier(name)}" for name, sql in columns.items())
    connection.execute(
        f"copy (select {selects} from ({relation.sql}) order by _row_number) "
        f"to {quote_literal(str(partial))} (format csv, header true)"
    )
    os.replace(partial, output)


def import_events(
    export_path: str | Path,
    source: str = "web_events",
    landing_dir: str | Path | None = None,
    strict: bool = False,
) -> ImportReport:
    """Convert an analytics export (CSV, JSONL or Parquet) into a landing file of ``source``.

    Rows keep their order, so row N of the export is row N of the landing file. Row
    problems (no id, bad or empty timestamp, empty event name) raise with ``strict``;
    otherwise the raw value is kept (the loader quarantines the row) and the report lists
    them."""
    if source not in BYO_SOURCES:
        raise ByoImportError(
            f"bring-your-own events go to {' or '.join(BYO_SOURCES)}, not {source!r}"
        )
    path = Path(export_path)
    if not path.is_file():
        raise ByoImportError(f"{path}: no such file")
    landing = Path(landing_dir) if landing_dir is not None else get_settings().landing_dir
    contract = SOURCES[source]
    connection = duckdb.connect()
    try:
        configure_session(connection)
        relation = _numbered(connection, read_as_text(connection, path, flatten=True))
        mapping = map_columns(relation.columns)
        _check_required_columns(path, relation.columns, mapping)
        problems, problem_count = _find_problems(
            connection, _problems_sql(relation, mapping), path.name
        )
        if strict and problems:
            raise ByoImportError(str(problems[0]))
        output = output_path_for(path, source, landing)
        _write_csv(
            connection, relation, _output_columns(contract, relation, mapping, path.name), output
        )
        rows = connection.execute(f"select count(*) from {EXPORT_TABLE}").fetchone()
    except duckdb.Error as error:
        raise ByoImportError(f"{path.name} could not be read: {error}") from error
    finally:
        connection.close()
    return ImportReport(
        export_path=str(path),
        source=source,
        output_path=str(output),
        rows=int(rows[0]) if rows else 0,
        mapping=mapping,
        properties_columns=[c for c in relation.columns if c not in mapping.values()],
        generated_event_ids="event_id" not in mapping,
        problems=problems,
        problem_count=problem_count,
    )
