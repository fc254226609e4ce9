"""Stacked probes (server/engine/fastpath/stacked_probes.py) against each run's own probe.

R runs of one shape but their own seeds and learning rates (so different weights, data
subsets and probe sets) train a few stacked epochs; the snapshots computed for all of them in
one pass must be what each run's `trainer.probe(resolution=...)` gives: the same keys in the
same order, the same structure, floats to float32 rounding, byte grids to one quantisation
level, histograms to a value moved across a bin edge (the forward pass is NumPy's matmul where
the probe's is torch's linear). Every activation the fast path covers, binary and multi-class
classification and regression, the coarse and the full grid.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from server.config import Settings
from server.engine import probes
from server.engine.bytegrid import decode_grid
from server.engine.fastpath import stacked, stacked_probes
from server.engine.schema import Experiment
from server.engine.trainer import Trainer

NUMPY = Settings(fast_path_compiled=False)
ACTIVATIONS = ("tanh", "relu", "leaky_relu", "elu", "gelu", "sigmoid", "linear")


def experiment(dataset="spiral", activation="tanh", seed=0, lr=0.03, units=(8, 6), **extra):
    layers = [{"type": "dense", "units": u, "activation": activation} for u in units]
    data = {"name": dataset, "samples": 160, "seed": 2, "crosses": ["x1", "x2", "x1_x2"]}
    training = {"optimizer": "adam", "learning_rate": lr, "batch_size": 10, "epochs": 50}
    return Experiment.model_validate(
        {
            "dataset": data,
            "model": {"layers": layers + list(extra.pop("more", []))},
            "training": {**training, "seed": seed, **extra},
        }
    )


def runs(r: int = 4, epochs: int = 2, **kw) -> list[Trainer]:
    out = [Trainer(experiment(seed=i, lr=0.01 * (i + 1), **kw), NUMPY) for i in range(r)]
    for _ in range(epochs):
        assert all(isinstance(x, dict) for x in stacked.train_epochs(out))
    return out


def assert_same(got, want, path: str = "") -> None:
    """`got` (stacked) is `want` (the run's own probe) to float32 rounding."""
    if isinstance(want, dict):
        assert list(got) == list(want), path  # same keys, same order (the JSON text's)
        if set(want) == {"shape", "lo", "hi", "b64"}:  # a byte grid
            assert got["shape"] == want["shape"], path
            a, b = decode_grid(got), decode_grid(want)
            span = max(abs(float(want["hi"] or 0) - float(want["lo"] or 0)), 1e-6)
            assert np.abs(a - b).max() <= 1.01 * span / 255 + 1e-5 * span, path
            return
        for k in want:
            assert_same(got[k], want[k], f"{path}/{k}")
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), path
        if path.endswith("counts"):  # a histogram: the same values, one moved across an edge
            assert sum(got) == sum(want), path
            assert np.abs(np.array(got) - np.array(want)).sum() <= 2, path
            return
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            assert_same(g, w, f"{path}[{i}]")
    elif isinstance(want, float):
        assert isinstance(got, float) and got == pytest.approx(want, rel=1e-5, abs=1e-6), path
    else:
        assert type(got) is type(want) and got == want, path


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("dataset", ["spiral", "blobs", "plane"])
def test_stacked_snapshots_are_each_runs_own_probe(dataset, activation):
    trainers = runs(dataset=dataset, activation=activation)
    assert len({t._fast.state.np_data[0].item() for t in trainers}) == 4  # own weights
    for res in (probes.GRID_RES, 20):  # the full grid, and a moving run's coarse one
        keys = {stacked_probes.key(t, res) for t in trainers}
        assert len(keys) == 1 and None not in keys
        snaps = stacked_probes.snapshots(trainers, res)
        for t, snap in zip(trainers, snaps, strict=True):
            own = t.probe(resolution=res)
            assert snap["boundary"]["resolution"] == res
            assert_same(snap, own, f"{dataset}/{activation}/{res}")


def test_runs_split_into_passes_give_the_same_snapshots(monkeypatch):
    trainers = runs(r=5, units=(5, 7, 3))
    one = stacked_probes.snapshots(trainers, 20)
    monkeypatch.setattr(stacked_probes, "CHUNK_ROWS", 900)  # two runs' rows a pass: 2, 2, 1
    split = stacked_probes.snapshots(trainers, 20)
    for a, b, t in zip(one, split, trainers, strict=True):
        assert_same(b, a)
        assert_same(b, t.probe(resolution=20))


def test_a_diverging_run_is_probed_as_its_own_probe_would():
    trainers = runs(r=3)
    # One run's weights blown up to infinities: inf and NaN activations, NaN logits. Not to
    # 1e38: finite products whose sum overflows or not by the order BLAS adds them in, which
    # differs by CPU (NumPy's and torch's matmul disagreed on an AMD EPYC).
    with torch.no_grad():
        trainers[1].model.body[0][0].weight.mul_(math.inf)
        trainers[1].model.body[1][0].weight.mul_(math.inf)
    assert trainers[1].val_outputs().isnan().any()
    snaps = stacked_probes.snapshots(trainers, 20)
    for t, snap in zip(trainers, snaps, strict=True):
        assert_same(snap, t.probe(resolution=20))


def test_runs_probed_alone_have_no_key():
    dropout = [{"type": "dropout", "rate": 0.2}]
    eager = Trainer(experiment(more=dropout), NUMPY)  # dropout: not on the fast path
    assert eager._fast is None and stacked_probes.key(eager) is None
    fresh = Trainer(experiment(), NUMPY)  # no step yet: its gradients the zeroed buffer
    assert stacked_probes.key(fresh) is not None
    (snap,) = stacked_probes.snapshots([fresh], 40)
    assert_same(snap, fresh.probe())
    layer = fresh.model.body[0][0]
    layer.weight.data = layer.weight.data.clone()  # parameters moved off the flat buffers
    assert stacked_probes.key(fresh) is None
    fresh.train_epoch()  # (adopted again by the next fast step)
    assert stacked_probes.key(fresh) is not None
    # Another grid (a coarser side, other feature crosses): another pass. Another 2D set of
    # the same extent and crosses has the same grid inputs (its probe set is its own anyway).
    assert stacked_probes.key(fresh, 20) != stacked_probes.key(fresh, 40)
    xor = Trainer(experiment(dataset="xor"), NUMPY)
    assert stacked_probes.key(xor) == stacked_probes.key(fresh)
    crossed = experiment().model_dump()
    crossed["dataset"]["crosses"] = ["x1", "x2", "sin_x1"]
    other = Trainer(Experiment.model_validate(crossed), NUMPY)
    assert stacked_probes.key(other) != stacked_probes.key(fresh)
    pair = [fresh, xor]
    for t, snap in zip(pair, stacked_probes.snapshots(pair, 40), strict=True):
        assert_same(snap, t.probe())
