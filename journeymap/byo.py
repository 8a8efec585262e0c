"""Bring your own events: turn an analytics export into a contract landing file.

Most users start from an export (GA4's BigQuery export flattened, Segment, Mixpanel,
Amplitude, Snowplow enriched events, a process-mining log, or a plain CSV). ``import_events``
recognises their column names (or takes a preset and explicit column choices), converts
timestamps to UTC ISO-8601 and writes ``<landing>/<source>/byo_<stem>.csv``, which the
loader then loads like any other landing file. Only an id (anonymous or user), an event
name and a timestamp are needed; every column that maps to nothing goes into
``properties`` so nothing is lost.

Event ids: an export's own id column when it has one; otherwise an id made from the event's
content (ids, name, timestamp, properties and the order column's value), so the same export
delivered again under another name is the same file to the loader (``duplicate_file``) and the
same events to staging. Two rows identical in all of these are one event.

Order: ``event_order`` is the row's place in the export (1, 2, ...) or, with an order column,
its rank by that column (numbers numerically, then text); events at the same instant keep
that order in sessions, paths and stage transitions.

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

from journeymap.contract import SOURCES, Column, Source, event_source
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
PREVIEW_ROWS = 5  # rows a dry run shows


@dataclass(frozen=True)
class Alias:
    name: str
    unless_field: str | None = None  # skip this alias when that field has a column


def _aliases(*names: str) -> tuple[Alias, ...]:
    return tuple(Alias(name) for name in names)


# Export column names per contract column, best first. Fields resolve in this order and
# each export column is used once: event_name before event_type (Amplitude's event_type
# is the event name), user_id before anonymous_id (distinct_id is anonymous only when
# there is no user id column). Process-mining logs (case, activity, timestamp; XES's
# case:concept:name, concept:name, time:timestamp): the case is the journey's owner.
FIELD_ALIASES: dict[str, tuple[Alias, ...]] = {
    "event_name": _aliases(
        "event_name", "event", "event_type", "name", "action", "activity", "concept:name"
    ),
    "event_type": _aliases("event_type", "type"),
    "user_id": _aliases("user_id", "userId", "customer_id", "case:concept:name", "case_id", "case"),
    "anonymous_id": (
        *_aliases("anonymous_id", "anonymousId", "user_pseudo_id"),
        Alias("distinct_id", unless_field="user_id"),
        *_aliases("device_id", "cookie_id"),
    ),
    "event_id": _aliases(
        "event_id", "messageId", "message_id", "$insert_id", "insert_id", "uuid", "id"
    ),
    "occurred_at": _aliases(
        "occurred_at",
        "timestamp",
        "event_timestamp",
        "event_time",
        "time",
        "ts",
        "created_at",
        "time:timestamp",
        "complete_timestamp",
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
    preset: str | None = None
    order_column: str | None = None  # the column ranking events_order; None: file order
    dropped_columns: list[str] = field(default_factory=list)  # not kept (--property-columns)
    preview: list[dict[str, str | None]] = field(default_factory=list)  # first rows as landed
    dry_run: bool = False

    def summary(self, shown_problems: int = 20) -> str:
        verb = "would import" if self.dry_run else "imported"
        lines = [
            f"{verb} {self.export_path} -> {self.output_path}: {self.rows:,} rows"
            + (f" (preset {self.preset})" if self.preset else ""),
            "columns: " + ", ".join(f"{c} <- {e}" for c, e in self.mapping.items()),
            "order of events at the same instant: "
            + (f"by column {self.order_column}" if self.order_column else "file order"),
        ]
        if self.properties_columns:
            lines.append("kept in properties: " + ", ".join(self.properties_columns))
        if self.dropped_columns:
            lines.append("left out: " + ", ".join(self.dropped_columns))
        if self.generated_event_ids:
            lines.append(
                "no event id column: ids made from each event's content "
                "(ids, name, timestamp, properties)"
            )
        if self.problem_count:
            lines.append(
                f"{self.problem_count:,} row problems (rows kept as they are; the loader "
                "quarantines what the contract rejects):"
            )
            lines.extend(f"  {problem}" for problem in self.problems[:shown_problems])
            if self.problem_count > shown_problems:
                lines.append(f"  ... and {self.problem_count - shown_problems:,} more")
        if self.dry_run:
            lines.append(
                f"dry run: nothing written; the first {len(self.preview)} rows as they would land:"
            )
            lines.append(preview_table(self.preview))
        return "\n".join(lines)


def preview_table(rows: list[dict[str, str | None]], width: int = 32) -> str:
    """Rows as a plain text table, only the columns that hold a value, cells cut to ``width``."""
    if not rows:
        return "  (no rows)"
    names = [name for name in rows[0] if any(row[name] is not None for row in rows)]

    def cell(value: str | None) -> str:
        text = "" if value is None else value
        return text if len(text) <= width else text[: width - 1] + "…"

    widths = {n: max(len(n), *(len(cell(row[n])) for row in rows)) for n in names}
    lines = ["  " + "  ".join(n.ljust(widths[n]) for n in names)]
    lines += ["  " + "  ".join(cell(row[n]).ljust(widths[n]) for n in names) for row in rows]
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


ORDER_FIELD = "event_order"  # the mapping's key for the order column (ranked, not copied)


@dataclass(frozen=True)
class Preset:
    """The column names one tool's export uses, best first, per contract field; fields it
    does not name fall back to the generic aliases."""

    description: str
    aliases: dict[str, tuple[str, ...]]
    order: tuple[str, ...] = ()  # a column that orders events at the same instant


PRESETS: dict[str, Preset] = {
    "ga4": Preset(
        "Google Analytics 4's BigQuery export (events_*), as Parquet, JSONL or flattened CSV",
        {
            "event_name": ("event_name",),
            "occurred_at": ("event_timestamp",),
            "anonymous_id": ("user_pseudo_id",),
            "user_id": ("user_id",),
            "device_type": ("device.category", "device_category"),
            "utm_source": ("traffic_source.source", "collected_traffic_source.manual_source"),
            "utm_medium": ("traffic_source.medium", "collected_traffic_source.manual_medium"),
            "utm_campaign": (
                "traffic_source.name",
                "collected_traffic_source.manual_campaign_name",
            ),
            "page_url": ("page_location",),
            "referrer": ("page_referrer",),
        },
        order=("batch_event_index",),
    ),
    "segment": Preset(
        "Segment: a track/page export (messageId, anonymousId, userId, event, timestamp) or a "
        "warehouse tracks table (id, anonymous_id, user_id, event, timestamp)",
        {
            "event_id": ("messageId", "message_id", "id"),
            "anonymous_id": ("anonymousId", "anonymous_id"),
            "user_id": ("userId", "user_id"),
            "event_name": ("event", "event_text", "name"),
            "event_type": ("type",),
            "occurred_at": ("timestamp", "original_timestamp", "originalTimestamp"),
            "page_url": ("context.page.url", "context_page_url"),
            "referrer": ("context.page.referrer", "context_page_referrer"),
            "utm_source": ("context.campaign.source", "context_campaign_source"),
            "utm_medium": ("context.campaign.medium", "context_campaign_medium"),
            "utm_campaign": ("context.campaign.name", "context_campaign_name"),
        },
    ),
    "mixpanel": Preset(
        "Mixpanel's raw export (JSONL: event, properties.time, properties.distinct_id, ...)",
        {
            "event_name": ("event",),
            "occurred_at": ("properties.time", "time"),
            "event_id": ("properties.$insert_id", "$insert_id"),
            "user_id": ("properties.$user_id", "$user_id"),
            "anonymous_id": (
                "properties.$device_id",
                "$device_id",
                "properties.distinct_id",
                "distinct_id",
            ),
            "page_url": ("properties.$current_url", "$current_url"),
            "referrer": ("properties.$referrer", "$referrer"),
            "utm_source": ("properties.utm_source", "utm_source"),
            "utm_medium": ("properties.utm_medium", "utm_medium"),
            "utm_campaign": ("properties.utm_campaign", "utm_campaign"),
        },
    ),
    "amplitude": Preset(
        "Amplitude's export API (JSON lines: event_type, user_id, device_id, event_time, uuid)",
        {
            "event_name": ("event_type",),
            "occurred_at": ("event_time", "client_event_time"),
            "event_id": ("uuid", "$insert_id", "insert_id"),
            "user_id": ("user_id",),
            "anonymous_id": ("device_id", "amplitude_id"),
            "properties": ("event_properties",),
        },
        # Amplitude's event_id counts a device's events: their order.
        order=("event_id",),
    ),
    "snowplow": Preset(
        "Snowplow enriched events (atomic.events: event_id, domain_userid, derived_tstamp, ...)",
        {
            "event_id": ("event_id",),
            "anonymous_id": ("domain_userid", "network_userid"),
            "user_id": ("user_id",),
            "event_name": ("event_name", "se_action", "event"),
            "occurred_at": ("derived_tstamp", "collector_tstamp", "dvce_created_tstamp"),
            "page_url": ("page_url",),
            "referrer": ("page_referrer",),
            "utm_source": ("mkt_source",),
            "utm_medium": ("mkt_medium",),
            "utm_campaign": ("mkt_campaign",),
        },
    ),
    "process-mining": Preset(
        "a process-mining event log: case, activity, timestamp (Disco, Celonis, ProM CSV) or "
        "XES attributes (case:concept:name, concept:name, time:timestamp); the case is the "
        "journey's owner",
        {
            "user_id": ("case:concept:name", "case_id", "case"),
            "event_name": ("concept:name", "activity", "activity_name"),
            "occurred_at": (
                "time:timestamp",
                "timestamp",
                "complete_timestamp",
                "end_timestamp",
                "start_timestamp",
            ),
            "event_id": ("event_id", "id"),
        },
    ),
}


@dataclass(frozen=True)
class ColumnChoices:
    """Export columns the user names (``--event-column`` ...); they win over any preset or
    alias. ``properties``: only these columns go into properties (default: every column
    that maps to nothing)."""

    event_id: str | None = None
    user_id: str | None = None
    anonymous_id: str | None = None
    event_name: str | None = None
    occurred_at: str | None = None
    event_order: str | None = None
    properties: tuple[str, ...] | None = None
    timestamp_format: str | None = None  # strptime format of the timestamps (default: ISO/epoch)

    def chosen(self) -> dict[str, str]:
        fields = ("event_id", "user_id", "anonymous_id", "event_name", "occurred_at")
        named = {f: getattr(self, f) for f in (*fields, ORDER_FIELD)}
        return {f: column for f, column in named.items() if column}


def _find_column(columns: tuple[str, ...], name: str) -> str | None:
    """The export column called ``name`` (exactly, else case and punctuation ignored)."""
    if name in columns:
        return name
    return next(
        (c for n, c in _candidates(columns) if n == normalise_name(name)),
        None,
    )


def _resolve_choices(columns: tuple[str, ...], choices: ColumnChoices) -> dict[str, str]:
    mapping = {}
    for field_name, name in choices.chosen().items():
        column = _find_column(columns, name)
        if column is None:
            raise ByoImportError(
                f"no column {name!r} for {field_name}; the file has columns: {', '.join(columns)}"
            )
        mapping[field_name] = column
    for name in choices.properties or ():
        if _find_column(columns, name) is None:
            raise ByoImportError(
                f"no column {name!r} to keep in properties; "
                f"the file has columns: {', '.join(columns)}"
            )
    return mapping


def _preset(name: str | None) -> Preset | None:
    if name is None:
        return None
    if name not in PRESETS:
        raise ByoImportError(f"unknown preset {name!r}; presets: {', '.join(PRESETS)}")
    return PRESETS[name]


def _field_aliases(field_name: str, preset: Preset | None) -> tuple[Alias, ...]:
    if preset is not None and field_name in preset.aliases:
        return _aliases(*preset.aliases[field_name])
    return FIELD_ALIASES[field_name]


def map_columns(
    columns: tuple[str, ...],
    preset: str | None = None,
    choices: ColumnChoices | None = None,
) -> dict[str, str]:
    """Contract column -> export column: the user's choices, then the preset's names, then
    FIELD_ALIASES. ``event_order`` maps the order column when there is one."""
    candidates = _candidates(columns)
    chosen_preset = _preset(preset)
    mapping = _resolve_choices(columns, choices or ColumnChoices())
    used: set[str] = set(mapping.values())
    for field_name in FIELD_ALIASES:
        if field_name in mapping:
            continue
        for alias in _field_aliases(field_name, chosen_preset):
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
    if ORDER_FIELD not in mapping and chosen_preset is not None:
        order = next(
            (c for name in chosen_preset.order if (c := _find_column(columns, name))), None
        )
        if order is not None:
            mapping[ORDER_FIELD] = order
    return mapping


def _aliases_tried(*fields: str) -> str:
    return ", ".join(alias.name for f in fields for alias in FIELD_ALIASES[f])


def _check_required_columns(path: Path, columns: tuple[str, ...], mapping: dict[str, str]) -> None:
    found = f"the file has columns: {', '.join(columns) or '(none)'}"
    hint = "; name it with --user-column/--anonymous-column or pick a --preset"
    if not any(f in mapping for f in ID_FIELDS):
        raise ByoImportError(
            f"{path.name}: no column for anonymous_id or user_id (an id is required); "
            f"tried {_aliases_tried(*ID_FIELDS)}; {found}{hint}"
        )
    for field_name in REQUIRED_FIELDS:
        if field_name not in mapping:
            flag = "--event-column" if field_name == "event_name" else "--timestamp-column"
            raise ByoImportError(
                f"{path.name}: no column for {field_name}; "
                f"tried {_aliases_tried(field_name)}; {found}; name it with {flag}"
            )


# ---------------------------------------------------------------- SQL pieces


def _text(relation: TextRelation, mapping: dict[str, str], field_name: str) -> str:
    return relation.alias(mapping[field_name]) if field_name in mapping else "null::varchar"


def _timestamp_sql(text: str, timestamp_format: str | None = None) -> str:
    """UTC timestamp from an epoch number or ISO text (as the loader parses it), or - with
    ``timestamp_format`` (strptime, e.g. ``%d.%m.%Y %H:%M``; UTC unless it holds ``%z``) - text
    in that format; else null."""
    if timestamp_format:
        parsed = f"try_strptime(trim({text}), {quote_literal(timestamp_format)})"
        return f"timezone('UTC', {parsed}::timestamptz)"
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


def property_columns(
    columns: tuple[str, ...], mapping: dict[str, str], keep: tuple[str, ...] | None = None
) -> list[str]:
    """The export columns that go into properties: every column that maps to nothing, or
    only those of ``keep`` (the order column stays too: it tells the original order)."""
    unmapped = [c for c in columns if c not in mapping.values() or c == mapping.get(ORDER_FIELD)]
    if keep is None:
        return unmapped
    kept = {_find_column(columns, name) for name in keep}
    return [c for c in unmapped if c in kept]


def _properties_sql(
    source: Source, relation: TextRelation, mapping: dict[str, str], leftovers: list[str]
) -> str:
    """The export's properties object merged with the ``leftovers`` columns (nulls dropped)
    and with the original of an allowed-set value the contract would reject."""
    parts = []
    if "properties" in mapping:
        parts.append(_object_or_wrapped(_text(relation, mapping, "properties")))
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


def _order_sql(relation: TextRelation, mapping: dict[str, str]) -> str:
    """The row's place in the export: its row number, or its rank by the order column
    (numbers numerically, then text; ties and blanks in file order)."""
    if ORDER_FIELD not in mapping:
        return "_row_number"
    value = _text(relation, mapping, ORDER_FIELD)
    return (
        f"row_number() over (order by try_cast(trim({value}) as double) nulls last, "
        f"{value} nulls last, _row_number)"
    )


def _content_id_sql(
    relation: TextRelation, mapping: dict[str, str], occurred_at: str, properties: str
) -> str:
    """An event id made from the event's content: its ids, name, timestamp (as it lands),
    properties and order value. The same event exported twice gets the same id."""
    parts = [
        *(_text(relation, mapping, f) for f in (*ID_FIELDS, "event_name")),
        occurred_at,
        properties,
        _text(relation, mapping, ORDER_FIELD) if ORDER_FIELD in mapping else "null",
    ]
    content = ", ".join(f"coalesce({part}, '')" for part in parts)
    return f"'byo-' || left(sha256(concat_ws(chr(31), {content})), 32)"


def _output_columns(
    source: Source,
    relation: TextRelation,
    mapping: dict[str, str],
    leftovers: list[str],
    timestamp_format: str | None = None,
) -> dict[str, str]:
    """Contract column -> SQL for the normalised landing file."""
    columns: dict[str, str] = {}
    text = _text(relation, mapping, "occurred_at")
    parsed = _timestamp_sql(text, timestamp_format)
    # Unparseable values stay as they are so the loader quarantines them.
    occurred_at = f"coalesce(strftime({parsed}, '{ISO_FORMAT}'), {text})"
    properties = _properties_sql(source, relation, mapping, leftovers)
    for column in source.columns:
        text = _text(relation, mapping, column.name)
        if column.name == "event_id":
            generated = _content_id_sql(relation, mapping, occurred_at, properties)
            columns[column.name] = (
                f"(case when {present_sql(text)} then {text} else {generated} end)"
            )
        elif column.name == "occurred_at":
            columns[column.name] = occurred_at
        elif column.name == "properties":
            columns[column.name] = properties
        elif column.name == ORDER_FIELD:
            columns[column.name] = _order_sql(relation, mapping)
        elif column.allowed is not None:
            columns[column.name] = _allowed_sql(column.allowed, text)
        else:
            columns[column.name] = text
    return columns


def _problems_sql(
    relation: TextRelation, mapping: dict[str, str], timestamp_format: str | None = None
) -> str:
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
            f"{present_sql(time_text)} and {_timestamp_sql(time_text, timestamp_format)} is null",
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


def _select_sql(relation: TextRelation, columns: dict[str, str]) -> str:
    selects = ", ".join(f"{sql} as {quote_identifier(name)}" for name, sql in columns.items())
    return f"select {selects} from ({relation.sql}) order by _row_number"


def _write_csv(connection: duckdb.DuckDBPyConnection, select_sql: str, output: Path) -> None:
    """Write the landing file atomically (the loader never sees half a file)."""
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(f".{output.name}.partial")
    connection.execute(
        f"copy ({select_sql}) to {quote_literal(str(partial))} (format csv, header true)"
    )
    os.replace(partial, output)


def _preview(
    connection: duckdb.DuckDBPyConnection, select_sql: str, rows: int
) -> list[dict[str, str | None]]:
    cursor = connection.execute(f"select * from ({select_sql}) limit {int(rows)}")
    names = [column[0] for column in cursor.description]
    return [
        {
            name: None if value is None else str(value)
            for name, value in zip(names, row, strict=True)
        }
        for row in cursor.fetchall()
    ]


def import_events(
    export_path: str | Path,
    source: str = "web_events",
    landing_dir: str | Path | None = None,
    strict: bool = False,
    preset: str | None = None,
    columns: ColumnChoices | None = None,
    dry_run: bool = False,
    event_sources: tuple[str, ...] = BYO_SOURCES,
    preview_rows: int = PREVIEW_ROWS,
) -> ImportReport:
    """Convert an analytics export (CSV, JSONL or Parquet) into a landing file of ``source``
    (web_events, app_events or an event source of the project: ``event_sources``).

    Columns map by the user's ``columns`` choices, then the ``preset``'s names, then the
    generic aliases. Rows keep their order, so row N of the export is row N of the landing
    file. Row problems (no id, bad or empty timestamp, empty event name) raise with
    ``strict``; otherwise the raw value is kept (the loader quarantines the row) and the
    report lists them. ``dry_run`` writes nothing: the report holds the mapping and the
    first rows as they would land."""
    if source not in event_sources:
        raise ByoImportError(
            f"imported events go to an event source ({', '.join(event_sources)}), not "
            f"{source!r}; declare your own under `sources:` in journeymap.yml"
        )
    path = Path(export_path)
    if not path.is_file():
        raise ByoImportError(f"{path}: no such file")
    landing = Path(landing_dir) if landing_dir is not None else get_settings().landing_dir
    contract = event_source(source) if source not in SOURCES else SOURCES[source]
    keep = columns.properties if columns else None
    fmt = columns.timestamp_format if columns else None
    connection = duckdb.connect()
    try:
        configure_session(connection)
        relation = _numbered(connection, read_as_text(connection, path, flatten=True))
        mapping = map_columns(relation.columns, preset, columns)
        _check_required_columns(path, relation.columns, mapping)
        problems, problem_count = _find_problems(
            connection, _problems_sql(relation, mapping, fmt), path.name
        )
        if strict and problems:
            raise ByoImportError(str(problems[0]))
        leftovers = property_columns(relation.columns, mapping, keep)
        select_sql = _select_sql(
            relation, _output_columns(contract, relation, mapping, leftovers, fmt)
        )
        output = output_path_for(path, source, landing)
        preview = _preview(connection, select_sql, preview_rows)
        if not dry_run:
            _write_csv(connection, select_sql, output)
        rows = connection.execute(f"select count(*) from {EXPORT_TABLE}").fetchone()
    except duckdb.Error as error:
        raise ByoImportError(f"{path.name} could not be read: {error}") from error
    finally:
        connection.close()
    mapped = set(mapping.values())
    return ImportReport(
        export_path=str(path),
        source=source,
        output_path=str(output),
        rows=int(rows[0]) if rows else 0,
        mapping={f: c for f, c in mapping.items() if f != ORDER_FIELD},
        properties_columns=leftovers,
        generated_event_ids="event_id" not in mapping,
        problems=problems,
        problem_count=problem_count,
        preset=preset,
        order_column=mapping.get(ORDER_FIELD),
        dropped_columns=[c for c in relation.columns if c not in mapped and c not in leftovers],
        preview=preview,
        dry_run=dry_run,
    )
