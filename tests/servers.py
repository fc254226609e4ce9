"""One way to start a LayerLab server in a process of its own and wait for it, for the tests
and the benchmarks alike (`import servers` in tests, `from tests import servers` in bench).

`in_thread(settings)` runs the app in this process (uvicorn in a thread, port 0) for tests
that reach into it; `ServerProcess(env=..., workers=...)` runs `python -m server.cli serve` (or any `command`,
e.g. an installed `layerlab`) on a free port in its own session, logs to a file, and waits
until `/api/health` counts its workers ready; `stop()` ends it (SIGTERM, then SIGKILL of its
own process group: its workers go with it), `kill()` is a kill -9 of the server alone.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import ModuleType

import httpx
import uvicorn

from server.api.app import create_app
from server.api.server import uvicorn_config
from server.config import Settings

# Debian's Chromium, as the browser tests and the page benchmarks launch it (DESIGN.md's flags:
# no network of its own, nothing downloaded).
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT_S = 120.0


def ray_or_skip() -> ModuleType:
    """`ray`, for a test module of the Ray backend: without the extra (`pip install -e
    '.[ray]'`) the module skips, except under CI=true, where Ray is required."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Ray's own imports may warn
            import ray
    except ImportError:
        if os.environ.get("CI") == "true":
            raise
        import pytest

        pytest.skip("ray is not installed: pip install -e '.[ray]'", allow_module_level=True)
    return ray


def free_port() -> int:
    """A TCP port nothing listens on now (the kernel's choice)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def layerlab_env(**settings: object) -> dict[str, str]:
    """`LAYERLAB_<NAME>` variables for settings given by name (`max_runs=4`)."""
    return {f"LAYERLAB_{name.upper()}": str(value) for name, value in settings.items()}


class ServerProcess:
    """`layerlab serve` as a real process; ready once `workers` workers are."""

    def __init__(
        self,
        env: dict[str, str] | None = None,
        workers: int | None = 1,
        ready_workers: int | None = None,
        command: Sequence[str] | None = None,
        cwd: Path = ROOT,
        log: Path | None = None,
        timeout: float = START_TIMEOUT_S,
    ):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        # Ready once this many workers are (0: as soon as it answers, e.g. a test of a run
        # that waits for its worker).
        self.ready_workers = (workers or 1) if ready_workers is None else ready_workers
        environ = {
            **os.environ,
            "NO_PROXY": "127.0.0.1,localhost",
            "PYTHONUNBUFFERED": "1",
            "PYTHONFAULTHANDLER": "1",  # a hung server's SIGABRT (stop) prints every stack
            **(env or {}),
        }
        argv = [*(command or [sys.executable, "-m", "server.cli"]), "serve"]
        argv += ["--host", "127.0.0.1", "--port", str(self.port)]
        if workers is not None:
            argv += ["--workers", str(workers)]
        if log is None:
            log = Path(tempfile.mkdtemp(prefix="layerlab-log-")) / f"server-{self.port}.log"
        self.log_path = log
        self._log = open(log, "wb")  # noqa: SIM115 - closed in stop() / kill()
        self.process = subprocess.Popen(
            argv,
            cwd=cwd,
            env=environ,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.http = httpx.Client(base_url=self.base, timeout=30, trust_env=False)
        try:
            self.wait_ready(timeout)
        except BaseException:
            self.stop()
            raise

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def ws_base(self) -> str:
        return self.base.replace("http://", "ws://")

    def wait_ready(self, timeout: float = START_TIMEOUT_S) -> None:
        """Until `/api/health` answers with the workers ready (AssertionError with the log)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"the server exited: {self.output()}"
            with contextlib.suppress(httpx.HTTPError, ValueError):
                health = self.http.get("/api/health").json()
                if health.get("workers_ready", 0) >= self.ready_workers:
                    return
            time.sleep(0.1)
        raise AssertionError(f"the server did not become ready: {self.output()}")

    def output(self) -> str:
        """The end of the server's log."""
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-3000:]

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
            except subprocess.TimeoutExpired:  # hung: every thread's stack into its log first
                self.process.send_signal(signal.SIGABRT)
                try:
                    self.process.wait(10)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait(30)
        self._cleanup()

    def _cleanup(self) -> None:
        self.http.close()
        self._log.close()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:  # the workers follow their server out
            try:
                os.killpg(self.process.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)  # only this server's own group


@contextlib.contextmanager
def running(**kwargs: object) -> Iterator[ServerProcess]:
    """A `ServerProcess` for the block, stopped after it."""
    server = ServerProcess(**kwargs)  # type: ignore[arg-type]
    try:
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def in_thread(settings: Settings, timeout: float = 60.0) -> Iterator[tuple[uvicorn.Server, str]]:
    """The app on `settings`, served by uvicorn in a thread of this process on a port the
    kernel picks; yields the server and its base URL once it listens, stops it after."""
    os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
    server = uvicorn.Server(
        uvicorn_config(create_app(settings), settings, port=0, log_level="warning")
    )
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + timeout
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
            time.sleep(0.02)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield server, f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(60)
