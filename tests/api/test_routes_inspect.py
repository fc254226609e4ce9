"""Stepping through one update and asking a run about one input, through the real server."""

from __future__ import annotations

from live_server import Live, spiral


def paused_run(live: Live, **changes) -> dict:
    response = live.http.post("/api/runs", params={"paused": "true"}, json=spiral(**changes))
    assert response.status_code == 201, response.text
    return response.json()


def test_step_batch_traces_one_update_to_every_viewer_and_training_goes_on(live: Live):
    run = paused_run(live, epochs=3, samples=200)
    url = f"/api/runs/{run['id']}/trace"
    assert live.http.get(url).status_code == 404  # no step yet
    owner, student = live.stream(run["id"]), live.stream(run["id"])
    for viewer in (owner, student):
        viewer.read_until(lambda m: m["type"] == "hello")

    assert live.control(run, "step_batch").status_code == 200
    trace = student.read_until(lambda m: m["type"] == "trace")["trace"]
    assert trace["batch"] == 1 and len(trace["samples"]) == 10  # spiral(): batch of 10
    assert [layer["type"] for layer in trace["layers"]][-1] == "head"
    assert live.http.get(url).json() == trace  # the latest trace, for whoever asks later

    assert live.control(run, "step_batch", sample=5).status_code == 200
    single = owner.read_until(lambda m: m["type"] == "trace" and m["trace"]["single"])["trace"]
    assert single["samples"] == [5]
    first, second = trace["layers"][0]["params"], single["layers"][0]["params"]
    assert first["weight"]["after"] == second["weight"]["before"]  # one step after the other
    assert live.http.get(f"/api/runs/{run['id']}").json()["status"] == "paused"

    # Refusals say why and leave the run alone.
    refused = live.control(run, "step_batch", sample=10_000)
    assert refused.status_code == 409 and "sample must be a training example" in refused.text
    assert live.control(run, "step_batch", token="wrong").status_code == 403
    assert live.control(run, "step_batch", sample=-1).status_code == 422

    # Resumed, it trains on to the end from the stepped weights.
    assert live.control(run, "resume").status_code == 200
    messages = owner.read_to_end()
    assert messages[-1]["status"] == "finished"
    records = [r for m in messages if m["type"] == "epoch" for r in m["records"]]
    assert [r["epoch"] for r in records][-1] == 3


def test_step_batch_needs_a_paused_run(live: Live):
    run = live.start(spiral(epochs=None, samples=200, pace=100))
    viewer = live.stream(run["id"])
    viewer.read_until(lambda m: m["type"] == "epoch")
    refused = live.control(run, "step_batch")
    assert refused.status_code == 409 and "pause it first" in refused.text
    assert live.control(run, "stop").status_code == 200
    viewer.read_to_end()


def test_predict_answers_for_one_point_with_its_attribution(live: Live):
    run = paused_run(live, epochs=3, samples=200)
    url = f"/api/runs/{run['id']}/predict"
    answer = live.http.post(url, json={"input": [0.5, -1.0], "explain": True})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert len(body["output"]) == 2 and abs(sum(body["output"]) - 1) < 1e-4
    assert body["label"] in body["class_names"]
    features = body["attribution"]["features"]
    assert [f["name"] for f in features] == ["x1", "x2"]

    bad = live.http.post(url, json={"input": [1, 2, 3]})
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["body", "input"]
    assert "a 2D point [x1, x2]" in bad.json()["detail"][0]["msg"]

    # Stopped, it answers from its saved weights (a process of its own), with the same numbers.
    assert live.control(run, "stop").status_code == 200
    live.stream(run["id"]).read_to_end()
    again = live.http.post(url, json={"input": [0.5, -1.0], "explain": True}, timeout=120)
    assert again.status_code == 200, again.text
    assert again.json()["output"] == body["output"]
    assert live.http.post(url, json={"input": [1, 2, 3]}).status_code == 422


def test_predict_refuses_an_input_far_larger_than_the_model_takes(live: Live):
    """Issue 20: `input` was unbounded but by the body limit (1 MB), and crossed the worker's
    pipe whole; it is capped by the model's input shape and refused at body.input."""
    run = paused_run(live, epochs=3, samples=200)
    url = f"/api/runs/{run['id']}/predict"
    for raw in ([0.5] * 5000, [[0.5, 0.5]] * 2000, [[[[0.0]] * 20]] * 20):
        bad = live.http.post(url, json={"input": raw})
        assert bad.status_code == 422, bad.text
        error = bad.json()["detail"][0]
        assert error["loc"] == ["body", "input"] and "shape [2]" in error["msg"]
    assert live.http.post(url, json={"input": [0.5, -1.0]}).status_code == 200
    assert live.control(run, "stop").status_code == 200
