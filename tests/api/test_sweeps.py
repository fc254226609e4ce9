"""Sweeps through the real server and real workers: six variants run to the end and the
summary matches their runs; bad sweeps are 422s naming the field; only the owner stops one;
the sweep and its runs are in the database (a restarted server reads them back)."""

from __future__ import annotations

import time

from live_server import Live, spiral

from server.store.store import Store
from server.sweeps.repository import SWEEPS
from server.sweeps.summary import describe

OWNER = {"X-Owner-Token": "sweep-owner-token-0123456789"}
OTHER = {"X-Owner-Token": "somebody-else-token-987654321"}


def post(live: Live, body: dict, headers: dict | None = None):
    return live.http.post("/api/sweeps", json=body, headers=OWNER if headers is None else headers)


def wait_sweep(live: Live, sweep_id: str, status: str, timeout: float = 120.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        sweep = live.http.get(f"/api/sweeps/{sweep_id}", headers=OWNER).json()
        if sweep["status"] == status:
            return sweep
        assert time.monotonic() < deadline, sweep
        time.sleep(0.2)


def test_six_variants_finish_and_the_summary_is_theirs(live: Live):
    body = {
        "name": "lr x activation",
        "experiment": spiral(epochs=12, samples=200),
        "axes": [
            {"setting": "learning_rate", "values": [0.003, 0.03, 0.3]},
            {"setting": "activation", "values": ["tanh", "relu"]},
        ],
    }
    response = post(live, body)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["status"] == "running" and len(created["variants"]) == 6
    runs = [v["run"] for v in created["variants"]]
    assert len(set(runs)) == 6
    assert [v["values"] for v in created["variants"]][:3] == [
        {"learning_rate": 0.003, "activation": "tanh"},
        {"learning_rate": 0.003, "activation": "relu"},
        {"learning_rate": 0.03, "activation": "tanh"},
    ]
    streams = [live.stream(r) for r in runs]
    for s in streams:
        s.read_to_end(timeout=120)
        assert s.messages[-1]["status"] == "finished" and s.epochs() == list(range(1, 13))
        s.close()

    sweep = wait_sweep(live, created["id"], "finished")
    assert sweep["mine"] is True and sweep["name"] == "lr x activation"
    assert sweep["counts"] == {"finished": 6}
    assert sweep["metric"] == "val_accuracy" and sweep["higher_is_better"] is True
    for variant, s in zip(sweep["variants"], streams, strict=True):
        run = live.http.get(f"/api/runs/{variant['run']}").json()
        # The variant is the base design with its values applied, nothing else changed.
        assert run["experiment"]["training"]["learning_rate"] == variant["values"]["learning_rate"]
        acts = {layer["activation"] for layer in run["experiment"]["model"]["layers"]}
        assert acts == {variant["values"]["activation"]}
        assert run["experiment"]["dataset"]["samples"] == 200
        assert variant["status"] == "finished" and variant["epoch"] == 12
        assert variant["final"] == run["history"][-1] == s.records()[-1]
        assert variant["value"] == run["history"][-1]["metrics"]["val_accuracy"]
    best = max(sweep["variants"], key=lambda v: v["value"])
    assert sweep["best"]["value"] == best["value"]
    assert sweep["best"]["value"] > 0.5  # some variant learned something in 12 epochs

    # Someone else may read it by its id (not "mine"), and lists only their own sweeps.
    assert live.http.get(f"/api/sweeps/{created['id']}", headers=OTHER).json()["mine"] is False
    mine = live.http.get("/api/sweeps", headers=OWNER)
    assert created["id"] in [s["id"] for s in mine.json()]
    assert created["id"] not in [
        s["id"] for s in live.http.get("/api/sweeps", headers=OTHER).json()
    ]

    # A restarted server reads the sweep and its runs from the database (once the store's
    # writer has committed the last records: about every flush_interval_s).
    store = Store(live.settings)
    store.open()
    try:
        stored = store.read(SWEEPS.get, created["id"])
        assert [v.run_id for v in stored.variants] == runs
        deadline = time.monotonic() + 20
        while True:
            again = describe(stored, store.get_run, mine=True)
            if again["status"] == "finished" and all(v["epoch"] == 12 for v in again["variants"]):
                break
            assert time.monotonic() < deadline, again
            time.sleep(0.2)
        assert [v["final"] for v in again["variants"]] == [v["final"] for v in sweep["variants"]]
        assert again["status"] == "finished" and again["best"] == sweep["best"]
    finally:
        store.close()


def error_at(response, loc: list) -> str:
    assert response.status_code == 422, response.text
    errors = response.json()["detail"]
    found = [e for e in errors if e["loc"] == loc]
    assert found, f"no error at {loc}: {errors}"
    return found[0]["msg"]


def test_bad_sweeps_are_422s_naming_the_field(live: Live, limits):
    base = spiral(epochs=5, samples=200)

    def sweep(*axes, experiment=base):
        return {"experiment": experiment, "axes": list(axes)}

    lr = {"setting": "learning_rate", "values": [0.01, 50]}
    assert "learning_rate = 50" in error_at(post(live, sweep(lr)), ["body", "axes", 0, "values", 1])
    act = {"setting": "activation", "values": ["relu", "swish"]}
    msg = error_at(post(live, sweep(act)), ["body", "axes", 0, "values", 1])
    assert "activation = swish" in msg and "model.layers.0.activation" in msg
    units = {"setting": "units", "values": [4, "many"]}
    assert "whole numbers" in error_at(post(live, sweep(units)), ["body", "axes", 0, "values", 1])
    layer = {"setting": "units", "layer": 7, "values": [4, 8]}
    assert "no layer 7" in error_at(post(live, sweep(layer)), ["body", "axes", 0, "layer"])
    twice = {"setting": "batch_size", "values": [10, 20, 10]}
    assert "twice" in error_at(post(live, sweep(twice)), ["body", "axes", 0, "values", 2])
    error_at(
        post(live, sweep({"setting": "momentum", "values": [0.5]})), ["body", "axes", 0, "setting"]
    )
    error_at(post(live, sweep()), ["body", "axes"])
    same = [
        {"setting": "learning_rate", "values": [0.1]},
        {"setting": "learning_rate", "values": [1]},
    ]
    error_at(post(live, sweep(*same)), ["body", "axes", 1, "setting"])

    forever = spiral(samples=200)
    forever["training"]["epochs"] = None
    error_at(
        post(live, sweep(lr, experiment=forever)), ["body", "experiment", "training", "epochs"]
    )
    broken = spiral(samples=200)
    broken["model"]["layers"][0]["units"] = 0
    error_at(
        post(live, sweep(lr, experiment=broken)),
        ["body", "experiment", "model", "layers", 0, "units"],
    )
    # data_fraction: a training field, bounded (0, 1]
    frac = {"setting": "data_fraction", "values": [0.5, 1.5]}
    assert "data_fraction = 1.5" in error_at(
        post(live, sweep(frac)), ["body", "axes", 0, "values", 1]
    )

    # Each value runs alone, but not together: named at the axes, with both values.
    limits(max_params=300_000)
    wide = {"setting": "units", "values": [8, 400]}
    deep = {"setting": "layers", "values": [1, 4]}
    msg = error_at(post(live, sweep(wide, deep)), ["body", "axes"])
    assert "units=400, layers=4" in msg and "parameters" in msg

    # Larger than may ever run at once: a 422 at axes; fits but not now: a 429, nothing starts.
    limits(max_runs_per_client=4)
    five = {"setting": "batch_size", "values": [5, 10, 20, 40, 80]}
    assert "5 variants" in error_at(post(live, sweep(five)), ["body", "axes"])
    blocker = live.start(spiral(epochs=None, samples=200, pace=100))
    try:
        four = {"setting": "batch_size", "values": [5, 10, 20, 40]}
        before = live.http.get("/api/health").json()["active_runs"]
        refused = post(live, sweep(four))
        assert refused.status_code == 429 and "only 3 more" in refused.json()["detail"]
        assert live.http.get("/api/health").json()["active_runs"] == before
    finally:
        live.control(blocker, "stop")
    # Without an owner token there is no sweep: it is owned by its creator.
    error_at(post(live, sweep(lr), headers={}), ["header", "X-Owner-Token"])
    live.wait_idle()


def test_only_its_owner_stops_a_sweep(live: Live):
    body = {
        "experiment": spiral(epochs=5000, samples=200, pace=100),  # at a pace: still going at stop
        "axes": [{"setting": "units", "layer": 1, "values": [2, 4, 8]}],
    }
    created = post(live, body).json()
    viewer = live.stream(created["variants"][0]["run"])
    viewer.read_until(lambda m: m["type"] == "epoch")
    refused = live.http.post(f"/api/sweeps/{created['id']}/stop", headers=OTHER)
    assert refused.status_code == 403
    assert live.http.post("/api/sweeps/nosuchsweep/stop", headers=OWNER).status_code == 404
    stopped = live.http.post(f"/api/sweeps/{created['id']}/stop", headers=OWNER)
    assert stopped.status_code == 200, stopped.text
    sweep = stopped.json()
    assert sweep["status"] == "stopped" and sweep["stopped"] is not None
    assert sweep["counts"] == {"stopped": 3}
    assert all(v["epoch"] >= 1 or v["final"] is None for v in sweep["variants"])
    viewer.read_to_end()
    assert viewer.messages[-1]["status"] == "stopped"
    run = live.http.get(f"/api/runs/{created['variants'][2]['run']}").json()
    assert [layer["units"] for layer in run["experiment"]["model"]["layers"]] == [8, 8]
    assert live.http.get("/api/sweeps/nosuchsweep").status_code == 404
    live.wait_idle()


def test_a_million_layers_are_a_422_at_their_value_before_anything_is_built(live: Live):
    """Issue 20: the bound comes before the variants (3 million layers once took 32.7 s)."""
    for layers in (3_000_000, 10**9):
        body = {
            "experiment": spiral(epochs=3),
            "axes": [{"setting": "layers", "values": [1, layers]}],
        }
        response = post(live, body)
        assert response.status_code == 422, response.text
        (error,) = response.json()["detail"]
        assert error["loc"] == ["body", "axes", 0, "values", 1]
        assert "LAYERLAB_MAX_LAYERS" in error["msg"]
