"""Crashes and concurrency: a load killed with SIGKILL at any moment leaves a warehouse that
the next load completes to exactly what an uninterrupted load gives; the daily build killed
while dbt builds (a first run and an incremental one) or while a Python model runs leaves
one that the next build completes to every table of an uninterrupted build, reconciled; a
second writer or a second build gets a clear message while the first goes on; servers bind
to 127.0.0.1."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from dagster import DagsterInstance

from journeymap.generator import generate
from journeymap.settings import PROJECT_DIR
from tests.helpers.processes import descendants, running
from tests.integration.marts import MARTS, differing_tables, scalar, table_fingerprints
from tests.integration.test_incremental import _hold_back, _release

pytestmark = pytest.mark.integration

# Raw rows without the load time (the only column a re-run may change).
RAW_STATE = """
    select source, count(*) as rows, sum(hash(_load_id, _file_name, _row_number)) as content
    from (
        {unions}
    ) group by source order by source
"""
SOURCES = ("web_events", "app_events", "email_events", "crm_contacts", "orders", "quarantine")


def _env(root: Path) -> dict[str, str]:
    return {
        **os.environ,
        "JOURNEYMAP_DATA_DIR": str(root / "data"),
        "JOURNEYMAP_DUCKDB_PATH": str(root / "warehouse" / "journeymap.duckdb"),
        "JOURNEYMAP_BUILD_DIR": str(root / "build"),
        "JOURNEYMAP_DBT_TARGET": str(root / "target"),
    }


def _journeymap(root: Path, *args: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "journeymap.cli", *args]
    return subprocess.Popen(
        command, env=_env(root), cwd=PROJECT_DIR, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def _raw_state(root: Path) -> list[tuple]:
    unions = "\nunion all\n".join(
        f"select '{s}' as source, _load_id, _file_name, _row_number from raw.{s}" for s in SOURCES
    )
    path = root / "warehouse" / "journeymap.duckdb"
    with duckdb.connect(str(path), read_only=True) as con:
        state = con.execute(RAW_STATE.format(unions=unions)).fetchall()
        ledger = con.execute(
            "select source, file_name, file_sha256, rows_in_file, rows_loaded, rows_quarantined "
            "from raw.load_ledger order by all"
        ).fetchall()
    return state + ledger


@pytest.fixture(scope="module")
def business(tmp_path_factory) -> Path:
    """A small generated business, loaded once without interruption (the reference)."""
    root = tmp_path_factory.mktemp("crash")
    generate(root / "reference" / "data", customers=300, days=20, seed=3)
    done = _journeymap(root / "reference", "load")
    assert done.wait(timeout=600) == 0, done.stderr.read().decode()
    return root


@pytest.mark.parametrize("kill_after", [0.5, 1.5, 3.0])
def test_a_killed_load_completes_to_the_uninterrupted_result(business, kill_after):
    root = business / f"killed_{kill_after}"
    (root / "data").mkdir(parents=True)
    os.symlink(business / "reference" / "data" / "landing", root / "data" / "landing")
    loading = _journeymap(root, "load")
    time.sleep(kill_after)
    loading.send_signal(signal.SIGKILL)
    assert loading.wait(timeout=60) == -signal.SIGKILL  # killed mid-load, not after it ended
    rerun = _journeymap(root, "load")
    assert rerun.wait(timeout=600) == 0, rerun.stderr.read().decode()
    assert _raw_state(root) == _raw_state(business / "reference")


def test_a_second_writer_stops_with_a_clear_message(business, tmp_path):
    path = business / "reference" / "warehouse" / "journeymap.duckdb"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, time; c = duckdb.connect({str(path)!r}); "
            "print('holding', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
    )
    try:
        assert holder.stdout.readline().strip() == b"holding"
        second = _journeymap(business / "reference", "load")
        assert second.wait(timeout=120) == 1
        message = second.stderr.read().decode()
        assert re.search(r"is being written by another process \(pid \d+\)", message), message
    finally:
        holder.kill()
        holder.wait()


def test_servers_bind_to_localhost():
    makefile = (PROJECT_DIR / "Makefile").read_text()
    dev = makefile.split("\ndev:", 1)[1].split("\n\n", 1)[0]
    assert "dagster dev" in dev and "-h 127.0.0.1" in dev
    assert "0.0.0.0" not in makefile


# The daily build (`journeymap build`, the Dagster job journeymap_full) killed on the way.
BUILD_TIMEOUT = 900  # seconds; a guard against a hung build, not an assertion


class Build:
    """One workspace (data, warehouse, outputs, dbt target under ``root``) and the builds run
    on it. With ``dagster_home`` the runs are recorded there (as ``make dev`` does), so a
    killed run stays STARTED in the run storage the next build uses."""

    completed = False  # a build ran to its end

    def __init__(self, root: Path, dagster_home: bool = False) -> None:
        self.root = root
        self.env = _env(root)
        self.env.pop("DAGSTER_HOME", None)
        if dagster_home:
            (root / "dagster_home").mkdir(parents=True, exist_ok=True)
            self.env["DAGSTER_HOME"] = str(root / "dagster_home")

    @property
    def duckdb_path(self) -> Path:
        return self.root / "warehouse" / "journeymap.duckdb"

    @property
    def dbt_output(self) -> Path:
        return self.root / "target" / "journeymap_full_output.log"

    @property
    def console(self) -> Path:
        return self.root / "build_console.log"

    def start(self) -> subprocess.Popen:
        self.dbt_output.unlink(missing_ok=True)  # the last build's dbt lines must not count
        with self.console.open("w") as console:
            return subprocess.Popen(
                [sys.executable, "-m", "journeymap.cli", "build"],
                env=self.env,
                cwd=PROJECT_DIR,
                stdout=console,
                stderr=subprocess.STDOUT,
            )

    def complete(self) -> dict[str, tuple[int, int]]:
        """An uninterrupted build; every derived table's fingerprint after it."""
        build = self.start()
        assert build.wait(timeout=BUILD_TIMEOUT) == 0, self.console.read_text()[-3000:]
        return table_fingerprints(self.duckdb_path)

    def kill_when(self, written: Path, pattern: str) -> tuple[str, set[int]]:
        """Start a build and SIGKILL it as soon as ``written`` (dbt's output or the console)
        shows ``pattern``; return once every process it had started is gone too: the console
        up to then and those processes. Fails if the build ends first."""
        build = self.start()
        children: set[int] = set()
        while build.poll() is None:
            if written.exists() and re.search(pattern, written.read_text(errors="replace")):
                children = descendants(build.pid)
                build.send_signal(signal.SIGKILL)
                break
            time.sleep(0.05)
        assert build.wait(timeout=60) == -signal.SIGKILL, (
            f"the build ended before {pattern!r}:\n{self.console.read_text()[-3000:]}"
        )
        guard = time.monotonic() + BUILD_TIMEOUT
        while any(running(pid) for pid in children) and time.monotonic() < guard:
            time.sleep(0.05)
        return self.console.read_text(), children

    def reconciled(self) -> bool:
        return scalar(
            self.duckdb_path,
            "select count(*) > 0 and bool_and(is_reconciled) from marts.mart_data_reconciliation",
        )


def _last_day(landing: Path) -> str:
    return max(re.search(r"_(\d{4}-\d{2}-\d{2})\.csv$", p.name)[1] for p in landing.glob("*/*.csv"))


def _workspace(business: Path, root: Path, parked: Path) -> Path:
    """A copy of the business's landing files without the last day (parked for later)."""
    shutil.copytree(business / "reference" / "data" / "landing", root / "data" / "landing")
    assert _hold_back(root / "data" / "landing", parked, _last_day(root / "data" / "landing"))
    return root


@pytest.fixture(scope="module")
def reference_builds(business: Path) -> dict:
    """Uninterrupted builds: all days but the last, then the last day incrementally. While
    the first runs, a second build of the same workspace is tried."""
    root = _workspace(business, business / "builds" / "reference", business / "builds" / "rest")
    reference = Build(root)
    first = reference.start()
    lock = reference.duckdb_path.with_name("journeymap.duckdb.run.lock")
    while first.poll() is None and f"(pid {first.pid})" not in (
        lock.read_text() if lock.exists() else ""
    ):
        time.sleep(0.05)
    second = subprocess.run(
        [sys.executable, "-m", "journeymap.cli", "build"],
        env=reference.env,
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT,
    )
    second_ended_first = first.poll() is None
    assert first.wait(timeout=BUILD_TIMEOUT) == 0, reference.console.read_text()[-3000:]
    full = table_fingerprints(reference.duckdb_path)
    full_reconciled = reference.reconciled()
    _release(business / "builds" / "rest", root / "data" / "landing")
    increment = reference.complete()
    return {
        "first_pid": first.pid,
        "second": second,
        "second_ended_first": second_ended_first,
        "full": full,
        "full_reconciled": full_reconciled,
        "increment": increment,
        "increment_reconciled": reference.reconciled(),
    }


@pytest.fixture(scope="module")
def killed(business: Path) -> Build:
    root = _workspace(business, business / "builds" / "killed", business / "builds" / "parked")
    return Build(root, dagster_home=True)


def test_a_second_build_stops_with_a_clear_message_and_the_first_completes(reference_builds):
    second = reference_builds["second"]
    assert reference_builds["second_ended_first"]
    assert second.returncode == 1
    assert re.search(
        r"is being written by the Dagster job journeymap_full "
        rf"\(pid {reference_builds['first_pid']}\); runs that write the warehouse go one after "
        "another",
        second.stderr,
    ), second.stderr
    assert reference_builds["full_reconciled"] and reference_builds["increment_reconciled"]
    assert all(reference_builds["full"][f"marts.{mart}"][0] > 0 for mart in MARTS)


def test_a_build_killed_while_dbt_builds_completes_to_the_uninterrupted_build(
    reference_builds, killed
):
    # Killed once dbt has built an incremental model of the intermediate layer. dbt (a
    # process the build started) dies with it: no mart gets built after the kill.
    _, children = killed.kill_when(
        killed.dbt_output, r"OK created sql incremental model intermediate\."
    )
    assert children  # dbt was running
    left = table_fingerprints(killed.duckdb_path)
    missing = [mart for mart in MARTS if f"marts.{mart}" not in left]
    assert "staging.stg_tracking__web_events" in left and missing

    assert differing_tables(killed.complete(), reference_builds["full"]) == {}
    assert killed.reconciled()
    killed.completed = True
    # The killed run, left STARTED in the run storage, was marked failed by the next one.
    assert "ended without finishing (killed): marked failed" in killed.console.read_text()
    with DagsterInstance.from_config(str(killed.root / "dagster_home")) as instance:
        statuses = sorted(run.status.value for run in instance.get_runs())
    assert statuses == ["FAILURE", "SUCCESS"]


def test_an_incremental_build_killed_in_dbt_then_in_a_python_model_completes(
    reference_builds, killed
):
    """The last day lands; its build is killed while dbt builds incrementally, the next one
    while the Python models write (each ml table is then wholly the last run's or wholly the
    new one); the third build leaves what an uninterrupted incremental build does."""
    if not killed.completed:  # run alone, or the previous test stopped early: build it now
        assert differing_tables(killed.complete(), reference_builds["full"]) == {}
        killed.completed = True
    full, increment = reference_builds["full"], reference_builds["increment"]
    _release(killed.root.parent / "parked", killed.root / "data" / "landing")

    _, children = killed.kill_when(
        killed.dbt_output, r"OK created sql incremental model intermediate\."
    )
    assert children  # dbt was running
    left = table_fingerprints(killed.duckdb_path)
    assert differing_tables(left, increment)  # dbt died before it was done
    assert {name for name in left if name.startswith("ml.")} == {
        name for name in full if name.startswith("ml.")
    }

    console, _ = killed.kill_when(killed.console, r"done\s+ml__channel_attribution\b")
    assert re.search(r"done\s+dbt_core\b", console) and "report__" not in console
    left = table_fingerprints(killed.duckdb_path)
    ml_tables = [name for name in increment if name.startswith("ml.")]
    assert all(left[name] in (full[name], increment[name]) for name in ml_tables), differing_tables(
        {n: left[n] for n in ml_tables}, {n: increment[n] for n in ml_tables}
    )
    assert left["ml.channel_attribution"] == increment["ml.channel_attribution"]
    assert any(left[name] != increment[name] for name in ml_tables)  # killed mid-models

    assert differing_tables(killed.complete(), increment) == {}
    assert killed.reconciled()
