"""The workers' forkserver as a fork of the server, so that the server shares its pages.

The local backend forks every worker from multiprocessing's forkserver, which imports the
engine and loads the compiled kernel once (zygote.py). Started the standard way, that
forkserver is a fresh interpreter: it and the server each held a private copy of torch's
import (~143 MB of dirty pages apiece: `python -c "import torch"` and /proc/self/smaps_rollup).
Forked from the server instead, after the server has imported zygote.py itself, the server,
the forkserver and every worker share one copy, copy-on-write
(`python -m bench.idle_memory`, quiet machine: the server and two idle workers 642 MB PSS
before, 510 MB after; the first two runs then cost 26 MB once instead of 86).

A fork is safe only from a process with one thread, so `start` is called before uvicorn starts
its loop and the store its pools, and it refuses (returns False, and the forkserver is started
the standard way on the first worker's start) when any other thread is running. Once forked,
the forkserver is multiprocessing's own: its `main` serves the same requests, and
`ForkServer.ensure_running` finds it alive and uses it; should it die, the next start launches
a fresh one the standard way.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import multiprocessing.forkserver
import os
import socket
import sys
import threading
from multiprocessing import connection, resource_tracker, util

import torch

from ..core.titles import name_process

log = logging.getLogger(__name__)

# multiprocessing.forkserver's `main` as this code knows it (CPython 3.10 to 3.13); another
# version (3.14 adds an authentication key) gets the standard way.
KNOWN_MAIN = ["listener_fd", "alive_r", "preload", "main_path", "sys_path"]


def start() -> bool:
    """Fork multiprocessing's forkserver from this process; False (nothing done) when unsafe.

    Python threads make a fork unsafe (a lock held by one stays held in the child). The native
    thread pool numpy's BLAS starts on import is not copied (a child has only the forking
    thread), and OpenBLAS registers fork handlers for it, as torch does for its own pools.
    """
    if (
        not _one_thread()
        or list(inspect.signature(multiprocessing.forkserver.main).parameters) != KNOWN_MAIN
    ):
        return False
    threads = torch.get_num_threads()
    try:
        importlib.import_module("server.runs.zygote")  # the engine and kernel, shared from here
    except Exception:  # noqa: BLE001 - the standard way reports it on the first worker's start
        log.exception("forkserver not forked: the zygote did not import")
        return False
    if not _one_thread():  # the zygote's own threads (the kernel's load) have ended
        return False
    forkserver = multiprocessing.forkserver._forkserver
    with forkserver._lock:
        if forkserver._forkserver_pid is not None:
            return False
        resource_tracker.ensure_running()  # its fd goes to each worker, as the standard way does
        with socket.socket(socket.AF_UNIX) as listener:
            address = connection.arbitrary_address("AF_UNIX")
            listener.bind(address)
            if not util.is_abstract_socket_namespace(address):
                os.chmod(address, 0o600)
            listener.listen()
            # Every client holds the write end of "alive": once all are gone, the server exits.
            alive_r, alive_w = os.pipe()
            pid = os.fork()
            if pid == 0:
                _serve(listener.fileno(), alive_r, alive_w)
            os.close(alive_r)
        forkserver._forkserver_address = address
        forkserver._forkserver_alive_fd = alive_w
        forkserver._forkserver_pid = pid
    torch.set_num_threads(threads)  # zygote.py set one, for the workers
    return True


def _one_thread() -> bool:
    if threading.active_count() == 1:
        return True
    log.warning("forkserver not forked: %d threads running", threading.active_count())
    return False


def _serve(listener_fd: int, alive_r: int, alive_w: int) -> None:
    """The forked child: multiprocessing's forkserver loop until the server is gone; never
    returns, and skips the server's atexit handlers and finalizers."""
    code = 1
    try:
        name_process("forkserver", os.getppid())
        os.close(alive_w)
        multiprocessing.forkserver._forkserver._lock = threading.Lock()  # copied while held
        multiprocessing.forkserver.main(listener_fd, alive_r, preload=[])
    except SystemExit:  # how `main` ends when the server is gone
        code = 0
    except BaseException:  # noqa: BLE001 - said on stderr, then the child ends all the same
        sys.excepthook(*sys.exc_info())
        sys.stderr.flush()
    finally:
        os._exit(code)
