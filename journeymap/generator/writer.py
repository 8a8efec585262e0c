"""Streaming CSV output: one landing file per source and day, plus the ground-truth CSVs.

Rows are buffered in memory and appended to their files when the buffer grows or a chunk ends.
Appending keeps each file's rows in the order they were added, so where the flushes fall
never changes a byte of the output.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from journeymap.generator.clock import DAY, Clock
from journeymap.generator.schema import META, SOURCE_NAMES
from journeymap.generator.truth import CUSTOMER_COLUMNS, DEFECT_COLUMNS, TEXT_COLUMNS

DefectRow = tuple[str, str, int, str, str, str]


def _writer(f: IO[str]) -> Any:
    return csv.writer(f, lineterminator="\n")


class LandingWriter:
    """``landing/<source>/<source>_<YYYY-MM-DD>.csv``; every file exists, header first.

    Rows arrive as tuples of CSV-ready fields (quoted where needed by ``schema.csv_field``).
    Files stay open for the run when the process may hold that many (opening is slow on some
    file systems); otherwise each flush reopens them in append mode.
    """

    def __init__(self, landing_dir: Path, clock: Clock, max_buffered_rows: int = 250_000) -> None:
        self.clock = clock
        self.max_buffered_rows = max_buffered_rows
        self.paths = [
            landing_dir / meta.name / f"{meta.name}_{day.isoformat()}.csv"
            for meta in META
            for day in clock.dates
        ]
        keep_open = len(self.paths) <= _open_file_budget()
        self._handles: list[IO[str] | None] = []
        for meta in META:
            (landing_dir / meta.name).mkdir(parents=True, exist_ok=True)
        for i, path in enumerate(self.paths):
            f = path.open("w", newline="", encoding="utf-8")
            f.write(",".join(META[i // clock.days].columns) + "\n")
            if keep_open:
                self._handles.append(f)
            else:
                f.close()
                self._handles.append(None)
        self._buffers: list[list[tuple[str, ...]]] = [[] for _ in self.paths]
        self._counts = [0] * len(self.paths)  # data rows per file, buffered ones included
        self.defect_rows = [0] * len(META)
        self._buffered = 0

    def add_person(self, records: list[Any]) -> list[DefectRow]:
        """Route one person's records (sorted by time) to their day files; return its defects
        with their final file and 1-based row number."""
        records.sort()
        start, days = self.clock.start, self.clock.days
        buffers, counts, paths = self._buffers, self._counts, self.paths
        defects: list[DefectRow] = []
        for ts, _, src, row, defect in records:
            i = src * days + (ts - start) // DAY
            buffers[i].append(row)
            counts[i] += 1
            if defect is not None:
                self.defect_rows[src] += 1
                defects.append(
                    (SOURCE_NAMES[src], paths[i].name, counts[i], defect[2], defect[0], defect[1])
                )
        self._buffered += len(records)
        if self._buffered >= self.max_buffered_rows:
            self.flush()
        return defects

    def add_rows(self, src: int, rows: list[tuple[int, tuple[str, ...]]]) -> None:
        """Route rows of one source that belong to no person (route time, CSV-ready row)."""
        start, days = self.clock.start, self.clock.days
        for ts, row in rows:
            i = src * days + (ts - start) // DAY
            self._buffers[i].append(row)
            self._counts[i] += 1
        self._buffered += len(rows)

    def flush(self) -> None:
        for i, rows in enumerate(self._buffers):
            if rows:
                text = "\n".join(map(",".join, rows)) + "\n"  # fields are CSV-ready already
                handle = self._handles[i]
                if handle is not None:
                    handle.write(text)
                else:
                    with self.paths[i].open("a", newline="", encoding="utf-8") as f:
                        f.write(text)
                rows.clear()
        self._buffered = 0

    def close(self) -> None:
        self.flush()
        for handle in self._handles:
            if handle is not None:
                handle.close()
        self._handles = [None] * len(self.paths)

    def rows_per_source(self) -> dict[str, int]:
        days = self.clock.days
        return {
            name: sum(self._counts[i * days : (i + 1) * days])
            for i, name in enumerate(SOURCE_NAMES)
        }

    def __enter__(self) -> LandingWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _open_file_budget() -> int:
    """How many landing files may stay open: half the soft limit, at most 4096."""
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    except (ImportError, ValueError, OSError):  # not on POSIX
        return 0
    if soft == resource.RLIM_INFINITY:
        return 4096
    return min(4096, soft // 2)


class TruthWriter:
    """customers.csv, texts.csv and defects.csv, appended as people are simulated."""

    def __init__(self, truth_dir: Path) -> None:
        truth_dir.mkdir(parents=True, exist_ok=True)
        self.paths = {
            "customers": truth_dir / "customers.csv",
            "texts": truth_dir / "texts.csv",
            "defects": truth_dir / "defects.csv",
        }
        headers: dict[str, Sequence[str]] = {
            "customers": CUSTOMER_COLUMNS,
            "texts": TEXT_COLUMNS,
            "defects": DEFECT_COLUMNS,
        }
        self._files = {k: p.open("w", newline="", encoding="utf-8") for k, p in self.paths.items()}
        self._csv = {k: _writer(f) for k, f in self._files.items()}
        for key, header in headers.items():
            self._csv[key].writerow(header)

    def write(self, kind: str, rows: Iterable[Sequence[Any]]) -> None:
        self._csv[kind].writerows(rows)

    def close(self) -> None:
        for f in self._files.values():
            f.close()

    def __enter__(self) -> TruthWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
