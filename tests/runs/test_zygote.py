"""Workers are forked from one process that loaded the engine, itself forked from the server
(prefork.py): the server, the forkserver and the workers share one copy of that memory."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

from websockets.sync.client import connect

from server.runs import prefork
from tests import servers


def _kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1])
    raise AssertionError(f"no {field} for {pid}")


def _parent(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def _command(pid: int) -> str:
    """What `ps` shows as the process's command."""
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()


def _shared_kb(pid: int) -> int:
    return _kb(pid, "Shared_Dirty:") + _kb(pid, "Shared_Clean:")


def _trains_to_the_end(server: servers.ServerProcess) -> None:
    run = server.http.post(
        "/api/runs",
        json={
            "dataset": {"name": "xor", "samples": 100},
            "model": {"layers": [{"type": "dense", "units": 4, "activation": "tanh"}]},
            "training": {"epochs": 5},
        },
    ).json()
    url = server.base.replace("http", "ws") + f"/ws/runs/{run['id']}"
    with connect(url, proxy=None, max_size=None) as ws:
        while True:
            message = json.loads(ws.recv(timeout=120))
            if message["type"] == "status" and message["status"] != "running":
                break
    assert message["status"] == "finished", message


def test_the_server_its_forkserver_and_workers_share_the_engine_loaded_once(tmp_path):
    env = {"LAYERLAB_STATE_DIR": str(tmp_path), "LAYERLAB_PERSIST_RUNS": "false"}
    with servers.running(env=env, workers=2, log=tmp_path / "server.log") as server:
        workers = server.http.get("/api/workers").json()
        pids = [w["pid"] for w in workers]
        assert len(pids) == 2
        forkserver = _parent(pids[0])
        assert forkserver != server.pid and _parent(pids[1]) == forkserver
        assert _parent(forkserver) == server.pid  # a child of this server, ended with it
        # `ps` tells them apart (each was the server's command line), and names their server.
        assert _command(forkserver) == f"layerlab forkserver (server {server.pid})"
        for pid in pids:
            assert _command(pid) == f"layerlab worker (server {server.pid})"
        assert "server.cli" in _command(server.pid)  # the server keeps the command it ran
        for pid in pids:
            # torch alone is ~145 MB of heap per process when each imports it; forked, most of
            # that is the forkserver's pages, shared (copy-on-write) and not the worker's own.
            assert _shared_kb(pid) > 100 * 1024, (pid, _shared_kb(pid))
            assert _kb(pid, "Pss:") < _kb(pid, "Rss:") * 0.6
        # The server's own import of torch is those same pages: the forkserver is its fork.
        # Measured: 356 MB shared, PSS 0.49 of RSS; with a forkserver started as a fresh
        # interpreter, only library text was shared (86 MB), PSS 0.8 of RSS.
        assert _shared_kb(server.pid) > 200 * 1024, _shared_kb(server.pid)
        assert _kb(server.pid, "Pss:") < _kb(server.pid, "Rss:") * 0.7
        _trains_to_the_end(server)


def test_a_killed_forkserver_is_started_again_and_its_workers_replaced(tmp_path):
    env = {"LAYERLAB_STATE_DIR": str(tmp_path), "LAYERLAB_PERSIST_RUNS": "false"}
    with servers.running(env=env, workers=2, log=tmp_path / "server.log") as server:
        old = {w["pid"] for w in server.http.get("/api/workers").json()}
        forkserver = _parent(next(iter(old)))
        os.kill(forkserver, signal.SIGKILL)
        # Its workers see themselves re-parented and exit; the pool starts two more, through
        # a forkserver started again, the standard way (a fresh interpreter).
        deadline = time.monotonic() + 120
        fresh: list[int] = []
        while time.monotonic() < deadline and len(fresh) < 2:
            time.sleep(0.1)
            workers = server.http.get("/api/workers").json()
            fresh = [w["pid"] for w in workers if w["ready"] and w["pid"] not in old]
        assert len(fresh) == 2, server.output()
        again = _parent(fresh[0])
        assert again not in (forkserver, server.pid) and _parent(fresh[1]) == again
        assert _parent(again) == server.pid
        _trains_to_the_end(server)


def test_no_fork_while_another_thread_runs():
    release = threading.Event()
    other = threading.Thread(target=release.wait, daemon=True)
    other.start()
    try:
        assert prefork.start() is False
    finally:
        release.set()
        other.join()
