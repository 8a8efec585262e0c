"""Wall time, CPU time and peak memory of a subprocess and everything it starts; sizes on
disk and the load average around it.

Peak RSS comes from two independent measurements, and the larger one is reported:

- ``/usr/bin/time -v`` (GNU time, apt package ``time``): the kernel's own high-water mark
  (``ru_maxrss`` from ``wait4``) of the largest single process of the tree. Exact, never misses
  a short spike, but does not add up concurrent processes.
- polling ``/proc``: every 0.1 s, the sum of ``VmRSS`` over the process and all its
  descendants. Adds up a tree (should dbt ever start helpers), but may miss a spike between two
  samples.

dbt-duckdb runs DuckDB inside dbt's own Python process, so for ``dbt build`` both agree to within
the polling error; the two numbers are kept side by side in the results.
Without GNU time the harness falls back to the polling alone.

CPU time (user + system, from ``getrusage(RUSAGE_CHILDREN)`` around the wait) is recorded next
to wall time: on a shared machine it is the figure least distorted by other people's processes.
The 1-minute load average is sampled during every step, so a contended run shows as one.
"""

from __future__ import annotations

import json
import os
import re
import resource
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

GNU_TIME = "/usr/bin/time"
POLL_SECONDS = 0.1
GIB = 1024**3


@dataclass
class Measured:
    seconds: float
    returncode: int
    peak_rss_bytes: int  # max of the two measurements below
    kernel_max_rss_bytes: int | None  # GNU time's "Maximum resident set size" (largest process)
    polled_tree_rss_bytes: int  # largest sampled sum of RSS over the process tree
    cpu_seconds: float  # user + system CPU time of the process tree (all threads, all cores)
    mean_load_average: float | None  # 1-minute load average, averaged over the run
    log: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def as_dict(self) -> dict:
        return asdict(self)


def gnu_time_available() -> bool:
    if not os.access(GNU_TIME, os.X_OK):
        return False
    probe = subprocess.run([GNU_TIME, "-v", "true"], capture_output=True, text=True, check=False)
    return "Maximum resident set size" in probe.stderr


def rss_method() -> str:
    """How peak RSS is measured on this machine (it goes into the results)."""
    if gnu_time_available():
        return (
            "max of GNU time -v (kernel max RSS of the largest process) and /proc polling of the "
            "process tree's summed RSS every 0.1 s"
        )
    return "/proc polling of the process tree's summed RSS every 0.1 s (GNU time not installed)"


def _rss_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return 0


def _children(pid: int) -> list[int]:
    """Direct children of ``pid`` (via /proc/<pid>/task/*/children, else a /proc scan)."""
    kids: list[int] = []
    task_dir = Path(f"/proc/{pid}/task")
    try:
        tasks = list(task_dir.iterdir())
    except (FileNotFoundError, PermissionError):
        return kids
    found_interface = False
    for task in tasks:
        children_file = task / "children"
        try:
            kids.extend(int(x) for x in children_file.read_text().split())
            found_interface = True
        except (FileNotFoundError, PermissionError, ProcessLookupError):
            continue
    if found_interface:
        return kids
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except (FileNotFoundError, PermissionError, ProcessLookupError):
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            kids.append(int(entry.name))
    return kids


def tree_rss_bytes(root: int) -> int:
    total, stack, seen = 0, [root], set()
    while stack:
        pid = stack.pop()
        if pid in seen:
            continue
        seen.add(pid)
        total += _rss_bytes(pid)
        stack.extend(_children(pid))
    return total


class RssPoller:
    """Samples the RSS of a process tree (or of this process) in a background thread."""

    def __init__(self, pid: int, include_tree: bool = True) -> None:
        self.pid = pid
        self.include_tree = include_tree
        self.peak = 0
        self.load_samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        rss = tree_rss_bytes(self.pid) if self.include_tree else _rss_bytes(self.pid)
        self.peak = max(self.peak, rss)

    def _run(self) -> None:
        ticks = 0
        while not self._stop.is_set():
            self._sample()
            if ticks % 10 == 0:  # about once a second
                self.load_samples.append(os.getloadavg()[0])
            ticks += 1
            self._stop.wait(POLL_SECONDS)

    @property
    def mean_load_average(self) -> float | None:
        if not self.load_samples:
            return None
        return round(sum(self.load_samples) / len(self.load_samples), 2)

    def __enter__(self) -> RssPoller:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()


_MAX_RSS = re.compile(r"Maximum resident set size \(kbytes\): (\d+)")


def run_measured(
    command: Sequence[str],
    *,
    log_path: Path,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> Measured:
    """Run ``command`` with its output to ``log_path``; time it and measure its peak RSS."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    time_file = log_path.with_suffix(".time")
    use_gnu_time = gnu_time_available()
    full = [GNU_TIME, "-v", "-o", str(time_file), *command] if use_gnu_time else list(command)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with log_path.open("w") as log:
        started = time.perf_counter()
        process = subprocess.Popen(full, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=cwd)
        with RssPoller(process.pid) as poller:
            returncode = process.wait()
        seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    kernel = None
    if use_gnu_time and time_file.exists():
        match = _MAX_RSS.search(time_file.read_text())
        if match:
            kernel = int(match.group(1)) * 1024
        shutil.move(time_file, log_path.with_suffix(".time.txt"))
    # GNU time's own RSS (about 2 MB) is in the polled sum; it does not matter at these sizes.
    return Measured(
        seconds=seconds,
        returncode=returncode,
        peak_rss_bytes=max(kernel or 0, poller.peak),
        kernel_max_rss_bytes=kernel,
        polled_tree_rss_bytes=poller.peak,
        cpu_seconds=round(cpu, 2),
        mean_load_average=poller.mean_load_average,
        log=str(log_path),
    )


def tail(path: str | Path, lines: int = 30) -> str:
    try:
        return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return ""


def file_size(path: Path) -> int:
    """A DuckDB file with its write-ahead log."""
    size = path.stat().st_size if path.exists() else 0
    wal = path.with_name(path.name + ".wal")
    return size + (wal.stat().st_size if wal.exists() else 0)


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def free_disk_bytes(path: Path) -> int:
    path.mkdir(parents=True, exist_ok=True)
    return shutil.disk_usage(path).free


def load_average() -> float:
    return round(os.getloadavg()[0], 2)


def child_figures(module: str, *args: str) -> dict:
    """Run ``python -m module args`` in a process of its own (its peak RSS is its own) and
    return the JSON figures it prints on its last line."""
    command = [sys.executable, "-m", module, *args]
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def machine_load() -> dict:
    """The load average (1, 5, 15 min) and CPUs, to read a figure of a shared machine by."""
    return {"load_average": [round(v, 2) for v in os.getloadavg()], "cpus": os.cpu_count()}


def print_figures(figures: dict | list, path: Path | None = None) -> None:
    """Print the figures as indented JSON, and write them to ``path`` too when given."""
    text = json.dumps(figures, indent=2)
    print(text)
    if path is not None:
        path.write_text(text + "\n")
