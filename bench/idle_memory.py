"""The memory a school pays for: a server and its idle workers, then each further active run.

    python -m bench.idle_memory [--workers 2] [--runs 40]

Starts `layerlab serve` (the embedded defaults: SQLite in a temporary folder) and prints, for
the server and every process under it (the forkserver, the workers), the resident size (RSS:
counts pages shared between processes once per process) and the proportional set size (PSS:
each shared page split among its sharers, so the sum is what the group really holds).
Then starts `--runs` tiny spiral runs at a classroom pace (20 epochs/s, each watched by
nobody: the memory of a run, not of its viewers) and prints the growth per active run.
Targets (issue 24): all processes together at most 600 MB PSS idle; each further active tiny
run at most 2 MB.
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
        env = {"LAYERLAB_STATE_DIR": state, "LAYERLAB_MAX_RUNS_PER_CLIENT": str(args.runs + 1)}
        with servers.running(env=env, workers=args.workers) as server:
            time.sleep(2.0)  # the workers' start-up allocations settle
            print(f"idle: the server and {args.workers} workers")
            idle = measure(server.pid, show=True)
            verdict = "ok" if idle <= IDLE_TARGET_MB else "over"
            print(f"idle total: {idle:.0f} MB PSS (target <= {IDLE_TARGET_MB:.0f}: {verdict})")
            ids = []
            for _ in range(args.runs):
                response = server.http.post("/api/runs", json=tiny_run())
                response.raise_for_status()
                ids.append(response.json()["id"])
            time.sleep(5.0)  # every run built and training at its pace
            print(f"{args.runs} active paced runs:")
            busy = measure(server.pid, show=True)
            per_run = (busy - idle) / args.runs
            print(
                f"{args.runs} active paced runs: {busy:.0f} MB PSS, {per_run:.2f} MB per run "
                f"(target <= {PER_RUN_TARGET_MB:.0f} MB); load average {os.getloadavg()[0]:.1f}"
            )
            for run_id in ids:
                server.http.post(f"/api/runs/{run_id}/control", json={"action": "stop"})


if __name__ == "__main__":
    main()
