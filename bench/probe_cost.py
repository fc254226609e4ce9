"""Where a paced classroom run's CPU goes, in the worker: training, probing, encoding.

    python -m bench.probe_cost [--epochs 100] [--cores 2]

For the two designs of bench/capacity.py (the spiral starter at 20 epochs/s, the digits CNN
at 2), in this process with one torch thread like a worker: the CPU milliseconds (thread
time, so other sessions' load changes it little) of one epoch, of one probe at each boundary
resolution the worker uses (40: a paced or paused run's full grid; 20: a moving or saturated
worker's), and of encoding the snapshot as its WebSocket text. Printed per design: those
costs, the share of a core one run takes at its pace with a probe every epoch (the
watchable stage's promise to a visible viewer), and how many such runs `--cores` cores can
hold on training and probing alone (the server's fan-out and the API come on top: see
bench/capacity.py's server CPU).

Measured on the shared 2-core machine, main (e490b8c, `git archive` into a folder, run with
PYTHONPATH there) and this tree one after the other, spiral starter:
- at load average 12-18: main probe 3.33 ms at grid 40, 2.62 at 20; this 2.78 and 1.94
  (thread CPU time swells with the machine's load, torch's small ops most);
- at load average 5-7: main epoch 1.28 ms, probe 2.03 ms at 40 and 1.35 at 20, encoding
  0.39 ms: 0.074 of a core per run at 20/s, 27 runs on 2 cores; this probe 1.80 and 1.25 ms
  (NumPy byte grids, thumbnails and statistics, the same bytes; features' grids made once).
So the full grid costs ~0.55 ms more than the coarse one, which a saturated worker now uses
(frames.Load), and training plus one frame an epoch bounds two free cores at ~26-31 spiral
runs at 20 epochs/s. The digits CNN at 2/s is 0.11-0.17 of a core of training alone (epoch
54-82 ms): a mixed class (one CNN in five) is bound by the CNNs' training, not by frames.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import torch

from bench.common import example

DESIGNS = (("spiral_mlp", 20.0), ("digits_cnn", 2.0))


def cpu_ms(fn: Callable[[], object], reps: int) -> float:
    """Mean thread CPU milliseconds of fn() over `reps` calls (after one warm call)."""
    fn()
    start = time.thread_time()
    for _ in range(reps):
        fn()
    return (time.thread_time() - start) / reps * 1e3


def measure(name: str, pace: float, epochs: int) -> dict[str, float]:
    from server.config import Settings
    from server.engine.fastpath import compiler
    from server.engine.model import parse_experiment
    from server.engine.trainer import Trainer
    from server.runs.messages import snapshot_message

    settings = Settings()
    trainer = Trainer(parse_experiment(example(name, epochs=None, pace=pace), settings), settings)
    while trainer.train_steps(0.1) is None:
        pass
    compiler.wait(120)  # the fast path's compiled kernel, as a warm worker has it

    def epoch() -> None:
        while trainer.train_steps(0.05) is None:
            pass

    reps = max(3, int(epochs if pace > 5 else epochs / 20))
    costs = {"epoch": cpu_ms(epoch, reps)}
    for res in (40, 20):
        costs[f"probe{res}"] = cpu_ms(lambda r=res: trainer.probe(resolution=r), reps)
    snapshot = trainer.probe()
    costs["encode"] = cpu_ms(lambda: snapshot_message(snapshot), reps)
    return costs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--cores", type=float, default=2.0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    for name, pace in DESIGNS:
        c = measure(name, pace, args.epochs)
        for res in (40, 20):
            share = (c["epoch"] + c[f"probe{res}"] + c["encode"]) * pace / 1e3
            print(
                f"{name} at {pace:g}/s, grid {res}: epoch {c['epoch']:.2f} ms, probe "
                f"{c[f'probe{res}']:.2f} ms, encode {c['encode']:.2f} ms CPU; one run takes "
                f"{share:.3f} of a core (training {c['epoch'] * pace / 1e3:.3f}); "
                f"{args.cores:g} cores hold {args.cores / share:.0f} such runs",
                flush=True,
            )


if __name__ == "__main__":
    main()
