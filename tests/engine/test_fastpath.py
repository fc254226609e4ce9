"""The fast path (server/engine/fastpath) against PyTorch's eager autograd, in both forms.

"numpy" is the NumPy kernels, ready at once; "compiled" the numba kernel the worker loads in
the background. Every activation, loss and optimiser the fast path covers is checked against
an eager trainer on the same experiment: the gradients and updates of single steps, and the
per-epoch records over several epochs.
"""

from __future__ import annotations

import math
import time

import pytest
import torch
from safetensors.torch import load

from server.config import Settings
from server.engine.errors import Diverged
from server.engine.export import save_weights
from server.engine.fastpath import compiler
from server.engine.schema import Experiment
from server.engine.trainer import Trainer

SETTINGS = Settings()
FORMS = ["numpy", "compiled"]
ACTIVATIONS = ["relu", "leaky_relu", "elu", "gelu", "sigmoid", "tanh", "linear"]


def experiment(
    dataset: str = "spiral",
    layers: list[dict] | None = None,
    samples: int | None = 120,
    **training,
) -> Experiment:
    data = {"name": dataset, "seed": 3}
    if samples is not None:
        data["samples"] = samples
    if layers is None:
        layers = [
            {"type": "dense", "units": 8, "activation": "tanh"},
            {"type": "dense", "units": 6, "activation": "relu"},
        ]
    return Experiment.model_validate(
        {
            "dataset": data,
            "model": {"layers": layers},
            "training": {
                "optimizer": "sgd",
                "learning_rate": 0.05,
                "batch_size": 8,
                "epochs": 3,
                "seed": 5,
                **training,
            },
        }
    )


def fast_trainer(exp: Experiment, form: str) -> Trainer:
    """A trainer on the fast path in the given form (the compiled one waits for the kernel)."""
    if form == "compiled":
        pytest.importorskip("numba", reason="the compiled form needs numba (layerlab[fast])")
    t = Trainer(exp, SETTINGS, fast_path=True)
    assert t.fast_path, t.fast_path_reason
    if form == "compiled":
        assert compiler.wait(timeout=240), compiler.status()
    t._fast.compiled = form == "compiled"
    return t


def records(t: Trainer, epochs: int) -> list[dict]:
    return [t.train_epoch() for _ in range(epochs)]


def assert_same_records(fast: list[dict], eager: list[dict], rel: float = 1e-4) -> None:
    assert len(fast) == len(eager)
    for f, e in zip(fast, eager, strict=True):
        assert f["epoch"] == e["epoch"] and f["lr"] == e["lr"]
        assert f["loss"] == pytest.approx(e["loss"], rel=rel, abs=1e-6)
        assert f["val_loss"] == pytest.approx(e["val_loss"], rel=rel, abs=1e-6)
        assert f["metrics"].keys() == e["metrics"].keys()
        for name, value in e["metrics"].items():
            assert f["metrics"][name] == pytest.approx(value, rel=rel, abs=2e-3), name


def assert_same_step(exp: Experiment, form: str, steps: int = 3) -> None:
    """A few single batches: the fast path's gradients and weights equal autograd's."""
    eager = Trainer(exp, SETTINGS, fast_path=False)
    fast = fast_trainer(exp, form)
    for _ in range(steps):
        eager.train_steps(0.0)  # one batch per call
        fast.train_steps(0.0)
        assert fast._batch == eager._batch
        for (name, p), q in zip(
            eager.model.named_parameters(), fast.model.parameters(), strict=True
        ):
            assert torch.allclose(q.grad, p.grad, rtol=1e-4, atol=1e-6), f"grad of {name}"
            assert torch.allclose(q, p, rtol=1e-4, atol=1e-6), name
    assert fast._loss_sum == pytest.approx(eager._loss_sum, rel=1e-5)


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_every_activation_matches_autograd(activation, form):
    layers = [
        {"type": "dense", "units": 7, "activation": activation},
        {"type": "dense", "units": 5, "activation": activation},
    ]
    exp = experiment(layers=layers)
    assert_same_step(exp, form)
    assert_same_records(
        records(fast_trainer(exp, form), 3), records(Trainer(exp, SETTINGS, fast_path=False), 3)
    )


OPTIMISERS = [
    {"optimizer": "sgd", "momentum": 0.0},
    {"optimizer": "sgd", "momentum": 0.9},
    {"optimizer": "adam", "learning_rate": 0.01},
    {"optimizer": "adamw", "learning_rate": 0.01},
    {"optimizer": "rmsprop", "learning_rate": 0.003, "momentum": 0.0},
    {"optimizer": "rmsprop", "learning_rate": 0.003, "momentum": 0.5},
]
REGULARISATION = [{}, {"l1": 0.003}, {"l2": 0.01}, {"l1": 0.002, "l2": 0.02}]


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("reg", REGULARISATION, ids=lambda r: "+".join(r) or "none")
@pytest.mark.parametrize(
    "opt", OPTIMISERS, ids=lambda o: f"{o['optimizer']}{o.get('momentum', '')}"
)
def test_every_optimiser_with_l1_l2_matches_autograd(opt, reg, form):
    exp = experiment(**opt, **reg)
    assert_same_step(exp, form)
    assert_same_records(
        records(fast_trainer(exp, form), 3), records(Trainer(exp, SETTINGS, fast_path=False), 3)
    )


LOSS_CASES = {
    "mse": ("plane", None, {}),
    "mae": ("plane", None, {"loss": "mae"}),
    "huber": ("multi_gauss", None, {"loss": "huber", "learning_rate": 0.5}),
    # the digits autoencoder: leading flatten, a reshape head with a sigmoid (mse) or logits (bce)
    "sigmoid head": ("digits_reconstruction", "flatten", {"batch_size": 64, "learning_rate": 0.5}),
    "bce": (
        "digits_reconstruction",
        "flatten",
        {"loss": "bce", "batch_size": 64, "learning_rate": 0.5},
    ),
    "cross_entropy 3 classes": ("iris", None, {"optimizer": "adam", "learning_rate": 0.01}),
}


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("case", LOSS_CASES)
def test_every_loss_and_head_matches_autograd(case, form):
    dataset, first, training = LOSS_CASES[case]
    layers = [{"type": "dense", "units": 6, "activation": "tanh"}]
    if first == "flatten":
        layers = [{"type": "flatten"}, {"type": "dense", "units": 8, "activation": "relu"}]
    samples = 120 if dataset in ("plane", "multi_gauss") else None
    exp = experiment(dataset, layers, samples=samples, epochs=2, **training)
    assert_same_step(exp, form)
    fast = fast_trainer(exp, form)
    assert_same_records(records(fast, 2), records(Trainer(exp, SETTINGS, fast_path=False), 2))
    assert (
        set(fast.history[0]["metrics"]) >= {"mae", "val_mae"}
        or "accuracy" in fast.history[0]["metrics"]
    )


@pytest.mark.parametrize("form", FORMS)
def test_time_slices_reach_the_same_records_and_keep_the_budget(form):
    exp = experiment(samples=400, batch_size=1, epochs=2)
    whole = records(Trainer(exp, SETTINGS, fast_path=False), 2)
    sliced = fast_trainer(exp, form)
    calls, got = 0, []
    while not sliced.finished:
        start = time.perf_counter()
        record = sliced.train_steps(0.002)
        # one call overruns its budget by at most a chunk of batches: generous for 2 cores
        assert time.perf_counter() - start < 0.5
        calls += 1
        if record is not None:
            got.append(record)
    assert calls >= 2
    assert_same_records(got, whole)
    # A call with no budget left still makes progress: exactly one batch.
    one = fast_trainer(exp, form)
    for batch in range(1, 6):
        assert one.train_steps(0.0) is None and one._batch == batch


@pytest.mark.parametrize("form", FORMS)
def test_the_learning_rate_changes_live(form):
    exp = experiment(optimizer="adam", learning_rate=0.01)
    eager = Trainer(exp, SETTINGS, fast_path=False)
    fast = fast_trainer(exp, form)
    for t in (eager, fast):
        t.train_steps(0.0)
        t.train_steps(0.0)
        t.set_learning_rate(0.002)  # between calls, as the worker applies set_lr
    assert_same_records(records(fast, 2), records(eager, 2))
    assert fast.history[0]["lr"] == 0.002


@pytest.mark.parametrize("form", FORMS)
def test_a_diverging_run_stops_at_the_bad_batch_like_eager(form):
    exp = experiment("plane", samples=120, learning_rate=10.0, epochs=20)
    errors = []
    for t in (Trainer(exp, SETTINGS, fast_path=False), fast_trainer(exp, form)):
        with pytest.raises(Diverged) as info:
            records(t, 20)
        errors.append(str(info.value))
        assert all(math.isfinite(p.detach().abs().max().item()) for p in t.model.parameters())
    assert errors[0] == errors[1]
    assert "try a smaller learning rate" in errors[0]


@pytest.mark.parametrize("form", FORMS)
def test_probes_export_and_eager_steps_read_the_same_tensors(form):
    exp = experiment(optimizer="adam", learning_rate=0.01, epochs=4)
    fast = fast_trainer(exp, form)
    eager = Trainer(exp, SETTINGS, fast_path=False)
    records(fast, 2)
    records(eager, 2)
    # The probe's norms come from the model's own parameters and last gradients.
    snap, ref = fast.probe({"layers"}), eager.probe({"layers"})
    for a, b in zip(snap["layers"], ref["layers"], strict=True):
        assert a["weight_norm"] == pytest.approx(b["weight_norm"], rel=1e-4)
        assert a["grad_norm"] == pytest.approx(b["grad_norm"], rel=1e-3)
    # Export writes what the model holds.
    weights = load(save_weights(fast.model))
    for name, p in fast.model.state_dict().items():
        assert torch.equal(weights[name], p)
    # The optimiser's own state is the fast path's: eager steps take over seamlessly.
    assert (
        int(fast.optimizer.state[next(fast.model.parameters())]["step"])
        == 2 * fast.batches_per_epoch
    )
    fast.set_fast_path(False)
    assert not fast.fast_path
    after = records(fast, 1)
    assert_same_records(after, records(eager, 1))
    # ... and back: the fast path adopts what the eager steps left.
    assert fast.set_fast_path(True)
    fast._fast.compiled = form == "compiled"
    assert_same_records(records(fast, 1), records(eager, 1))


@pytest.mark.parametrize("form", FORMS)
def test_same_seed_gives_identical_records_even_interleaved(form):
    exp = experiment(optimizer="rmsprop", learning_rate=0.005, l1=0.001)
    a, b = fast_trainer(exp, form), fast_trainer(exp, form)
    while not (a.finished and b.finished):
        for t in (a, b):
            if not t.finished:
                t.train_steps(0.0005)
    strip = [{k: v for k, v in r.items() if k != "elapsed"} for r in a.history]
    assert strip == [{k: v for k, v in r.items() if k != "elapsed"} for r in b.history]


@pytest.mark.parametrize(
    "layers, why",
    [
        ([{"type": "dense", "units": 8}, {"type": "dropout", "rate": 0.2}], "layer 1"),
        ([{"type": "dense", "units": 8}, {"type": "batchnorm"}], "layer 1"),
    ],
)
def test_what_it_does_not_cover_trains_eagerly(layers, why):
    t = Trainer(experiment(layers=layers), SETTINGS)
    assert not t.fast_path and why in t.fast_path_reason
    assert t.train_epoch()["loss"] > 0


def test_images_and_big_steps_train_eagerly():
    conv = experiment("digits", [{"type": "conv2d", "filters": 2, "kernel_size": 3}], samples=None)
    assert not Trainer(conv, SETTINGS).fast_path
    big = experiment(layers=[{"type": "dense", "units": 1024}] * 2, batch_size=256)
    t = Trainer(big, SETTINGS)
    assert not t.fast_path and "arithmetic-bound" in t.fast_path_reason


def test_the_setting_and_the_argument_force_eager():
    exp = experiment()
    assert Trainer(exp, SETTINGS).fast_path  # on by default
    assert not Trainer(exp, Settings(fast_path=False)).fast_path
    t = Trainer(exp, SETTINGS, fast_path=False)
    assert not t.fast_path and t.fast_path_reason == "off"
    numpy_only = Trainer(exp, Settings(fast_path_compiled=False))
    assert numpy_only.fast_path and not numpy_only._fast.compiled
    numpy_only.train_epoch()
    assert not numpy_only._fast.fused
    # Steps too big for the compiled loops take the NumPy form (BLAS) even when it is loaded.
    wide = Trainer(
        experiment(layers=[{"type": "dense", "units": 128}] * 2, batch_size=32), SETTINGS
    )
    assert wide.fast_path and not wide._fast.compiled
