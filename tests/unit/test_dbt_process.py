"""journeymap-dbt dies with the process that started it, also when that one is SIGKILLed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from journeymap.transform import dbt_executable

# A parent that starts a child calling die_with_parent (then idling as a long dbt build
# would), prints the child's pid and waits.
PARENT = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c",
    "import time; from journeymap.dbt_process import die_with_parent; die_with_parent(); "
    "print('watching', flush=True); time.sleep(600)"], stdout=subprocess.PIPE)
assert child.stdout.readline().strip() == b"watching"
print(child.pid, flush=True)
time.sleep(600)
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_the_child_dies_when_its_parent_is_killed():
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE)
    child = int(parent.stdout.readline())
    assert _alive(child)
    parent.send_signal(signal.SIGKILL)
    assert parent.wait(timeout=60) == -signal.SIGKILL
    guard = time.monotonic() + 60  # a hang guard, not a timing assertion
    while _alive(child) and time.monotonic() < guard:
        time.sleep(0.05)
    assert not _alive(child)


def test_dbt_runs_through_the_launcher():
    executable = dbt_executable()
    assert os.path.basename(executable) == "journeymap-dbt"
    version = subprocess.run([executable, "--version"], capture_output=True, text=True)
    assert version.returncode == 0 and "installed" in version.stdout
