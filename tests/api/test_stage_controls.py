"""The watchable stage's controls end to end: pace (live, shared with viewers, kept in the
run's document), weight edits on a paused run, early stopping; real server, real workers."""

from __future__ import annotations

import contextlib
import statistics

import pytest
from live_server import Live, spiral

from server.api.models import RunSummary

PACE = 20.0  # epochs per second: modest, so a loaded machine keeps it easily


def _paced_rate(records: list[dict]) -> float:
    """Epochs per second from the records' own end times (Unix seconds, ms resolution): the
    median gap, so one stall of a loaded machine (a process not scheduled for a moment) does
    not count as the pace; a pace kept too slow moves every gap, and the median with them."""
    times = [r["time"] for r in records]
    return 1.0 / statistics.median(b - a for a, b in zip(times, times[1:], strict=False))


def _records_after(viewer, epoch: int, count: int) -> list[dict]:
    viewer.read_until(lambda m: m["type"] == "epoch" and m["records"][-1]["epoch"] >= epoch + count)
    return [r for r in viewer.records() if epoch < r["epoch"] <= epoch + count]


@contextlib.contextmanager
def stopped_after(live: Live, run: dict):
    """Stop the run however the test ends: an active run left behind would hold a worker."""
    try:
        yield
    finally:
        live.control(run, "stop")


def test_a_paced_run_keeps_its_pace_and_the_pace_changes_live(live: Live):
    run = live.start(spiral(epochs=None, samples=100, pace=PACE))
    viewer = live.stream(run["id"])
    with stopped_after(live, run):
        assert viewer.read()["run"]["experiment"]["training"]["pace"] == PACE
        # Two seconds at 20/s, after the first few epochs (the worker builds the trainer).
        records = _records_after(viewer, 3, 40)
        assert _paced_rate(records) == pytest.approx(PACE, rel=0.1)

        slower = live.control(run, "pace", value=PACE / 2)
        assert slower.status_code == 200, slower.text
        viewer.read_until(lambda m: m == {"type": "pace", "value": PACE / 2})
        now = viewer.records()[-1]["epoch"]
        records = _records_after(viewer, now + 2, 20)  # two seconds at the new pace
        assert _paced_rate(records) == pytest.approx(PACE / 2, rel=0.1)
        detail = live.http.get(f"/api/runs/{run['id']}").json()
        assert detail["experiment"]["training"]["pace"] == PACE / 2
        late = live.stream(run["id"])  # a late viewer's hello shows the current pace
        assert late.read()["run"]["experiment"]["training"]["pace"] == PACE / 2

        assert live.control(run, "pace", value=None).status_code == 200
        for watcher in (viewer, late):
            watcher.read_until(lambda m: m == {"type": "pace", "value": None})
        assert (
            live.http.get(f"/api/runs/{run['id']}").json()["experiment"]["training"]["pace"] is None
        )
    for watcher in (viewer, late):
        watcher.read_to_end()
        watcher.close()


def test_a_paused_run_takes_a_pace_that_applies_when_it_resumes(live: Live):
    response = live.http.post("/api/runs", params={"paused": "true"}, json=spiral(epochs=None))
    run = response.json()
    viewer = live.stream(run["id"])
    with stopped_after(live, run):
        viewer.read()
        assert live.control(run, "pace", value=PACE).status_code == 200
        viewer.read_until(lambda m: m["type"] == "pace")
        assert live.control(run, "resume").status_code == 200
        records = _records_after(viewer, 3, 40)
        assert _paced_rate(records) == pytest.approx(PACE, rel=0.1)
    viewer.read_to_end()
    viewer.close()


BAD_STAGE_CONTROLS = [
    ({"action": "pace", "value": "fast"}, ["body", "value"]),
    ({"action": "pace", "value": 0}, ["body", "value"]),
    ({"action": "pace", "value": 20_000}, ["body", "value"]),
    ({"action": "pace", "value": True}, ["body", "value"]),
    ({"action": "set_weight"}, ["body", "value"]),
    ({"action": "set_weight", "value": {"layer": 0, "to": 0}}, ["body", "value"]),
    (
        {"action": "set_weight", "value": {"layer": 0, "to": 0, "bias": 1, "gain": 2}},
        ["body", "value", "gain"],
    ),
    (
        {"action": "set_weight", "value": {"layer": 0, "to": 0, "bias": "x"}},
        ["body", "value", "bias"],
    ),
    (
        {"action": "set_weight", "value": {"layer": 0, "to": 0, "from": 0, "weight": 1e9}},
        ["body", "value", "weight"],
    ),
    (
        {"action": "set_weight", "value": {"layer": 7, "to": 0, "bias": 1}},
        ["body", "value", "layer"],
    ),
    (
        {"action": "set_weight", "value": {"layer": "x", "to": 0, "bias": 1}},
        ["body", "value", "layer"],
    ),
    ({"action": "set_weight", "value": {"layer": 0, "to": 8, "bias": 1}}, ["body", "value", "to"]),
    (
        {"action": "set_weight", "value": {"layer": 1, "to": 0, "from": 8, "weight": 1}},
        ["body", "value", "from"],
    ),
    (
        {"action": "set_weight", "value": {"layer": "head", "to": 2, "bias": 1}},
        ["body", "value", "to"],
    ),
]


def test_bad_stage_controls_are_422s_naming_the_field(live: Live):
    response = live.http.post("/api/runs", params={"paused": "true"}, json=spiral(epochs=None))
    run = response.json()
    with stopped_after(live, run):
        _all_refused(live, run)


def _all_refused(live: Live, run: dict) -> None:
    for body, loc in BAD_STAGE_CONTROLS:
        response = live.http.post(
            f"/api/runs/{run['id']}/control", json=body, headers={"X-Run-Token": run["token"]}
        )
        assert response.status_code == 422, (body, response.text)
        assert any(e["loc"] == loc for e in response.json()["detail"]), (body, response.text)


def test_set_weight_edits_a_paused_run_and_watchers_see_it(live: Live):
    run = live.start(spiral(epochs=None, samples=100))  # two dense layers of 8, tanh
    viewer = live.stream(run["id"])
    with stopped_after(live, run):
        viewer.read_until(lambda m: m["type"] == "epoch")
        refused = live.control(
            run, "set_weight", value={"layer": 0, "to": 1, "from": 0, "weight": 1}
        )
        assert refused.status_code == 409 and "paused" in refused.json()["detail"]

        assert live.control(run, "pause").json()["status"] == "paused"
        viewer.read_until(lambda m: m["type"] == "status" and m["status"] == "paused")
        edits = [
            ({"layer": 1, "to": 3, "from": 5, "weight": 1.2345}, lambda b: b["weights"][1][3][5]),
            ({"layer": "head", "to": 1, "bias": -0.75}, lambda b: b["biases"][2][1]),
        ]
        for edit, read in edits:
            response = live.control(run, "set_weight", value=edit)
            assert response.status_code == 200, response.text
            snapshot = viewer.read_until(
                lambda m, e=edit, r=read: (
                    m["type"] == "snapshot"
                    and r(m["snapshot"]["boundary"]) == e.get("weight", e.get("bias"))
                )
            )
            assert snapshot["snapshot"]["epoch"] == viewer.records()[-1]["epoch"]
    viewer.read_to_end()
    viewer.close()


def test_early_stopping_finishes_with_the_best_epoch(live: Live):
    run = live.start(spiral(epochs=3000, samples=100, early_stopping=5))
    viewer = live.stream(run["id"])
    final = viewer.read_to_end()[-1]
    viewer.close()
    records = viewer.records()
    best = min(records, key=lambda r: (r["val_loss"], r["epoch"]))
    assert final["status"] == "finished" and final["best_epoch"] == best["epoch"]
    assert records[-1]["epoch"] == best["epoch"] + 5 < 3000
    assert final["message"] == (
        f"stopped early at epoch {best['epoch'] + 5}: the validation loss was lowest at epoch "
        f"{best['epoch']}; the network keeps that epoch's weights"
    )
    snapshot = viewer.of_type("snapshot")[-1]["snapshot"]  # drawn with the kept weights
    assert snapshot["epoch"] == records[-1]["epoch"]
    detail = live.http.get(f"/api/runs/{run['id']}").json()
    assert detail["status"] == "finished" and detail["message"] == final["message"]
    assert detail["best_epoch"] == best["epoch"]


def test_a_stored_runs_summary_reads_its_best_epoch_from_its_message():
    # After a restart a run is read from the database: its message is all it keeps.
    stored = {
        "id": "r",
        "status": "finished",
        "message": "stopped early at epoch 212: the validation loss was lowest at epoch 140; "
        "the network keeps that epoch's weights",
        "epoch": 212,
        "dataset": "spiral",
        "total_params": 10,
        "created": 0.0,
        "viewers": 0,
    }
    assert RunSummary(**stored).best_epoch == 140
    assert RunSummary(**{**stored, "message": None}).best_epoch is None
