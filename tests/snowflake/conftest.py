"""The Snowflake suite (`make test-snowflake`): journeymap against the Snowflake emulator
(tests/snowflake/emulator.py), started once per session on 127.0.0.1 and stopped at the end
whatever happened (the server also dies with the test process)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from journeymap.settings import PROJECT_DIR, Settings
from tests.snowflake.emulator import SESSIONS_LOG

STARTUP_SECONDS = 60


@dataclass(frozen=True)
class Emulator:
    port: int
    data_dir: Path
    pid: int

    def env(self, database: str) -> dict[str, str]:
        """SNOWFLAKE_* variables reaching ``database`` on the emulator (any credentials do)."""
        return {
            "SNOWFLAKE_ACCOUNT": "journeymap",
            "SNOWFLAKE_USER": "journeymap",
            "SNOWFLAKE_PASSWORD": "emulator",
            "SNOWFLAKE_ROLE": "journeymap",
            "SNOWFLAKE_WAREHOUSE": "journeymap",
            "SNOWFLAKE_DATABASE": database,
            "SNOWFLAKE_HOST": "127.0.0.1",
            "SNOWFLAKE_PORT": str(self.port),
            "SNOWFLAKE_PROTOCOL": "http",
        }

    def sessions(self) -> list[dict]:
        """Every login so far: its database and query tag."""
        path = self.data_dir / SESSIONS_LOG
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines()]


def snowflake_settings(root: Path) -> Settings:
    """A workspace under ``root`` whose warehouse is Snowflake (SNOWFLAKE_* from the env)."""
    return replace(Settings.for_workspace(root), warehouse_kind="snowflake")


@contextlib.contextmanager
def snowflake_env(emulator: Emulator, database: str) -> Iterator[dict[str, str]]:
    """The process environment pointed at ``database`` (dbt's subprocesses inherit it)."""
    with pytest.MonkeyPatch.context() as patch:
        env = emulator.env(database)
        for name, value in env.items():
            patch.setenv(name, value)
        yield env


def _free_port() -> int:
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _die_with_parent() -> None:
    """In the server process: exit when the test process does, even if it is killed."""
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _wait_until_listening(port: int, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the Snowflake emulator exited: {log.read_text()[-2000:]}")
        with contextlib.closing(socket.socket()) as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"the Snowflake emulator did not listen within {STARTUP_SECONDS}s")


@contextlib.contextmanager
def running_emulator(data_dir: Path) -> Iterator[Emulator]:
    """The emulator serving on a free port of 127.0.0.1 while the block runs; stopped when the
    block ends, however it ends (and with the process that started it, if that is killed)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    log = data_dir / "server.log"
    port = _free_port()
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.snowflake.emulator", "--port", str(port)]
            + ["--data-dir", str(data_dir)],
            cwd=PROJECT_DIR,
            stdout=output,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONPATH": str(PROJECT_DIR)},
            preexec_fn=_die_with_parent,
        )
    try:
        _wait_until_listening(port, process, log)
        yield Emulator(port, data_dir, process.pid)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def snowflake_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    with running_emulator(tmp_path_factory.mktemp("snowflake_emulator")) as emulator:
        yield emulator
