"""The projector's layer addressing (index, graph id, input, head), its hover texts and image
thumbnails, a deferred t-SNE's reduced activations, and the recommender's answers and refusals,
on real trainers (engine/projector.py, engine/recommend.py, engine/queries.py)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from server.config import Settings
from server.engine.model import parse_experiment
from server.engine.projector import TSNE_DIMS, ProjectorError, pca_points
from server.engine.queries import answer_query
from server.engine.trainer import Trainer

SETTINGS = Settings()
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def trainer_for(doc: dict, epochs: int = 1) -> Trainer:
    trainer = Trainer(parse_experiment(doc, SETTINGS), SETTINGS, device="cpu")
    for _ in range(epochs):
        trainer.train_epoch()
    return trainer


def spiral_with_ids() -> dict:
    return {
        "dataset": {"name": "spiral", "samples": 200, "seed": 1},
        "model": {
            "layers": [
                {"type": "dense", "units": 8, "activation": "tanh", "id": "wide"},
                {"type": "dense", "units": 3, "activation": "tanh", "id": "narrow"},
            ]
        },
        "training": {"optimizer": "adam", "epochs": 5, "batch_size": 20},
    }


def test_layers_by_index_id_input_and_head():
    trainer = trainer_for(spiral_with_ids())
    by_id = answer_query(trainer, "project", {"layer": "narrow", "limit": 40})
    by_index = answer_query(trainer, "project", {"layer": 1, "limit": 40})
    assert by_id["points"] == by_index["points"] and by_id["dim"] == 3
    head = answer_query(trainer, "project", {"layer": "head", "limit": 40})
    assert head["dim"] == 2 and head["layer_name"] == "output"
    raw = answer_query(trainer, "project", {"layer": "input", "limit": 40})
    assert raw["dim"] == 2 and raw["hover"][0].startswith("x1 ") and ", x2 " in raw["hover"][0]
    assert [c["layer"] for c in raw["layers"]] == [-1, 0, 1, "head"]
    for bad in (2, -2, "nope", True):
        with pytest.raises(ProjectorError, match="^layer must be"):
            answer_query(trainer, "project", {"layer": bad})
    with pytest.raises(ProjectorError, match="^method must be"):
        answer_query(trainer, "project", {"layer": 0, "method": "umap"})


def test_images_come_with_thumbnails_and_a_deferred_tsne_hands_over_its_activations():
    doc = json.loads((EXAMPLES / "digits_cnn.json").read_text())
    trainer = trainer_for(doc)
    out = answer_query(
        trainer, "project", {"layer": 0, "method": "tsne", "limit": 60, "examples": True}
    )
    assert out["points"] is None and out["dim"] == 16 * 8 * 8
    reduced = np.asarray(out["reduced"])
    assert reduced.shape == (60, TSNE_DIMS)  # 1,024 values cut to 50 principal components
    assert len(out["images"]) == 60 and out["images"][0]["shape"] == [8, 8]
    small = answer_query(trainer, "project", {"layer": "head", "method": "tsne", "limit": 60})
    assert np.asarray(small["reduced"]).shape == (60, 10)  # already narrow: as it is


def test_pca_of_few_or_flat_activations_is_still_two_columns():
    assert pca_points(np.ones((5, 1))).shape == (5, 2)
    assert pca_points(np.random.default_rng(0).normal(size=(2, 6))).shape == (2, 2)
    assert pca_points(np.random.default_rng(0).normal(size=(10, 6)), 50).shape == (10, 50)


def test_recommendations_leave_out_rated_items_and_refuse_what_does_not_fit():
    doc = json.loads((EXAMPLES / "ratings_recommender.json").read_text())
    doc["dataset"].update(samples=1000, users=40, items=30)
    trainer = trainer_for(doc, epochs=2)
    out = answer_query(trainer, "recommend", {"user": 3, "k": 5})
    rated = {r["item"] for r in out["rated"]}
    assert len(out["top"]) == 5 and not rated & {t["item"] for t in out["top"]}
    assert out["users"] == 40 and out["items"] == 30 and len(out["map"]["points"]) == 30
    assert out["map"]["class_names"][0] == "action" and out["map"]["hover"][0] == "action 1"
    assert out["rmse"] > 0 and out["baseline_rmse"] > 0
    with pytest.raises(ProjectorError, match="^user must be 0 to 39"):
        answer_query(trainer, "recommend", {"user": 40})
    with pytest.raises(ProjectorError, match="^k must be"):
        answer_query(trainer, "recommend", {"user": 1, "k": 0})
    with pytest.raises(ProjectorError, match="ratings dataset with a recommender"):
        answer_query(trainer_for(spiral_with_ids()), "recommend", {"user": 0})
