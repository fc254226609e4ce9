"""The fault tests' server: `layerlab serve` in a subprocess with two spawned workers, so a
test can kill -9 or SIGSTOP a worker, hold sockets open against the server, and measure the
server process itself (its sockets and memory) from outside.

The `server` fixture lives here, not in a conftest.py: the browser tests import names from
`conftest` lazily, and one more conftest module would take that name from theirs.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterator

import httpx
import pytest
import servers

HEARTBEAT_TIMEOUT_S = 3.0
MAX_STEP_S = 4.0


class Server(servers.ServerProcess):
    """The fault tests' server process, ready once both its workers really run."""

    def health(self) -> dict:
        return self.http.get("/api/health").json()

    def workers(self) -> list[dict]:
        return self.http.get("/api/workers").json()

    def worker_of(self, run_id: str, timeout: float = 30.0) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for worker in self.workers():
                if run_id in worker["runs"]:
                    return worker
            time.sleep(0.05)
        raise AssertionError(f"run {run_id} is on no worker: {self.workers()}")

    def wait_ready(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        health: dict = {}
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"the server exited: {self.output()}"
            with contextlib.suppress(httpx.HTTPError, ValueError):
                health = self.health()
                live = [w for w in self.workers() if w["ready"] and _running(w["pid"])]
                # A worker just killed still looks ready until its exit is noticed: count
                # only processes that are really running.
                if health["status"] == "ok" and len(live) >= 2:
                    return
            time.sleep(0.1)
        raise AssertionError(f"workers not ready: {health}")

    def stop(self) -> None:
        for child in _children(self.pid):  # a worker left stopped would never exit
            with contextlib.suppress(OSError):
                os.kill(child, signal.SIGCONT)
        super().stop()

    def run(self, run_id: str) -> dict:
        return self.http.get(f"/api/runs/{run_id}").json()

    def wait_status(self, run_id: str, statuses: set[str], timeout: float = 60.0) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            run = self.run(run_id)
            if run["status"] in statuses:
                return run
            time.sleep(0.05)
        raise AssertionError(f"run {run_id} is {self.run(run_id)['status']}, not {statuses}")

    def wait_epoch(self, run_id: str, epoch: int, timeout: float = 60.0) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            run = self.run(run_id)
            if run["epoch"] >= epoch:
                return run
            assert run["status"] in ("queued", "running"), run
            time.sleep(0.05)
        raise AssertionError(f"run {run_id} stayed at epoch {self.run(run_id)['epoch']}")

    def stop_all(self, runs: list[dict]) -> None:
        for run in runs:
            self.http.post(
                f"/api/runs/{run['id']}/control",
                json={"action": "stop"},
                headers={"X-Run-Token": run["token"]},
            )


@pytest.fixture(scope="session", name="server")
def server_fixture(tmp_path_factory) -> Iterator[Server]:
    state = tmp_path_factory.mktemp("faults")
    env = {
        "LAYERLAB_DEVICE": "cpu",
        "LAYERLAB_STATE_DIR": str(state / "state"),
        "LAYERLAB_DATA_DIR": str(state / "data"),
        "LAYERLAB_CACHE_DIR": str(state / "cache"),
        "LAYERLAB_PERSIST_RUNS": "false",
        "LAYERLAB_MAX_RUNS": "64",
        "LAYERLAB_MAX_EPOCHS": "1000000",
        "LAYERLAB_MAX_RUNS_PER_CLIENT": "64",
        "LAYERLAB_MAX_WS_PER_CLIENT": "150",  # the stalled-socket test opens 100
        "LAYERLAB_VIEWER_TIMEOUT_S": "2",
        "LAYERLAB_SNAPSHOT_RATE": "5",  # 100 viewers of one run on a shared 2-core machine
        "LAYERLAB_VIEWER_BUFFER_BYTES": str(256 * 1024),
        "LAYERLAB_HEARTBEAT_TIMEOUT_S": str(HEARTBEAT_TIMEOUT_S),
        "LAYERLAB_MAX_STEP_S": str(MAX_STEP_S),
        # The heavy design must reach a worker here, to test what the estimate could miss.
        "LAYERLAB_MAX_STEP_FLOPS": "1e15",
    }
    server = Server(env=env, workers=2, log=state / "server.log")
    try:
        yield server
    finally:
        server.stop()


def _running(pid: int | None) -> bool:
    """The process exists and is not a zombie (killed, not yet reaped)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return False


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []
