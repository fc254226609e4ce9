"""`layerlab serve` as a real process on the test's database, to kill -9 and start again."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from server.config import Settings

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerProcess:
    """One server process (its own session, so its workers go with it)."""

    def __init__(self, settings: Settings, wait_for_workers: bool = True, **env: str):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        environ = {
            **os.environ,
            "NO_PROXY": "127.0.0.1,localhost",
            "LAYERLAB_STATE_DIR": str(settings.state_dir),
            "LAYERLAB_DATABASE_URL": settings.database_url,
            "LAYERLAB_FLUSH_INTERVAL_S": str(settings.flush_interval_s),
            "LAYERLAB_MAX_RUNS_PER_CLIENT": "16",
            # Eager training: these tests need runs that last a while (a kill -9 mid-run, a
            # database locked under one); the fast path would finish them in seconds.
            "LAYERLAB_FAST_PATH": "false",
            **{f"LAYERLAB_{k.upper()}": str(v) for k, v in env.items()},
        }
        self.log = open(Path(settings.state_dir).parent / f"server-{self.port}.log", "wb")  # noqa: SIM115
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "server.cli",
                "serve",
                "--port",
                str(self.port),
                "--workers",
                "1",
            ],
            cwd=ROOT,
            env=environ,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.http = httpx.Client(base_url=self.base, timeout=30, trust_env=False)
        self._wait_ready(workers=1 if wait_for_workers else 0)

    def _wait_ready(self, timeout: float = 120.0, workers: int = 1) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"the server exited: {self.output()}"
            with contextlib.suppress(httpx.HTTPError):
                if self.http.get("/api/health").json()["workers_ready"] >= workers:
                    return
            time.sleep(0.1)
        raise AssertionError(f"the server did not become ready: {self.output()}")

    def output(self) -> str:
        self.log.flush()
        return Path(self.log.name).read_text(errors="replace")[-3000:]

    def kill(self) -> None:
        """kill -9 of the server process alone (its workers notice and exit)."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)
        self._cleanup()

    def stop(self) -> None:
        """A graceful stop (SIGTERM), as a service manager does it."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(30)
        self._cleanup()

    def _cleanup(self) -> None:
        self.http.close()
        self.log.close()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:  # the workers follow their server out
            try:
                os.killpg(self.process.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)  # only this test's own process group
