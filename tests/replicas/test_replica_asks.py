"""Questions to a run's network asked on a replica that does not own the run: the projection,
the recommendations and Try it's map of words of a run trained on replica a, asked through
replica b, are answered by a's worker, the same as a answers them; bad parameters are refused
on b as a refuses them (the field named); a run that has ended answers from its saved weights
on either replica."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path

import pytest
from replica_calls import stop_run
from replica_calls import until as wait_until

pytest_plugins = ["replica_fixtures"]

pytestmark = pytest.mark.slow

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
WAIT_S = 180.0  # two cores shared with other tests: a recurrent epoch may take seconds


@pytest.fixture(scope="module")
def pair(make_replicas):
    """Two replicas on their own Redis database (no key shared with other modules)."""
    return make_replicas(2, "asks", redis_db=2)


until = partial(wait_until, timeout=WAIT_S)  # recurrent epochs may take seconds here


def example(name: str, **training) -> dict:
    doc = json.loads((EXAMPLES / f"{name}.json").read_text())
    doc["training"].update(training)
    return doc


def trained_then_paused(server, doc: dict, epochs: int) -> dict:
    """A run started on `server` that trains until stopped, paused once it has trained
    `epochs` epochs (its weights then hold still while both replicas are asked)."""
    created = server.http.post("/api/runs", json=doc)
    assert created.status_code == 201, created.text
    run = created.json()
    url = f"/api/runs/{run['id']}"
    until(lambda: server.http.get(url).json()["epoch"] >= epochs, f"{epochs} epochs")
    paused = server.http.post(
        f"{url}/control", json={"action": "pause"}, headers={"X-Run-Token": run["token"]}
    )
    assert paused.status_code == 200 and paused.json()["status"] == "paused", paused.text
    return run


def test_recommendations_and_projection_of_a_run_elsewhere_come_from_its_owner(pair):
    a, b = pair.servers[:2]
    run = trained_then_paused(a, example("ratings_recommender", epochs=None), epochs=2)
    url = f"/api/runs/{run['id']}/recommendations"
    params = {"user": 5, "k": 7}

    there = b.http.get(url, params=params, timeout=120)
    here = a.http.get(url, params=params, timeout=120)
    assert there.status_code == 200 and here.status_code == 200, (there.text, here.text)
    body = there.json()
    assert body == here.json()  # a's worker answered b, as it answers a
    assert len(body["top"]) == 7 and body["rated"]
    assert not {r["item"] for r in body["rated"]} & {t["item"] for t in body["top"]}
    assert body["rmse"] < body["baseline_rmse"]  # two epochs already beat the mean
    assert len(body["map"]["points"]) == body["items"] == 120

    # The item map by t-SNE: the owner's worker hands its activations over, b finishes it.
    tsne = b.http.get(url, params={**params, "method": "tsne"}, timeout=120)
    assert tsne.status_code == 200, tsne.text
    assert len(tsne.json()["map"]["points"]) == 120 and "reduced" not in tsne.json()["map"]

    # A user the data does not have: refused on b as on a, the field named.
    bad_there = b.http.get(url, params={"user": 100_000})
    bad_here = a.http.get(url, params={"user": 100_000})
    assert bad_there.status_code == bad_here.status_code == 422, bad_there.text
    assert bad_there.json() == bad_here.json()
    assert bad_there.json()["detail"][0]["loc"][-1] == "user"

    # Once stopped, its saved weights answer, on either replica.
    stop_run(b, run)
    until(lambda: a.http.get(f"/api/runs/{run['id']}").json()["status"] == "stopped", "stopped")
    ended = b.http.get(url, params=params, timeout=120)
    assert ended.status_code == 200, ended.text
    assert ended.json()["top"] == body["top"]


def test_words_and_projection_of_a_sentiment_run_elsewhere_come_from_its_owner(pair):
    a, b = pair.servers[:2]
    doc = example("sentiment_lstm", epochs=None)
    doc["dataset"]["samples"] = 600
    run = trained_then_paused(a, doc, epochs=1)

    words_there = b.http.get(f"/api/runs/{run['id']}/words", timeout=120)
    words_here = a.http.get(f"/api/runs/{run['id']}/words", timeout=120)
    assert words_there.status_code == 200 and words_here.status_code == 200, words_there.text
    words = words_there.json()
    assert words == words_here.json()
    assert "wonderful" in words["words"] and len(words["points"]) == len(words["words"])
    assert words["class_names"] == ["negative", "positive"]

    url = f"/api/runs/{run['id']}/projection"
    params = {"layer": "head", "limit": 80}
    there = b.http.get(url, params=params, timeout=120)
    here = a.http.get(url, params=params, timeout=120)
    assert there.status_code == 200 and here.status_code == 200, (there.text, here.text)
    assert there.json() == here.json()
    assert there.json()["count"] == 80 and len(there.json()["points"]) == 80

    bad = b.http.get(url, params={"layer": 9})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"][-1] == "layer", bad.text
    assert bad.json() == a.http.get(url, params={"layer": 9}).json()
    stop_run(a, run)
