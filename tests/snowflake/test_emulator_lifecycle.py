"""The emulator `make test-snowflake` starts is stopped whatever happens: when the tests fail
and when the test process itself is killed (no server left listening on the CI machine)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from journeymap.settings import PROJECT_DIR
from tests.snowflake.conftest import running_emulator

pytestmark = pytest.mark.snowflake

STOP_SECONDS = 20

# A test process that starts the emulator, says where it listens, and waits to be killed.
HOLDER = """
import sys, time
from pathlib import Path
from tests.snowflake.conftest import running_emulator
with running_emulator(Path(sys.argv[1])) as emulator:
    print(emulator.port, flush=True)
    time.sleep(600)
"""


def _listening(port: int) -> bool:
    with contextlib.closing(socket.socket()) as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _stops_listening(port: int) -> bool:
    deadline = time.monotonic() + STOP_SECONDS
    while time.monotonic() < deadline:
        if not _listening(port):
            return True
        time.sleep(0.2)
    return False


def test_the_emulator_stops_when_the_tests_fail(tmp_path: Path) -> None:
    with (
        pytest.raises(RuntimeError, match="a failing test"),
        running_emulator(tmp_path) as emulator,
    ):
        assert _listening(emulator.port)
        raise RuntimeError("a failing test")
    assert not _listening(emulator.port)
    with pytest.raises(ProcessLookupError):  # stopped and reaped
        os.kill(emulator.pid, 0)


def test_the_emulator_stops_when_the_test_process_is_killed(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path)],
        cwd=PROJECT_DIR,
        env={**os.environ, "PYTHONPATH": str(PROJECT_DIR)},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        port = int(holder.stdout.readline())
        assert _listening(port)
        holder.send_signal(signal.SIGKILL)  # no finally block runs in the holder
        holder.wait()
        assert _stops_listening(port)
    finally:
        holder.kill()
        holder.wait()
