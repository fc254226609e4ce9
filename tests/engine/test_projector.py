"""The embedding projector: PCA of a layer's validation activations matches numpy's own SVD
(up to the sign of each component), t-SNE gives one point per example, and bad requests are
refused with a message."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from server.config import Settings
from server.engine.model import parse_experiment
from server.engine.projector import ProjectorError, activations, project
from server.engine.trainer import Trainer

SETTINGS = Settings()


def sentiment_trainer() -> Trainer:
    doc = {
        "dataset": {"name": "sentiment", "samples": 400, "seed": 3},
        "model": {"layers": [{"type": "embedding", "dim": 8}, {"type": "gru", "units": 12}]},
        "training": {"optimizer": "adam", "learning_rate": 0.01, "batch_size": 32, "epochs": 2},
    }
    trainer = Trainer(parse_experiment(doc, SETTINGS), SETTINGS, device="cpu")
    while not trainer.finished:
        trainer.train_epoch()
    return trainer


def test_pca_matches_numpy_on_the_same_activations():
    trainer = sentiment_trainer()
    out = project(trainer, layer=1, method="pca", limit=60)
    with torch.no_grad(), trainer.eval_mode():
        acts = activations(trainer.model, trainer.x_val[:60], 1).double().numpy()
    assert acts.shape == (60, 12) and out["dim"] == 12
    centred = acts - acts.mean(axis=0)
    _, _, vh = np.linalg.svd(centred, full_matrices=False)
    expected = centred @ vh[:2].T
    got = np.asarray(out["points"])
    for k in range(2):
        sign = np.sign(expected[:, k] @ got[:, k])
        np.testing.assert_allclose(got[:, k], sign * expected[:, k], atol=2e-3)
    assert out["labels"] == trainer.y_val[:60].tolist()
    assert out["class_names"] == ["negative", "positive"]
    assert out["hover"][0] == trainer.data.meta["texts_val"][0]


def test_tsne_on_demand_and_refusals():
    trainer = sentiment_trainer()
    out = project(trainer, layer=0, method="tsne", limit=60)
    assert out["dim"] == 20 * 8 and len(out["points"]) == 60
    assert np.isfinite(np.asarray(out["points"])).all()
    with pytest.raises(ProjectorError, match="layer must be"):
        project(trainer, layer=5)
    with pytest.raises(ProjectorError, match="token ids"):
        project(trainer, layer=-1)
