"""The engine's part of the watchable stage: editing one weight or bias of the network
(TensorFlow Playground's click-a-link) and early stopping with the best epoch's weights."""

from __future__ import annotations

import pytest
import torch

from server.config import Settings
from server.engine.early_stopping import best_epoch_of
from server.engine.errors import ExperimentError
from server.engine.schema import Experiment
from server.engine.trainer import Trainer

SETTINGS = Settings(persist_runs=False)


def spiral(layers: list[dict], **training) -> Experiment:
    return Experiment.model_validate(
        {
            "dataset": {"name": "spiral", "samples": 200, "noise": 0.2, "seed": 3},
            "model": {"layers": layers},
            "training": {
                "optimizer": "adam",
                "learning_rate": 0.03,
                "batch_size": 10,
                "epochs": 2000,
                "seed": 0,
                **training,
            },
        }
    )


TANH_8_4 = [
    {"type": "dense", "units": 8, "activation": "tanh"},
    {"type": "dropout", "rate": 0.1},  # between the dense layers: body index 2 is dense
    {"type": "dense", "units": 4, "activation": "tanh"},
]


def by_hand(net, x: torch.Tensor) -> torch.Tensor:
    """The network's forward pass written out: tanh(W x + b) twice, then the head's W h + b
    (dropout is the identity in eval mode)."""
    w0, b0 = net.body[0][0].weight, net.body[0][0].bias
    w2, b2 = net.body[2][0].weight, net.body[2][0].bias
    head = net.head[0]
    h = torch.tanh(x @ w0.T + b0)
    h = torch.tanh(h @ w2.T + b2)
    return h @ head.weight.T + head.bias


def test_editing_a_weight_changes_the_next_forward_pass_by_exactly_that_weight():
    trainer = Trainer(spiral(TANH_8_4), SETTINGS)
    for _ in range(3):
        trainer.train_epoch()  # trained weights, not the initial ones
    net, x = trainer.model.eval(), trainer.x_val[:16]
    with torch.no_grad():
        before = net(x)
        hidden = torch.tanh(
            torch.tanh(x @ net.body[0][0].weight.T + net.body[0][0].bias) @ net.body[2][0].weight.T
            + net.body[2][0].bias
        )  # (16, 4)
        old = net.set_weight("head", 1, 3, weight=0.5)
        after = net(x)
        # Only logit 1 moves, by (new - old) * h_3: exactly what the link carries.
        expected = before.clone()
        expected[:, 1] += (0.5 - old) * hidden[:, 3]
        assert torch.allclose(after, expected, atol=1e-6)
        assert net.head[0].weight[1, 3].item() == 0.5

        net.set_weight(2, 3, 5, weight=-1.25)  # a hidden link, through tanh: by hand
        net.set_weight(0, 7, bias=0.125)
        assert net.body[2][0].weight[3, 5].item() == -1.25
        assert net.body[0][0].bias[7].item() == 0.125
        assert torch.allclose(net(x), by_hand(net, x), atol=1e-6)


def test_training_continues_from_an_edited_weight_on_the_fast_path():
    # The fast path's parameters are views of one flat buffer: an edit in place must reach
    # it. Eager steps (autograd) from the same edit are the reference.
    fast, eager, plain = (
        Trainer(spiral([TANH_8_4[0], TANH_8_4[2]]), SETTINGS, fast_path=f)
        for f in (True, False, True)
    )
    assert fast.fast_path and not eager.fast_path
    for trainer in (fast, eager):
        trainer.model.set_weight(1, 2, 1, weight=3.0)
    records = [t.train_epoch() for t in (fast, eager, plain)]
    assert records[0]["loss"] == pytest.approx(records[1]["loss"], rel=1e-4)
    assert records[0]["loss"] != pytest.approx(records[2]["loss"], rel=1e-4)
    for a, b in zip(fast.model.parameters(), eager.model.parameters(), strict=True):
        assert torch.allclose(a, b, atol=1e-5)


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ((1, 0, 0, 1.0), "layer"),  # dropout: no links
        ((9, 0, 0, 1.0), "layer"),
        ((0, 8, 0, 1.0), "to"),
        ((0, 0, 2, 1.0), "from"),  # the input has two features
        (("head", 2, 0, 1.0), "to"),
    ],
)
def test_a_bad_edit_names_its_field(args, field):
    net = Trainer(spiral(TANH_8_4), SETTINGS).model
    with pytest.raises(ExperimentError) as info:
        net.set_weight(*args)
    assert info.value.errors[0]["loc"] == ("value", field)


def test_early_stopping_restores_the_best_epochs_weights():
    # Noisy spiral, wide layers, a high learning rate: the validation loss soon stalls.
    layers = [{"type": "dense", "units": 32, "activation": "relu"}] * 2
    trainer = Trainer(spiral(layers, early_stopping=10), SETTINGS)
    while not trainer.finished:
        trainer.train_epoch()
    history, early = trainer.history, trainer.early_stopping
    best = min(history, key=lambda r: (r["val_loss"], r["epoch"]))
    assert early.best_epoch == best["epoch"] and len(history) == best["epoch"] + 10 < 2000
    assert history[-1]["val_loss"] > best["val_loss"]  # the last epoch's weights were worse
    # The network now holds the best epoch's weights: its validation loss is that epoch's.
    assert trainer.evaluate()["val_loss"] == best["val_loss"]
    message = early.message()
    assert message == (
        f"stopped early at epoch {len(history)}: the validation loss was lowest at epoch "
        f"{best['epoch']}; the network keeps that epoch's weights"
    )
    assert best_epoch_of(message) == best["epoch"] and best_epoch_of("stopped") is None


def test_without_early_stopping_a_run_trains_all_its_epochs():
    trainer = Trainer(spiral(TANH_8_4, epochs=30), SETTINGS)
    while not trainer.finished:
        trainer.train_epoch()
    assert trainer.epoch == 30 and trainer.early_stopping is None
