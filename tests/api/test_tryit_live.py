"""Try it (issue 23) through the real server: a sentence to a trained sentiment run (the label,
each word's attribution, words out of the vocabulary, the map of words), attention for an
attention model answered by its worker, and a spoken digit's Grad-CAM from a spectrogram CNN.
Runs start over HTTP and train in real workers; answers come from POST /api/runs/{id}/predict,
the map of words from GET /words and validation clips from GET /clips."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from live_server import Live, spiral
from sklearn.linear_model import LogisticRegression

from server.engine.datasets.sentiment import ADJECTIVES

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def trained(live: Live, name: str, **training) -> tuple[dict, list[dict]]:
    """examples/<name>.json trained to its end on the live server: the run and its records."""
    doc = json.loads((EXAMPLES / f"{name}.json").read_text())
    doc["training"].update(training)
    run = live.start(doc)
    stream = live.stream(run["id"])
    try:
        messages = stream.read_to_end(timeout=600)
    finally:
        stream.close()
    assert [m for m in messages if m["type"] == "status"][-1]["status"] == "finished"
    return run, stream.records()


def ask(live: Live, run: dict, text, **extra) -> dict:
    response = live.http.post(
        f"/api/runs/{run['id']}/predict", json={"input": text, "explain": True, **extra}
    )
    assert response.status_code == 200, response.text
    return response.json()


def attribution_of(answer: dict, word: str) -> float:
    return answer["attribution"]["tokens"][answer["typed"].index(word)]


@pytest.mark.slow
def test_a_sentence_to_a_trained_sentiment_run(live: Live):
    run, records = trained(live, "sentiment_lstm", epochs=6)
    assert records[-1]["metrics"]["val_accuracy"] >= 0.85, records[-1]

    assert ask(live, run, "What a wonderful movie!")["label"] == "positive"
    assert ask(live, run, "The film was awful.")["label"] == "negative"
    # "not" flips the answer, and it is the word that carries it.
    plain = ask(live, run, "the meal was good")
    negated = ask(live, run, "the meal was not good")
    assert (plain["label"], negated["label"]) == ("positive", "negative")
    nots = attribution_of(negated, "not")
    per_word = zip(negated["typed"], negated["attribution"]["tokens"], strict=True)
    others = [abs(v) for w, v in per_word if w]
    assert nots > 0 and nots == max(others), negated  # toward "negative", the strongest word
    assert attribution_of(plain, "good") > 0

    # Words out of the vocabulary: read as <unk>, marked, still answered.
    odd = ask(live, run, "What a wonderful zorblax")
    assert odd["typed"][-4:] == ["what", "a", "wonderful", "zorblax"]
    assert odd["unknown"][-4:] == [False, False, False, True]
    assert odd["words"][-1] == "<unk>" and odd["label"] == "positive"

    # The map of words: every word once, in 2D; after training the positive and negative
    # adjectives lie apart (a line on the map separates them) and read alone as their side.
    words = odd["word_map"]
    assert len(words["words"]) == len(set(words["words"])) == len(words["points"])
    assert "<pad>" not in words["words"] and "<unk>" not in words["words"]
    at = dict(zip(words["words"], words["points"], strict=True))
    alone = dict(zip(words["words"], words["alone"], strict=True))
    side = [(w, s) for s, group in enumerate(ADJECTIVES) for w in group]
    points = np.array([at[w] for w, _ in side])
    labels = np.array([s for _, s in side])
    assert points.shape == (len(side), 2)
    assert LogisticRegression().fit(points, labels).score(points, labels) >= 0.9
    assert np.mean([alone[w][1] > 0.5 for w in ADJECTIVES[1]]) >= 0.8
    assert np.mean([alone[w][1] < 0.5 for w in ADJECTIVES[0]]) >= 0.8
    # The map on its own (GET /words): the same map, from the same saved weights.
    alone_map = live.http.get(f"/api/runs/{run['id']}/words")
    assert alone_map.status_code == 200, alone_map.text
    assert alone_map.json()["words"] == words["words"]
    assert alone_map.json()["points"] == words["points"]
    assert alone_map.json()["class_names"] == ["negative", "positive"]
    # Bad input names the field; no answer costs the server its run.
    long = live.http.post(f"/api/runs/{run['id']}/predict", json={"input": "good " * 300})
    assert long.status_code == 422 and "1000 characters" in long.text


def test_an_attention_model_says_what_each_word_attends_to(live: Live):
    doc = {
        "dataset": {"name": "sentiment", "samples": 400, "seed": 2},
        "model": {
            "layers": [
                {"type": "embedding", "dim": 8},
                {"type": "positional"},
                {"type": "attention", "heads": 2},
                {"type": "global_pool"},
            ]
        },
        "training": {"optimizer": "adam", "epochs": None, "device": "cpu"},
    }
    response = live.http.post("/api/runs?paused=true", json=doc)  # its worker answers
    assert response.status_code == 201, response.text
    run = response.json()
    try:
        answer = ask(live, run, "i loved this book")
        graph = answer["attention"]
        assert graph["examples"] == [["i", "loved", "this", "book"]]
        (layer,) = graph["attention"]
        assert layer["layer"] == 2 and layer["heads"] == 2
        (maps,) = layer["maps"]  # one example, one grid per head
        assert [m["shape"] for m in maps] == [[4, 4], [4, 4]]
        assert 0.0 <= maps[0]["lo"] <= maps[0]["hi"] <= 1.0
        assert len(answer["attribution"]["tokens"]) == 20
        # The map of words from the paused run's worker, with its current weights.
        words = live.http.get(f"/api/runs/{run['id']}/words")
        assert words.status_code == 200, words.text
        assert len(words.json()["points"]) == len(words.json()["words"]) > 50
    finally:
        live.control(run, "stop")
        live.wait_idle()


@pytest.mark.slow
def test_a_spoken_digit_gets_its_top_words_and_grad_cam(live: Live):
    doc = json.loads((EXAMPLES / "spoken_digits_cnn.json").read_text())
    doc["dataset"]["samples"] = 400
    doc["training"].update(epochs=1)
    run = live.start(doc)
    stream = live.stream(run["id"])
    try:
        stream.read_to_end(timeout=600)
    finally:
        stream.close()
    clips = live.http.get(f"/api/runs/{run['id']}/clips", params={"count": 10})
    assert clips.status_code == 200, clips.text
    clips = clips.json()
    assert clips["split"] == "validation" and sorted(clips["labels"]) == list(range(10))
    assert np.array(clips["images"]).shape == (10, 32, 32)
    too_many = live.http.get(f"/api/runs/{run['id']}/clips", params={"count": 1000})
    assert too_many.status_code == 422 and "count" in too_many.text
    clip = clips["images"][0]  # what the page's "Try a validation clip" sends
    answer = ask(live, run, clip)
    assert len(answer["output"]) == 10 and answer["label"] in answer["class_names"]
    cam = np.array(answer["attribution"]["grad_cam"], dtype=float)
    assert cam.shape == (32, 32) and np.isfinite(cam).all() and cam.min() >= 0
    # A spectrogram of another size is refused, naming the field and the shape wanted.
    wrong = live.http.post(f"/api/runs/{run['id']}/predict", json={"input": [[0.5] * 8] * 8})
    assert wrong.status_code == 422 and "32×32" in wrong.text, wrong.text


def test_a_run_without_words_or_clips_has_no_map_and_no_clips(live: Live):
    response = live.http.post("/api/runs?paused=true", json=spiral(epochs=None))
    assert response.status_code == 201, response.text
    run = response.json()
    try:
        words = live.http.get(f"/api/runs/{run['id']}/words")
        assert words.status_code == 404 and "reads no words" in words.json()["detail"]
        assert live.http.get("/api/runs/nosuchrun/words").status_code == 404
        clips = live.http.get(f"/api/runs/{run['id']}/clips")
        assert clips.status_code == 404 and "spoken_digits only" in clips.json()["detail"]
    finally:
        live.control(run, "stop")
        live.wait_idle()
