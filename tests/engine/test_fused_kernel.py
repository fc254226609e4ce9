"""The compiled kernel's own numerics (fastpath/fused.py): its rational tanh against float64
tanh, NaN and infinities kept for the divergence check, and its forward (`predict`, the
validation records' outputs) against the model's own modules."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from server.config import Settings
from server.engine.fastpath import compiler
from server.engine.schema import Experiment
from server.engine.trainer import Trainer

fused = pytest.importorskip("server.engine.fastpath.fused", reason="needs numba (layerlab[fast])")

TANH = 6  # fused_codes.ACTIVATION_CODES["tanh"]
ACTIVATIONS = ["relu", "leaky_relu", "elu", "gelu", "sigmoid", "tanh", "linear"]


def tanh(z: np.ndarray) -> np.ndarray:
    z = np.ascontiguousarray(z, np.float32)
    out = np.empty_like(z)
    fused._activate(TANH, z, out, z.shape[0])
    return out


def test_the_rational_tanh_is_within_a_few_ulp_of_float64_tanh():
    rng = np.random.default_rng(0)
    z = np.concatenate(
        [
            np.linspace(-12, 12, 1_000_001, dtype=np.float32),
            np.geomspace(1e-30, 1, 20_000).astype(np.float32),
            -np.geomspace(1e-30, 1, 20_000).astype(np.float32),
            rng.normal(0, 3, 100_000).astype(np.float32),
            np.float32([0.0, -0.0, 8.99, 9.0, 9.01, 1e30, -1e30]),
        ]
    )
    got, ref = tanh(z), np.tanh(z.astype(np.float64))
    ulp = np.spacing(np.abs(ref).astype(np.float32)).astype(np.float64)
    worst = (np.abs(got - ref) / ulp).max()
    assert worst <= 8, f"{worst} ulp"  # NumPy's own float32 tanh: ~1.4 here
    assert np.abs(got).max() <= 1.0  # never past the asymptotes
    assert np.array_equal(np.sign(got), np.sign(z))  # odd, and exact at 0


def test_the_rational_tanh_keeps_nan_and_saturates_infinities():
    got = tanh(np.float32([np.nan, np.inf, -np.inf]))
    assert np.isnan(got[0]) and got[1] == 1.0 and got[2] == -1.0


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_the_compiled_forward_gives_the_models_outputs(activation):
    layers = [
        {"type": "dense", "units": 9, "activation": activation},
        {"type": "dense", "units": 33, "activation": activation},  # wider than a SIMD row
    ]
    exp = Experiment.model_validate(
        {
            "dataset": {"name": "spiral", "samples": 300, "seed": 3},  # 150 validation rows:
            "model": {"layers": layers},  # more than one of predict's chunks
            "training": {"optimizer": "adam", "learning_rate": 0.01, "batch_size": 8},
        }
    )
    trainer = Trainer(exp, Settings(), fast_path=True)
    assert trainer.fast_path, trainer.fast_path_reason
    assert compiler.wait(timeout=240), compiler.status()
    trainer.train_epoch()  # weights away from their initial values
    compiled = trainer._fast.val_outputs()
    assert compiled is not None
    eager = trainer._outputs(trainer.x_val)
    assert compiled.shape == eager.shape
    torch.testing.assert_close(compiled, eager, rtol=1e-5, atol=1e-6)
    assert torch.equal(trainer.val_outputs(), compiled)  # what the records read
