"""Looking for personal data where it must not be: every column of every table outside raw and
staging, and files (the page, data docs, dbt artifacts and logs, the warehouse file's bytes).

A scan takes the values to look for (a person's id, email and phone; planted values in tests)
and reports where any of them occurs. Text is cut into tokens the way identifiers are written
(letters, digits and ``._%+@-``, lower case, trailing dots and dashes dropped) and digit runs
with spaces or dashes inside (``4000 1234 ...`` -> ``40001234...``), and tokens are matched
exactly: one hash join however many values are sought. Tables are listed from the catalog
rather than named, so tables added later are covered without a change.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from journeymap.privacy import PRIVATE_SCHEMAS
from journeymap.warehouse import quote_identifier, quote_literals

_TOKEN = r"[a-z0-9._%+@-]+"
_DIGIT_RUN = r"\d(?:[ -]?\d){6,22}"
_TOKEN_BYTES = re.compile(_TOKEN.encode(), re.IGNORECASE)
_DIGIT_RUN_BYTES = re.compile(_DIGIT_RUN.encode())


@dataclass(frozen=True)
class Hit:
    where: str  # schema.table.column, or a file path
    count: int  # occurrences


def normalize_needle(value: str) -> str:
    """How a sought value is compared: lower case; a phone or card number as its digits."""
    value = value.strip().lower().rstrip(".-")
    if re.fullmatch(r"\+?[\d ()-]+", value):  # a phone or card number: its digits
        return re.sub(r"\D", "", value)
    return value


def _needles(values: Iterable[str]) -> set[str]:
    needles = {normalize_needle(v) for v in values if v and v.strip()}
    if not needles:
        raise ValueError("nothing to look for: give at least one non-empty value")
    return needles


def scanned_tables(
    connection: duckdb.DuckDBPyConnection,
    skip_schemas: Iterable[str] = PRIVATE_SCHEMAS,
    base_tables_only: bool = False,
) -> list[tuple[str, str]]:
    """(schema, table) of every table and view (``base_tables_only``: table) of the database
    but those in ``skip_schemas``."""
    base = "and table_type = 'BASE TABLE' " if base_tables_only else ""
    return connection.execute(
        "select table_schema, table_name from information_schema.tables "
        f"where table_catalog = current_database() {base}"
        f"and table_schema not in ({quote_literals([*skip_schemas, 'information_schema'])}) "
        "order by all"
    ).fetchall()


def table_columns(
    connection: duckdb.DuckDBPyConnection,
    schema: str,
    table: str,
    types: Iterable[str] | None = None,
) -> list[str]:
    """Column names of a table in order; only those of ``types`` (e.g. VARCHAR) when given."""
    where = f" and data_type in ({quote_literals(types)})" if types is not None else ""
    rows = connection.execute(
        "select column_name from information_schema.columns "
        f"where table_schema = ? and table_name = ?{where} order by ordinal_position",
        [schema, table],
    ).fetchall()
    return [name for (name,) in rows]


def _token_sql(relation: str, columns: list[str]) -> str:
    """Occurrences of the sought tokens per column. Each column's distinct values are cut
    into tokens once and weighted by how often they occur: most columns repeat a few values
    (names, channels, stages), so the regular expressions run on far fewer strings."""
    values = ", ".join(f"lower(cast({quote_identifier(c)} as varchar))" for c in columns)
    return f"""
        with cells as (
            select unnest([{quote_literals(columns)}]) as column_name, unnest([{values}]) as value
            from {relation}
        ),
        distinct_cells as (
            select column_name, value, count(*) as n
            from cells where value is not null
            group by column_name, value
        ),
        tokens as (
            select column_name, n,
                rtrim(unnest(regexp_extract_all(value, '{_TOKEN}')), '.-') as token
            from distinct_cells
            union all
            select column_name, n,
                regexp_replace(unnest(regexp_extract_all(value, '{_DIGIT_RUN}')), '[ -]', '', 'g')
            from distinct_cells
        )
        select column_name, sum(n) as n
        from tokens join _pii_needles on tokens.token = _pii_needles.needle
        group by column_name
    """


def scan_tables(
    connection: duckdb.DuckDBPyConnection,
    values: Iterable[str],
    skip_schemas: Iterable[str] = PRIVATE_SCHEMAS,
    only: Iterable[str] | None = None,
) -> list[Hit]:
    """Columns (of every type, as text) of every table outside ``skip_schemas`` that hold any
    of ``values``, with the number of occurrences; ``only``: just these schemas or
    ``schema.table`` names (a positive control that needs no full scan)."""
    needles = pd.DataFrame({"needle": sorted(_needles(values))})
    wanted = None if only is None else set(only)
    connection.register("_pii_needles", needles)
    hits: list[Hit] = []
    try:
        for schema, table in scanned_tables(connection, skip_schemas):
            if wanted is not None and not {schema, f"{schema}.{table}"} & wanted:
                continue
            columns = table_columns(connection, schema, table)
            relation = f"{quote_identifier(schema)}.{quote_identifier(table)}"
            if columns:
                rows = connection.execute(_token_sql(relation, columns)).fetchall()
                hits += [Hit(f"{schema}.{table}.{column}", n) for column, n in sorted(rows)]
    finally:
        connection.unregister("_pii_needles")
    return hits


def files_under(*roots: Path) -> Iterator[Path]:
    """Every file below ``roots`` (a root may be a file)."""
    for root in roots:
        if root.is_file():
            yield root
        elif root.is_dir():
            yield from (p for p in sorted(root.rglob("*")) if p.is_file())


def scan_files(paths: Iterable[Path], values: Iterable[str]) -> list[Hit]:
    """Files whose bytes hold any of ``values`` (as UTF-8 tokens), read in chunks so a big
    warehouse file is fine."""
    needles = {n.encode() for n in _needles(values)}
    count = _count_tokens if len(needles) > FEW_NEEDLES else _searcher(needles)
    hits = []
    for path in paths:
        found = _count_in_file(path, needles, count)
        if found:
            hits.append(Hit(str(path), found))
    return hits


# Up to this many sought values (one person's: `journeymap forget`), files are searched with
# one regular expression of them, in C; more (every customer of a test's business) are
# looked up token by token in a set.
FEW_NEEDLES = 64
_TOKEN_CHARS = rb"a-z0-9._%+@-"


def _searcher(needles: set[bytes]) -> Callable[[bytes, set[bytes]], int]:
    """Counts the tokens of ``_count_tokens`` that are needles, by a search for the needles
    themselves: a word needle must fill a token (trailing dots and dashes aside), a number
    a whole digit run (spaces and dashes between its digits allowed)."""
    words = [re.escape(n) for n in sorted(needles, key=len, reverse=True) if not n.isdigit()]
    numbers = [rb"[ -]?".join(re.escape(bytes([d])) for d in n) for n in needles if n.isdigit()]
    patterns = []
    if words:
        patterns.append(
            rb"(?<![" + _TOKEN_CHARS + rb"])(?:" + b"|".join(words) + rb")"
            rb"(?=[.-]*(?:[^" + _TOKEN_CHARS + rb"]|$))"
        )
    if numbers:
        patterns.append(rb"(?<!\d)(?<!\d[ -])(?:" + b"|".join(numbers) + rb")(?![ -]?\d)")
    found = re.compile(b"|".join(patterns), re.IGNORECASE)

    def count(data: bytes, _needles: set[bytes]) -> int:
        return sum(1 for _ in found.finditer(data))

    return count


def _count_in_file(
    path: Path, needles: set[bytes], count: Callable[[bytes, set[bytes]], int]
) -> int:
    found, tail = 0, b""
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 24):
            block = tail + chunk
            # Whole tokens only: the block is cut where no token or digit run can go on (the
            # chunk edge may be inside one) and the rest is counted with the next chunk.
            cut = _safe_cut(block) if len(chunk) == 1 << 24 else len(block)
            found += count(block[:cut], needles)
            tail = block[cut:]
    return found + count(tail, needles)


_BREAK = re.compile(rb"[^a-z0-9._%+@ -]", re.IGNORECASE)


def _safe_cut(block: bytes) -> int:
    """Just after the last byte of ``block`` that no token or digit run can hold (the whole
    block when a token runs through its last 64 KiB: such data is no text)."""
    breaks = [m.end() for m in _BREAK.finditer(block, max(0, len(block) - (1 << 16)))]
    return breaks[-1] if breaks else len(block)


def _count_tokens(data: bytes, needles: set[bytes]) -> int:
    words = (m.group().lower().rstrip(b".-") for m in _TOKEN_BYTES.finditer(data))
    runs = (re.sub(rb"[ -]", b"", m.group()) for m in _DIGIT_RUN_BYTES.finditer(data))
    return sum(1 for token in words if token in needles) + sum(
        1 for token in runs if token in needles
    )
