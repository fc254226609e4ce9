"""Issue 7.1 at the API: /api/check reports the compute of a step, and refuses the design that
froze a shared server, before anything runs."""

from __future__ import annotations

import re

from live_server import Live, spiral
from sample_designs import HEAVY


def _runs(live: Live) -> int:
    return len(live.http.get("/api/runs").json())


def test_check_reports_flops_per_layer_per_example_and_per_step(live: Live):
    result = live.http.post("/api/check", json=spiral()).json()
    assert [layer["flops"] for layer in result["layers"]] == [4 * 2 * 8, 6 * 8 * 8]
    assert (
        result["total_flops"] == sum(x["flops"] for x in result["layers"]) + result["head"]["flops"]
    )
    assert result["step_flops"] == result["total_flops"] * spiral()["training"]["batch_size"]


def test_the_design_that_froze_the_server_is_refused_before_it_runs(live: Live):
    before = _runs(live)
    for path in ("/api/check", "/api/runs"):
        response = live.http.post(path, json=HEAVY)
        assert response.status_code == 422, response.text
        (error,) = response.json()["detail"]
        assert error["loc"] == ["model", "layers", 2]
        assert "GFLOPs" in error["msg"] and "LAYERLAB_MAX_STEP_FLOPS" in error["msg"]
    assert _runs(live) == before


def test_an_over_budget_batch_is_refused_at_the_batch_size_with_one_that_fits(live: Live):
    doc = {
        "dataset": {"name": "digits"},
        "model": {"layers": [{"type": "conv2d", "filters": 64}, {"type": "conv2d", "filters": 64}]},
        "training": {"batch_size": 4096},
    }
    response = live.http.post("/api/check", json=doc)
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["loc"] == ["training", "batch_size"]
    fits = int(re.search(r"at most ([\d,]+\d)", error["msg"]).group(1).replace(",", ""))
    doc["training"]["batch_size"] = fits
    assert live.http.post("/api/check", json=doc).status_code == 200
