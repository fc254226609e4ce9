"""Export over REST: an ended run's standalone script and safetensors weights."""

from __future__ import annotations

import pytest
from live_server import Live, spiral
from safetensors.torch import load

from server.config import Settings
from server.engine.model import build_model, parse_experiment, plan

PENDING = "export is available once the run has finished or been stopped"
FILES = ("model.py", "weights.safetensors")


def export_url(run_id: str, name: str) -> str:
    return f"/api/runs/{run_id}/export/{name}"


def expected_keys(doc: dict) -> set[str]:
    settings = Settings(persist_runs=False)
    return set(build_model(plan(parse_experiment(doc, settings), settings)).state_dict())


def test_a_finished_run_exports_its_script_and_weights(live: Live):
    doc = spiral(epochs=4, samples=200)
    run = live.start(doc)
    live.stream(run["id"]).read_to_end()
    detail = live.http.get(f"/api/runs/{run['id']}").json()
    offered = (*FILES, "model.onnx")  # ONNX is made on its first download (test_routes_onnx)
    assert detail["export"] == {name: export_url(run["id"], name) for name in offered}

    script = live.http.get(export_url(run["id"], "model.py"))
    assert script.status_code == 200, script.text
    assert script.headers["content-type"].startswith("text/x-python")
    assert 'filename="model.py"' in script.headers["content-disposition"]
    assert "def build_model() -> Network:" in script.text
    assert f"Run {run['id']}, 4 epochs trained." in script.text

    weights = live.http.get(export_url(run["id"], "weights.safetensors"))
    assert weights.status_code == 200
    assert weights.headers["content-type"] == "application/octet-stream"
    disposition = weights.headers["content-disposition"]
    assert 'filename="weights.safetensors"' in disposition
    tensors = load(weights.content)
    assert set(tensors) == expected_keys(doc)
    assert all(t.device.type == "cpu" for t in tensors.values())

    # HEAD answers whether an export is there, without the body (the page asks this way).
    head = live.http.head(export_url(run["id"], "model.py"))
    assert head.status_code == 200 and not head.content


def test_no_export_before_the_end_and_one_after_a_stop(live: Live):
    run = live.start(spiral(epochs=None, samples=200, pace=100))
    viewer = live.stream(run["id"])
    viewer.read_until(lambda m: m["type"] == "epoch" or bool(m.get("history")))
    for name in FILES:
        refused = live.http.get(export_url(run["id"], name))
        assert refused.status_code == 404
        assert PENDING in refused.json()["detail"]
    assert live.http.head(export_url(run["id"], "model.py")).status_code == 404
    assert live.http.get(f"/api/runs/{run['id']}").json()["export"] is None

    assert live.control(run, "stop").status_code == 200
    viewer.read_to_end()
    for name in FILES:
        assert live.http.get(export_url(run["id"], name)).status_code == 200


def test_a_paused_run_has_no_export_until_it_ends(live: Live):
    response = live.http.post("/api/runs", params={"paused": "true"}, json=spiral(epochs=1))
    run = response.json()
    refused = live.http.get(export_url(run["id"], "model.py"))
    assert refused.status_code == 404 and "paused" in refused.json()["detail"]
    viewer = live.stream(run["id"])
    assert live.control(run, "resume").status_code == 200
    viewer.read_to_end()
    assert live.http.get(export_url(run["id"], "model.py")).status_code == 200


def test_a_diverged_run_and_an_unknown_run_have_no_export(live: Live):
    doc = {
        "dataset": {"name": "plane", "samples": 100},
        "model": {"layers": [{"type": "dense", "units": 8, "activation": "relu"}]},
        "training": {"learning_rate": 10, "epochs": 50},
    }
    run = live.start(doc)
    messages = live.stream(run["id"]).read_to_end()
    assert messages[-1]["status"] == "diverged"
    refused = live.http.get(export_url(run["id"], "weights.safetensors"))
    assert refused.status_code == 404
    assert "diverged" in refused.json()["detail"] and PENDING in refused.json()["detail"]
    assert live.http.get(f"/api/runs/{run['id']}").json()["export"] is None
    assert live.http.get(export_url("nosuchrun", "model.py")).status_code == 404


@pytest.mark.parametrize("name", FILES)
def test_the_export_routes_are_documented(live: Live, name: str):
    doc = live.http.get("/openapi.json").json()
    operation = doc["paths"][f"/api/runs/{{run_id}}/export/{name}"]["get"]
    assert operation["description"] and "404" in operation["responses"]
    assert "head" not in doc["paths"][f"/api/runs/{{run_id}}/export/{name}"]
