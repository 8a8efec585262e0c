"""What a run killed with SIGKILL leaves behind: no dbt (journeymap-dbt dies with the process
that started it), and no run that Dagster's storage counts as running for ever (the next run
of the installation marks it failed)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from dagster import DagsterInstance, DagsterRunStatus, job, op

from journeymap.orchestration.run import INSTALLATION_TAG, fail_abandoned_runs
from journeymap.settings import Settings
from journeymap.transform import dbt_executable
from journeymap.warehouse import run_lock_path
from tests.helpers.processes import running

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


def test_the_child_dies_when_its_parent_is_killed():
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE)
    child = int(parent.stdout.readline())
    assert running(child)
    parent.send_signal(signal.SIGKILL)
    assert parent.wait(timeout=60) == -signal.SIGKILL
    guard = time.monotonic() + 60  # a hang guard, not a timing assertion
    while running(child) and time.monotonic() < guard:
        time.sleep(0.05)
    assert not running(child)


def test_dbt_runs_through_the_launcher():
    executable = dbt_executable()
    assert os.path.basename(executable) == "journeymap-dbt"
    version = subprocess.run([executable, "--version"], capture_output=True, text=True)
    assert version.returncode == 0 and "installed" in version.stdout


@op
def _step() -> None:
    pass


@job
def _job() -> None:
    _step()


def test_the_next_run_marks_failed_the_runs_its_installation_left_started(tmp_path):
    settings = Settings.for_workspace(tmp_path)
    instance = DagsterInstance.ephemeral()
    ours = {INSTALLATION_TAG: str(run_lock_path(settings))}
    other = {INSTALLATION_TAG: str(tmp_path / "elsewhere.run.lock")}
    left = instance.create_run_for_job(_job, tags=ours, status=DagsterRunStatus.STARTED)
    done = instance.create_run_for_job(_job, tags=ours, status=DagsterRunStatus.SUCCESS)
    elsewhere = instance.create_run_for_job(_job, tags=other, status=DagsterRunStatus.STARTED)

    assert fail_abandoned_runs(instance, settings) == [left.run_id]
    status = {run.run_id: run.status for run in instance.get_runs()}
    assert status[left.run_id] == DagsterRunStatus.FAILURE
    assert status[done.run_id] == DagsterRunStatus.SUCCESS
    assert status[elsewhere.run_id] == DagsterRunStatus.STARTED  # another installation's
