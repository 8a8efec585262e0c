"""``journeymap-dbt``: dbt's own command line, in a process that dies with its parent.

journeymap runs dbt as a subprocess (``transform.dbt_executable``). A process killed with
SIGKILL cannot stop its children: a plain ``dbt`` orphaned that way would go on building the
warehouse after the run that started it is gone, holding the DuckDB file so the re-run fails
on its lock, and writing marts no run then checks. Here a thread watches the parent and kills
this process (SIGKILL: an open transaction is never committed, each model keeps its previous
state or its finished new one) as soon as the parent is gone, when the process is re-parented.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time

# How often the parent is looked for: dbt outlives a killed run by at most this long.
PARENT_CHECK_SECONDS = 0.1


def _die_with(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_SECONDS)
    os.kill(os.getpid(), signal.SIGKILL)


def die_with_parent() -> None:
    """From now on, this process is killed when its parent process ends."""
    threading.Thread(target=_die_with, args=(os.getppid(),), daemon=True).start()


def main() -> None:
    die_with_parent()
    from dbt.cli.main import cli  # after the watch starts: importing dbt takes seconds

    sys.argv[0] = "dbt"
    sys.exit(cli())


if __name__ == "__main__":
    main()
