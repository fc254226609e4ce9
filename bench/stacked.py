"""Stacked training: R same-shape spiral runs, one epoch each as one stacked call, against the
same R runs one by one on the fast path as the worker trains them today.

    python -m bench.stacked [--runs 1,10,50,200] [--epochs 600] [--form compiled|numpy]

For each R: R spiral-starter trainers (examples/spiral_mlp.json, each with its own seed and
learning rate) train `--epochs` run-epochs one by one (`Trainer.train_epoch`, the compiled
kernel once loaded, else `--form numpy`), then R fresh twins train the same number stacked
(`fastpath.stacked.train_epochs`). Printed per R: CPU milliseconds per epoch per run of each
(this process's CPU time: other load on the machine changes it little), their ratio, and the
share of the stacked call spent gathering and scattering the runs' flat buffers. One thread,
as in a worker.

Measured on the shared 2-core machine, compiled form, CPU ms per epoch per run: the tree
before the chunked stack (ff89a7c) and after it, run one after the other, twice each;
`python -m bench.stacked` and `--runs 2,3,5 --epochs 300` at load average 1.2-4.2:
          one by one   stacked before  stacked after
  R=1     1.31-1.52    1.86-2.06       1.68-1.77  (the NumPy form of one run: never stacked alone)
  R=2     1.29-1.51    1.11-1.13       1.07-1.21
  R=3     1.35-1.51    0.84-0.89       0.76-0.85  (so a worker stacks 3 or more: runs/stacking.py)
  R=5     1.39-1.62    0.65-0.68       0.57-0.68
  R=10    1.32-1.46    0.43-0.51       0.43-0.51
  R=50    1.36-1.43    0.44-0.45       0.30-0.33
  R=200   1.38-1.46    0.42-0.44       0.32-0.36
and `--runs 50,200 --epochs 2400` (load 3.5-5.4): R=50 0.44-0.54 -> 0.35, R=200 0.43-0.49 ->
0.34-0.36, the same losses. (This docstring's earlier figures, R=50 0.69 and R=200 0.98, were
taken at load 8-11: compare within one run of the bench only.)
Where a stacked epoch's time goes, R=50 after (process CPU by part, timers around each): the
Adam update 27% (11 float32 passes over the (R, P) arena; a fused numba loop was no faster),
the backward 16% and the training forward 8% (a BLAS matmul per run and layer, tanh, bias
sums), the validation forward 9%, the loss 7%, per-run bookkeeping ~22% (the record with its
torch val_loss 7%, scatter with the optimiser's step counters 7%, gather and bind 5%, the
shuffle 3%), the batch loop's own calls the rest. Before, the validation forward of all runs
at once took 18% at R=50 (activations N_val / B times a batch's, out of cache) and the
records' torch accuracies most of 13%: now 8 runs per validation forward, hits counted in
NumPy for all runs, chunks of at most 64 runs, the two-class loss without 2-long reductions.
Gathering and scattering the runs' flat buffers take 1% (R=1) to 11% (R=200) of the stacked
epoch: at most that much would be saved by making every run's buffers views into one shared
arena, which would have to be rebuilt whenever a run joins, leaves or is paused.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from bench.common import example
from server.config import Settings
from server.engine.fastpath import compiler, stacked
from server.engine.model import parse_experiment
from server.engine.trainer import Trainer


def trainers(r: int, settings: Settings) -> list[Trainer]:
    out = []
    for i in range(r):
        doc = example("spiral_mlp", epochs=None, seed=i, learning_rate=0.01 * (1 + i % 5))
        out.append(Trainer(parse_experiment(doc, settings), settings))
    return out


def one_by_one(runs: list[Trainer], rounds: int) -> float:
    """CPU seconds per run-epoch, each run training its epoch alone."""
    start = time.process_time()
    for _ in range(rounds):
        for t in runs:
            t.train_epoch()
    return (time.process_time() - start) / (rounds * len(runs))


def together(runs: list[Trainer], rounds: int) -> tuple[float, float]:
    """CPU seconds per run-epoch stacked, and the gather + scatter share of it."""
    start = time.process_time()
    for _ in range(rounds):
        for result in stacked.train_epochs(runs):
            assert isinstance(result, dict), result
    per = (time.process_time() - start) / (rounds * len(runs))
    # Gathering and scattering alone, as train_epochs does them (bind, stack, copy back).
    start = time.process_time()
    for _ in range(rounds):
        arena = stacked._gather(runs)
        for r, t in enumerate(runs):
            stacked._scatter(arena, t, r)
    moves = (time.process_time() - start) / (rounds * len(runs))
    return per, moves / per


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", default="1,10,50,200")
    parser.add_argument("--epochs", type=int, default=600, help="run-epochs per measurement")
    parser.add_argument("--form", choices=["compiled", "numpy"], default="compiled")
    args = parser.parse_args()
    torch.set_num_threads(1)  # as a worker
    settings = Settings(fast_path_compiled=args.form == "compiled")
    if args.form == "compiled":
        compiler.warm()
        if not compiler.wait(300):
            raise SystemExit(f"the compiled kernel is not available: {compiler.status()}")
    print(f"spiral starter, {args.form} form one by one vs stacked (CPU ms per epoch per run)")
    for r in [int(v) for v in args.runs.split(",")]:
        rounds = max(2, args.epochs // r)
        alone, stack = trainers(r, settings), trainers(r, settings)
        assert len({stacked.key(t) for t in stack}) == 1
        one_by_one(alone, 1)  # warm: first-epoch allocations, the kernel's first calls
        together(stack, 1)
        a = one_by_one(alone, rounds)
        s, moves = together(stack, rounds)
        losses = np.array([t.history[-1]["loss"] for t in stack])
        print(
            f"R={r:4d}  one by one {a * 1e3:6.3f} ms  stacked {s * 1e3:6.3f} ms  "
            f"ratio {a / s:5.2f}x  gather+scatter {moves:5.1%}  "
            f"(median loss {np.median(losses):.3f} after {stack[0].epoch} epochs)"
        )


if __name__ == "__main__":
    main()
