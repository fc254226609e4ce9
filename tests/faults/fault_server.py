"""The fault tests' server handle: `layerlab serve` in a subprocess, and what they ask of it."""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

HEARTBEAT_TIMEOUT_S = 3.0
MAX_STEP_S = 4.0


@dataclass
class Server:
    proc: subprocess.Popen
    base: str
    http: httpx.Client
    log: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def ws_base(self) -> str:
        return self.base.replace("http://", "ws://")

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
        while time.monotonic() < deadline:
            health = self.health()
            if health["workers_ready"] >= 2 and health["status"] == "ok":
                return
            time.sleep(0.1)
        raise AssertionError(f"workers not ready: {self.health()}")

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
