"""Crashes and concurrency: a load killed with SIGKILL at any moment leaves a warehouse that
the next load completes to exactly what an uninterrupted load gives; a second writer gets a
clear message while the first holds the file; servers bind to 127.0.0.1."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from journeymap.generator import generate
from journeymap.settings import PROJECT_DIR

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
