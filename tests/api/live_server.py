"""Helpers for the API tests: the spiral example, a recording WebSocket viewer, the server."""

from __future__ import annotations

import contextlib
import copy
import json
import time
from dataclasses import dataclass

import httpx
import uvicorn
from websockets.sync.client import ClientConnection, connect

from server.api.models import SPIRAL_EXAMPLE
from server.config import Settings

SPIRAL = SPIRAL_EXAMPLE  # the API documents this very design as its example
TERMINAL = {"finished", "stopped", "failed", "diverged"}


def spiral(epochs: int = 30, samples: int = 500, **training) -> dict:
    """The design's spiral example, shortened for tests."""
    doc = copy.deepcopy(SPIRAL)
    doc["dataset"]["samples"] = samples
    doc["training"].update(epochs=epochs, **training)
    return doc


def _no_constants(name: str):
    raise AssertionError(f"{name} in a stream message: browsers reject it")


class Stream:
    """A WebSocket viewer that keeps every message it reads."""

    def __init__(self, url: str, subprotocols: list[str] | None = None):
        self._stack = contextlib.ExitStack()
        self.conn: ClientConnection = self._stack.enter_context(
            connect(url, proxy=None, max_size=None, open_timeout=10, subprotocols=subprotocols)
        )
        self.messages: list[dict] = []

    def read(self, timeout: float = 30.0) -> dict:
        message = json.loads(self.conn.recv(timeout=timeout), parse_constant=_no_constants)
        self.messages.append(message)
        return message

    def read_until(self, predicate, timeout: float = 60.0) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            message = self.read(max(0.01, deadline - time.monotonic()))
            if predicate(message):
                return message

    def read_to_end(self, timeout: float = 60.0) -> list[dict]:
        """Read until the final status (the server then closes the socket)."""
        self.read_until(lambda m: m["type"] == "status" and m["status"] in TERMINAL, timeout)
        return self.messages

    def epochs(self) -> list[int]:
        return [r["epoch"] for r in self.records()]

    def records(self) -> list[dict]:
        out: list[dict] = []
        for m in self.messages:
            if m["type"] == "hello":
                out += m["history"]
            elif m["type"] == "epoch":
                out += m["records"]
        return out

    def of_type(self, kind: str) -> list[dict]:
        return [m for m in self.messages if m["type"] == kind]

    def close(self) -> None:
        self._stack.close()


@dataclass
class Live:
    """The running server and clients for it."""

    settings: Settings
    base: str
    http: httpx.Client
    server: uvicorn.Server

    @property
    def ws_base(self) -> str:
        return self.base.replace("http://", "ws://")

    def start(self, doc: dict | None = None) -> dict:
        response = self.http.post("/api/runs", json=doc if doc is not None else spiral())
        assert response.status_code == 201, response.text
        return response.json()

    def control(self, run: dict, action: str, token: str | None = "owner", **body):
        headers = (
            {} if token is None else {"X-Run-Token": run["token"] if token == "owner" else token}
        )
        return self.http.post(
            f"/api/runs/{run['id']}/control", json={"action": action, **body}, headers=headers
        )

    def stream(self, run_id: str, subprotocols: list[str] | None = None) -> Stream:
        """A viewer of the run (`subprotocols`: tokens offered as the page offers them)."""
        return Stream(f"{self.ws_base}/ws/runs/{run_id}", subprotocols)

    def wait_workers_ready(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            health = self.http.get("/api/health").json()
            if health["workers_ready"] >= self.settings.workers:
                return
            time.sleep(0.1)
        raise AssertionError(f"workers not ready: {health}")

    def wait_idle(self, timeout: float = 60.0) -> None:
        """Until no run is active (tests leave the server as they found it)."""
        deadline = time.monotonic() + timeout
        while self.http.get("/api/health").json()["active_runs"]:
            assert time.monotonic() < deadline, "runs still active"
            time.sleep(0.05)
