"""`layerlab serve`'s access log never prints a token (issue 20): the log is often on the
terminal the class sees on the projector, and tokens still come in query strings from old pages
and pasted links. A real server process; its output read back once it has stopped."""

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
from websockets.sync.client import connect

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_up(http: httpx.Client, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text(errors="replace")[-3000:]
        with contextlib.suppress(httpx.HTTPError):
            if http.get("/api/health").status_code == 200:
                return
        time.sleep(0.1)
    raise AssertionError("the server did not start")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(30)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # this test's own session: its workers


def test_the_access_log_never_prints_a_token(tmp_path):
    port = free_port()
    log = tmp_path / "serve.log"
    env = {
        **os.environ,
        "NO_PROXY": "127.0.0.1,localhost",
        "LAYERLAB_STATE_DIR": str(tmp_path / "state"),
        "LAYERLAB_DATA_DIR": str(tmp_path / "data"),
    }
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "serve", "--port", str(port), "--workers", "1"],
            cwd=ROOT,
            env=env,
            stdout=out,  # uvicorn's access lines (stdout) and the rest (stderr), as a
            stderr=subprocess.STDOUT,  # terminal shows them
            start_new_session=True,
        )
    secrets_seen: list[str] = []
    try:
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=30, trust_env=False) as http:
            wait_up(http, process, log)
            opened = http.post("/api/classes", json={"name": "logged"}).json()
            code, teacher = opened["code"], opened["teacher_token"]
            student = http.post(f"/api/classes/{code}/join", json={"name": "Ada"}).json()[
                "student_token"
            ]
            run_token = "RunTokenThatMustNotShow0123456789"
            secrets_seen += [teacher, student, run_token]
            http.get(f"/api/classes/{code}?teacher={teacher}")  # 403: its routes take headers
            assert http.get(f"/api/classes/{code}/me?student={student}").status_code == 200
            http.get(f"/api/runs/nosuchrun/export/model.py?token={run_token}")
            ws = f"ws://127.0.0.1:{port}/ws/classes/{code}"
            with connect(f"{ws}?teacher={teacher}", proxy=None, open_timeout=30) as conn:
                conn.recv(timeout=30)
            with contextlib.suppress(Exception):  # refused: the handshake line is logged too
                connect(f"{ws}?student=Wrong{student}", proxy=None, open_timeout=30).close()
    finally:
        stop(process)
    text = log.read_text(errors="replace")
    for secret in secrets_seen:
        assert secret not in text, f"a token in the log:\n{text[-3000:]}"
    assert f"/api/classes/{code}?teacher=***" in text, text[-3000:]
    assert f"/ws/classes/{code}?teacher=***" in text
    assert "/export/model.py?token=***" in text
