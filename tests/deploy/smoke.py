"""A smoke test of a LayerLab deployment through its balancer: health, the page, a run
created, WebSocket viewers that receive real epochs, controls (pause, learning rate, resume,
stop) that every viewer sees, and the run's stored status. Used by tests/deploy/test_topology.py
(processes) and, against a running `docker compose up`, from the command line:

    python tests/deploy/smoke.py http://127.0.0.1:8000

Waits on what the server says (events), never on the clock, beyond generous timeouts.
"""

from __future__ import annotations

import copy
import json
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence

import httpx
from websockets.sync.client import connect

# The spiral starter, small and paced: it trains until stopped, 20 epochs a second, however
# fast the machine is.
SPIRAL = {
    "dataset": {"name": "spiral", "samples": 100, "noise": 0.1, "train_fraction": 0.5, "seed": 1},
    "model": {
        "layers": [
            {"type": "dense", "units": 8, "activation": "tanh"},
            {"type": "dense", "units": 8, "activation": "tanh"},
        ]
    },
    "training": {
        "optimizer": "sgd",
        "learning_rate": 0.03,
        "batch_size": 50,
        "epochs": None,
        "pace": 20,
        "seed": 0,
        "device": "auto",
    },
}
TIMEOUT_S = 60.0


class Viewer(threading.Thread):
    """One WebSocket viewer of a run, reading its stream to the end in a thread."""

    def __init__(self, url: str):
        super().__init__(daemon=True)
        self.url = url
        self.messages: list[dict] = []
        self.error: BaseException | None = None
        self.changed = threading.Condition()
        self.start()

    def run(self) -> None:
        try:
            with connect(self.url, proxy=None, max_size=None, open_timeout=TIMEOUT_S) as ws:
                for text in ws:
                    with self.changed:
                        self.messages.append(json.loads(text))
                        self.changed.notify_all()
        except BaseException as err:  # reported by wait_for
            self.error = err
        finally:
            with self.changed:
                self.changed.notify_all()

    def records(self) -> list[dict]:
        return [r for m in self.messages for r in m.get("history", []) + m.get("records", [])]

    def statuses(self) -> list[str]:
        return [m["status"] for m in self.messages if m["type"] == "status"]

    def wait_for(self, what: str, done: Callable[[Viewer], bool]) -> None:
        with self.changed:
            ok = self.changed.wait_for(
                lambda: done(self) or self.error is not None or not self.is_alive(), TIMEOUT_S
            )
        assert ok and done(self), f"{self.url}: no {what} ({self.error!r}): {self.messages[-3:]}"


def ask(http: httpx.Client, run: dict, action: str, **extra: object) -> httpx.Response:
    """A control through the balancer (any replica relays it to the run's owner). A replica
    other than the owner answers 404 until the owner has written the run's row (within its
    flush interval): asked again until then."""
    deadline = time.monotonic() + TIMEOUT_S
    while True:
        response = http.post(
            f"/api/runs/{run['id']}/control",
            json={"action": action, **extra},
            headers={"X-Run-Token": run["token"]},
        )
        if response.status_code != 404 or time.monotonic() > deadline:
            return response
        time.sleep(0.05)


def control(http: httpx.Client, run: dict, action: str, **extra: object) -> dict:
    """A control that must be taken; the run's summary after it."""
    response = ask(http, run, action, **extra)
    assert response.status_code == 200, f"{action}: {response.status_code} {response.text}"
    return response.json()


def smoke_test(base: str, replicas: Sequence[str] = ()) -> dict[str, set[str]]:
    """Run the smoke test through the balancer at `base` (and viewers on each of `replicas`,
    reached directly); AssertionError on the first failure. The response headers seen
    (lower-case name: values), e.g. which replica served each request behind a test balancer."""
    seen: dict[str, set[str]] = defaultdict(set)

    def note(response: httpx.Response) -> None:
        for name, value in response.headers.items():
            seen[name.lower()].add(value)

    with httpx.Client(base_url=base, timeout=TIMEOUT_S, trust_env=False) as http:
        http.event_hooks["response"] = [note]
        for _ in range(4):  # round robin: each replica answers some
            health = http.get("/api/health")
            assert health.status_code == 200, health.text
            assert health.json()["status"] == "ok", health.json()
        page = http.get("/")
        assert page.status_code == 200 and "<html" in page.text.lower(), page.text[:200]
        assert http.get("/static/js/main.js").status_code == 200

        created = http.post("/api/runs", json=copy.deepcopy(SPIRAL))
        assert created.status_code == 201, created.text
        run = created.json()
        ws = base.replace("http://", "ws://").replace("https://", "wss://")
        urls = [f"{ws}/ws/runs/{run['id']}"] * 2  # two through the balancer: both replicas
        urls += [f"{r.replace('http://', 'ws://')}/ws/runs/{run['id']}" for r in replicas]
        viewers = [Viewer(url) for url in urls]

        for viewer in viewers:  # real epochs from a real worker, on every replica
            viewer.wait_for("hello", lambda v: bool(v.messages))
            assert viewer.messages[0]["type"] == "hello", viewer.messages[0]
            viewer.wait_for("3 epochs", lambda v: len(v.records()) >= 3)
            assert all(isinstance(r["loss"], int | float) for r in viewer.records())

        assert control(http, run, "pause")["status"] == "paused"
        for viewer in viewers:
            viewer.wait_for("pause", lambda v: "paused" in v.statuses())
        assert control(http, run, "set_lr", learning_rate=0.01)["id"] == run["id"]
        bad = ask(http, run, "set_lr", learning_rate=-1)  # refused, naming the field
        assert bad.status_code == 422 and "learning_rate" in bad.text, bad.text
        paused_at = max(len(v.records()) for v in viewers)
        control(http, run, "resume")
        for viewer in viewers:  # it trains on after the pause, for every viewer
            viewer.wait_for("epochs after resume", lambda v: len(v.records()) > paused_at)
        control(http, run, "stop")
        for viewer in viewers:
            viewer.wait_for("stop", lambda v: "stopped" in v.statuses())
            viewer.join(TIMEOUT_S)
            epochs = [r["epoch"] for r in viewer.records()]
            assert epochs == list(range(1, len(epochs) + 1)), epochs  # each once, in order

        deadline = time.monotonic() + TIMEOUT_S  # the owner writes its row within a flush
        while (stored := http.get(f"/api/runs/{run['id']}")).json().get("status") != "stopped":
            assert time.monotonic() < deadline, (
                f"its stored status never said stopped: {stored.text}"
            )
            time.sleep(0.1)
    return dict(seen)


if __name__ == "__main__":
    target = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000"
    smoke_test(target)
    print(f"smoke test passed through {target}")
