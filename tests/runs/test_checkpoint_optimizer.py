"""A checkpoint carries the optimiser's state (Adam's moments and step counts), so a run
resumed or taken over by another replica trains on exactly as it would have: the next
epochs from a restored trainer match those of the original, eager and on the fast path."""

from __future__ import annotations

import copy

import pytest
import torch

from server.api.models import SPIRAL_EXAMPLE
from server.config import Settings
from server.engine.schema import Experiment
from server.engine.trainer import Trainer
from server.runs.checkpoints import Checkpointer, path_for, read_checkpoint


def experiment(optimizer: str) -> Experiment:
    doc = copy.deepcopy(SPIRAL_EXAMPLE)
    doc["dataset"]["samples"] = 100
    doc["training"].update(epochs=50, batch_size=20, optimizer=optimizer, learning_rate=0.01)
    if optimizer == "sgd":
        doc["training"]["momentum"] = 0.9  # a momentum buffer to carry
    return Experiment.model_validate(doc)


@pytest.mark.parametrize("fast_path", [False, True], ids=["eager", "fast"])
@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_a_restored_trainer_goes_on_with_the_same_optimiser_state(tmp_path, optimizer, fast_path):
    settings = Settings(state_dir=tmp_path, persist_runs=True)
    original = Trainer(experiment(optimizer), settings, fast_path=fast_path)
    for _ in range(5):
        original.train_epoch()
    Checkpointer(settings).save("run", original)
    epoch, history = read_checkpoint(settings, "run")
    assert epoch == 5 and len(history) == 5

    restored = Trainer(experiment(optimizer), settings, fast_path=fast_path)
    for _ in range(2):  # a different past: its state must be replaced, not kept
        restored.train_epoch()
    if optimizer == "adam":
        first = next(restored.model.parameters())
        assert float(restored.optimizer.state[first]["step"]) != float(
            original.optimizer.state[next(original.model.parameters())]["step"]
        )
    resume = {"path": str(path_for(settings, "run")), "history": history}
    Checkpointer(settings).restore(restored, resume)

    if optimizer == "adam":
        for p, q in zip(original.model.parameters(), restored.model.parameters(), strict=True):
            s, t = original.optimizer.state[p], restored.optimizer.state[q]
            assert torch.equal(s["exp_avg"], t["exp_avg"])
            assert torch.equal(s["exp_avg_sq"], t["exp_avg_sq"])
            assert float(s["step"]) == float(t["step"]) > 0
    # The same data order from here on (the shuffling generator is not the checkpoint's
    # business): the same weights after, which needs the same moments.
    restored._gen.set_state(original._gen.get_state())
    a = original.train_epoch()
    b = restored.train_epoch()
    assert a["epoch"] == b["epoch"] == 6
    for p, q in zip(original.model.parameters(), restored.model.parameters(), strict=True):
        assert torch.allclose(p, q, atol=1e-6)
