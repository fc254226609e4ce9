"""The application datasets (issue 23) train to their thresholds through the real server:
a run started over HTTP, its epochs received over the WebSocket from a real worker."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from live_server import Live

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def run_example(live: Live, name: str, **training) -> tuple[dict, list[dict]]:
    """Start examples/<name>.json on the live server: the run and every epoch record, once
    it finished."""
    doc = json.loads((EXAMPLES / f"{name}.json").read_text())
    doc["training"].update(training)
    run = live.start(doc)
    stream = live.stream(run["id"])
    try:
        messages = stream.read_to_end(timeout=300)
    finally:
        stream.close()
    statuses = [m for m in messages if m["type"] == "status"]
    assert statuses[-1]["status"] == "finished", statuses[-1]
    return run, stream.records()


@pytest.mark.slow
def test_sentiment_trains_through_the_server(live: Live):
    run, records = run_example(live, "sentiment_lstm", epochs=5)
    assert len(records) == 5
    assert records[-1]["metrics"]["val_accuracy"] >= 0.85, records[-1]
    # Try it: a typed sentence, answered from the finished run's saved weights.
    asked = live.http.post(
        f"/api/runs/{run['id']}/predict",
        json={"input": "What a wonderful movie!", "explain": True},
    )
    assert asked.status_code == 200, asked.text
    answer = asked.json()
    assert answer["label"] == "positive" and answer["words"][-2:] == ["wonderful", "movie"]
    assert len(answer["attribution"]["tokens"]) == len(answer["words"])
    long = live.http.post(f"/api/runs/{run['id']}/predict", json={"input": "good " * 300})
    assert long.status_code == 422 and "1000 characters" in long.text


@pytest.mark.slow
def test_spoken_digits_train_through_the_server(live: Live):
    # Its validation accuracy swings from epoch to epoch (batch norm on batches of 16): see
    # tests/engine/test_app_datasets.py, which asks the same of the CLI.
    _, records = run_example(live, "spoken_digits_cnn", epochs=6)
    accuracy = [r["metrics"]["val_accuracy"] for r in records]
    assert max(accuracy) >= 0.9 and max(accuracy[-2:]) >= 0.85, accuracy


@pytest.mark.slow
def test_ratings_beat_the_mean_through_the_server(live: Live):
    preview = live.http.post("/api/datasets/preview", json={"name": "ratings", "seed": 1})
    assert preview.status_code == 200, preview.text
    baseline = preview.json()["baseline_rmse"]  # what the page shows beside the RMSE
    _, records = run_example(live, "ratings_recommender")
    rmse = math.sqrt(records[-1]["val_loss"])
    assert rmse < 0.7 * baseline, (rmse, baseline)
