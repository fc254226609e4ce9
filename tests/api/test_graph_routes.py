"""Issue 22 at the API: palette blocks expand into visible parts, graph errors are 422s at
their fields, and a transformer run streams real epochs and attention maps from a worker."""

from __future__ import annotations

from live_server import Live


def _reverse(layers: list[dict], **training) -> dict:
    return {
        "dataset": {"name": "reverse", "length": 8, "vocab": 10, "samples": 600, "seed": 1},
        "model": {"layers": layers},
        "training": {"optimizer": "adam", "learning_rate": 0.003, "batch_size": 32, **training},
    }


def test_blocks_are_listed_and_expand_after_the_last_layer(live: Live):
    blocks = {b["type"]: b for b in live.http.get("/api/blocks").json()}
    assert set(blocks) == {"transformer_block", "residual_block"}
    doc = _reverse([{"type": "embedding", "dim": 16}])
    response = live.http.post(
        "/api/blocks/transformer_block/expand", json={"experiment": doc, "params": {"heads": 2}}
    )
    assert response.status_code == 200, response.text
    layers = response.json()["layers"]
    assert layers[0] == {"type": "embedding", "dim": 16, "id": "l0"}
    assert [x["type"] for x in layers[1:]] == [
        "layernorm", "attention", "add", "layernorm", "dense", "dense", "add"
    ]  # fmt: skip
    assert layers[3]["inputs"] == ["l0", "t0_attn"]
    checked = live.http.post("/api/check", json=_reverse(layers)).json()
    assert checked["layers"][3]["input_shapes"] == [[8, 16], [8, 16]]
    # Before an embedding there is no sequence of vectors to attend over: said at the field.
    refused = live.http.post(
        "/api/blocks/transformer_block/expand", json={"experiment": _reverse([]), "params": {}}
    )
    assert refused.status_code == 422
    assert "start with an embedding layer" in refused.json()["detail"][0]["msg"]


def test_graph_errors_are_422s_at_their_fields(live: Live):
    spiral = {"dataset": {"name": "spiral"}, "training": {"epochs": 5}}
    cycle = [
        {"type": "dense", "units": 8, "id": "a", "inputs": ["b"]},
        {"type": "dense", "units": 8, "id": "b", "inputs": ["a"]},
    ]
    unknown = [{"type": "dense", "units": 8, "id": "a"}, {"type": "add", "inputs": ["a", "zz"]}]
    mismatch = [
        {"type": "dense", "units": 32, "id": "a"},
        {"type": "dense", "units": 16, "id": "b", "inputs": ["input"]},
        {"type": "add", "inputs": ["a", "b"]},
    ]
    for path in ("/api/check", "/api/runs"):
        for layers, loc, words in (
            (cycle, [0, "inputs"], "cycle (layer 0 → layer 1 → layer 0)"),
            (unknown, [1, "inputs"], "unknown input 'zz'"),
            (mismatch, [2], "joins (32,) from layer 0 with (16,) from layer 1"),
        ):
            response = live.http.post(path, json={**spiral, "model": {"layers": layers}})
            assert response.status_code == 422, response.text
            (error,) = response.json()["detail"]
            assert error["loc"] == ["model", "layers", *loc] and words in error["msg"]


def test_a_transformer_run_streams_epochs_and_attention_maps(live: Live):
    live.wait_workers_ready()
    layers = [{"type": "embedding", "dim": 16, "id": "emb"}]
    layers = live.http.post(
        "/api/blocks/transformer_block/expand",
        json={"experiment": _reverse(layers), "params": {"heads": 2}},
    ).json()["layers"]
    run = live.start(_reverse(layers, epochs=3))
    stream = live.stream(run["id"])
    try:
        stream.read_to_end(timeout=120)
    finally:
        stream.close()
    assert stream.epochs() == [1, 2, 3]
    assert 0 <= stream.records()[-1]["metrics"]["val_accuracy"] <= 1
    graphs = [
        m["snapshot"]["graph"]
        for m in stream.of_type("snapshot")
        if "graph" in m.get("snapshot", {})
    ]
    assert graphs, [m.get("snapshot", {}).keys() for m in stream.of_type("snapshot")]
    attention = graphs[-1]["attention"][0]
    assert attention["layer"] == 2 and attention["heads"] == 2
    assert attention["maps"][0][0]["shape"] == [8, 8]
    live.wait_idle()
