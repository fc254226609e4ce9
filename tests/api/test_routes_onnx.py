"""ONNX over REST: made from a finished run's weights on the first download, then kept."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import torch
from live_server import Live, spiral
from safetensors.torch import load

from server.config import Settings
from server.engine.model import build_model, parse_experiment, plan_from_shapes


def onnx_url(run_id: str) -> str:
    return f"/api/runs/{run_id}/export/model.onnx"


def test_a_finished_run_downloads_as_onnx_that_matches_its_weights(live: Live):
    doc = spiral(epochs=3, samples=200)
    run = live.start(doc)
    live.stream(run["id"]).read_to_end()
    assert live.http.get(f"/api/runs/{run['id']}").json()["export"]["model.onnx"] == onnx_url(
        run["id"]
    )

    response = live.http.get(onnx_url(run["id"]), timeout=240)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/octet-stream"
    assert 'filename="model.onnx"' in response.headers["content-disposition"]

    # The same numbers as the run's own weights in PyTorch.
    weights = load(live.http.get(f"/api/runs/{run['id']}/export/weights.safetensors").content)
    settings = Settings(persist_runs=False)
    net = build_model(plan_from_shapes(parse_experiment(doc, settings), settings))
    net.load_state_dict(weights)
    x = torch.rand(9, 2)
    with torch.no_grad():
        expected = net.eval()(x).softmax(dim=1).numpy()
    session = ort.InferenceSession(response.content, providers=["CPUExecutionProvider"])
    got = session.run(["output"], {"input": x.numpy()})[0]
    np.testing.assert_allclose(got, expected, atol=1e-5)

    # Kept with the run's export after the first download, and served from there again.
    again = live.http.get(onnx_url(run["id"]))
    assert again.status_code == 200 and again.content == response.content


def test_no_onnx_while_a_run_is_active(live: Live):
    run = live.start(spiral(epochs=None, samples=200, pace=100))
    viewer = live.stream(run["id"])
    viewer.read_until(lambda m: m["type"] == "epoch" or bool(m.get("history")))
    refused = live.http.get(onnx_url(run["id"]))
    assert refused.status_code == 404
    assert "once the run has finished or been stopped" in refused.json()["detail"]
    assert live.control(run, "stop").status_code == 200
    viewer.read_to_end()


def test_unknown_run_is_404(live: Live):
    assert live.http.get(onnx_url("nosuchrun")).status_code == 404
