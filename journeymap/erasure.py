"""Erasure on request (GDPR art. 17, CCPA deletion): ``journeymap forget``.

One request removes a person from everything journeymap keeps:

1. **who**: from the customer id or email given, the raw CRM and event tables give the
   person's ids, emails, phone numbers and devices (anonymous ids seen with their user id);
   their keyed pseudonyms are what staging and every later layer hold.
2. **the warehouse**: every row of every table (raw, quarantine, staging, intermediate, marts,
   enriched, ML outputs; found from the catalog, so later tables are covered) holding one of
   those values is deleted, and cache rows keyed by the hash of one of their texts (the LLM
   label cache). The load ledger keeps reconciling: its counts drop by the rows erased per file.
3. **files**: landing files and other data files holding the person are rewritten without
   their rows (the ledger takes the new checksum, so the loader does not load them again);
   outputs under the build folder that mention them (the page, data docs) are deleted and
   come back without them on the next build.
4. **the file's bytes**: deleted rows survive in DuckDB's free blocks, so the database is
   copied into a fresh file (``COPY FROM DATABASE``) that replaces it; a marker written
   before the delete (``compaction_pending``) makes the next request or purge compact first
   if this one is killed before its compaction.
5. **never again**: tombstones (pseudonyms only) make the loader quarantine a re-delivery of
   the person's rows with reason ``erased`` and no copy of the record.

``raw.erasure_log`` records each request: request id, time, and rows erased per table or
file - no personal data. The request id is printed; nothing else identifies the person.
"""

from __future__ import annotations

import os
import re
import tempfile
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from journeymap.contract import SOURCES
from journeymap.load import (
    LANDING_FORMATS,
    LEDGER_TABLE,
    QUARANTINE_TABLE,
    RAW_SCHEMA,
    TOMBSTONE_TABLE,
    adjust_ledger,
    file_sha256,
    identifier_sql,
    landing_format,
    malformed_records_sql,
    read_as_text,
)
from journeymap.pii_scan import (
    Hit,
    files_under,
    scan_files,
    scan_tables,
    scanned_tables,
    table_columns,
)
from journeymap.privacy import normalize_email, pseudonym_key, pseudonymize
from journeymap.settings import Settings
from journeymap.warehouse import (
    DuckDBWarehouse,
    quote_identifier,
    quote_literal,
    quote_literals,
    run_lock,
)

LOG_TABLE = "erasure_log"
# Tables the request writes rather than erases from.
_KEPT_TABLES = {(RAW_SCHEMA, TOMBSTONE_TABLE), (RAW_SCHEMA, LOG_TABLE), (RAW_SCHEMA, LEDGER_TABLE)}


class ErasureError(RuntimeError):
    """A request that cannot be carried out (nothing to identify the person by)."""


@dataclass
class Person:
    """Everything that identifies one person in the sources, in clear."""

    ids: set[str] = field(default_factory=set)
    emails: set[str] = field(default_factory=set)
    phones: set[str] = field(default_factory=set)
    devices: set[str] = field(default_factory=set)

    def clear_values(self) -> set[str]:
        return self.ids | self.emails | self.phones | self.devices

    def pseudonyms(self, key: bytes) -> set[str]:
        """What staging and later layers hold instead (devices stay as they are)."""
        return {pseudonymize(v, key) or "" for v in self.ids | self.emails | self.phones}

    def tombstones(self, key: bytes) -> list[tuple[str, str]]:
        kinds = (("id", self.ids), ("email", self.emails), ("phone", self.phones))
        rows = [(kind, pseudonymize(v, key) or "") for kind, values in kinds for v in values]
        return rows + [("device", pseudonymize(v, key) or "") for v in self.devices]

    def needles(self, key: bytes) -> set[str]:
        return {v for v in self.clear_values() | self.pseudonyms(key) if v}


@dataclass
class ErasureResult:
    request_id: str
    requested_at: datetime
    rows_by_table: dict[str, int]
    files_rewritten: dict[str, int]
    files_deleted: list[str]
    remaining: list[Hit]

    @property
    def rows_erased(self) -> int:
        return sum(self.rows_by_table.values())


def _raw_tables(connection: duckdb.DuckDBPyConnection) -> set[str]:
    rows = connection.execute(
        "select table_name from information_schema.tables where table_schema = ?", [RAW_SCHEMA]
    ).fetchall()
    return {name for (name,) in rows}


def find_person(
    connection: duckdb.DuckDBPyConnection, customer_id: str | None, email: str | None
) -> Person:
    """The person's identifiers from the raw tables: ids (given, or whose rows carry the email),
    then every email, phone and device seen with those ids."""
    person = Person()
    if customer_id and customer_id.strip():
        person.ids.add(customer_id.strip())
    if email and normalize_email(email):
        person.emails.add(normalize_email(email) or "")
    if not person.ids and not person.emails:
        raise ErasureError("give a customer id or an email address to forget")
    tables = _raw_tables(connection)
    for _round in range(2):  # ids from emails, then emails, phones and devices from ids
        for source in SOURCES.values():
            columns = set(source.column_names)
            if source.name not in tables or not {"customer_id", "user_id"} & columns:
                continue
            _collect(connection, source.name, columns, person)
    return person


def _collect(
    connection: duckdb.DuckDBPyConnection, table: str, columns: set[str], person: Person
) -> None:
    def value(column: str) -> str:
        return identifier_sql(column) if column in columns else "null"

    id_column = "customer_id" if "customer_id" in columns else "user_id"
    matches = [f"{value(id_column)} in ({quote_literals(person.ids) or 'null'})"]
    if "email" in columns and person.emails:
        matches.append(f"{value('email')} in ({quote_literals(person.emails)})")
    wanted = {
        "id": value(id_column),
        "email": value("email"),
        "phone": value("phone"),
        "device": value("anonymous_id"),
    }
    rows = connection.execute(
        f"select distinct {', '.join(wanted.values())} "
        f"from {RAW_SCHEMA}.{quote_identifier(table)} where {' or '.join(matches)}"
    ).fetchall()
    for found_id, found_email, phone, device in rows:
        for values, value in (
            (person.ids, found_id),
            (person.emails, found_email),
            (person.phones, phone),
            (person.devices, device),
        ):
            if value:
                values.add(value)


def needle_regex(needles: Iterable[str]) -> str:
    """RE2 matching any needle as a whole token (not inside a longer id), any case."""
    alternatives = "|".join(re.escape(n.lower()) for n in sorted(needles, key=len, reverse=True))
    return f"(?:^|[^0-9a-z])(?:{alternatives})(?:[^0-9a-z]|$)"


def _varchar_columns(connection: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[str]:
    return table_columns(connection, schema, table, types=("VARCHAR", "JSON"))


def _row_matches(columns: Iterable[str], regex: str) -> str:
    pattern = quote_literal(regex)
    tests = [
        f"coalesce(regexp_matches(lower({quote_identifier(c)}), {pattern}), false)" for c in columns
    ]
    return " or ".join(tests) or "false"


def ensure_erasure_tables(connection: duckdb.DuckDBPyConnection) -> None:
    connection.execute(f"create schema if not exists {RAW_SCHEMA}")
    connection.execute(
        f"create table if not exists {RAW_SCHEMA}.{TOMBSTONE_TABLE} "
        "(request_id varchar, identifier_kind varchar, pseudonym varchar, erased_at timestamp)"
    )
    connection.execute(
        f"create table if not exists {RAW_SCHEMA}.{LOG_TABLE} "
        "(request_id varchar, requested_at timestamp, table_name varchar, rows_erased bigint)"
    )


def _erase_rows(
    connection: duckdb.DuckDBPyConnection, regex: str
) -> tuple[dict[str, int], Counter[str], Counter[str]]:
    """Delete the person's rows from every base table; returns rows per table, and for the
    ledger rows per load (raw tables and quarantine) and of them those in quarantine."""
    by_table: dict[str, int] = {}
    by_load: Counter[str] = Counter()
    quarantined: Counter[str] = Counter()
    text_hashes: set[str] = set()
    tables = {
        t: _varchar_columns(connection, *t)
        for t in scanned_tables(connection, skip_schemas=(), base_tables_only=True)
        if t not in _KEPT_TABLES
    }
    for (schema, table), columns in tables.items():
        relation = f"{quote_identifier(schema)}.{quote_identifier(table)}"
        where = _row_matches(columns, regex)
        if "text_hash" in columns:
            found = connection.execute(f"select text_hash from {relation} where {where}")
            text_hashes |= {h for (h,) in found.fetchall() if h}
        is_loaded = schema == RAW_SCHEMA and "_load_id" in columns
        returning = " returning _load_id" if is_loaded else " returning 1"
        deleted = connection.execute(f"delete from {relation} where {where}{returning}").fetchall()
        if deleted:
            by_table[f"{schema}.{table}"] = len(deleted)
        if is_loaded:
            by_load.update(load_id for (load_id,) in deleted)
            if table == QUARANTINE_TABLE:
                quarantined.update(load_id for (load_id,) in deleted)
    if text_hashes:  # caches keyed by the hash of a text: the person's texts' entries
        for (schema, table), columns in tables.items():
            if "text_hash" in columns:
                relation = f"{quote_identifier(schema)}.{quote_identifier(table)}"
                deleted = connection.execute(
                    f"delete from {relation} where text_hash in ({quote_literals(text_hashes)}) "
                    "returning 1"
                ).fetchall()
                if deleted:
                    name = f"{schema}.{table}"
                    by_table[name] = by_table.get(name, 0) + len(deleted)
    return by_table, by_load, quarantined


def _copy_format(path: Path) -> str:
    reader = landing_format(path)
    if reader == "csv":
        gzip = ", compression gzip" if path.name.lower().endswith(".gz") else ""
        return f"(format csv, header true{gzip})"
    if reader == "json":
        return "(format json)"
    return "(format parquet)"


def rewrite_without(connection: duckdb.DuckDBPyConnection, path: Path, regex: str) -> int:
    """Rewrite a CSV/JSONL/Parquet file without the rows matching ``regex``; rows removed.
    The new file replaces the old one atomically. Records the reader cannot parse (the
    loader quarantined them as malformed) are not written back: raw.quarantine keeps them,
    and those matching ``regex`` are deleted there with the person's other rows."""
    with tempfile.TemporaryDirectory(prefix="journeymap-") as scratch:
        relation = read_as_text(connection, path, set_aside_in=Path(scratch))
        aliases = [f"_c{i}" for i in range(len(relation.columns))]
        where = _row_matches(aliases, regex)
        # fetchall: the read's rejected records are stored once its result is consumed.
        [(matched,)] = connection.execute(
            f"select count(*) from ({relation.sql}) where {where}"
        ).fetchall()
        [(malformed,)] = connection.execute(
            f"select count(*) from ({malformed_records_sql(connection)}) "
            f"where {_row_matches(['record'], regex)}"
        ).fetchall()
        if not matched and not malformed:
            return 0
        pairs = zip(aliases, relation.columns, strict=True)
        names = ", ".join(f"{alias} as {quote_identifier(name)}" for alias, name in pairs)
        temporary = path.with_name(f".{path.name}.erasing{''.join(path.suffixes)}")
        connection.execute(
            f"copy (select {names} from ({relation.sql}) where not ({where})) "
            f"to {quote_literal(str(temporary))} {_copy_format(path)}"
        )
    os.replace(temporary, path)
    return int(matched) + int(malformed)


def _rewrite_data_files(
    connection: duckdb.DuckDBPyConnection, data_dir: Path, landing_dir: Path, regex: str
) -> dict[str, int]:
    """Landing and other data files (CSV, JSONL, Parquet) without the person's rows; the
    ledger rows of rewritten landing files take their new checksum."""
    rewritten: dict[str, int] = {}
    suffixes = tuple(LANDING_FORMATS)
    for path in files_under(data_dir):
        # Landing files in every landing format; elsewhere (ground truth) CSV only: a .json
        # there is one document, not JSON lines.
        allowed = suffixes if landing_dir in path.parents else (".csv", ".csv.gz")
        if not path.name.lower().endswith(allowed) or path.name.startswith("."):
            continue
        removed = rewrite_without(connection, path, regex)
        if removed:
            rewritten[str(path.relative_to(data_dir))] = removed
            if path.parent.parent == landing_dir:  # a landing file: <landing>/<source>/<file>
                connection.execute(
                    f"update {RAW_SCHEMA}.{LEDGER_TABLE} set file_sha256 = ? "
                    "where source = ? and file_name = ?",
                    [file_sha256(path), path.parent.name, path.name],
                )
    return rewritten


def compact(path: Path) -> None:
    """Copy the DuckDB file into a fresh one and swap them: rows deleted from the old file
    may survive in its free blocks; the new file holds only live data."""
    fresh = path.with_name(f".{path.name}.compacting")
    fresh.unlink(missing_ok=True)
    with duckdb.connect(str(fresh)) as connection:
        connection.execute("set enable_progress_bar = false")
        connection.execute(f"attach {quote_literal(str(path))} as erasing_source (read_only)")
        (database,) = connection.execute("select current_database()").fetchone()
        connection.execute(f"copy from database erasing_source to {quote_identifier(database)}")
        connection.execute("detach erasing_source")
        connection.execute("checkpoint")
    os.replace(fresh, path)
    Path(f"{path}.wal").unlink(missing_ok=True)


def compaction_pending(settings: Settings) -> Path:
    """A marker next to the DuckDB file while deleted rows may still be in its free blocks:
    written before a delete (erasure, retention purge), removed by the compaction after it.
    A process killed in between leaves it, and the next erasure or purge compacts first."""
    return settings.duckdb_path.with_name(f"{settings.duckdb_path.name}.compact-pending")


def compact_if_pending(settings: Settings) -> bool:
    """Compact the DuckDB file when a marker says deleted rows may survive in it."""
    marker = compaction_pending(settings)
    if not marker.exists():
        return False
    compact(settings.duckdb_path)
    marker.unlink()
    return True


def _log(
    connection: duckdb.DuckDBPyConnection,
    request_id: str,
    at: datetime,
    counts: dict[str, int],
) -> None:
    rows = [(request_id, at, name, n) for name, n in sorted(counts.items())] or [
        (request_id, at, "(nothing found)", 0)
    ]
    connection.executemany(f"insert into {RAW_SCHEMA}.{LOG_TABLE} values (?, ?, ?, ?)", rows)


def forget(
    settings: Settings,
    customer_id: str | None = None,
    email: str | None = None,
    say: Callable[[str], None] = print,
) -> ErasureResult:
    """Erase one person everywhere (see the module docstring) and verify that no trace is left
    in any table, data or build file, or the warehouse file's bytes."""
    if settings.warehouse_kind != "duckdb":
        raise ErasureError(
            f"journeymap forget erases from a DuckDB warehouse; this project's warehouse is "
            f"{settings.warehouse_kind} (README, 'Privacy and data protection': erasure on "
            "Snowflake)"
        )
    key = pseudonym_key()
    # A run between its steps must not read the person before and write them back after.
    with run_lock(settings, "journeymap forget"):
        return _forget(settings, key, customer_id, email, say)


def _forget(
    settings: Settings,
    key: bytes,
    customer_id: str | None,
    email: str | None,
    say: Callable[[str], None],
) -> ErasureResult:
    request_id = uuid.uuid4().hex
    at = datetime.now(UTC).replace(tzinfo=None)
    compact_if_pending(settings)  # an earlier request or purge killed before its compaction
    compaction_pending(settings).touch()
    with DuckDBWarehouse(settings.duckdb_path) as warehouse:
        connection = warehouse.connection
        ensure_erasure_tables(connection)
        person = find_person(connection, customer_id, email)
        needles = person.needles(key)
        regex = needle_regex(needles)
        with warehouse.transaction():
            by_table, by_load, quarantined = _erase_rows(connection, regex)
            adjust_ledger(warehouse, by_load, quarantined)
            connection.executemany(
                f"insert into {RAW_SCHEMA}.{TOMBSTONE_TABLE} values (?, ?, ?, ?)",
                [(request_id, kind, p, at) for kind, p in person.tombstones(key)],
            )
        files = _rewrite_data_files(connection, settings.data_dir, settings.landing_dir, regex)
        _log(connection, request_id, at, {**by_table, **{f"file:{k}": v for k, v in files.items()}})
    outputs = files_under(settings.build_dir, settings.dbt_target_dir)
    deleted = [hit.where for hit in scan_files(outputs, needles)]
    for name in deleted:
        Path(name).unlink()
    compact_if_pending(settings)
    remaining = verify_forgotten(settings, needles, person.clear_values())
    result = ErasureResult(request_id, at, by_table, files, deleted, remaining)
    say(
        f"request {request_id}: erased {result.rows_erased:,} rows from {len(by_table)} tables, "
        f"rewrote {len(files)} data files, deleted {len(deleted)} build outputs "
        "(rebuilt without them on the next build); warehouse file compacted"
    )
    if remaining:
        raise ErasureError(
            f"request {request_id}: traces remain in {', '.join(h.where for h in remaining)}"
        )
    say(f"request {request_id}: verified - no trace in any table, data or build file")
    return result


def verify_forgotten(settings: Settings, needles: set[str], clear: set[str]) -> list[Hit]:
    """Where any of ``needles`` still is: tables (every schema; the tombstones excepted), files
    under the data, build and dbt target folders, and the warehouse file's bytes (the
    tombstones' pseudonyms are in them: the bytes are checked for clear values only)."""
    tombstones = f"{RAW_SCHEMA}.{TOMBSTONE_TABLE}."  # pseudonyms kept to block re-delivery
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as connection:
        hits = scan_tables(connection, needles, skip_schemas=())
    hits = [hit for hit in hits if not hit.where.startswith(tombstones)]
    paths = files_under(settings.data_dir, settings.build_dir, settings.dbt_target_dir)
    return hits + scan_files(paths, needles) + scan_files([settings.duckdb_path], clear)
