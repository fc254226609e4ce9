"""The trace of one optimiser step holds PyTorch's own numbers: checked against a hand
computation for a 2-2-1 network and against autograd computed independently here."""

from __future__ import annotations

import copy
import json
import math

import pytest
import torch
import torch.nn.functional as F

from server.config import Settings
from server.engine.errors import ExperimentError
from server.engine.model import parse_experiment
from server.engine.trace import traced_step
from server.engine.trainer import Trainer

SETTINGS = Settings(device="cpu", persist_runs=False)


def make(doc: dict) -> Trainer:
    return Trainer(parse_experiment(doc, SETTINGS), SETTINGS)


def mlp(dataset: str, units: list[int], activation: str, **training) -> dict:
    return {
        "dataset": {"name": dataset, "samples": 200, "seed": 3},
        "model": {
            "layers": [{"type": "dense", "units": u, "activation": activation} for u in units]
        },
        "training": {"batch_size": 10, "epochs": 5, "seed": 1, "device": "cpu", **training},
    }


def close(a, b, tol=1e-5):
    a, b = torch.as_tensor(a, dtype=torch.float64), torch.as_tensor(b, dtype=torch.float64)
    return a.shape == b.shape and torch.allclose(a, b, rtol=tol, atol=tol)


def test_a_2_2_1_network_by_hand():
    trainer = make(mlp("plane", [2], "tanh", optimizer="sgd", learning_rate=0.1, momentum=0.0))
    lin1, lin2 = trainer.model.body[0][0], trainer.model.head[0]
    w1, b1 = lin1.weight.detach().tolist(), lin1.bias.detach().tolist()
    w2, b2 = lin2.weight.detach().tolist()[0], lin2.bias.item()
    x = trainer.x_train[7].tolist()
    y = trainer.y_train[7].reshape(-1).item()

    trace, record = traced_step(trainer, sample=7)
    assert record is None and trace["samples"] == [7] and trace["single"]

    # Forward: z = W x + b, a = tanh(z); the head is linear: out = W2 a + b2.
    z1 = [w1[j][0] * x[0] + w1[j][1] * x[1] + b1[j] for j in range(2)]
    a1 = [math.tanh(z) for z in z1]
    out = w2[0] * a1[0] + w2[1] * a1[1] + b2
    loss = (out - y) ** 2  # mse over one value
    # Backward: delta = dloss/dz, from the output to the input.
    d_out = 2 * (out - y)
    d1 = [w2[j] * d_out * (1 - a1[j] ** 2) for j in range(2)]
    grad_w2 = [d_out * a1[j] for j in range(2)]
    grad_w1 = [[d1[j] * x[i] for i in range(2)] for j in range(2)]

    hidden, head = trace["layers"]
    assert (hidden["type"], head["type"]) == ("dense", "head")
    assert close(hidden["z"], [z1]) and close(hidden["a"], [a1])
    assert close(head["z"], [[out]]) and close(trace["output"], [[out]])
    assert trace["loss"] == pytest.approx(loss, rel=1e-5)
    assert close(head["delta"], [[d_out]]) and close(hidden["delta"], [d1])
    assert close(head["params"]["weight"]["grad"], [grad_w2])
    assert close(head["params"]["bias"]["grad"], [d_out])
    assert close(hidden["params"]["weight"]["grad"], grad_w1)
    assert close(hidden["params"]["bias"]["grad"], d1)
    # Update: SGD without momentum, w <- w - lr * dL/dw, exactly.
    assert close(hidden["params"]["weight"]["before"], w1)
    after = [[w1[j][i] - 0.1 * grad_w1[j][i] for i in range(2)] for j in range(2)]
    assert close(hidden["params"]["weight"]["after"], after)
    assert close(lin1.weight.detach(), after)  # the trace shows what the model now holds


def independent_autograd(model, x, y, loss_fn):
    """Forward by hand through the dense stack with F.linear, and autograd for the deltas."""
    zs, a = [], x
    for layer in model.body:
        z = F.linear(a, layer[0].weight, layer[0].bias)
        zs.append(z)
        a = layer[1](z)
    logits = F.linear(a, model.head[0].weight, model.head[0].bias)
    loss = loss_fn(logits, y)
    deltas = torch.autograd.grad(loss, [*zs, logits])
    return zs, logits, loss, deltas


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_a_mini_batch_matches_independent_autograd_and_the_optimiser(optimizer):
    doc = mlp("spiral", [8, 6], "relu", optimizer=optimizer, learning_rate=0.05, momentum=0.9)
    trainer = make(doc)
    trainer.train_steps(0)  # a step or so in: the optimiser has state to use
    twin = copy.deepcopy(trainer.model)  # the weights before the traced step
    twin_opt = (
        torch.optim.SGD(twin.parameters(), lr=0.05, momentum=0.9)
        if optimizer == "sgd"
        else torch.optim.Adam(twin.parameters(), lr=0.05)
    )
    # The twin's optimiser continues from the trainer's state (momentum, moments, step).
    twin_opt.load_state_dict(copy.deepcopy(trainer.optimizer.state_dict()))  # not shared

    trace, _ = traced_step(trainer)
    idx = torch.tensor(trace["samples"])
    assert len(idx) == 10 and trace["batch"] == 2 and not trace["single"]
    x, y = trainer.x_train[idx], trainer.y_train[idx]
    zs, logits, loss, deltas = independent_autograd(twin, x, y, F.cross_entropy)

    assert trace["loss"] == pytest.approx(loss.item(), rel=1e-5)
    assert close(trace["x"], x) and trace["target"] == y.tolist()
    assert close(trace["output"], logits.softmax(dim=1))
    for layer, z, delta in zip(trace["layers"], [*zs, logits], deltas, strict=True):
        assert close(layer["z"], z.detach()) and close(layer["delta"], delta)

    twin_opt.zero_grad()
    F.cross_entropy(twin(x), y).backward()
    twin_opt.step()
    modules = [*(m[0] for m in twin.body), twin.head[0]]
    for layer, module in zip(trace["layers"], modules, strict=True):
        assert close(layer["params"]["weight"]["grad"], module.weight.grad)
        assert close(layer["params"]["weight"]["after"], module.weight.detach())
    state = trace["layers"][0]["params"]["weight"]["state"]
    assert set(state) >= ({"momentum_buffer"} if optimizer == "sgd" else {"exp_avg", "exp_avg_sq"})


def test_after_of_one_step_is_before_of_the_next_and_training_goes_on():
    trainer = make(mlp("circle", [4], "tanh", optimizer="adam", learning_rate=0.03))
    first, _ = traced_step(trainer)
    second, _ = traced_step(trainer, sample=3)
    third, _ = traced_step(trainer)
    for a, b in ((first, second), (second, third)):
        for la, lb in zip(a["layers"], b["layers"], strict=True):
            for name in la["params"]:
                assert la["params"][name]["after"] == lb["params"][name]["before"]
    assert (first["batch"], third["batch"]) == (1, 2)  # the single example is outside the epoch

    # The rest of the epoch trains on from the stepped weights; its record counts every batch.
    record = trainer.train_epoch()
    assert record["epoch"] == 1 and trainer._batch == 0
    while not trainer.finished:
        last = trainer.train_epoch()
    assert last["loss"] < record["loss"]


def test_the_last_mini_batch_closes_the_epoch():
    trainer = make(mlp("circle", [4], "tanh"))
    records = [traced_step(trainer)[1] for _ in range(trainer.batches_per_epoch)]
    assert records[:-1] == [None] * (trainer.batches_per_epoch - 1)
    assert records[-1]["epoch"] == 1 and trainer.epoch == 1


def test_a_cnn_trace_is_summarised_per_filter_and_json_safe():
    doc = {
        "dataset": {"name": "digits"},
        "model": {
            "layers": [
                {"type": "conv2d", "filters": 32, "kernel_size": 3},
                {"type": "maxpool2d", "pool_size": 2},
                {"type": "flatten"},
                {"type": "dense", "units": 16},
            ]
        },
        "training": {"batch_size": 16, "epochs": 1, "device": "cpu"},
    }
    trace, _ = traced_step(make(doc))
    json.dumps(trace, allow_nan=False)
    conv, pool, flat, dense, head = trace["layers"]
    assert conv["z"]["summarised"] and len(conv["z"]["channel_norms"][0]) == 32
    assert conv["delta"]["summarised"] and conv["delta"]["norm"] > 0
    assert pool["delta_of"] == "a" and pool["params"] == {}
    assert close(conv["params"]["weight"]["shape"], [32, 1, 3, 3])
    assert dense["params"]["weight"]["grad"]["summarised"]  # 16 x 288 > 4,096 values
    # dloss/dx per pixel: which pixels of each image pushed the loss.
    assert len(trace["input_grad"]) == 16 and len(trace["input_grad"][0][0]) == 8
    assert head["type"] == "head" and len(trace["output"][0]) == 10


def test_a_single_example_is_refused_with_batch_norm_and_out_of_range():
    doc = mlp("circle", [4], "relu")
    doc["model"]["layers"].insert(1, {"type": "batchnorm"})
    trainer = make(doc)
    with pytest.raises(ExperimentError, match="batch norm cannot normalise a single example"):
        traced_step(trainer, sample=0)
    with pytest.raises(ExperimentError, match="sample must be a training example"):
        traced_step(make(mlp("circle", [4], "relu")), sample=10_000)
    traced_step(trainer)  # a mini-batch is fine


def test_a_recurrent_trace_shows_its_cell_parameters_and_the_input_gradient_per_step():
    doc = {
        "dataset": {"name": "waveform", "samples": 200},
        "model": {
            "layers": [
                {"type": "gru", "units": 8, "return_sequences": True},
                {"type": "gru", "units": 8},
            ]
        },
        "training": {"batch_size": 32, "epochs": 1, "device": "cpu"},
    }
    trainer = make(doc)
    trace, _ = traced_step(trainer)
    json.dumps(trace, allow_nan=False)
    seq, last, head = trace["layers"]
    assert set(seq["params"]) == {"weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"}
    assert seq["params"]["weight_hh_l0"]["shape"] == [24, 8]  # three gates of 8 units
    assert seq["delta_of"] == "a" and seq["delta"] is not None
    steps = trainer.x_train.shape[1]
    grad = trace["input_grad"]  # dloss/dx for every sample and time step
    if trainer.x_train[0].numel() <= 64:  # whole: (B, T, F)
        assert len(grad) == 32 and len(grad[0]) == steps
        assert any(abs(v) > 0 for step in grad[0] for v in step)
    else:  # summarised, with one norm per sample and time step
        assert grad["summarised"] and len(grad["step_norms"][0]) == steps
