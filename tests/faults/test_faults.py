"""Fault injection (issue 7): a real server and real workers, hurt on purpose.

kill -9 and SIGSTOP of a worker mid-run, the heavy design next to light runs, a stop while a
step holds the worker, and 100 stalled sockets. Each test prints what it measured (run pytest
with -s to see it); the assertions keep generous margins for a busy 2-core machine.
"""

from __future__ import annotations

import base64
import contextlib
import io
import os
import signal
import socket
import threading
import time
import zipfile

import httpx
from fault_server import (  # server_fixture: the `server` fixture these tests use
    HEARTBEAT_TIMEOUT_S,
    MAX_STEP_S,
    Server,
    server_fixture,  # noqa: F401
)
from PIL import Image
from sample_designs import HEAVY


def light(epochs: int | None = None) -> dict:
    """A light run; by default it trains until stopped (active whatever the machine's speed)."""
    return {
        "dataset": {"name": "spiral", "samples": 200},
        "model": {"layers": [{"type": "dense", "units": 8, "activation": "tanh"}]},
        "training": {"epochs": epochs, "batch_size": 10},
    }


def start(server: Server, doc: dict) -> dict:
    response = server.http.post("/api/runs", json=doc)
    assert response.status_code == 201, response.text
    return response.json()


def pace(server: Server, run_id: str, seconds: float = 2.0) -> float:
    """Epochs per second of a run over `seconds`."""
    first = server.run(run_id)["epoch"]
    time.sleep(seconds)
    return (server.run(run_id)["epoch"] - first) / seconds


def report(name: str, **figures) -> None:
    print(f"\n[faults] {name}: " + ", ".join(f"{k}={v}" for k, v in figures.items()))


def test_kill_9_fails_only_that_workers_runs_and_new_runs_go_to_live_workers(server: Server):
    server.wait_ready()
    victim, survivor = start(server, light()), start(server, light())
    server.wait_epoch(victim["id"], 3)
    server.wait_epoch(survivor["id"], 3)
    worker = server.worker_of(victim["id"])
    assert survivor["id"] not in worker["runs"]
    replaced = server.health()["workers_replaced"]
    os.kill(worker["pid"], signal.SIGKILL)
    killed = time.monotonic()
    burst = [start(server, light(epochs=20)) for _ in range(3)]  # issue 7.3: all 3 failed
    failed = server.wait_status(victim["id"], {"failed"}, timeout=30)
    noticed = time.monotonic() - killed
    assert "signal 9" in failed["message"]
    for run in burst:
        done = server.wait_status(run["id"], {"finished", "failed"}, timeout=120)
        assert done["status"] == "finished", done["message"]
    assert server.run(survivor["id"])["status"] == "running"
    server.wait_ready()
    health = server.health()
    assert health["workers_replaced"] == replaced + 1
    assert "signal 9" in health["last_worker_exit"]
    report("kill -9", noticed_s=round(noticed, 2), burst_finished=len(burst))
    server.stop_all([survivor])


def test_a_stopped_worker_is_declared_hung_killed_and_replaced(server: Server):
    server.wait_ready()
    hung, other = start(server, light()), start(server, light())
    server.wait_epoch(hung["id"], 3)
    server.wait_epoch(other["id"], 3)
    worker = server.worker_of(hung["id"])
    assert other["id"] not in worker["runs"]
    os.kill(worker["pid"], signal.SIGSTOP)
    stopped = time.monotonic()
    try:
        # Within a couple of heartbeats health says so, and new runs avoid the stopped worker.
        deadline = time.monotonic() + 2 * HEARTBEAT_TIMEOUT_S
        while server.health()["workers_unresponsive"] == 0:
            assert time.monotonic() < deadline, server.health()
            time.sleep(0.05)
        seen = time.monotonic() - stopped
        assert server.health()["status"] == "degraded"
        fresh = start(server, light(epochs=20))
        assert server.worker_of(fresh["id"])["pid"] != worker["pid"]
        failed = server.wait_status(hung["id"], {"failed"}, timeout=HEARTBEAT_TIMEOUT_S + 15)
        declared = time.monotonic() - stopped
        assert "stopped responding" in failed["message"]
        assert "LAYERLAB_HEARTBEAT_TIMEOUT_S" in failed["message"]
        assert server.wait_status(fresh["id"], {"finished"}, timeout=60)
    finally:
        with contextlib.suppress(OSError):
            os.kill(worker["pid"], signal.SIGCONT)
    server.wait_ready()
    assert server.run(other["id"])["status"] == "running"
    report("SIGSTOP", unresponsive_after_s=round(seen, 2), failed_after_s=round(declared, 2))
    server.stop_all([other])


def test_a_stop_takes_effect_within_two_seconds_on_a_stopped_worker(server: Server):
    server.wait_ready()
    busy = start(server, light())  # keeps one worker loaded: the next run is alone on its own
    server.wait_epoch(busy["id"], 3)
    run = start(server, light())
    server.wait_epoch(run["id"], 3)
    worker = server.worker_of(run["id"])
    assert worker["runs"] == [run["id"]]
    os.kill(worker["pid"], signal.SIGSTOP)
    try:
        asked = time.monotonic()
        response = server.http.post(
            f"/api/runs/{run['id']}/control",
            json={"action": "stop"},
            headers={"X-Run-Token": run["token"]},
        )
        took = time.monotonic() - asked
    finally:
        with contextlib.suppress(OSError):
            os.kill(worker["pid"], signal.SIGCONT)
    assert response.status_code == 200 and response.json()["status"] == "stopped"
    assert took < 2.5
    server.wait_ready()
    report("stop on a stopped worker", answered_s=round(took, 2))
    server.stop_all([busy])


def test_the_heavy_design_never_holds_a_worker_hostage(server: Server):
    """Its check is passed here on purpose (LAYERLAB_MAX_STEP_FLOPS raised for this server):
    what the estimate misses, the step bound catches; the light run keeps its pace."""
    server.wait_ready()
    steady = start(server, light())
    server.wait_epoch(steady["id"], 5)
    before = pace(server, steady["id"])
    server.wait_ready()  # the worker replaced by the test before may still be warming up
    heavy = start(server, HEAVY)
    workers = server.workers()
    assert server.worker_of(heavy["id"])["pid"] != server.worker_of(steady["id"])["pid"], workers
    began = time.monotonic()
    windows = [pace(server, steady["id"], 1.0) for _ in range(2)]  # the heavy run steps
    during = sum(windows) / len(windows)
    failed = server.wait_status(heavy["id"], {"failed"}, timeout=MAX_STEP_S + 20)
    ended = time.monotonic() - began
    assert "one training step of this design took over" in failed["message"]
    assert "smaller batch size" in failed["message"]
    # Never held up: it advances in every second of the heavy step (the pace itself depends on
    # what else this shared 2-core machine runs: ratio reported, not asserted).
    assert min(windows) > 0, (before, windows)
    # A second heavy run, stopped while its first step holds its worker: stopped in ~1 s.
    server.wait_ready()
    second = start(server, HEAVY)
    deadline = time.monotonic() + 30
    while True:
        worker = server.worker_of(second["id"])
        if worker["busy_run"] == second["id"] and worker["busy_s"] > 0.5:
            break
        assert time.monotonic() < deadline, worker
        time.sleep(0.05)
    asked = time.monotonic()
    response = server.http.post(
        f"/api/runs/{second['id']}/control",
        json={"action": "stop"},
        headers={"X-Run-Token": second["token"]},
    )
    took = time.monotonic() - asked
    assert response.status_code == 200 and response.json()["status"] == "stopped"
    assert took < 2.5
    server.wait_ready()
    assert server.run(steady["id"])["status"] == "running"
    report(
        "heavy next to light",
        light_epochs_per_s_before=round(before, 1),
        light_epochs_per_s_during=round(during, 1),
        heavy_failed_after_s=round(ended, 2),
        stop_answered_s=round(took, 2),
    )
    server.stop_all([steady])


def _sockets(pid: int) -> int:
    count = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        with contextlib.suppress(OSError):
            count += os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:")
    return count


def _rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _tcp_kernel_mb() -> float:
    """TCP memory in the kernel (all sockets on the machine), from /proc/net/sockstat."""
    with open("/proc/net/sockstat") as f:
        for line in f:
            if line.startswith("TCP:"):
                fields = line.split()
                return int(fields[fields.index("mem") + 1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    return 0.0


def _closed_by_server(sock: socket.socket, timeout: float = 30.0) -> bool:
    """Read a stalled client's socket to its end: whether the server closed it (end of
    stream or reset) within `timeout` of silence."""
    sock.settimeout(timeout)
    try:
        while sock.recv(65536):
            pass
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False
    return True


def _stalled(server: Server, run_id: str) -> socket.socket:
    """A client that completes the WebSocket handshake and then never reads."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    host, port = server.base.removeprefix("http://").split(":")
    sock.connect((host, int(port)))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET /ws/runs/{run_id} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    answer = b""
    while b"\r\n\r\n" not in answer:
        answer += sock.recv(1)
    assert answer.startswith(b"HTTP/1.1 101"), answer
    return sock


def test_100_stalled_sockets_are_dropped_and_the_server_returns_to_baseline(server: Server):
    """Issue 7.4: the hub dropped such viewers but their connections stayed open with ~2.7 MB
    queued each (200 held 535 MB of kernel memory)."""
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    server.wait_ready()
    wide = light()  # 66 neuron thumbnails: ~50 KB per snapshot, few messages per byte
    wide["model"]["layers"] = [{"type": "dense", "units": 32, "activation": "tanh"}] * 2
    # At a class's pace, not full speed: a late viewer's hello carries the whole history, and
    # an unpaced run makes more than this server's 256 KiB viewer buffer of it within a
    # second (the reader below was then dropped on joining, before its first message).
    wide["training"]["pace"] = 100
    run = start(server, wide)
    server.wait_epoch(run["id"], 3)
    time.sleep(0.5)
    base_sockets, base_rss, base_tcp = _sockets(server.pid), _rss_mb(server.pid), _tcp_kernel_mb()
    stalled = [_stalled(server, run["id"]) for _ in range(100)]
    opened = time.monotonic()
    # A viewer that reads keeps getting epochs meanwhile.
    epochs: list[int] = []
    stop = threading.Event()

    def watch() -> None:
        import json

        url = f"{server.ws_base}/ws/runs/{run['id']}"
        with contextlib.suppress(ConnectionClosed), connect(url, proxy=None, max_size=None) as ws:
            while not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    message = json.loads(ws.recv(timeout=1))
                    if message["type"] == "epoch":
                        epochs.extend(r["epoch"] for r in message["records"])

    reader = threading.Thread(target=watch, daemon=True)
    reader.start()
    peak_sockets, peak_tcp, peak_rss = 0, 0.0, 0.0
    deadline = opened + 90
    timeline: list[tuple[float, int]] = []
    while True:
        now_sockets = _sockets(server.pid)
        if not timeline or timeline[-1][1] != now_sockets:
            timeline.append((round(time.monotonic() - opened, 1), now_sockets))
        peak_sockets = max(peak_sockets, now_sockets)
        peak_tcp, peak_rss = max(peak_tcp, _tcp_kernel_mb()), max(peak_rss, _rss_mb(server.pid))
        read = len(epochs) > 1 and epochs[-1] - epochs[0] > 10
        if now_sockets <= base_sockets + 1 and read:  # + the reader's
            break
        assert time.monotonic() < deadline, (base_sockets, now_sockets)
        time.sleep(0.2)
    back = time.monotonic() - opened
    stop.set()
    reader.join(10)
    # Every one was dropped by the server: what it had sent, then its end of the connection.
    assert sum(_closed_by_server(sock) for sock in stalled) == 100
    for sock in stalled:
        sock.close()
    time.sleep(1)
    after_tcp, after_rss = _tcp_kernel_mb(), _rss_mb(server.pid)
    assert peak_sockets >= base_sockets + 100
    assert epochs and epochs[-1] - epochs[0] > 10, "the reading viewer was held up"
    assert after_rss < base_rss + 64, (base_rss, after_rss)
    assert server.run(run["id"])["status"] == "running"
    report(
        "100 stalled sockets",
        sockets_baseline=base_sockets,
        sockets_peak=peak_sockets,
        back_to_baseline_s=round(back, 1),
        server_rss_mb=f"{base_rss:.0f}->{peak_rss:.0f}->{after_rss:.0f}",
        tcp_kernel_mb=f"{base_tcp:.1f}->{peak_tcp:.1f}->{after_tcp:.1f}",
        reader_epochs=len(epochs),
        timeline=timeline if len(timeline) <= 6 else timeline[:3] + timeline[-3:],
    )
    server.stop_all([run])


def _colour_zip(side: int = 64, per_class: int = 4) -> bytes:
    """Two classes of RGB images `side` pixels square: a model whose one input is 3·side²."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for cls, value in (("dark", 30), ("light", 220)):
            for i in range(per_class):
                out = io.BytesIO()
                Image.new("RGB", (side, side), (value, value - i, value)).save(out, "PNG")
                zf.writestr(f"{cls}/{i}.png", out.getvalue())
    return buf.getvalue()


def test_a_large_ask_to_a_stopped_worker_never_stalls_the_server(server: Server):
    """Issue 20: commands were written to a worker's pipe from the event loop; a /predict
    larger than the pipe's 64 KiB buffer to a stopped worker blocked the loop, and with it
    the watchdog that should kill that worker (/api/health frozen 61 s). Now the server
    answers at once and the stopped worker is replaced."""
    server.wait_ready()
    me = {"X-Owner-Token": "fault-test-owner-" + "x" * 16}
    made = server.http.post(
        "/api/datasets/uploads",
        files={"file": ("colours.zip", _colour_zip())},
        data={"kind": "images", "image_size": "64", "color": "rgb"},
        headers=me,
    )
    assert made.status_code == 201, made.text
    assert made.json()["input_shape"] == [3, 64, 64]
    doc = {
        "dataset": made.json()["dataset"],
        "model": {"layers": [{"type": "flatten"}, {"type": "dense", "units": 4}]},
        "training": {"epochs": None, "batch_size": 4},
    }
    created = server.http.post("/api/runs", json=doc, params={"paused": "true"}, headers=me)
    assert created.status_code == 201, created.text
    run = created.json()
    worker = server.worker_of(run["id"])
    replaced = server.health()["workers_replaced"]
    image = [[[200.5] * 64 for _ in range(64)] for _ in range(3)]  # ~110 KB pickled
    answers: list[httpx.Response] = []
    os.kill(worker["pid"], signal.SIGSTOP)
    stopped = time.monotonic()
    try:
        asking = threading.Thread(
            target=lambda: answers.append(
                server.http.post(f"/api/runs/{run['id']}/predict", json={"input": image})
            )
        )
        asking.start()
        slowest = 0.0
        while time.monotonic() - stopped < HEARTBEAT_TIMEOUT_S + 1:
            asked = time.monotonic()
            assert server.http.get("/api/health", timeout=5).status_code == 200
            slowest = max(slowest, time.monotonic() - asked)
            time.sleep(0.1)
        asking.join(60)
        assert not asking.is_alive()
    finally:
        with contextlib.suppress(OSError):
            os.kill(worker["pid"], signal.SIGCONT)
    assert slowest < 1.0, slowest
    assert answers[0].status_code == 409, answers[0].text
    deadline = time.monotonic() + 60
    while server.health()["workers_replaced"] == replaced:
        assert time.monotonic() < deadline, server.health()
        time.sleep(0.1)
    assert worker["pid"] not in [w["pid"] for w in server.workers()]
    server.wait_ready()
    report("large ask to a stopped worker", slowest_health_s=round(slowest, 3))
