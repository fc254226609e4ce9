"""The memory a school pays for: a server and its idle workers, then each further active run.

    python -m bench.idle_memory [--workers 2] [--runs 40]

Starts `layerlab serve` (the embedded defaults: SQLite in a temporary folder) and prints, for
the server and every process under it (the forkserver, the workers), the resident size (RSS:
counts pages shared between processes once per process) and the proportional set size (PSS:
each shared page split among its sharers, so the sum is what the group really holds).
Then starts one tiny spiral run per worker (what the first run costs once: in the server, the
lazy imports of the first design check, whose FLOP count runs a meta-device backward pass; in
a worker, its first touch of the shared library pages), then `--runs` more at a classroom pace
(20 epochs/s, each watched by nobody: the memory of a run, not of its viewers) and prints the
growth per further active run.
Targets (issue 24): all processes together at most 600 MB PSS idle; each further active tiny
run at most 2 MB.

Measured (shared 2-core machine, load average ~12): before this split, 40 runs after idle
gave 2.61 MB per run, but that included the first run's one-time cost: in the server +73 MB
private for the first POST (FlopCounterMode's imports), in a worker +65 MB RSS of shared
library pages (PSS moved from the forkserver, net ~0). After one warm-up run, 20 further runs
cost the server +2.1 MB and the worker +1.9 MB PSS (/proc smaps_rollup): ~0.2 MB a run. A
trainer of the spiral starter holds ~0.16 MB (tracemalloc + RSS of 40 in one process), and
the server kept each epoch record twice (a dict and its JSON) for as long as the run is
active, the one per-run cost that grows with time: now once, as its JSON (server/runs/
history.py; `python -m bench.history_memory`: 0.55 KB an epoch before, 0.32 KB after, 6.4 KB a
second at 20 epochs/s, bounded by `max_epochs`).
With the split, `--runs 40`, two runs a minute apart: idle 579 and 692 MB PSS (the spread is
between server starts, not runs), the first two runs 130 and 87 MB once, then 0.47 MB per
further active run (target 2).
With the forkserver forked from the server (runs/prefork.py: the server's torch import is the
forkserver's and the workers' pages), quiet machine, `--runs 40`: idle 510 MB PSS (642 just
before, the same way), the first two runs 26 MB once, then 0.43 MB per further active run.
"""

from __future__ import annotations

import argparse
import copy
import os
import tempfile
import time
from pathlib import Path

from server.api.models import SPIRAL_EXAMPLE
from tests import servers

IDLE_TARGET_MB = 600.0
PER_RUN_TARGET_MB = 2.0


def _field(path: Path, name: str) -> float:
    for line in path.read_text().splitlines():
        if line.startswith(name):
            return int(line.split()[1]) / 1024
    return float("nan")


def family(pid: int) -> list[int]:
    """`pid` and every process under it."""
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        for task in Path(f"/proc/{p}/task").iterdir():
            children = (task / "children").read_text().split()
            todo += [int(c) for c in children]
    return found


def measure(pid: int, show: bool) -> float:
    """Total PSS of the family in MB; with `show`, a line per process."""
    total = 0.0
    for p in family(pid):
        cmd = Path(f"/proc/{p}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:60]
        rss = _field(Path(f"/proc/{p}/status"), "VmRSS:")
        pss = _field(Path(f"/proc/{p}/smaps_rollup"), "Pss:")
        total += pss
        if show:
            print(f"  {p:>7} rss {rss:6.0f} MB  pss {pss:6.0f} MB  {cmd}")
    return total


def tiny_run() -> dict:
    doc = copy.deepcopy(SPIRAL_EXAMPLE)
    doc["training"].update(epochs=None, pace=20)
    return doc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as state:
        env = {
            "LAYERLAB_STATE_DIR": state,
            "LAYERLAB_MAX_RUNS_PER_CLIENT": str(args.runs + args.workers + 1),
            "LAYERLAB_MAX_RUNS": str(args.runs + args.workers + 8),
        }
        with servers.running(env=env, workers=args.workers) as server:
            time.sleep(2.0)  # the workers' start-up allocations settle
            print(f"idle: the server and {args.workers} workers")
            idle = measure(server.pid, show=True)
            verdict = "ok" if idle <= IDLE_TARGET_MB else "over"
            print(f"idle total: {idle:.0f} MB PSS (target <= {IDLE_TARGET_MB:.0f}: {verdict})")
            ids = []

            def start(count: int) -> None:
                for _ in range(count):
                    response = server.http.post("/api/runs", json=tiny_run())
                    response.raise_for_status()
                    ids.append(response.json()["id"])
                time.sleep(5.0)  # every run built and training at its pace

            # The first run on each worker pays once for what nothing loaded before it (the
            # server's first design check, a worker's first touch of shared library pages):
            # measured apart, so that the per-run figure is what each further run costs.
            start(args.workers)
            first = measure(server.pid, show=False)
            print(
                f"the first {args.workers} runs (one a worker): {first:.0f} MB PSS, "
                f"{first - idle:.0f} MB once"
            )
            if args.runs == 0:
                return
            start(args.runs)
            print(f"{args.runs} further active paced runs:")
            busy = measure(server.pid, show=True)
            per_run = (busy - first) / args.runs
            print(
                f"{args.runs} further active paced runs: {busy:.0f} MB PSS, {per_run:.2f} MB per "
                f"run (target <= {PER_RUN_TARGET_MB:.0f} MB); load average "
                f"{os.getloadavg()[0]:.1f}"
            )
            for run_id in ids:
                server.http.post(f"/api/runs/{run_id}/control", json={"action": "stop"})


if __name__ == "__main__":
    main()
