"""Shared by the benchmarks: a real server in a subprocess, and the example experiments."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def example(name: str, **training) -> dict:
    doc = json.loads((EXAMPLES / f"{name}.json").read_text())
    doc["training"].update(training)
    return doc


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def server(workers: int = 1, **env: str) -> Iterator[str]:
    """`layerlab serve` in a subprocess (so clients do not share its GIL); yields its URL."""
    port = free_port()
    with tempfile.TemporaryDirectory() as state:
        environ = {
            **os.environ,
            "LAYERLAB_PERSIST_RUNS": "false",
            "LAYERLAB_STATE_DIR": state,
            "LAYERLAB_MAX_RUNS_PER_CLIENT": "64",
            **{f"LAYERLAB_{k.upper()}": str(v) for k, v in env.items()},
        }
        command = [sys.executable, "-m", "server.cli", "serve", "--port", str(port)]
        command += ["--workers", str(workers)]
        process = subprocess.Popen(
            command, cwd=ROOT, env=environ, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        base = f"http://127.0.0.1:{port}"
        try:
            wait_ready(base, workers)
            yield base
        finally:
            process.terminate()
            process.wait(30)


def wait_ready(base: str, workers: int, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    with httpx.Client(base_url=base, trust_env=False) as http:
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if http.get("/api/health").json()["workers_ready"] >= workers:
                    return
            time.sleep(0.1)
    raise RuntimeError("the server did not become ready")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]
