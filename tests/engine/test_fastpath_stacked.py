"""Stacked epochs (server/engine/fastpath/stacked.py) against the same runs trained one by one.

R runs with one shape but their own learning rates, seeds (so weights, shuffles and data
subsets), momentum, betas and regularisation train one epoch each per stacked call; their
records, parameters and optimiser state must equal those of twins trained one by one on the
fast path's NumPy form (the same float32 element operations), and the compiled form's to
float32 rounding. A stacked spiral run must still learn.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from server.config import Settings
from server.engine.errors import Diverged
from server.engine.fastpath import compiler, stacked
from server.engine.schema import Experiment
from server.engine.trainer import Trainer

NUMPY = Settings(fast_path_compiled=False)


def experiment(
    dataset: str = "spiral", samples: int | None = 120, layers=None, data_seed=3, **training
):
    data = {"name": dataset, "seed": data_seed}
    if samples is not None:
        data["samples"] = samples
    layers = layers or [
        {"type": "dense", "units": 8, "activation": "tanh"},
        {"type": "dense", "units": 6, "activation": "relu"},
    ]
    doc = {"optimizer": "sgd", "learning_rate": 0.05, "batch_size": 8, "epochs": 50, "seed": 5}
    return Experiment.model_validate(
        {"dataset": data, "model": {"layers": layers}, "training": {**doc, **training}}
    )


def twins(exps: list[Experiment], settings: Settings = NUMPY):
    """(one-by-one trainers, stacked trainers) on the same experiments."""
    return [Trainer(e, settings) for e in exps], [Trainer(e, settings) for e in exps]


def train(alone: list[Trainer], together: list[Trainer], epochs: int) -> None:
    for _ in range(epochs):
        for t in alone:
            t.train_epoch()
        results = stacked.train_epochs(together)
        assert all(isinstance(r, dict) for r in results), results


def assert_same(alone: list[Trainer], together: list[Trainer], rel: float, exact: bool):
    for a, s in zip(alone, together, strict=True):
        assert len(a.history) == len(s.history)
        for ra, rs in zip(a.history, s.history, strict=True):
            assert ra["epoch"] == rs["epoch"] and ra["lr"] == rs["lr"]
            for name in ("loss", "val_loss"):
                assert rs[name] == pytest.approx(ra[name], rel=rel, abs=1e-6), name
            assert rs["metrics"].keys() == ra["metrics"].keys()
            for name, value in ra["metrics"].items():
                assert rs["metrics"][name] == pytest.approx(value, rel=rel, abs=2e-3), name
        fa, fs = a._fast.state, s._fast.state
        pairs = [(fa.np_data, fs.np_data), (fa.np_grad, fs.np_grad)]
        pairs += [(fa.np_slots[k], fs.np_slots[k]) for k in fa.np_slots]
        for x, y in pairs:
            if exact:
                np.testing.assert_array_equal(y, x)
            else:
                np.testing.assert_allclose(y, x, rtol=1e-3, atol=1e-5)
        # The model's own tensors are the buffers the stacked call wrote, and the optimiser's
        # step counters count its steps: eager steps and probes read them.
        for p, q in zip(a.model.parameters(), s.model.parameters(), strict=True):
            assert torch.allclose(q, p, rtol=1e-3, atol=1e-5)
        for p in s.model.parameters():
            state = s.optimizer.state[p]
            if "step" in state:
                assert int(state["step"]) == s.epoch * s.batches_per_epoch


VARIANTS = {
    "adam": {"optimizer": "adam", "learning_rate": 0.01},
    "sgd momentum": {"optimizer": "sgd", "momentum": 0.9},
    "sgd": {"optimizer": "sgd", "momentum": 0.0},
    "adamw l2": {"optimizer": "adamw", "learning_rate": 0.01, "l2": 0.01},
    "rmsprop momentum l1": {"optimizer": "rmsprop", "learning_rate": 0.003, "momentum": 0.5},
    "adam l1 l2": {"optimizer": "adam", "learning_rate": 0.01, "l1": 0.002, "l2": 0.02},
}


@pytest.mark.parametrize("variant", VARIANTS)
def test_stacked_runs_equal_the_same_runs_one_by_one(variant):
    training = VARIANTS[variant]
    lrs = [training.get("learning_rate", 0.05) * f for f in (1.0, 3.0, 0.3, 1.5)]
    # Each run its own weights and shuffles (seed) and its own data (the dataset's seed).
    exps = [
        experiment(data_seed=d, **{**training, "learning_rate": lr, "seed": seed})
        for lr, seed, d in zip(lrs, (1, 2, 3, 4), (3, 3, 7, 8), strict=True)
    ]
    alone, together = twins(exps)
    assert len({stacked.key(t) for t in together}) == 1
    train(alone, together, 4)
    assert_same(alone, together, rel=1e-5, exact=True)
    # Different learning rates gave different runs (not R copies of one).
    assert len({t.history[-1]["loss"] for t in together}) == len(together)


def test_momentum_and_betas_differ_per_run_and_a_new_lr_applies_next_epoch():
    exps = [
        experiment(optimizer="sgd", momentum=0.9, seed=1),
        experiment(optimizer="sgd", momentum=0.5, seed=2, l2=0.01),
    ]
    alone, together = twins(exps)
    train(alone, together, 2)
    for t in (alone[1], together[1]):
        t.set_learning_rate(0.2)  # between turns, as the worker's set_lr
    train(alone, together, 2)
    assert together[1].history[-1]["lr"] == 0.2 and together[0].history[-1]["lr"] == 0.05
    assert_same(alone, together, rel=1e-5, exact=True)
    adams = [
        experiment(optimizer="adam", learning_rate=0.01, seed=1),
        experiment(optimizer="adam", learning_rate=0.02, seed=2),
    ]
    alone, together = twins(adams)
    alone[1].optimizer.param_groups[0]["betas"] = (0.8, 0.99)
    together[1].optimizer.param_groups[0]["betas"] = (0.8, 0.99)
    train(alone, together, 3)
    assert_same(alone, together, rel=1e-5, exact=True)


def test_regression_losses_and_a_sigmoid_head_stack():
    for dataset, layers, training in [
        ("plane", None, {"loss": "mae"}),
        ("multi_gauss", None, {"loss": "huber", "learning_rate": 0.5}),
        (
            "digits_reconstruction",
            [{"type": "flatten"}, {"type": "dense", "units": 8, "activation": "relu"}],
            {"loss": "bce", "batch_size": 64, "learning_rate": 0.5},
        ),
    ]:
        samples = None if dataset == "digits_reconstruction" else 120
        exps = [experiment(dataset, samples, layers, seed=s, epochs=3, **training) for s in (1, 2)]
        alone, together = twins(exps)
        train(alone, together, 2)
        assert_same(alone, together, rel=1e-4, exact=False)
        assert "val_mae" in together[0].history[-1]["metrics"]


@pytest.mark.parametrize("variant", ["adam", "adamw l2", "adam l1 l2", "sgd momentum"])
def test_the_compiled_form_agrees_to_rounding(variant):
    """Compiled runs one by one against the same runs stacked, whose Adam step is compiled
    too (fused.adam_rows): per-run rates, L2 coupled (Adam) or decoupled (AdamW)."""
    pytest.importorskip("numba", reason="the compiled form needs numba (layerlab[fast])")
    compiler.warm()
    assert compiler.wait(timeout=240), compiler.status()
    assert compiler.stacked_adam() is not None
    training = VARIANTS[variant]
    exps = [
        experiment(**{**training, "learning_rate": lr, "seed": s})
        for lr, s in [(0.01, 1), (0.03, 2), (0.02, 3)]
    ]
    alone, together = twins(exps, Settings())
    for t in alone:
        t._fast.compiled = True
    train(alone, together, 3)
    assert all(t._fast.fused for t in alone)
    assert_same(alone, together, rel=1e-3, exact=False)


def test_what_cannot_stack_has_no_key_or_another_key():
    base = Trainer(experiment(), NUMPY)
    assert stacked.key(base) == stacked.key(Trainer(experiment(seed=9, learning_rate=0.3), NUMPY))
    for other in (
        experiment(optimizer="adam"),
        experiment(batch_size=16),
        experiment(momentum=0.9),  # a momentum buffer: another optimiser state
        experiment(layers=[{"type": "dense", "units": 8, "activation": "relu"}]),
        experiment(samples=200),
    ):
        assert stacked.key(Trainer(other, NUMPY)) != stacked.key(base)
    assert stacked.key(Trainer(experiment(), NUMPY, fast_path=False)) is None
    base.train_steps(0.0)  # mid-epoch: trains on alone until the epoch ends
    assert stacked.key(base) is None


def test_a_diverging_run_ends_alone_at_the_bad_batch():
    exps = [
        experiment("plane", learning_rate=10.0, seed=1),
        experiment("plane", learning_rate=0.01, seed=2),
    ]
    alone, together = twins(exps)
    with pytest.raises(Diverged) as info:
        for _ in range(20):
            alone[0].train_epoch()
    diverged = None
    for _ in range(20):
        results = stacked.train_epochs(together if diverged is None else together[1:])
        if diverged is None and isinstance(results[0], Diverged):
            diverged = results[0]
            assert isinstance(results[1], dict)
    assert str(diverged) == str(info.value)
    np.testing.assert_array_equal(together[0]._fast.state.np_data, alone[0]._fast.state.np_data)
    assert together[1].epoch == 20 and together[1].history[-1]["loss"] is not None


def test_a_stacked_spiral_run_learns():
    exps = [
        experiment(
            samples=400,
            layers=[
                {"type": "dense", "units": 16, "activation": "tanh"},
                {"type": "dense", "units": 16, "activation": "tanh"},
            ],
            optimizer="adam",
            learning_rate=lr,
            batch_size=10,
            seed=s,
        )
        # Learning rates where Adam on this net is stable. At 0.03 a run's float32 path
        # decides its end: seed 3 made 0.71 on an AMD EPYC, where Intel machines passed, and
        # 2 of 8 seeds ended under 0.85 there (at 0.01-0.02 all 24 made 0.875-0.995).
        for lr, s in [(0.01, 1), (0.015, 3), (0.02, 2)]
    ]
    together = [Trainer(e, NUMPY) for e in exps]
    for _ in range(150):
        stacked.train_epochs(together)
    for t in together:
        assert t.history[-1]["metrics"]["val_accuracy"] >= 0.85, t.history[-1]


@pytest.mark.parametrize("dataset", ["spiral", "plane"])
def test_chunks_of_a_stack_compute_what_one_stack_does(monkeypatch, dataset):
    """A stack trains as chunks of at most CHUNK runs (validation VAL_CHUNK at a time): every
    record and buffer equals the whole stack's, bit for bit, with L1/L2 on some runs only (the
    whole stack's switches apply in every chunk) and, on plane, a divergence in a later chunk."""
    diverging = dataset == "plane"

    def runs():
        exps = [
            experiment(dataset, learning_rate=0.02 * (1 + i), seed=i, l1=0.001 * (i % 2))
            for i in range(4)
        ]
        lr = 10.0 if diverging else 0.1
        exps += [experiment(dataset, learning_rate=lr, seed=9, l2=0.01)]
        return [Trainer(e, NUMPY) for e in exps]

    def train_all(together):
        out, live = [], list(together)
        for _ in range(3):
            results = stacked.train_epochs(live)
            out.append([r if isinstance(r, dict) else str(r) for r in results])
            live = [t for t, r in zip(live, results, strict=True) if isinstance(r, dict)]
        assert len(live) == 5 - diverging, out
        return out

    whole = runs()
    whole_results = train_all(whole)
    monkeypatch.setattr(stacked, "CHUNK", 2)
    monkeypatch.setattr(stacked, "VAL_CHUNK", 1)
    chunked = runs()
    chunked_results = train_all(chunked)
    strip = [[r if isinstance(r, str) else {**r, "elapsed": 0} for r in e] for e in whole_results]
    assert strip == [
        [r if isinstance(r, str) else {**r, "elapsed": 0} for r in e] for e in chunked_results
    ]
    for a, b in zip(whole, chunked, strict=True):
        sa, sb = a._fast.state, b._fast.state
        for x, y in [(sa.np_data, sb.np_data), (sa.np_grad, sb.np_grad)] + [
            (sa.np_slots[k], sb.np_slots[k]) for k in sa.np_slots
        ]:
            np.testing.assert_array_equal(y.view(np.uint32), x.view(np.uint32))
        if a.val_predictions is not None:
            assert torch.equal(a.val_predictions, b.val_predictions)


def test_counted_accuracies_equal_torch_s():
    """A stacked epoch counts hits in NumPy; the trainer's float32 hits / N is torch's mean."""
    t = Trainer(experiment(), NUMPY)
    gen = torch.Generator().manual_seed(0)
    for _ in range(20):
        out = torch.randn(t.y_val.shape[0], 2, generator=gen)
        out[:5] = 0.0  # ties: the first class, as torch's argmax
        classes = torch.from_numpy(out.numpy().argmax(axis=1))
        hits = int((classes == t.y_val).sum())
        counted = t.evaluate(out, classes, hits)
        assert torch.equal(t.val_predictions, out.argmax(dim=1))
        assert counted == t.evaluate(out)
    n = 250
    for h in range(n + 1):
        matches = torch.arange(n) < h
        assert float(np.float32(h) / np.float32(n)) == matches.float().mean().item()


def test_two_class_cross_entropy_equals_the_general_reductions():
    """Two classes skip the 2-long reductions: the same bits as max and sum over the axis,
    ties, signed zeros, infinities and NaN included."""
    from server.engine.fastpath import stacked_kernels

    rng = np.random.default_rng(0)
    out = rng.standard_normal((6, 9, 2)).astype(np.float32) * 30
    out[0, :4] = [[0.0, -0.0], [-0.0, 0.0], [1.5, 1.5], [np.inf, 1.0]]
    out[1, :3] = [[np.nan, 1.0], [-np.inf, -np.inf], [88.0, -88.0]]
    y = rng.integers(0, 2, (6, 9))
    with np.errstate(all="ignore"):
        loss, grad = stacked_kernels.cross_entropy(out, y)
        shifted = out - out.max(axis=2, keepdims=True)
        e = np.exp(shifted)
        s = e.sum(axis=2, keepdims=True)
        rows, cols = np.arange(6)[:, None], np.arange(9)[None, :]
        want_loss = (np.log(s[..., 0]) - shifted[rows, cols, y]).mean(axis=1)
        want_grad = e / s
        want_grad[rows, cols, y] -= np.float32(1)
        want_grad = want_grad / np.float32(9)
    np.testing.assert_array_equal(loss, want_loss)
    np.testing.assert_array_equal(grad, want_grad)
    finite = np.isfinite(want_grad)
    assert (np.signbit(grad) == np.signbit(want_grad))[finite].all()
