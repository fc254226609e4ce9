"""A child process that ends when its server does, however the server ended.

A server killed with SIGKILL runs no cleanup: a child blocked on a queue whose other end it
also holds (a `ProcessPoolExecutor` worker waiting for its next job) never sees end-of-file
and runs on, orphaned (issue 20: an ONNX export process, 518 MB). `exit_with_parent(pid)`,
called first thing in the child, starts a daemon thread that watches the parent's pid and
ends the process (`os._exit`, no cleanup to hang in) once it has been re-parented. Portable
(no `prctl`): PR_SET_PDEATHSIG would fire when the *thread* that spawned the child exits,
and the server spawns from threads that come and go.
"""

from __future__ import annotations

import os
import threading
import time

WATCH_S = 0.25  # how often the parent is looked for


def exit_with_parent(parent_pid: int, interval: float = WATCH_S) -> threading.Thread:
    """Start watching `parent_pid` (the server: this process's parent now, or its
    grandparent through a forkserver); exit once it is gone, or once this process has been
    re-parented (its parent, the server or the forkserver that dies with it, is gone)."""
    parent = os.getppid()

    def watch() -> None:
        while True:
            if os.getppid() != parent or not _alive(parent_pid):
                os._exit(1)
            time.sleep(interval)

    thread = threading.Thread(target=watch, name="layerlab-parent-watch", daemon=True)
    thread.start()
    return thread


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
