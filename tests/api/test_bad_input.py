"""Bad and hostile input: a 4xx whose message names the problem, and nothing is started."""

from __future__ import annotations

import json

import pytest
from live_server import Live, spiral


def _runs(live: Live) -> int:
    return len(live.http.get("/api/runs").json())


def _post(live: Live, body, path: str = "/api/runs", **kw):
    content = body if isinstance(body, str | bytes) else json.dumps(body)
    headers = {"content-type": "application/json", **kw.pop("headers", {})}
    return live.http.post(path, content=content, headers=headers, **kw)


def _layers(*layers: dict) -> dict:
    doc = spiral()
    doc["model"]["layers"] = list(layers)
    return doc


def _with(section: str, **fields) -> dict:
    doc = spiral()
    doc[section].update(fields)
    return doc


CASES = [
    # (name, body, expected loc prefix or None, words the message must contain)
    ("malformed json", '{"dataset": {"name": "spiral"', ["body"], ["malformed JSON"]),
    ("empty body", "", ["body"], ["empty"]),
    (
        "NaN literal",
        '{"dataset": {"name": "spiral"}, "training": {"learning_rate": NaN}}',
        ["body"],
        ["NaN"],
    ),
    ("not an object", "[1, 2, 3]", [], ["dictionary"]),
    (
        "unknown layer",
        _layers({"type": "transformer"}),
        ["model", "layers", 0, "type"],
        ["transformer"],
    ),
    ("unknown dataset", _with("dataset", name="imagenet"), ["dataset", "name"], ["imagenet"]),
    (
        "conv2d on flat input",
        _layers({"type": "conv2d", "filters": 4, "kernel_size": 3}),
        ["model", "layers", 0],
        ["layer 0", "conv2d"],
    ),
    (
        "rnn on flat input",
        _layers({"type": "lstm", "units": 4}),
        ["model", "layers", 0],
        ["layer 0", "lstm"],
    ),
    (
        "100k x 100k dense",
        _layers({"type": "dense", "units": 100_000}, {"type": "dense", "units": 100_000}),
        ["model", "layers", 1],
        ["LAYERLAB_MAX_PARAMS", "layer 1"],
    ),
    (
        "a million epochs",
        _with("training", epochs=1_000_000),
        ["training", "epochs"],
        ["1,000,000", "LAYERLAB_MAX_EPOCHS"],
    ),
    (
        "a huge dataset",
        _with("dataset", samples=500_000),
        ["dataset", "samples"],
        ["LAYERLAB_MAX_SAMPLES"],
    ),
    ("an absurd dataset", _with("dataset", samples=10**12), ["dataset", "samples"], []),
    ("a huge batch", _with("training", batch_size=10**7), ["training", "batch_size"], []),
    (
        "a batch that would not fit in a worker",
        {
            "dataset": {"name": "digits"},
            "model": {
                "layers": [  # ~13 GB of activations, few FLOPs (those have their own limit)
                    {"type": "upsample", "scale": 8},
                    {"type": "upsample", "scale": 8},
                    {"type": "maxpool2d", "pool_size": 8},
                    {"type": "maxpool2d", "pool_size": 8},
                ]
            },
            "training": {"batch_size": 4096},
        },
        ["training", "batch_size"],
        ["LAYERLAB_WORKER_MEMORY_MB"],
    ),
    (
        "too many layers",
        _layers(*[{"type": "dense", "units": 2}] * 40),
        ["model", "layers"],
        ["LAYERLAB_MAX_LAYERS"],
    ),
    (
        "negative learning rate",
        _with("training", learning_rate=-1),
        ["training", "learning_rate"],
        [],
    ),
    ("unknown field", _with("training", warp_speed=9), ["training", "warp_speed"], []),
]


@pytest.mark.parametrize("name,body,loc,words", CASES, ids=[c[0] for c in CASES])
def test_bad_experiments_get_a_422_that_names_the_problem(live: Live, name, body, loc, words):
    before = _runs(live)
    for path in ("/api/runs", "/api/check"):
        response = _post(live, body, path)
        assert response.status_code == 422, (path, response.text)
        detail = response.json()["detail"]
        assert isinstance(detail, list) and detail
        assert any(e["loc"][: len(loc)] == loc for e in detail), detail
        text = " ".join(e["msg"] for e in detail)
        assert all(w in text for w in words), text
    assert _runs(live) == before  # refused before anything was started


def test_parameter_limit_names_the_layer(live: Live):
    doc = _layers({"type": "dense", "units": 4000}, {"type": "dense", "units": 4000})
    response = _post(live, doc)
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["model", "layers", 1] and "LAYERLAB_MAX_PARAMS" in error["msg"]


def test_a_body_over_the_size_limit_is_a_413(live: Live):
    padding = "x" * (live.settings.max_message_bytes + 1)
    response = _post(live, {"dataset": {"name": "spiral"}, "padding": padding})
    assert response.status_code == 413
    assert "LAYERLAB_MAX_MESSAGE_BYTES" in response.json()["detail"]


def test_too_many_runs_per_client_and_in_all(live: Live, limits):
    live.wait_idle()
    long = spiral(epochs=None, samples=100, pace=100)
    limits(max_runs_per_client=2)
    runs = [live.start(long), live.start(long)]
    refused = _post(live, long)
    assert refused.status_code == 429 and "LAYERLAB_MAX_RUNS_PER_CLIENT" in refused.json()["detail"]
    limits(max_runs=2, max_runs_per_client=40)
    refused = _post(live, long)
    assert refused.status_code == 429 and "LAYERLAB_MAX_RUNS" in refused.json()["detail"]
    for run in runs:
        assert live.control(run, "stop").status_code == 200
    live.start(spiral(epochs=2))  # room again once runs end
    live.wait_idle()


CONTROL_CASES = [
    ({"action": "explode"}, ["body", "action"]),
    ({"action": "set_lr"}, ["body"]),
    ({"action": "set_lr", "learning_rate": 100}, ["body", "learning_rate"]),
    ({"action": "set_lr", "learning_rate": 0}, ["body", "learning_rate"]),
]


def test_bad_controls_are_refused(live: Live):
    run = live.start(spiral(epochs=None, samples=100, pace=100))
    for body, loc in CONTROL_CASES:
        response = live.http.post(
            f"/api/runs/{run['id']}/control", json=body, headers={"X-Run-Token": run["token"]}
        )
        assert response.status_code == 422, body
        assert any(e["loc"][: len(loc)] == loc for e in response.json()["detail"])
    response = live.http.post(
        "/api/runs/nosuchrun/control", json={"action": "stop"}, headers={"X-Run-Token": "x"}
    )
    assert response.status_code == 404
    assert live.control(run, "stop").json()["status"] == "stopped"


def test_bad_dataset_preview_is_a_422(live: Live):
    response = _post(live, {"name": "spiral", "samples": 10**9}, "/api/datasets/preview")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][:2] == ["dataset", "samples"]
