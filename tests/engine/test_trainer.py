"""Trainer: determinism under interleaving, time slicing, divergence, regularisation, metrics."""

from __future__ import annotations

import copy
import json
import math

import numpy as np
import pytest
import torch
from sklearn.metrics import confusion_matrix as sk_confusion
from sklearn.metrics import r2_score as sk_r2
from sklearn.metrics import roc_auc_score

from server.config import Settings
from server.engine import metrics
from server.engine.errors import Diverged, ExperimentError
from server.engine.schema import Experiment
from server.engine.trainer import Trainer

SETTINGS = Settings()


def spiral(**training) -> Experiment:
    """A tiny spiral MLP with dropout (so the RNG matters): ~10 batches per epoch."""
    return Experiment.model_validate(
        {
            "dataset": {"name": "spiral", "samples": 200, "noise": 0.1, "seed": 3},
            "model": {
                "layers": [
                    {"type": "dense", "units": 8, "activation": "tanh"},
                    {"type": "dropout", "rate": 0.2},
                    {"type": "dense", "units": 8, "activation": "relu"},
                ]
            },
            "training": {
                "optimizer": "adam",
                "learning_rate": 0.02,
                "batch_size": 10,
                "epochs": 3,
                "seed": 7,
                **training,
            },
        }
    )


def plane(**training) -> Experiment:
    return Experiment.model_validate(
        {
            "dataset": {"name": "plane", "samples": 200, "noise": 0.0, "seed": 2},
            "model": {"layers": [{"type": "dense", "units": 4, "activation": "tanh"}]},
            "training": {
                "optimizer": "sgd",
                "learning_rate": 0.01,
                "batch_size": 20,
                "epochs": 2,
                **training,
            },
        }
    )


def strip(records: list[dict]) -> list[dict]:
    """Records without the wall-clock field."""
    return [{k: v for k, v in r.items() if k != "elapsed"} for r in records]


def test_same_seed_gives_identical_records_even_interleaved():
    exp = spiral()
    alone = Trainer(exp, SETTINGS)
    for _ in range(3):
        alone.train_epoch()

    # Two trainers advanced one batch at a time in turn, with the global RNG stirred in
    # between as other code in the worker would.
    a, b = Trainer(exp, SETTINGS), Trainer(exp, SETTINGS)
    while not (a.finished and b.finished):
        for t in (a, b):
            if not t.finished:
                t.train_steps(0.0)
            torch.rand(5)
    assert strip(a.history) == strip(b.history) == strip(alone.history)
    assert len(alone.history) == 3 and alone.finished

    other = Trainer(spiral(seed=8), SETTINGS)
    other.train_epoch()
    assert strip(other.history)[0] != strip(alone.history)[0]


def test_global_rng_is_left_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    t = Trainer(spiral(), SETTINGS)
    t.train_steps(0.0)
    t.train_epoch()
    assert torch.equal(torch.rand(3), expected)


def test_tiny_budget_reaches_the_same_record_as_a_whole_epoch():
    whole = Trainer(spiral(), SETTINGS).train_epoch()
    sliced = Trainer(spiral(), SETTINGS)
    calls, record = 0, None
    while record is None:
        record = sliced.train_steps(1e-9)
        calls += 1
    assert calls == sliced.batches_per_epoch  # one batch per call: always progress
    assert strip([record]) == strip([whole])
    assert sliced.epoch == 1 and sliced.history == [record]


def test_record_shape_and_json_safety():
    t = Trainer(spiral(), SETTINGS)
    rec = t.train_epoch()
    assert set(rec) == {"epoch", "loss", "val_loss", "metrics", "lr", "elapsed"}
    assert set(rec["metrics"]) == {"accuracy", "val_accuracy"}
    assert rec["epoch"] == 1 and rec["lr"] == 0.02 and rec["elapsed"] > 0
    assert 0 <= rec["metrics"]["val_accuracy"] <= 1
    json.dumps(rec, allow_nan=False)

    r = Trainer(plane(), SETTINGS).train_epoch()
    assert set(r["metrics"]) == {"mae", "val_mae", "val_r2"}


def test_set_learning_rate_shows_in_the_next_record():
    t = Trainer(spiral(), SETTINGS)
    assert t.train_epoch()["lr"] == 0.02
    t.set_learning_rate(0.005)
    assert t.train_epoch()["lr"] == 0.005
    with pytest.raises(ExperimentError):
        t.set_learning_rate(float("nan"))
    with pytest.raises(ExperimentError):
        t.set_learning_rate(-1)


def test_huge_learning_rate_diverges_cleanly():
    t = Trainer(plane(learning_rate=10.0, momentum=0.9, epochs=50), SETTINGS)
    with pytest.raises(Diverged, match=r"loss became (NaN|infinite) at epoch \d+, batch \d+"):
        while not t.finished:
            t.train_steps(0.05)
    json.dumps(t.history, allow_nan=False)
    assert all(math.isfinite(r["loss"]) and math.isfinite(r["val_loss"]) for r in t.history)


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "adamw", "rmsprop"])
def test_every_optimiser_trains(optimizer):
    t = Trainer(spiral(optimizer=optimizer, momentum=0.5, l2=0.001), SETTINGS)
    first = t.train_epoch()["loss"]
    last = t.train_epoch()["loss"]
    assert math.isfinite(first) and math.isfinite(last)


@pytest.mark.parametrize("loss", ["mse", "mae", "huber"])
def test_regression_losses(loss):
    rec = Trainer(plane(loss=loss, learning_rate=0.05), SETTINGS).train_epoch()
    assert rec["val_loss"] is not None and rec["metrics"]["val_r2"] is not None


def test_l1_and_l2_match_a_hand_computed_sgd_step():
    """One SGD step: w' = w - lr (dL/dw + l1 sign(w) + l2 w) for weights, b' = b - lr dL/db."""
    lr, l1, l2 = 0.1, 0.01, 0.02
    t = Trainer(plane(learning_rate=lr, l1=l1, l2=l2), SETTINGS)
    before = copy.deepcopy(t.model)
    t.train_steps(0.0)  # exactly one batch
    idx = t._perm[t._bounds[0] : t._bounds[1]]
    x, y = t.x_train[idx], t.y_train[idx]
    loss = torch.nn.functional.mse_loss(before(x).reshape(y.shape), y)
    grads = torch.autograd.grad(loss, list(before.parameters()))
    for (name, p0), g, p1 in zip(
        before.named_parameters(), grads, t.model.parameters(), strict=True
    ):
        extra = l1 * torch.sign(p0) + l2 * p0 if p0.dim() > 1 else 0.0
        expected = p0.detach() - lr * (g + extra)
        torch.testing.assert_close(p1.detach(), expected, msg=name)


def test_cuda_without_gpu_names_the_field():
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(ExperimentError) as info:
        Trainer(spiral(device="cuda"), SETTINGS)
    assert info.value.errors[0]["loc"] == ("training", "device")
    assert Trainer(spiral(device="auto"), SETTINGS).device.type == "cpu"


def test_roc_auc_matches_sklearn_with_ties():
    rng = np.random.default_rng(0)
    for _ in range(5):
        labels = rng.integers(0, 2, 300)
        scores = rng.integers(0, 12, 300).astype(float) + labels * rng.random(300)  # many ties
        ours = metrics.roc_auc(torch.tensor(scores), torch.tensor(labels))
        assert ours == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)
    assert metrics.roc_auc(torch.tensor([0.1, 0.2, 0.2, 0.9]), torch.tensor([0, 1, 0, 1])) == 0.875
    assert metrics.roc_auc(torch.rand(5), torch.zeros(5)) is None


def test_r2_and_confusion_match_sklearn():
    rng = np.random.default_rng(1)
    y, p = rng.normal(size=(50, 3)), rng.normal(size=(50, 3))
    assert metrics.r2_score(torch.tensor(p), torch.tensor(y)) == pytest.approx(
        sk_r2(y, p, multioutput="variance_weighted")
    )
    a, b = rng.integers(0, 4, 80), rng.integers(0, 4, 80)
    assert (
        metrics.confusion_matrix(torch.tensor(b), torch.tensor(a), 4)
        == sk_confusion(a, b, labels=range(4)).tolist()
    )


def test_epochs_null_trains_until_the_servers_max_epochs():
    """`epochs: null` is a run that goes on until paused or stopped, bounded by max_epochs."""
    trainer = Trainer(spiral(epochs=None), Settings(max_epochs=4))
    assert trainer.max_epochs == 4
    while not trainer.finished:
        trainer.train_epoch()
    assert [r["epoch"] for r in trainer.history] == [1, 2, 3, 4]
