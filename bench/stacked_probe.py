"""Stacked probes: the snapshots of R same-shape spiral runs computed as one pass, against the
same R runs each probed alone as the worker probed them before.

    python -m bench.stacked_probe [--runs 3,10,50,200] [--probes 600] [--res 20,40]

For each R: R spiral-starter trainers (examples/spiral_mlp.json, each with its own seed and
learning rate, so their weights differ) train two stacked epochs; then, at each boundary
resolution the worker uses (40: a paced run's full grid, 20: a saturated worker's), `--probes`
run-probes one by one (`trainer.probe`) and the same number stacked
(`fastpath.stacked_probes.snapshots`). Printed per R and resolution: CPU milliseconds per
probe per run of each (this thread's CPU time: other load on the machine changes it little),
their ratio, and the CPU of encoding one snapshot as its WebSocket text (the worker's
`snapshot_message`, per run either way). One thread, as in a worker.

Measured on the shared 2-core machine (load average 2.0-2.4, another session's tests beside),
`python -m bench.stacked_probe`, CPU ms per probe per run:
  R=3    grid 40  alone 1.38  stacked 0.65  2.12x    grid 20  alone 0.96  stacked 0.36  2.69x
  R=10            1.41          0.67  2.11x                   1.00          0.29  3.50x
  R=50            1.40          0.73  1.90x                   1.01          0.30  3.33x
  R=200           1.43          0.76  1.89x                   1.06          0.35  3.05x
Encoding a snapshot as its WebSocket text: 0.34-0.36 ms (grid 20), 0.38-0.41 ms (grid 40),
now as much as the stacked probe itself: its weight lists (~1,150 floats rounded to 4
decimals, each through float repr) are ~205 us of a 320 us encoding, the 67 byte grids' dicts
~90 us. Before passes were cut to CHUNK_ROWS input rows, 50 runs at grid 40 in one pass cost
1.4-1.5 ms per run (the layer outputs, ~0.6 MB a run, outgrew the 2 MB cache).
"""

from __future__ import annotations

import argparse
import gc
import time

import torch

from bench.stacked import trainers
from server.config import Settings
from server.engine.fastpath import stacked, stacked_probes
from server.engine.trainer import Trainer
from server.runs.messages import snapshot_message


def alone(runs: list[Trainer], res: int, rounds: int) -> float:
    """CPU seconds per run-probe, each run probed by its own trainer."""
    start = time.thread_time()
    for _ in range(rounds):
        for t in runs:
            t.probe(resolution=res)
    return (time.thread_time() - start) / (rounds * len(runs))


def together(runs: list[Trainer], res: int, rounds: int) -> float:
    """CPU seconds per run-probe, all runs' snapshots in one stacked call."""
    start = time.thread_time()
    for _ in range(rounds):
        stacked_probes.snapshots(runs, res)
    return (time.thread_time() - start) / (rounds * len(runs))


def encode(runs: list[Trainer], res: int, rounds: int) -> float:
    snaps = stacked_probes.snapshots(runs, res)
    start = time.thread_time()
    for _ in range(rounds):
        for s in snaps:
            snapshot_message(s)
    return (time.thread_time() - start) / (rounds * len(runs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", default="3,10,50,200")
    parser.add_argument("--probes", type=int, default=600, help="run-probes per measurement")
    parser.add_argument("--res", default="40,20", help="boundary grid sides")
    args = parser.parse_args()
    torch.set_num_threads(1)  # as a worker
    settings = Settings(fast_path_compiled=False)  # stacked epochs are NumPy either way
    print("spiral starter, probed alone vs stacked (CPU ms per probe per run)")
    for r in [int(v) for v in args.runs.split(",")]:
        runs = trainers(r, settings)
        for _ in range(2):
            assert all(isinstance(x, dict) for x in stacked.train_epochs(runs))
        rounds = max(2, args.probes // r)
        for res in [int(v) for v in args.res.split(",")]:
            assert len({stacked_probes.key(t, res) for t in runs}) == 1
            alone(runs, res, 1)  # warm: the grid and feature thumbnails cached per run
            together(runs, res, 1)
            gc.collect()  # a full collection of the last one's garbage lands in neither
            a = alone(runs, res, rounds)
            gc.collect()
            s = together(runs, res, rounds)
            e = encode(runs, res, max(2, rounds // 4))
            print(
                f"R={r:4d} grid {res:2d}  alone {a * 1e3:6.3f} ms  stacked {s * 1e3:6.3f} ms  "
                f"ratio {a / s:5.2f}x  encode {e * 1e3:5.3f} ms",
                flush=True,
            )


if __name__ == "__main__":
    main()
