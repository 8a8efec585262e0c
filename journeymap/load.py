"""Load landing files into the warehouse's ``raw`` schema, idempotently.

Every file becomes one load: its good rows go typed to ``raw.<source>``, its bad rows to
``raw.quarantine`` with a reason, and one row to ``raw.load_ledger``, all in one transaction.
Parsing and validation run as DuckDB SQL generated from the contract (``contract.py``), so
a file of millions of rows is read once, in parallel, without Python touching rows.

One code path for the rules on every warehouse: on DuckDB the file is checked inside the
warehouse and its rows are copied with ``insert ... select``; on Snowflake it is checked by
the same SQL in an in-memory DuckDB, and its raw and quarantine rows are written to Parquet,
staged and loaded with ``COPY INTO`` in the transaction that also writes the ledger row
(journeymap.snowflake).

Row numbers are 1-based in file order (header excluded); records the file's format cannot
parse (``MALFORMED_REASON``) are quarantined whole and numbered after the parsed rows. The
parsed file is stored in a temp table and numbered by its ``rowid``: DuckDB keeps the
reader's order on insert (``preserve_insertion_order``), and unlike ``row_number() over ()``
this keeps the read parallel. Timestamps parse as ``timestamptz`` in a UTC session (so
``Z``, ``+02:00`` and no offset all work) and are stored as UTC without a zone.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import hashlib
import json
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

import duckdb

from journeymap.contract import (
    ERASED_REASON,
    FUTURE_TOLERANCE_HOURS,
    LOAD_COLUMNS,
    MALFORMED_REASON,
    QUARANTINE_REASONS,
    SOURCES,
    Column,
    Source,
)
from journeymap.warehouse import (
    DuckDBWarehouse,
    Warehouse,
    configure_session,
    quote_identifier,
    quote_literal,
    table_exists,
)

RAW_SCHEMA = "raw"
QUARANTINE_TABLE = "quarantine"
LEDGER_TABLE = "load_ledger"
EXTRA_COLUMN = "_extra"

# File name endings the loader reads, and the reader each one needs.
LANDING_FORMATS: dict[str, str] = {
    ".csv": "csv",
    ".csv.gz": "csv",
    ".jsonl": "json",
    ".jsonl.gz": "json",
    ".ndjson": "json",
    # Amplitude's and Mixpanel's exports are JSON lines named .json.
    ".json": "json",
    ".json.gz": "json",
    ".parquet": "parquet",
}

# Contract type -> raw table type.
SQL_TYPES: dict[str, str] = {
    "string": "varchar",
    "timestamp": "timestamp",
    "double": "double",
    "integer": "bigint",
    "boolean": "boolean",
    "json": "varchar",
}

LOAD_COLUMN_TYPES: dict[str, str] = {
    "_load_id": "varchar",
    "_file_name": "varchar",
    "_row_number": "bigint",
    "_loaded_at": "timestamp",
}
assert tuple(LOAD_COLUMN_TYPES) == LOAD_COLUMNS, "a type for every load column of the contract"

QUARANTINE_COLUMNS: dict[str, str] = {
    "source": "varchar",
    "_load_id": "varchar",
    "_file_name": "varchar",
    "_row_number": "bigint",
    "reason": "varchar",
    "reason_column": "varchar",
    "reason_detail": "varchar",
    "raw_record": "varchar",
    "_loaded_at": "timestamp",
}

LEDGER_COLUMNS: dict[str, str] = {
    "_load_id": "varchar",
    "source": "varchar",
    "file_name": "varchar",
    "file_path": "varchar",
    "file_sha256": "varchar",
    "rows_in_file": "bigint",
    "rows_loaded": "bigint",
    "rows_quarantined": "bigint",
    "loaded_at": "timestamp",
    "status": "varchar",
}

STATUS_LOADED = "loaded"
STATUS_SKIPPED = "skipped"
# The same content as an earlier load, under another file name: nothing reaches raw, but the
# ledger counts its rows, so reconciliation accounts for every delivered row.
STATUS_DUPLICATE_FILE = "duplicate_file"
# A load whose rows the retention period purged (journeymap.retention), and the re-deliveries
# of its content counted with it: the row stays, with its counts down to what raw still holds,
# so the same content delivered again is recognised and not loaded again.
STATUS_PURGED = "purged"

# Erasure (journeymap.erasure): pseudonyms of people who asked to be forgotten. A later
# delivery of their rows is quarantined with this reason and without a copy of the record.
TOMBSTONE_TABLE = "erasure_tombstones"
# Columns that identify a person in the sources, by kind.
IDENTIFIER_COLUMNS = {
    "customer_id": "id",
    "user_id": "id",
    "email": "email",
    "phone": "phone",
    "anonymous_id": "device",
}


def identifier_sql(column: str) -> str:
    """SQL for an identifier column's value as it is pseudonymized: trimmed, blank as null,
    an email in lower case (journeymap.privacy.normalize_email)."""
    value = f"nullif(trim({quote_identifier(column)}), '')"
    return f"lower({value})" if IDENTIFIER_COLUMNS[column] == "email" else value


# Quarantine details quote at most this many characters of the offending value.
DETAIL_VALUE_CHARS = 200


class LoadError(Exception):
    """A landing file that cannot be loaded at all (nothing of it is written)."""


class UnknownSourceError(LoadError):
    pass


class MissingColumnError(LoadError):
    pass


class UnsupportedFileError(LoadError):
    pass


@dataclass(frozen=True)
class FileLoadResult:
    source: str
    file_name: str
    file_path: str
    load_id: str
    # loaded; skipped (this file was loaded before); duplicate_file (its content was); purged
    # (its content was, and the retention period purged it: counted with it, not loaded)
    status: str
    rows_in_file: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    quarantined_by_reason: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def summary(self) -> str:
        name = f"{self.source}/{self.file_name}"
        if self.status == STATUS_SKIPPED:
            return f"skipped {name}: loaded before as {self.load_id}"
        if self.status == STATUS_DUPLICATE_FILE:
            return (
                f"skipped {name}: {self.rows_in_file:,} rows, the same content as an earlier "
                f"load (counted in the ledger as {self.load_id})"
            )
        if self.status == STATUS_PURGED:
            return (
                f"skipped {name}: the same content as a load the retention period purged "
                f"(kept out, counted in the ledger as {self.load_id})"
            )
        reasons = ", ".join(f"{r}: {n:,}" for r, n in self.quarantined_by_reason.items())
        return (
            f"loaded  {name}: {self.rows_loaded:,} rows, {self.rows_quarantined:,} quarantined"
            + (f" ({reasons})" if reasons else "")
        )


@dataclass
class LoadReport:
    files: list[FileLoadResult] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)  # files in landing folders that are not data

    @property
    def loaded(self) -> list[FileLoadResult]:
        return [f for f in self.files if f.status == STATUS_LOADED]

    @property
    def skipped(self) -> list[FileLoadResult]:
        """Files not loaded: loaded before, or the same content as an earlier file (purged
        since or not)."""
        skipped = (STATUS_SKIPPED, STATUS_DUPLICATE_FILE, STATUS_PURGED)
        return [f for f in self.files if f.status in skipped]

    @property
    def rows_in_file(self) -> int:
        return sum(f.rows_in_file for f in self.files)

    @property
    def rows_loaded(self) -> int:
        return sum(f.rows_loaded for f in self.files)

    @property
    def rows_quarantined(self) -> int:
        return sum(f.rows_quarantined for f in self.files)

    def summary(self) -> str:
        lines = [f.summary() for f in self.files]
        lines.append(
            f"{len(self.loaded)} files loaded, {len(self.skipped)} skipped; "
            f"{self.rows_loaded:,} rows loaded, {self.rows_quarantined:,} quarantined"
        )
        return "\n".join(lines)


# ---------------------------------------------------------------- SQL helpers


def raw_table(name: str) -> str:
    """A raw table as DuckDB SQL names it (the check runs in DuckDB)."""
    return f"{RAW_SCHEMA}.{quote_identifier(name)}"


def source_table_columns(source: Source) -> dict[str, str]:
    """The columns of ``raw.<source>``: the contract's, the load columns, then ``_extra``."""
    columns = {c.name: SQL_TYPES[c.type] for c in source.columns}
    columns.update({name: LOAD_COLUMN_TYPES[name] for name in LOAD_COLUMNS})
    columns[EXTRA_COLUMN] = "varchar"
    return columns


def ensure_raw_tables(warehouse: Warehouse, contracts: Mapping[str, Source] = SOURCES) -> None:
    """Create the raw schema, one table per source, quarantine and ledger (if absent); add
    the columns the contract gained since a table was created.

    ``contracts``: the sources, the built-in ones and those a project declares
    (``journeymap.contract.event_source``)."""
    tables = {source.name: source_table_columns(source) for source in contracts.values()}
    tables[QUARANTINE_TABLE] = QUARANTINE_COLUMNS
    tables[LEDGER_TABLE] = LEDGER_COLUMNS
    warehouse.ensure_tables(RAW_SCHEMA, tables)


# ---------------------------------------------------------------- reading files as text


STAGE_TABLE = "_journeymap_stage"  # temp table: the file being loaded, parsed and checked
# Temp table: records of the file being loaded that its reader cannot parse (line, record,
# error): a CSV row with too many or too few fields, an unterminated quote, a line over
# DuckDB's maximum line size; a JSON line that is not a JSON object. Quarantined whole.
MALFORMED_TABLE = "_journeymap_malformed"
# DuckDB's rejects tables for CSV reads (see _scan_sql); dropped before each read.
CSV_REJECTS = ("_journeymap_csv_rejects", "_journeymap_csv_reject_scans")
# A header with more columns than this is refused (a broken or hostile file, not an export).
MAX_COLUMNS = 10_000


@dataclass(frozen=True)
class TextRelation:
    """A file read as text: ``sql`` selects one varchar column per file column, in file
    order, aliased ``_c0, _c1, ...`` so that any header is safe; ``columns`` holds the
    file's own column names in the same order."""

    sql: str
    columns: tuple[str, ...]

    def alias(self, column: str) -> str:
        return f"_c{self.columns.index(column)}"


def landing_format(path: Path) -> str | None:
    """The reader for a landing file ("csv", "json", "parquet"), None for other files."""
    name = path.name.lower()
    for suffix, reader in LANDING_FORMATS.items():
        if name.endswith(suffix):
            return reader
    return None


def _require_landing_format(path: Path) -> str:
    reader = landing_format(path)
    if reader is None:
        known = ", ".join(LANDING_FORMATS)
        raise UnsupportedFileError(f"{path}: not a landing file (file names end in {known})")
    return reader


def _as_text(expression: str, sql_type: duckdb.typing.DuckDBPyType) -> str:
    """SQL turning a typed value into the text a CSV would have held."""
    if sql_type.id == "varchar":
        return expression
    if sql_type.id in ("struct", "list", "array", "map", "union"):
        return f"to_json({expression})::varchar"
    return f"{expression}::varchar"


def _leaf_columns(
    name: str, expression: str, sql_type: duckdb.typing.DuckDBPyType, flatten: bool
) -> list[tuple[str, str]]:
    """(column name, text expression) pairs; structs become ``parent.child`` when flattening."""
    if not (flatten and sql_type.id == "struct"):
        return [(name, _as_text(expression, sql_type))]
    leaves: list[tuple[str, str]] = []
    for child_name, child_type in sql_type.children:
        child = f"struct_extract({expression}, {quote_literal(child_name)})"
        leaves.extend(_leaf_columns(f"{name}.{child_name}", child, child_type, flatten))
    return leaves


class _MalformedLines(Exception):
    """A JSON lines file holds lines that are not JSON objects."""


def _json_keys(connection: duckdb.DuckDBPyConnection, literal: str) -> list[str]:
    """Every key of a JSONL file (not only the first rows'): the first record's keys in
    their order, then the others alphabetically. Much cheaper than read_json's type
    detection over the whole file. Raises _MalformedLines when a line is not a JSON object
    (read without failing, so that a transaction around the read stays usable)."""
    objects = f"read_ndjson_objects({literal}, ignore_errors = true)"
    first = connection.execute(
        f"select json_keys(json) from {objects} where json_type(json) = 'OBJECT' limit 1"
    ).fetchone()
    shapes = connection.execute(f"select distinct json_type(json), json_keys(json) from {objects}")
    every: set[str] = set()
    for json_type, keys in shapes.fetchall():
        if json_type != "OBJECT":  # null: not JSON at all
            raise _MalformedLines
        every.update(keys)
    first_keys = list(first[0]) if first else []
    return first_keys + sorted(every - set(first_keys))


def _open_binary(path: Path) -> BinaryIO:
    return gzip.open(path, "rb") if path.name.lower().endswith(".gz") else path.open("rb")


def _not_a_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _json_line_error(line: bytes) -> str | None:
    """Why a JSON line is not a record (None when it is a JSON object). Python's parser, made
    as strict as DuckDB's: NaN and Infinity are not JSON."""
    try:
        value = json.loads(line, parse_constant=_not_a_constant)
    except (UnicodeDecodeError, ValueError) as error:
        return f"not JSON: {error}"
    return None if isinstance(value, dict) else f"a JSON {type(value).__name__}, not an object"


def set_aside_malformed_json_lines(
    connection: duckdb.DuckDBPyConnection, path: Path, folder: Path
) -> Path:
    """Copy a JSON lines file into ``folder`` without the lines that are not JSON objects;
    those go to MALFORMED_TABLE as (line number, text, error). Blank lines are not records."""
    copy = folder / path.name.removesuffix(".gz").removesuffix(".GZ")
    malformed: list[tuple[int, str, str]] = []
    with _open_binary(path) as source, copy.open("wb") as target:
        for number, line in enumerate(source, start=1):
            if not line.strip():
                continue
            error = _json_line_error(line)
            if error is None:
                target.write(line if line.endswith(b"\n") else line + b"\n")
            else:
                text = line.decode("utf-8", "replace").rstrip("\r\n")
                malformed.append((number, text, error))
    connection.executemany(f"insert into {MALFORMED_TABLE} values (?, ?, ?)", malformed)
    return copy


@dataclass(frozen=True)
class CsvProfile:
    encoding: str
    mixed_line_endings: bool  # more than one of \r\n, \n, \r ends lines (UTF-8, Latin-1)


def csv_profile(path: Path) -> CsvProfile:
    """The encoding of a CSV file: UTF-16 by its byte order mark, else UTF-8 (with or without
    a BOM) when every byte sequence is valid UTF-8, else Latin-1 (the usual export of older
    Windows tools: every byte is a character, so nothing is lost or rejected); and whether
    it mixes line endings (files concatenated from Windows and Unix tools), which DuckDB's
    reader refuses."""
    with _open_binary(path) as handle:
        head = handle.read(2)
        if head in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
            return CsvProfile("utf-16", mixed_line_endings=False)
        decoder = codecs.getincrementaldecoder("utf-8")()
        encoding = "utf-8"
        endings = Counter[str]()
        block = head
        while block:
            crlf = block.count(b"\r\n")
            endings.update(crlf=crlf, lf=block.count(b"\n") - crlf, cr=block.count(b"\r") - crlf)
            if encoding == "utf-8":
                try:
                    decoder.decode(block)
                except UnicodeDecodeError:
                    encoding = "latin-1"
            block = handle.read(1 << 20)
        if encoding == "utf-8":
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                encoding = "latin-1"
    return CsvProfile(encoding, mixed_line_endings=sum(n > 0 for n in endings.values()) > 1)


def csv_encoding(path: Path) -> str:
    return csv_profile(path).encoding


def with_unix_line_endings(path: Path, folder: Path) -> Path:
    """A copy of the file in ``folder`` with every line ending (\r\n, \r) as \n, also
    inside quoted text."""
    copy = folder / path.name.removesuffix(".gz").removesuffix(".GZ")
    with _open_binary(path) as source, copy.open("wb") as target:
        carry = b""
        for block in iter(lambda: source.read(1 << 20), b""):
            block = carry + block
            carry = b"\r" if block.endswith(b"\r") else b""
            block = block.removesuffix(carry)
            target.write(block.replace(b"\r\n", b"\n").replace(b"\r", b"\n"))
        target.write(carry.replace(b"\r", b"\n"))
    return copy


def reader_names(header: Sequence[str]) -> list[str]:
    """Column names as DuckDB's CSV reader gives them: trimmed; a blank name becomes
    ``column<i>``; a name seen before (case-insensitively) gets ``_1``, ``_2``..."""
    seen: Counter[str] = Counter()
    names = []
    for i, raw in enumerate(header):
        name = raw.strip() or f"column{i}"
        if seen[name.lower()]:
            name = f"{name}_{seen[name.lower()]}"
        seen[raw.strip().lower() or name.lower()] += 1
        names.append(name)
    return names


def csv_header(path: Path, encoding: str) -> list[str]:
    """The column names of a CSV file: its first record (quoted as the rest of the file),
    named as DuckDB names them. Read here so that the reader need not guess the header from
    a sample, which a malformed row can defeat."""
    python_encoding = "utf-8-sig" if encoding == "utf-8" else encoding
    with _open_binary(path) as handle:
        text = codecs.getreader(python_encoding)(handle, errors="replace")
        try:
            header = next(csv.reader(text), [])
        except csv.Error as error:
            raise LoadError(f"{path.name}: the header row cannot be read: {error}") from error
    if not header:
        raise LoadError(f"{path.name}: the first line holds no column names")
    if len(header) > MAX_COLUMNS:
        raise LoadError(
            f"{path.name}: the header has {len(header):,} columns; journeymap reads at most "
            f"{MAX_COLUMNS:,}"
        )
    return reader_names(header)


def _csv_scan(path: Path, set_aside: bool, encoding: str) -> str:
    """read_csv with the header read here and every column as text. With ``set_aside``, rows
    the reader cannot parse go to DuckDB's rejects tables (CSV_REJECTS) instead of failing it."""
    columns = ", ".join(f"{quote_literal(n)}: 'VARCHAR'" for n in csv_header(path, encoding))
    rejects = (
        f", store_rejects = true, rejects_table = '{CSV_REJECTS[0]}', "
        f"rejects_scan = '{CSV_REJECTS[1]}'"
        if set_aside
        else ""
    )
    return (
        f"read_csv({quote_literal(str(path))}, header = true, auto_detect = false, "
        f"columns = {{{columns}}}, delim = ',', quote = '\"', escape = '\"', "
        f"encoding = '{encoding}'{rejects})"
    )


def _scan_sql(
    connection: duckdb.DuckDBPyConnection,
    path: Path,
    flatten: bool,
    set_aside_in: Path | None,
    json_keys: list[str] | None = None,
) -> str:
    """The DuckDB reader for a landing file (varchar columns where the format allows);
    ``json_keys``: a JSON lines file's keys when they are known already."""
    literal = quote_literal(str(path))
    reader = _require_landing_format(path)
    if reader == "csv":
        profile = csv_profile(path)
        if profile.mixed_line_endings and set_aside_in is not None:
            path = with_unix_line_endings(path, set_aside_in)
        return _csv_scan(path, set_aside_in is not None, profile.encoding)
    if reader == "json":
        if flatten:  # types are needed to find nested objects: sample the whole file
            return f"read_json({literal}, format = 'newline_delimited', sample_size = -1)"
        names = json_keys if json_keys is not None else _json_keys(connection, literal)
        as_varchar = ", ".join(f"{quote_literal(name)}: 'VARCHAR'" for name in names)
        return f"read_json({literal}, format = 'newline_delimited', columns = {{{as_varchar}}})"
    return f"read_parquet({literal})"


def _readable_json(
    connection: duckdb.DuckDBPyConnection, path: Path, set_aside_in: Path
) -> tuple[Path, list[str]]:
    """The JSON lines file to read and its keys: the file itself, or a copy without the
    lines that are not JSON objects when it holds any."""
    try:
        return path, _json_keys(connection, quote_literal(str(path)))
    except _MalformedLines:
        copy = set_aside_malformed_json_lines(connection, path, set_aside_in)
        return copy, _json_keys(connection, quote_literal(str(copy)))


def read_as_text(
    connection: duckdb.DuckDBPyConnection,
    path: Path,
    flatten: bool = False,
    set_aside_in: Path | None = None,
) -> TextRelation:
    """How to read a landing file (CSV, JSONL or Parquet) as text columns.

    With ``flatten``, nested objects (JSONL, Parquet) become dotted columns
    (``context.page.url``); without it they stay one column holding JSON text.

    Without ``set_aside_in`` a record the reader cannot parse fails the read (a clear error
    for the whole file). With it (a scratch folder that outlives the read), such records are
    set aside into MALFORMED_TABLE and the rest is read: call ``malformed_records_sql`` once
    the relation has been read."""
    if set_aside_in is not None:
        connection.execute(
            f"create or replace temp table {MALFORMED_TABLE} "
            "(line bigint, record varchar, error varchar)"
        )
        for table in CSV_REJECTS:
            connection.execute(f"drop table if exists {table}")
    keys = None
    if landing_format(path) == "json" and set_aside_in is not None and not flatten:
        path, keys = _readable_json(connection, path, set_aside_in)
    scan = _scan_sql(connection, path, flatten, set_aside_in, keys)
    relation = connection.sql(f"select * from {scan}")
    leaves: list[tuple[str, str]] = []
    for name, sql_type in zip(relation.columns, relation.types, strict=True):
        leaves.extend(_leaf_columns(name, quote_identifier(name), sql_type, flatten))
    selects = ", ".join(f"{expr} as _c{i}" for i, (_, expr) in enumerate(leaves))
    return TextRelation(f"select {selects} from {scan}", tuple(name for name, _ in leaves))


def malformed_records_sql(connection: duckdb.DuckDBPyConnection) -> str:
    """After a read with ``set_aside_in``: SQL for the records set aside, (line, record,
    error) in line order. A CSV row the reader rejected is one record, whatever number of
    its fields failed."""
    rejects = connection.execute(
        "select count(*) from duckdb_tables() where temporary and table_name = ?",
        [CSV_REJECTS[0]],
    ).fetchone()
    if rejects and rejects[0]:
        connection.execute(
            f"insert into {MALFORMED_TABLE} select line, any_value(csv_line), "
            "lower(arg_min(error_type, coalesce(column_idx, 0))) || ': ' || "
            "arg_min(error_message, coalesce(column_idx, 0)) "
            f"from {CSV_REJECTS[0]} group by line"
        )
        for table in CSV_REJECTS:
            connection.execute(f"drop table {table}")
    return f"select line, record, error from {MALFORMED_TABLE}"


def materialize(connection: duckdb.DuckDBPyConnection, table: str, select_sql: str) -> str:
    """Store a query over a file in a temp table; return SQL for its 1-based row numbers.

    Row numbers come from the table's ``rowid``: DuckDB inserts rows in the order the
    reader yields them (``preserve_insertion_order``), and this keeps the read parallel,
    unlike ``row_number() over ()``, which makes the whole pipeline single-threaded."""
    connection.execute("set preserve_insertion_order = true")  # row numbers rely on it
    connection.execute(f"create or replace temp table {table} as {select_sql}")
    # Inside a transaction rowids start at a large offset: number from the first one.
    first, last, count = connection.execute(
        f"select coalesce(min(rowid), 0), coalesce(max(rowid), -1), count(*) from {table}"
    ).fetchone()  # type: ignore[misc]
    if last - first + 1 != count:  # never seen; guards the exactness of row numbers
        raise LoadError(f"{table}: rowids are not contiguous, row numbers would be wrong")
    return f"(rowid + {1 - first})"


# ---------------------------------------------------------------- validation rules


def present_sql(text: str) -> str:
    """SQL: true when the text value is neither null nor blank (never null itself)."""
    return f"({text} is not null and trim({text}) <> '')"


def blank_sql(text: str) -> str:
    """SQL: true when the text value is null or blank (never null itself)."""
    return f"({text} is null or trim({text}) = '')"


def timestamp_sql(text: str) -> str:
    """SQL parsing ISO-8601 text to a UTC timestamp without zone; null when it does not parse.

    timestamptz accepts 'Z', '+02:00' and no offset (= the session's zone, UTC), and
    surrounding spaces."""
    return f"timezone('UTC', try_cast({text} as timestamptz))"


def _parse(column: Column, text: str) -> str:
    """SQL turning the text value into the raw table's type; null when blank or unparseable."""
    trimmed = f"trim({text})"
    if column.type == "timestamp":
        return timestamp_sql(text)
    if column.type == "double":
        number = f"try_cast({text} as double)"  # the cast allows surrounding spaces
        return f"(case when isfinite({number}) then {number} end)"  # no nan or inf
    if column.type == "integer":
        # try_cast would round '3.5' to 4; only whole numbers (optionally '.0') pass.
        return (
            f"(case when regexp_full_match({trimmed}, '[+-]?[0-9]+(\\.0*)?') "
            f"then try_cast(split_part({trimmed}, '.', 1) as bigint) end)"
        )
    if column.type == "boolean":
        return f"try_cast({trimmed} as boolean)"
    # Text is kept as read, but empty text is null whatever the format (CSV readers
    # already give null for an empty field, JSON and Parquet may hold '').
    return f"nullif({text}, '')"


TYPE_NAMES = {
    "timestamp": "a timestamp",
    "double": "a number",
    "integer": "an integer",
    "boolean": "a boolean",
}


@dataclass(frozen=True)
class ColumnSql:
    """One contract column inside the stage query."""

    column: Column
    text: str  # the value as read (varchar, null when the file lacks the column)
    typed: str  # the parsed value

    def detail(self, message: str) -> str:
        """SQL for '<column>: '<value>' <message>' (value cut to DETAIL_VALUE_CHARS)."""
        value = f"'''' || left({self.text}, {DETAIL_VALUE_CHARS}) || ''''"
        return (
            f"{quote_literal(self.column.name + ': ')} || {value} || {quote_literal(' ' + message)}"
        )


@dataclass(frozen=True)
class Rule:
    condition: str  # SQL, true when the row fails
    detail: str  # SQL for the human-readable reason


# A check gives the rule for one column of a source, or None when it does not apply.
Check = Callable[[Source, ColumnSql], Rule | None]


def _missing_required(source: Source, c: ColumnSql) -> Rule | None:
    if not c.column.required:
        return None
    return Rule(blank_sql(c.text), quote_literal(f"{c.column.name}: required value is empty"))


def _unparseable(types: tuple[str, ...]) -> Check:
    def check(source: Source, c: ColumnSql) -> Rule | None:
        if c.column.type not in types:
            return None
        message = f"is not {TYPE_NAMES[c.column.type]}"
        # Cheap test first: conditions after `and` only run on the rows still in play.
        return Rule(f"{c.typed} is null and {present_sql(c.text)}", c.detail(message))

    return check


def _invalid_value(source: Source, c: ColumnSql) -> Rule | None:
    if c.column.allowed is not None:
        allowed = ", ".join(quote_literal(v) for v in c.column.allowed)
        # '' counts as absent; any other value (even ' ') must be in the set.
        return Rule(
            f"{c.text} not in ({allowed}) and {c.text} <> ''",
            c.detail(f"is not one of {', '.join(c.column.allowed)}"),
        )
    if c.column.type == "json":
        # Staging parses these; text that is no JSON object would break it there.
        is_object = f"starts_with(ltrim({c.text}), '{{') and json_valid({c.text})"
        return Rule(f"{c.text} <> '' and not ({is_object})", c.detail("is not a JSON object"))
    return None


def _future_timestamp(source: Source, c: ColumnSql) -> Rule | None:
    if c.column.name != source.event_time:
        return None
    hours = FUTURE_TOLERANCE_HOURS
    return Rule(
        f"{c.typed} > _loaded_at + interval {hours} hour",
        f"{quote_literal(c.column.name + ': ')} || {c.typed}::varchar || "
        f"' is more than {hours} hours after the load time ' || _loaded_at::varchar",
    )


CHECKS: dict[str, Check] = {
    "missing_required": _missing_required,
    "unparseable_timestamp": _unparseable(("timestamp",)),
    "unparseable_number": _unparseable(("double", "integer", "boolean")),
    "invalid_value": _invalid_value,
    "future_timestamp": _future_timestamp,
}
assert tuple(CHECKS) == QUARANTINE_REASONS, "one check per quarantine reason, in contract order"


def _failure_case(source: Source, columns: list[ColumnSql]) -> str:
    """A CASE giving the first failing check as {reason, reason_column, detail}, or null.

    Reasons in contract order, then columns in contract order: the first failure wins."""
    branches = [
        f"when {rule.condition} then {{'reason': {quote_literal(reason)}, "
        f"'reason_column': {quote_literal(c.column.name)}, 'detail': {rule.detail}}}"
        for reason, check in CHECKS.items()
        for c in columns
        if (rule := check(source, c)) is not None
    ]
    return f"case {' '.join(branches)} end" if branches else "null"


def _json_object(pairs: Iterable[tuple[str, str]]) -> str:
    args = ", ".join(f"{quote_literal(name)}, {expr}" for name, expr in pairs)
    return f"json_object({args})::varchar" if args else "null::varchar"


def column_mapping(source: Source, file_columns: Sequence[str], path: Path) -> dict[str, str]:
    """Contract column -> file column (names match case-insensitively, as in SQL).

    Raises MissingColumnError when the file lacks a required column."""
    by_lower = {name.lower(): name for name in reversed(file_columns)}
    mapping = {
        c.name: by_lower[c.name.lower()] for c in source.columns if c.name.lower() in by_lower
    }
    for name in source.required:
        if name not in mapping:
            raise MissingColumnError(
                f"{path.name} ({source.name}): required column {name!r} is missing; "
                f"the file has columns: {', '.join(file_columns) or '(none)'}"
            )
    return mapping


def _timestamp_literal(moment: datetime) -> str:
    return f"timestamp '{moment.isoformat(sep=' ')}'"


def stage_sql(source: Source, relation: TextRelation, path: Path, loaded_at: datetime) -> str:
    """One SELECT giving per file row: the typed contract columns, ``_extra``, the first
    failing check (``_failure``) and, for failing rows, the whole row as JSON."""
    mapping = column_mapping(source, relation.columns, path)
    columns = [
        ColumnSql(
            column=c,
            text=relation.alias(mapping[c.name]) if c.name in mapping else "null::varchar",
            typed=quote_identifier(c.name),
        )
        for c in source.columns
    ]
    parsed = ", ".join(f"{_parse(c.column, c.text)} as {c.typed}" for c in columns)
    extra = [
        (name, relation.alias(name)) for name in relation.columns if name not in mapping.values()
    ]
    every_column = [(name, relation.alias(name)) for name in relation.columns]
    return f"""
        with
        parsed as (
            select *, {_timestamp_literal(loaded_at)} as _loaded_at, {parsed}
            from ({relation.sql})
        ),
        checked as (
            select *, {_failure_case(source, columns)} as _failure from parsed
        )
        select
            {", ".join(c.typed for c in columns)},
            {_json_object(extra)} as {EXTRA_COLUMN},
            _failure,
            case when _failure is not null then {_json_object(every_column)} end as _raw_record
        from checked
    """


# ---------------------------------------------------------------- loading


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _known_source(name: str, contracts: Mapping[str, Source] = SOURCES) -> Source:
    if name not in contracts:
        raise UnknownSourceError(
            f"{name!r} is not a known source; known sources: {', '.join(contracts)}"
        )
    return contracts[name]


@dataclass(frozen=True)
class _PreviousLoad:
    load_id: str
    rows_in_file: int
    same_file_name: bool
    status: str


def _previous_load(
    warehouse: Warehouse, source: str, sha256: str, file_name: str
) -> _PreviousLoad | None:
    """The earlier load of this content, preferring a ledger row of this very file name."""
    rows = warehouse.query_df(
        "select _load_id, rows_in_file, file_name = ? as same_file_name, status "
        f"from {warehouse.relation(RAW_SCHEMA, LEDGER_TABLE)} "
        "where source = ? and file_sha256 = ? "
        "order by file_name = ? desc, status = ? desc, loaded_at limit 1",
        [file_name, source, sha256, file_name, STATUS_LOADED],
    )
    if rows.empty:
        return None
    row = rows.iloc[0]
    return _PreviousLoad(
        str(row["_load_id"]),
        int(row["rows_in_file"]),
        bool(row["same_file_name"]),
        str(row["status"]),
    )


@dataclass(frozen=True)
class _Load:
    """One load of one file: what every raw and quarantine row of it carries."""

    source: Source
    path: Path
    sha256: str
    load_id: str
    loaded_at: datetime

    def values(self, row_number: str) -> dict[str, str]:
        """SQL for the load columns, given the SQL for the row number."""
        return {
            "_load_id": quote_literal(self.load_id),
            "_file_name": quote_literal(self.path.name),
            "_row_number": row_number,
            "_loaded_at": _timestamp_literal(self.loaded_at),
        }


@dataclass(frozen=True)
class _CheckedFile:
    """A file parsed and checked into ``STAGE_TABLE`` of a DuckDB connection: the selects
    of its raw and quarantine rows (columns named as in their tables) and its counts."""

    raw_rows_sql: str
    quarantine_rows_sql: str
    rows_loaded: int
    quarantined_by_reason: dict[str, int]

    @property
    def rows_quarantined(self) -> int:
        return sum(self.quarantined_by_reason.values())


def _check_file(
    connection: duckdb.DuckDBPyConnection, load: _Load, erased: Sequence[str] = ()
) -> _CheckedFile:
    """Read the file once, parse and check every row (the contract's rules, then the
    tombstones of ``erased`` people) into ``STAGE_TABLE``, and count what passes and what
    fails by reason. Records the reader cannot parse are quarantined whole (MALFORMED_REASON),
    numbered after the file's parsed rows; their detail names the line."""
    with tempfile.TemporaryDirectory(prefix="journeymap-") as scratch:
        relation = read_as_text(connection, load.path, set_aside_in=Path(scratch))
        stage = stage_sql(load.source, relation, load.path, load.loaded_at)
        row_number = materialize(connection, STAGE_TABLE, stage)
    malformed_sql = malformed_records_sql(connection)
    _quarantine_erased(connection, load.source, erased)
    load_values = load.values(row_number)
    raw_values = {name: quote_identifier(name) for name in source_table_columns(load.source)}
    quarantine_values = {
        "source": quote_literal(load.source.name),
        "reason": "_failure.reason",
        "reason_column": "_failure.reason_column",
        "reason_detail": "_failure.detail",
        "raw_record": "_raw_record",
    }
    parsed, passed = connection.execute(  # type: ignore[misc]
        f"select count(*), count(*) filter (where _failure is null) from {STAGE_TABLE}"
    ).fetchone()
    by_reason = connection.execute(
        f"select reason, count(*) from (select _failure.reason as reason from {STAGE_TABLE} "
        f"where _failure is not null union all select {quote_literal(MALFORMED_REASON)} "
        f"from ({malformed_sql})) group by 1 order by 1"
    ).fetchall()
    quarantine_rows_sql = " union all by name ".join(
        [
            _select_as(
                {name: (load_values | quarantine_values)[name] for name in QUARANTINE_COLUMNS},
                "_failure is not null",
            ),
            _malformed_rows_sql(load, malformed_sql, first_row=int(parsed) + 1),
        ]
    )
    return _CheckedFile(
        raw_rows_sql=_select_as(raw_values | load_values, "_failure is null"),
        quarantine_rows_sql=quarantine_rows_sql,
        rows_loaded=int(passed),
        quarantined_by_reason={reason: int(count) for reason, count in by_reason},
    )


def _malformed_rows_sql(load: _Load, malformed_sql: str, first_row: int) -> str:
    """Quarantine rows for the records the reader could not parse: numbered from
    ``first_row`` in line order, the record kept as ``{"line": n, "text": ...}``."""
    values = load.values(f"({first_row - 1} + row_number() over (order by line))") | {
        "source": quote_literal(load.source.name),
        "reason": quote_literal(MALFORMED_REASON),
        "reason_column": "null::varchar",
        "reason_detail": f"'line ' || line || ': ' || left(error, {DETAIL_VALUE_CHARS})",
        "raw_record": "json_object('line', line, 'text', record)::varchar",
    }
    columns = ", ".join(
        f"{values[name]} as {quote_identifier(name)}" for name in QUARANTINE_COLUMNS
    )
    return f"select {columns} from ({malformed_sql})"


def _select_as(values: dict[str, str], where: str) -> str:
    columns = ", ".join(f"{sql} as {quote_identifier(name)}" for name, sql in values.items())
    return f"select {columns} from {STAGE_TABLE} where {where}"


def _insert_rows(connection: duckdb.DuckDBPyConnection, table: str, select_sql: str) -> None:
    """``insert into raw.<table>`` the rows of a select (columns named as in the table)."""
    connection.execute(f"insert into {raw_table(table)} by name {select_sql}")


def _insert_ledger(
    warehouse: Warehouse,
    load: _Load,
    loaded: int,
    quarantined: int,
    status: str = STATUS_LOADED,
    rows_in_file: int | None = None,
) -> None:
    row = {
        "_load_id": load.load_id,
        "source": load.source.name,
        "file_name": load.path.name,
        "file_path": str(load.path),
        "file_sha256": load.sha256,
        "rows_in_file": loaded + quarantined if rows_in_file is None else rows_in_file,
        "rows_loaded": loaded,
        "rows_quarantined": quarantined,
        "loaded_at": load.loaded_at,
        "status": status,
    }
    warehouse.execute(
        f"insert into {warehouse.relation(RAW_SCHEMA, LEDGER_TABLE)} "
        f"({', '.join(map(warehouse.quote, row))}) values ({', '.join('?' for _ in row)})",
        list(row.values()),
    )


def adjust_ledger(
    warehouse: Warehouse,
    removed_by_load: Mapping[str, int],
    quarantined_by_load: Mapping[str, int],
    status: str | None = None,
) -> None:
    """Keep the ledger reconciling after rows of loads were deleted from raw and quarantine
    (erasure, retention): a load's rows in file, loaded and quarantined drop by the rows
    removed (``removed_by_load``: raw and quarantine rows, ``quarantined_by_load``: of them in
    quarantine), and so do the rows in file of the re-deliveries of the same content under
    another name (``duplicate_file`` rows, whose load id extends the load's). ``status``, when
    given, replaces the status of those ledger rows."""
    ledger = warehouse.relation(RAW_SCHEMA, LEDGER_TABLE)
    new_status = ", status = ?" if status else ""
    for load_id, removed in removed_by_load.items():
        in_quarantine = quarantined_by_load.get(load_id, 0)
        extra = [status] if status else []
        warehouse.execute(
            f"update {ledger} set rows_in_file = rows_in_file - ?, "
            f"rows_loaded = rows_loaded - ?, rows_quarantined = rows_quarantined - ?{new_status} "
            "where _load_id = ?",
            [removed, removed - in_quarantine, in_quarantine, *extra, load_id],
        )
        # left(...) rather than starts_with: the same SQL on DuckDB and Snowflake.
        warehouse.execute(
            f"update {ledger} set rows_in_file = rows_in_file - ?{new_status} "
            "where left(_load_id, ?) = ? and status = ?",
            [removed, *extra, len(load_id) + 1, f"{load_id}-", STATUS_DUPLICATE_FILE],
        )


def erased_pseudonyms(warehouse: Warehouse) -> list[str]:
    """Pseudonyms of the people who asked to be forgotten (``raw.erasure_tombstones``)."""
    if not table_exists(warehouse, RAW_SCHEMA, TOMBSTONE_TABLE):
        return []
    frame = warehouse.query_df(
        f"select pseudonym from {warehouse.relation(RAW_SCHEMA, TOMBSTONE_TABLE)}"
    )
    return sorted(frame["pseudonym"].astype(str))


def _quarantine_erased(
    connection: duckdb.DuckDBPyConnection, source: Source, erased: Sequence[str]
) -> None:
    """Rows of people who were forgotten go to quarantine (reason ``erased``, no record)."""
    columns = [c for c in source.column_names if c in IDENTIFIER_COLUMNS]
    if not columns or not erased:
        return
    # journeymap_pseudonym: configure_session registered it on every connection that checks.
    connection.execute(
        "create or replace temp table _journeymap_erased as "
        "select unnest(?::varchar[]) as pseudonym",
        [list(erased)],
    )
    tombstones = "(select pseudonym from _journeymap_erased)"
    matches = [(c, f"journeymap_pseudonym({identifier_sql(c)}) in {tombstones}") for c in columns]
    which = " ".join(f"when {test} then {quote_literal(c)}" for c, test in matches)
    connection.execute(
        f"update {STAGE_TABLE} set _raw_record = null, _failure = {{'reason': "
        f"{quote_literal(ERASED_REASON)}, 'reason_column': case {which} end, "
        "'detail': 'the person asked to be forgotten (journeymap forget)'} "
        f"where {' or '.join(test for _, test in matches)}"
    )
    connection.execute("drop table _journeymap_erased")


def _load_in_transaction(warehouse: Warehouse, load: _Load) -> _CheckedFile:
    """Check the file, then write its raw rows, its quarantined rows and its ledger row in
    one transaction: all of them or, if anything fails, none."""
    erased = erased_pseudonyms(warehouse)
    if isinstance(warehouse, DuckDBWarehouse):
        return _load_inside_duckdb(warehouse, load, erased)
    return _load_through_stage(warehouse, load, erased)


def _load_inside_duckdb(
    warehouse: DuckDBWarehouse, load: _Load, erased: Sequence[str]
) -> _CheckedFile:
    """DuckDB: the check's temp table lives in the warehouse; rows are copied with SQL."""
    connection = warehouse.connection
    with warehouse.transaction():
        checked = _check_file(connection, load, erased)
        _insert_rows(connection, load.source.name, checked.raw_rows_sql)
        _insert_rows(connection, QUARANTINE_TABLE, checked.quarantine_rows_sql)
        _insert_ledger(warehouse, load, checked.rows_loaded, checked.rows_quarantined)
        connection.execute(f"drop table {STAGE_TABLE}")
        connection.execute(f"drop table {MALFORMED_TABLE}")
    return checked


def _load_through_stage(warehouse: Warehouse, load: _Load, erased: Sequence[str]) -> _CheckedFile:
    """Snowflake: the same check in an in-memory DuckDB; its raw and quarantine rows go to
    Parquet files, are staged (before the transaction: staging is DDL there) and copied in."""
    from journeymap.snowflake import SnowflakeWarehouse

    if not isinstance(warehouse, SnowflakeWarehouse):
        raise TypeError(f"the raw loader cannot write to {warehouse!r}")
    with duckdb.connect() as scratch, tempfile.TemporaryDirectory(prefix="journeymap-") as tmp:
        configure_session(scratch)
        checked = _check_file(scratch, load, erased)
        batches = [
            (load.source.name, checked.raw_rows_sql, checked.rows_loaded),
            (QUARANTINE_TABLE, checked.quarantine_rows_sql, checked.rows_quarantined),
        ]
        staged = []
        for table, select_sql, rows in batches:
            if rows:
                path = Path(tmp) / f"{table}.parquet"
                target = quote_literal(str(path))
                scratch.execute(f"copy ({select_sql}) to {target} (format parquet)")
                staged.append((table, warehouse.stage_parquet(RAW_SCHEMA, path), rows))
        with warehouse.transaction():
            for table, location, rows in staged:
                warehouse.copy_staged(RAW_SCHEMA, table, location, rows)
            _insert_ledger(warehouse, load, checked.rows_loaded, checked.rows_quarantined)
    return checked


def load_file(
    warehouse: Warehouse,
    source_name: str,
    path: str | Path,
    contracts: Mapping[str, Source] = SOURCES,
) -> FileLoadResult:
    """Load one landing file of ``source_name`` (skipped if its content was loaded before)."""
    ensure_raw_tables(warehouse, contracts)
    return _load_one(warehouse, _known_source(source_name, contracts), path)


def _load_one(warehouse: Warehouse, source: Source, path: str | Path) -> FileLoadResult:
    """load_file without the schema check, which load_landing does once for all files."""
    started = time.perf_counter()
    path = Path(path).resolve()
    _require_landing_format(path)
    if path.stat().st_size == 0:
        raise LoadError(f"{path.name} ({source.name}) is empty: not even a header row")
    sha256 = file_sha256(path)
    base = {"source": source.name, "file_name": path.name, "file_path": str(path)}
    previous = _previous_load(warehouse, source.name, sha256, path.name)
    if previous is not None and previous.same_file_name:
        return FileLoadResult(**base, load_id=previous.load_id, status=STATUS_SKIPPED)
    if previous is not None:
        return _record_duplicate_file(warehouse, source, path, sha256, previous, started)

    load = _Load(
        source=source,
        path=path,
        sha256=sha256,
        load_id=f"{source.name}-{sha256[:16]}",  # unique: one load per (source, content)
        loaded_at=datetime.now(UTC).replace(tzinfo=None),
    )
    try:
        checked = _load_in_transaction(warehouse, load)
    except duckdb.Error as error:  # the file could not be read or checked
        raise LoadError(f"{path.name} ({source.name}) could not be loaded: {error}") from error
    return FileLoadResult(
        **base,
        load_id=load.load_id,
        status=STATUS_LOADED,
        rows_in_file=checked.rows_loaded + checked.rows_quarantined,
        rows_loaded=checked.rows_loaded,
        rows_quarantined=checked.rows_quarantined,
        quarantined_by_reason=checked.quarantined_by_reason,
        seconds=time.perf_counter() - started,
    )


def _record_duplicate_file(
    warehouse: Warehouse,
    source: Source,
    path: Path,
    sha256: str,
    previous: _PreviousLoad,
    started: float,
) -> FileLoadResult:
    """A re-delivery of loaded content under a new name: a ledger row, no raw rows (status
    purged, zero rows, when the retention period purged that content)."""
    status = STATUS_PURGED if previous.status == STATUS_PURGED else STATUS_DUPLICATE_FILE
    name_digest = hashlib.sha256(path.name.encode()).hexdigest()[:8]
    load = _Load(
        source=source,
        path=path,
        sha256=sha256,
        load_id=f"{previous.load_id}-{name_digest}",  # unique per (source, content, file name)
        loaded_at=datetime.now(UTC).replace(tzinfo=None),
    )
    with warehouse.transaction():
        _insert_ledger(
            warehouse,
            load,
            loaded=0,
            quarantined=0,
            status=status,
            rows_in_file=previous.rows_in_file,
        )
    return FileLoadResult(
        source=source.name,
        file_name=path.name,
        file_path=str(path),
        load_id=load.load_id,
        status=status,
        rows_in_file=previous.rows_in_file,
        seconds=time.perf_counter() - started,
    )


def _is_hidden(path: Path) -> bool:
    return path.name.startswith((".", "_"))


def landing_files(
    landing_dir: Path,
    sources: Iterable[str] | None = None,
    contracts: Mapping[str, Source] = SOURCES,
) -> tuple[list[tuple[str, Path]], list[Path]]:
    """(source, file) pairs to load in order (by source, then file name) and ignored files.

    Raises UnknownSourceError for a landing folder (or requested source) that is not a source."""
    folders = sorted(p for p in landing_dir.iterdir() if p.is_dir() and not _is_hidden(p))
    for folder in folders:
        if folder.name not in contracts:
            known = ", ".join(contracts)
            raise UnknownSourceError(
                f"landing folder {folder} is not a known source; known sources: {known} "
                "(declare your own under `sources:` in journeymap.yml)"
            )
    wanted = (
        {_known_source(name, contracts).name for name in sources} if sources is not None else None
    )
    files: list[tuple[str, Path]] = []
    ignored: list[Path] = []
    for folder in folders:
        if wanted is not None and folder.name not in wanted:
            continue
        for path in sorted(p for p in folder.iterdir() if p.is_file() and not _is_hidden(p)):
            if landing_format(path) is None:
                ignored.append(path)
            else:
                files.append((folder.name, path))
    return files, ignored


def load_landing(
    warehouse: Warehouse,
    landing_dir: str | Path,
    sources: Iterable[str] | None = None,
    contracts: Mapping[str, Source] = SOURCES,
) -> LoadReport:
    """Load every landing file not loaded yet (all sources, or only ``sources``).

    ``contracts``: the built-in sources and those the project declares (``Settings``'s
    ``source_contracts``)."""
    landing_dir = Path(landing_dir)
    if not landing_dir.is_dir():
        raise FileNotFoundError(f"landing folder {landing_dir} does not exist")
    files, ignored = landing_files(landing_dir, sources, contracts)
    ensure_raw_tables(warehouse, contracts)
    report = LoadReport(ignored=[str(p) for p in ignored])
    for source_name, path in files:
        report.files.append(_load_one(warehouse, contracts[source_name], path))
    return report
