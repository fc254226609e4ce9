"""The Ray backend against the local one, on the same runs: the overhead as a ratio of wall
times, and the time from POST /api/runs to the first epoch on a viewer for each.

python -m bench.ray_backend [--runs 8] [--epochs 200] [--first 15] [--rounds 3] [--baseline DIR]

Each backend serves in a `layerlab serve` subprocess with two workers (`LAYERLAB_BACKEND=ray`
with an empty `LAYERLAB_RAY_ADDRESS`: the server starts a local Ray of its own, no dashboard).
The same `--runs` spiral runs (the example, with `--epochs`) start together; the wall time is
from the first POST to the last run's final status (every epoch record streamed to a viewer).
Both servers are up together and measured in turns (a first epoch on one, then on the other; a
round on one, then on the other): this machine's other load comes and goes within a minute,
and measured one server after the other it fell on one backend's samples and not the other's.
`--baseline DIR` measures another source tree's pair first (`git archive REV | tar -x -C DIR`;
its Ray actors run that tree too: they inherit the server's PYTHONPATH and folder).
Needs the extra: pip install -e '.[ray]'. Every round's wall time is printed: the spread is
the variance the issue asks about.

Measured on the shared 2-core machine (load average 10-17; `--rounds 3 --first 5`), one run
after the other:
- before (actors loaded the compiled kernel lazily, beside their first runs): ray rounds
  25.05, 12.23, 15.04 s against local 14.68, 14.16, 13.48 (best 0.91x); POST -> first epoch
  median 423 ms against 231 (1.83x), max 1,531 ms. An earlier run at load ~11: 1.04x, 1.34x.
  The slow first round and the slow first epochs are the kernel's import holding the GIL.
- after (ray_actor.py: the kernel loaded before "ready", as the forkserver does): ray rounds
  4.21, 4.00, 5.33 s against local 7.02, 11.13, 6.41 (best 0.62x); first epoch median 44 ms
  against 138 (0.32x), max 343 ms. The local pool's own rounds vary as much on this machine.

Why POST -> first epoch varied (1.1x-1.8x with the same code): the first epoch reaches the
server in 25-45 ms on either backend, of which the poll's linger (POLL_LINGER_S, 20 ms) was
up to half. The linger began at the run's first message ("accepted", 2-3 ms after the POST),
so an epoch sent within 20 ms of it waited for the rest of those 20 ms, and one sent just after
a poll returned waited a whole second linger (begun by its frame or its "running" status),
further stretched by the training thread holding the actor's GIL: the delay was bimodal, and a
median of 5 fell on either mode. Timestamps in the actor and in the server (a throwaway script
driving RayBackend directly, 20 runs one at a time, the parent commit then this one, load
average 12-22): from the actor's sending the epoch to the server's receiving it, median
10.6 ms (p90 29, max 129) before, 2.1 ms (p90 14, max 93) after; the rest of the first epoch
(the command's Ray call, 1.5-2 ms against 0.5 ms for a pipe; building the trainer, 9-17 ms;
its first slice) is the same work on both backends and varies with the machine's load.
`--rounds 3` runs of this bench with the backends one after the other (local, the parent
069f34e's ray, this tree's ray, in one run): first epoch 2.93x -> 1.51x (ray 128 -> 66 ms
against local 44, load 5-11, 9 samples), 1.34x -> 1.33x (37 -> 37 ms against 28, load
3.6-5.7, 9 samples), 0.92x -> 0.98x (41 -> 44 ms against 45, p90 78 -> 81, load 3-10, 15
samples); the parent alone: 1.77x (44 against 25, load 4.7, 5 samples, max 81). With the two
backends in turns (`--first 15 --baseline` = parent 069f34e, load 6-12): parent
1.03x (ray 73 ms, p90 201, against local 71), this 0.89x (ray 44 ms, p90 111, against 49);
wall time 0.57x and 0.89x. Again (load 16 -> 7 during the parent's pair, 7-8 during this
one's): parent 1.21x (ray 71 ms, p90 225, max 255, against 59), this 1.02x (ray 41 ms, p90
46, max 56, against 40); wall time 0.78x and 0.97x. At such loads both medians move by tens
of ms between runs: since the fix the goal (1.5x) held in every run but one (1.51x, the
backends one after the other at load 11), and the machine's load, not the backend, sets most
of the spread that is left.
On a quiet machine (load average 0.4-2.0), three runs of `--rounds 3 --first 15` one after the
other: wall time 1.06x, 1.05x, 0.99x (goal 1.1x); POST -> first epoch 1.37x, 1.32x, 1.28x
(ray 39-41 ms against local 30-31; goal 1.5x). Rounds varied by 0.9 s within one backend
(local 3.14, 3.18, 2.23 s) and by less between the backends' best.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from websockets.sync.client import connect

from bench.common import example, percentile, server
from bench.first_epoch import first_epoch_s

WORKERS = 2
BACKENDS = ("local", "ray")


def serve(backend: str, src: Path | None = None) -> contextlib.AbstractContextManager[str]:
    """A server on `backend` in a subprocess (Ray's start-up can take half a minute here),
    from another source tree with `src`; stopped gracefully: the server shuts its own Ray
    down."""
    return server(WORKERS, timeout=300, src=src, backend=backend, ray_address="")


def run_to_end(base: str, doc: dict) -> int:
    """Start one run and read its stream to the final status; the epochs it streamed."""
    with httpx.Client(base_url=base, trust_env=False, timeout=60) as http:
        run = http.post("/api/runs", json=doc).json()
    epochs = 0
    with connect(
        f"{base.replace('http', 'ws')}/ws/runs/{run['id']}", proxy=None, max_size=None
    ) as ws:
        for text in ws:
            message = json.loads(text)
            if message["type"] == "hello":
                epochs += len(message["history"])
            elif message["type"] == "epoch":
                epochs += len(message["records"])
            elif message["type"] == "status" and message["status"] in ("finished", "failed"):
                break
    return epochs


def measure(
    runs: int, epochs: int, first: int, rounds: int, src: Path | None = None
) -> dict[str, tuple[list[float], list[float]]]:
    """A local and a Ray server (`src`: from that source tree) up together, measured in turns
    (a first epoch on one, then on the other; a round on one, then on the other), so that the
    machine's other load, which comes and goes, falls on both alike. {backend: (the rounds'
    wall times, the first epochs)}."""
    doc = example("spiral_mlp", epochs=epochs)
    with contextlib.ExitStack() as stack:
        bases = {b: stack.enter_context(serve(b, src if b == "ray" else None)) for b in BACKENDS}
        https = {
            b: stack.enter_context(httpx.Client(base_url=base, trust_env=False, timeout=60))
            for b, base in bases.items()
        }
        firsts: dict[str, list[float]] = {b: [] for b in BACKENDS}
        walls: dict[str, list[float]] = {b: [] for b in BACKENDS}
        for i in range(first + 1):  # the first one warms (the compiled kernel loads)
            for b in BACKENDS:
                took = first_epoch_s(
                    https[b], bases[b].replace("http", "ws"), example("spiral_mlp")
                )
                if i:
                    firsts[b].append(took)
        for _ in range(rounds):  # the best round counts
            for b in BACKENDS:
                start = time.perf_counter()
                with ThreadPoolExecutor(runs) as pool:
                    streamed = list(pool.map(run_to_end, [bases[b]] * runs, [doc] * runs))
                walls[b].append(time.perf_counter() - start)
                assert streamed == [epochs] * runs, f"{b}: epochs streamed {streamed}"
    return {b: (walls[b], firsts[b]) for b in BACKENDS}


def report(label: str, walls: list[float], firsts: list[float], runs: int, epochs: int) -> None:
    wall = min(walls)
    print(
        f"  {label:15s}: {wall:6.2f} s (rounds {', '.join(f'{w:.2f}' for w in walls)}) "
        f"({runs * epochs / wall:,.0f} epochs/s); POST -> first epoch median "
        f"{statistics.median(firsts) * 1e3:.0f} ms, p90 {percentile(firsts, 90) * 1e3:.0f} ms, "
        f"max {max(firsts) * 1e3:.0f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--first", type=int, default=15, help="runs timed to their first epoch")
    parser.add_argument("--rounds", type=int, default=3, help="batches of runs; the best counts")
    parser.add_argument(
        "--baseline",
        type=Path,
        help="a source tree measured first the same way (git archive REV | tar -x -C DIR)",
    )
    args = parser.parse_args()
    trees = {"": None} if args.baseline is None else {"baseline ": args.baseline, "this ": None}
    print(
        f"{args.runs} spiral runs x {args.epochs} epochs at once, {WORKERS} workers, every "
        f"epoch streamed to a viewer (best of {args.rounds} rounds); {args.first} first epochs"
    )
    for label, src in trees.items():
        load = os.getloadavg()[0]
        results = measure(args.runs, args.epochs, args.first, args.rounds, src)
        print(f"{label}tree (load average {load:.2f} -> {os.getloadavg()[0]:.2f}):")
        for backend, (walls, firsts) in results.items():
            report(f"{label}{backend}", walls, firsts, args.runs, args.epochs)
        (local, local_firsts), (ray_, ray_firsts) = results["local"], results["ray"]
        print(f"  ray / local wall time = {min(ray_) / min(local):.2f}")
        ratio = statistics.median(ray_firsts) / statistics.median(local_firsts)
        print(f"  ray / local POST -> first epoch (median) = {ratio:.2f}")


if __name__ == "__main__":
    main()
