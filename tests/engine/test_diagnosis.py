"""Help flags from real training: a network that learns gets none; a run that blows up is
`diverged`; ReLUs pushed below zero are dead; tanh units driven to ±1 are saturated; a learning
rate too small to move the loss is flagged; the rest from the records and snapshots that show
them. Every finding has a sentence and a suggestion; the same run gives the same findings."""

from __future__ import annotations

import pytest
import torch

from server.config import Settings
from server.engine.diagnosis import DIAGNOSES, WINDOW, diagnose
from server.engine.errors import Diverged
from server.engine.schema import Experiment
from server.engine.trainer import Trainer

SETTINGS = Settings()


def design(dataset: str = "gauss", activation: str = "relu", **training) -> dict:
    return {
        "dataset": {"name": dataset, "samples": 200, "noise": 0.0, "seed": 2},
        "model": {"layers": [{"type": "dense", "units": 16, "activation": activation}]},
        "training": {
            "optimizer": "adam",
            "learning_rate": 0.03,
            "batch_size": 20,
            "epochs": 30,
            "seed": 1,
            **training,
        },
    }


def trainer(doc: dict) -> Trainer:
    return Trainer(Experiment.model_validate(doc), SETTINGS)


def codes(doc: dict, t: Trainer, status: str = "running", message: str | None = None) -> list:
    layers = t.probe({"layers"})["layers"]
    return [f.code for f in diagnose(doc, t.history, status, message, layers)]


def first_linear(t: Trainer) -> torch.nn.Linear:
    return next(m for m in t.model.body[0].modules() if isinstance(m, torch.nn.Linear))


def test_a_network_that_learns_gets_no_flags():
    doc = design()
    t = trainer(doc)
    while not t.finished:
        t.train_epoch()
    assert t.history[-1]["metrics"]["val_accuracy"] >= 0.9
    assert codes(doc, t, "finished") == []


def test_a_run_that_blows_up_is_diverged():
    doc = design("plane", "tanh", optimizer="sgd", learning_rate=10.0, momentum=0.9, epochs=50)
    t = trainer(doc)
    with pytest.raises(Diverged) as err:
        while not t.finished:
            t.train_epoch()
    found = diagnose(doc, t.history, "diverged", str(err.value))
    assert [f.code for f in found] == ["diverged"]
    assert "learning rate" in found[0].suggestion


def test_relus_below_zero_are_dead():
    doc = design()
    t = trainer(doc)
    t.train_epoch()
    with torch.no_grad():
        first_linear(t).bias.fill_(-1e3)  # every unit's input far below zero: output 0
    assert "dead_relu" in codes(doc, t)


def test_tanh_driven_to_its_ends_is_saturated():
    doc = design(activation="tanh")
    t = trainer(doc)
    t.train_epoch()
    assert "saturated" not in codes(doc, t)
    with torch.no_grad():
        first_linear(t).weight.mul_(1e3)
    assert "saturated" in codes(doc, t)


def test_a_learning_rate_too_small_leaves_the_loss_flat():
    doc = design("xor", optimizer="sgd", learning_rate=1e-7, epochs=25)
    t = trainer(doc)
    while not t.finished:
        t.train_epoch()
    assert t.history[-1]["metrics"]["val_accuracy"] < 0.9
    assert "loss_flat" in codes(doc, t, "finished")


def records(train: list[float], val: list[float]) -> list[dict]:
    return [
        {"epoch": i + 1, "loss": a, "val_loss": b, "metrics": {"val_accuracy": 0.7}}
        for i, (a, b) in enumerate(zip(train, val, strict=True))
    ]


def test_overfitting_is_a_rising_validation_loss_over_a_falling_training_loss():
    n = 60
    train = [1.0 - 0.015 * i for i in range(n)]
    val = [1.0 - 0.02 * i if i < 20 else 0.6 + 0.03 * (i - 20) for i in range(n)]
    assert [f.code for f in diagnose({}, records(train, val))] == ["overfitting"]
    assert diagnose({}, records(train, train)) == []


def test_gradients_too_large_or_too_small():
    doc = design()
    big = [{"index": 0, "type": "dense", "grad_norm": 5e3}, {"index": 1, "type": "head"}]
    assert [f.code for f in diagnose(doc, [], layers=big)] == ["exploding_gradients"]
    small = [
        {"index": 0, "type": "dense", "grad_norm": 1e-9},
        {"index": 1, "type": "dense", "grad_norm": 0.5},
        {"index": 2, "type": "head", "grad_norm": 1.0},
    ]
    assert [f.code for f in diagnose(doc, [], layers=small)] == ["vanishing_gradients"]


def test_every_finding_reads_as_advice_and_the_cost_is_bounded():
    for code, (sentence, suggestion) in DIAGNOSES.items():
        assert sentence.endswith(".") and suggestion.endswith("."), code
    n = 50 * WINDOW
    train = [1.0 - 0.5 * i / n for i in range(n)]
    val = [0.5 + 0.5 * i / n for i in range(n)]
    history = records(train, val)
    # Only the first record and the last WINDOW are read: the same findings, every time.
    short = history[:1] + history[-WINDOW:]
    assert diagnose({}, history) == diagnose({}, short) == diagnose({}, history)
