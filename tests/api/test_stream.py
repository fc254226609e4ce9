"""The live stream, end to end: a real server, real workers, the real engine."""

from __future__ import annotations

import base64
import socket
import time

from live_server import Live, spiral


def test_spiral_run_streams_every_epoch_once_then_finished(live: Live):
    run = live.start(spiral(epochs=30))
    assert run["status"] == "queued" and run["token"]
    viewer = live.stream(run["id"])
    messages = viewer.read_to_end()
    viewer.close()

    hello = messages[0]
    assert hello["type"] == "hello"
    assert hello["run"]["id"] == run["id"]
    assert hello["run"]["check"]["total_params"] > 0
    assert hello["run"]["experiment"]["training"]["epochs"] == 30
    assert viewer.epochs() == list(range(1, 31))

    final = messages[-1]
    assert final == {"type": "status", "status": "finished", "message": None, "epoch": 30}

    snapshots = viewer.of_type("snapshot")
    assert snapshots, "no snapshot"
    boundary = snapshots[-1]["snapshot"]["boundary"]
    grid = boundary["output"]
    res = boundary["resolution"]
    assert len(base64.b64decode(grid["b64"])) == res * res  # compact uint8 bytes
    assert snapshots[-1]["snapshot"]["epoch"] == 30  # the final state precedes `finished`

    record = viewer.records()[-1]
    assert {"epoch", "loss", "val_loss", "metrics", "lr", "elapsed"} <= record.keys()
    detail = live.http.get(f"/api/runs/{run['id']}").json()
    assert detail["status"] == "finished"
    assert [r["epoch"] for r in detail["history"]] == list(range(1, 31))


def test_late_and_reconnecting_viewers_get_the_full_history(live: Live):
    # Paced (4 s in all): still running when the pause arrives, however fast the machine (at
    # full speed it had finished its 40 epochs first on a quiet one: a 409).
    run = live.start(spiral(epochs=40, pace=10))
    first = live.stream(run["id"])
    first.read_until(lambda m: m["type"] == "epoch" and m["records"][-1]["epoch"] >= 3)
    assert live.control(run, "pause").json()["status"] == "paused"  # certainly mid-run

    late = live.stream(run["id"])
    hello = late.read()
    assert hello["type"] == "hello" and 3 <= len(hello["history"]) < 40
    assert hello["run"]["status"] == "paused"

    first.read_until(lambda m: m["type"] == "status" and m["status"] == "paused")
    first.close()  # the first viewer goes away mid-run ...
    again = live.stream(run["id"])  # ... and comes back

    assert live.control(run, "resume").json()["status"] == "running"
    for viewer in (late, again):
        viewer.read_to_end()
        viewer.close()
        assert viewer.epochs() == list(range(1, 41)), viewer.epochs()
        assert viewer.messages[-1]["status"] == "finished"


def _stalled_viewer(live: Live, run_id: str) -> socket.socket:
    """A WebSocket client that completes the handshake and then never reads again."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    host, port = live.base.removeprefix("http://").split(":")
    sock.connect((host, int(port)))
    key = base64.b64encode(b"stalled-viewer-0").decode()
    sock.sendall(
        (
            f"GET /ws/runs/{run_id} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    return sock


def _timed_run(live: Live, epochs: int, stall: bool) -> tuple[float, list[int], float]:
    start = time.monotonic()
    run = live.start(spiral(epochs=epochs, batch_size=5))
    stalled = _stalled_viewer(live, run["id"]) if stall else None
    reader = live.stream(run["id"])
    reader.read_to_end()
    elapsed = time.monotonic() - start
    reader.close()
    records = reader.records()
    training = records[-1]["elapsed"]  # the trainer's own time
    if stalled is not None:
        stalled.close()
    assert reader.messages[-1]["status"] == "finished"
    return elapsed, [r["epoch"] for r in records], training


def test_stalled_viewer_does_not_delay_the_run_or_other_viewers(live: Live):
    alone, epochs_alone, _ = _timed_run(live, 40, stall=False)
    beside, epochs_beside, _ = _timed_run(live, 40, stall=True)
    assert epochs_alone == epochs_beside == list(range(1, 41))
    assert beside < 2 * alone + 1.0, (alone, beside)


def test_unknown_run_is_a_404_on_the_stream(live: Live):
    import pytest
    from websockets.exceptions import InvalidStatus

    with pytest.raises(InvalidStatus) as info:
        live.stream("nosuchrun")
    assert info.value.response.status_code == 404


def test_late_viewer_gets_the_layer_norms_of_the_whole_run(live: Live):
    run = live.start(spiral(epochs=None))  # trains until paused (no end to race), then stopped
    first = live.stream(run["id"])  # watching: the worker probes while the run trains
    first.read_until(lambda m: m["type"] == "snapshot" and m["snapshot"]["epoch"] >= 5)
    assert live.control(run, "pause").json()["status"] == "paused"
    seen_live = [m["snapshot"]["epoch"] for m in first.of_type("snapshot")]

    late = live.stream(run["id"])
    hello = late.read()
    layer_history = hello["layer_history"]
    epochs = [entry["epoch"] for entry in layer_history]
    assert epochs == sorted(epochs) and set(seen_live) <= set(epochs)
    assert all(entry["layers"][0]["weight_norm"] > 0 for entry in layer_history)
    live.control(run, "stop")
    for viewer in (first, late):
        viewer.read_to_end()
        viewer.close()
