"""The compiled kernel (engine/fastpath/fused.py) against plain PyTorch on the spiral starter.

    python -m bench.kernel [--epochs 400] [--blocks 7]

One spiral-starter trainer (examples/spiral_mlp.json: 25 batches of 10, 1.2k parameters,
Adam). Timed per epoch, each the fastest of `--blocks` blocks of `--epochs` epochs (this
machine's speed drifts by a third within a minute; the fastest block is the least disturbed),
all in one thread as in a worker:
  - train: the kernel's `train_batches` for a whole epoch; the NumPy form of the fast path
    (`FastPath._run_numpy`); a plain PyTorch loop over the same batches (model, Adam,
    cross-entropy, backward, step);
  - validate: the kernel's `predict` on the validation set; the model's own forward.
Printed: milliseconds each and the ratio of plain PyTorch's time to each.

Measured on the 2-core AMD EPYC. Before the kernel's loops were written for SIMD lanes
(ec3956a) and after, timed in one process by a throwaway harness: 1.01-1.04 ms per epoch
against 0.20-0.24 ms. `python -m bench.kernel` after, twice:
    train     kernel 0.20-0.30 ms (47-52x plain PyTorch)  numpy 1.50-1.75 ms  plain 10.5-13.8 ms
    validate  kernel 0.052-0.058 ms (1.5-1.7x the model's forward)
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable

import numpy as np
import torch
from torch.nn import functional as F

from bench.common import example
from server.config import Settings
from server.engine.fastpath import compiler
from server.engine.model import parse_experiment
from server.engine.trainer import Trainer


def fastest(fn: Callable[[], None], epochs: int, blocks: int) -> float:
    """Seconds per call: the fastest block of `epochs` calls."""
    best = math.inf
    for _ in range(blocks):
        start = time.perf_counter()
        for _ in range(epochs):
            fn()
        best = min(best, (time.perf_counter() - start) / epochs)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=400, help="epochs per block")
    parser.add_argument("--blocks", type=int, default=7)
    args = parser.parse_args()
    torch.set_num_threads(1)  # as a worker
    compiler.warm()
    if not compiler.wait(300):
        raise SystemExit(f"the compiled kernel is not available: {compiler.status()}")
    settings = Settings(fast_path_compiled=True)
    trainer = Trainer(parse_experiment(example("spiral_mlp", epochs=None), settings), settings)
    assert trainer.fast_path, trainer.fast_path_reason
    trainer.train_epoch()  # the kernel's first calls, the buffers
    fast, state = trainer._fast, trainer._fast.state
    state.bind()
    perm = trainer._perm.numpy()
    bounds = np.asarray(trainer._bounds, np.int64)
    group = trainer.optimizer.param_groups[0]
    hyper = np.array([group["lr"], 0.0, 0.0, *group["betas"], group["eps"], 0.0, 0.0], np.float64)
    m, v = (state.np_slots[k] for k in ("exp_avg", "exp_avg_sq"))
    batches = len(bounds) - 1
    outs = np.empty((fast.x.shape[0], 2), np.float32)
    losses = np.empty((batches, 2))
    kernel, predict = compiler.kernel(), compiler.predictor()

    def kernel_epoch() -> None:
        kernel(
            fast.x, fast.y_cls, fast.y_reg, perm, bounds, 0, batches, fast.layout, state.np_data,
            state.np_grad, m, v, state.n_weights, fast.codes[0], fast.codes[1], hyper, 1, outs,
            losses,
        )  # fmt: skip

    def numpy_epoch() -> None:
        trainer._batch = 0
        fast._run_numpy(trainer, math.inf)
        trainer._outputs_kept = []

    # Plain PyTorch: the same network, data and batches, eager.
    model = trainer.model
    optimizer = torch.optim.Adam(model.parameters(), lr=group["lr"])
    x, y = trainer.x_train[trainer._perm], trainer.y_train[trainer._perm]
    pairs = [(x[lo:hi], y[lo:hi]) for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)]

    def plain_epoch() -> None:
        for xb, yb in pairs:
            optimizer.zero_grad()
            F.cross_entropy(model(xb), yb).backward()
            optimizer.step()

    out = np.empty((fast.x_val.shape[0], 2), np.float32)

    def kernel_validate() -> None:
        predict(fast.x_val, fast.layout, state.np_data, out)

    @torch.no_grad()
    def model_validate() -> None:
        model(trainer.x_val)

    e, b = args.epochs, args.blocks
    plain = fastest(plain_epoch, max(2, e // 10), b)
    k, n = fastest(kernel_epoch, e, b), fastest(numpy_epoch, max(2, e // 4), b)
    kv, mv = fastest(kernel_validate, e, b), fastest(model_validate, e, b)
    print("spiral starter, one epoch (25 batches of 10) and its validation (250 samples)")
    print(
        f"train     kernel {k * 1e3:.3f} ms ({plain / k:.1f}x plain PyTorch)   "
        f"numpy {n * 1e3:.3f} ms ({plain / n:.1f}x)   plain PyTorch {plain * 1e3:.3f} ms"
    )
    print(
        f"validate  kernel {kv * 1e3:.3f} ms ({mv / kv:.1f}x the model's)   model {mv * 1e3:.3f} ms"
    )


if __name__ == "__main__":
    main()
