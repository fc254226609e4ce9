"""The embedding projector and the recommendations through the real server: a running run
answers from its worker (PCA live, t-SNE finished in the offline process), an ended one from
its saved weights; bad parameters get a 422 that names them, a run that is not a recommender a
409, and too many points a 422 naming the setting."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from live_server import Live, spiral

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def digits(epochs: int | None) -> dict:
    doc = json.loads((EXAMPLES / "digits_cnn.json").read_text())
    doc["training"].update(epochs=epochs, device="cpu")
    return doc


def test_projection_of_a_training_run_then_of_its_saved_weights(live: Live):
    run = live.start(digits(epochs=None))  # trains until stopped
    viewer = live.stream(run["id"])
    viewer.read_until(lambda m: m["type"] == "epoch")
    url = f"/api/runs/{run['id']}/projection"

    live_pca = live.http.get(url, params={"layer": 3, "limit": 120, "examples": "true"})
    assert live_pca.status_code == 200, live_pca.text
    body = live_pca.json()
    assert body["method"] == "pca" and body["dim"] == 64 and body["count"] == 120
    points = np.asarray(body["points"], dtype=float)
    assert points.shape == (120, 2) and np.isfinite(points).all()
    assert points.std(axis=0).min() > 0  # spread out, not one dot
    assert body["index"] == list(range(120))
    assert len(body["labels"]) == 120 and set(body["labels"]) <= set(range(10))
    assert body["class_names"][:3] == ["0", "1", "2"]
    assert len(body["images"]) == 120 and body["images"][0]["shape"] == [8, 8]
    assert [c["layer"] for c in body["layers"]] == [-1, 0, 1, 2, 3, "head"]

    tsne = live.http.get(url, params={"layer": "head", "method": "tsne", "limit": 120}, timeout=120)
    assert tsne.status_code == 200, tsne.text
    assert tsne.json()["method"] == "tsne" and "reduced" not in tsne.json()
    assert np.isfinite(np.asarray(tsne.json()["points"], dtype=float)).all()
    assert len(tsne.json()["points"]) == 120

    assert live.control(run, "stop").status_code == 200
    viewer.read_to_end()
    ended = live.http.get(url, params={"layer": 3, "limit": 120}, timeout=120)
    assert ended.status_code == 200, ended.text
    assert ended.json()["labels"] == body["labels"]  # the same validation examples


def test_bad_projection_parameters_name_the_field(live: Live):
    run = live.start(spiral(epochs=None, samples=200, pace=50))
    viewer = live.stream(run["id"])
    viewer.read_until(lambda m: m["type"] == "epoch")
    url = f"/api/runs/{run['id']}/projection"
    for params, field, words in (
        ({"layer": 7}, "layer", "layer must be"),
        ({"layer": "nope"}, "layer", "layer must be"),
        ({"method": "umap"}, "method", "pca"),
        ({"limit": 0}, "limit", "greater than"),
        ({"limit": 100_000}, "limit", "LAYERLAB_PROJECTION_MAX_POINTS"),
    ):
        answer = live.http.get(url, params=params)
        assert answer.status_code == 422, (params, answer.text)
        detail = answer.json()["detail"][0]
        assert detail["loc"][-1] == field and words in detail["msg"], (params, detail)
    fine = live.http.get(url, params={"layer": "input", "limit": 50})
    assert fine.status_code == 200 and fine.json()["hover"][0].startswith("x1 ")

    not_rec = live.http.get(f"/api/runs/{run['id']}/recommendations")
    assert not_rec.status_code == 409 and "ratings" in not_rec.text
    assert live.http.get("/api/runs/nosuchrun/projection").status_code == 404
    assert live.control(run, "stop").status_code == 200
    viewer.read_to_end()


def test_recommendations_of_a_trained_recommender_beat_the_mean(live: Live):
    doc = json.loads((EXAMPLES / "ratings_recommender.json").read_text())
    doc["training"].update(epochs=8)
    run = live.start(doc)
    live.stream(run["id"]).read_to_end(timeout=180)
    url = f"/api/runs/{run['id']}/recommendations"
    answer = live.http.get(url, params={"user": 5, "k": 7}, timeout=120)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["rmse"] < 0.9 * body["baseline_rmse"], body["rmse"]  # it learned
    rated = {r["item"] for r in body["rated"]}
    assert rated and len(body["top"]) == 7
    assert not rated & {t["item"] for t in body["top"]}  # already rated: never recommended
    scores = [t["score"] for t in body["top"]]
    assert scores == sorted(scores, reverse=True)
    assert len(body["map"]["points"]) == body["items"] == 120
    assert body["map"]["hover"][3] == "jazz 1"

    tsne = live.http.get(url, params={"user": 5, "method": "tsne"}, timeout=120)
    assert tsne.status_code == 200 and len(tsne.json()["map"]["points"]) == 120
    bad = live.http.get(url, params={"user": 100_000})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"][-1] == "user"
    assert "user must be 0 to 199" in bad.text


MINE = {"X-Owner-Token": "projection-owner-0123456789"}
THEIRS = {"X-Owner-Token": "projection-other-9876543210"}
CSV = b"a,b,label\n" + b"\n".join(
    f"{i / 10:.1f},{(i % 7) / 3:.3f},{'xy'[i % 2]}".encode() for i in range(80)
)


def test_a_run_on_an_upload_projects_its_examples_for_its_owner_only(live: Live):
    made = live.http.post("/api/datasets/uploads", files={"file": ("s.csv", CSV)}, headers=MINE)
    assert made.status_code == 201, made.text
    doc = {
        "dataset": {"name": "upload", "id": made.json()["id"]},
        "model": {"layers": [{"type": "dense", "units": 4}]},
        "training": {"optimizer": "sgd", "batch_size": 8, "epochs": None},
    }
    started = live.http.post("/api/runs", json=doc, headers=MINE, params={"paused": "true"})
    assert started.status_code == 201, started.text
    run = started.json()
    url = f"/api/runs/{run['id']}/projection"
    for headers in ({}, THEIRS, {"X-Run-Token": "not-the-token-0123456789"}):
        refused = live.http.get(url, params={"layer": "input"}, headers=headers)
        assert refused.status_code == 403 and "uploaded dataset" in refused.text
    for headers in (MINE, {"X-Run-Token": run["token"]}):
        mine = live.http.get(url, params={"layer": "input"}, headers=headers)
        assert mine.status_code == 200, mine.text
        assert mine.json()["hover"][0].startswith("a ")  # the upload's own rows
    assert live.control(run, "stop").status_code == 200
