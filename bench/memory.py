"""Server memory as runs end: 200 ended runs of 2,000 epochs each, resident size before/after.

    python -m bench.memory [--runs 200] [--epochs 2000] [--database-url URL]

Starts `layerlab serve` (2 workers) on a fresh SQLite database in a temporary folder (or the
given database), warms it up with `--warm-up` runs (16 at once, as in the measured part: the
high-water mark of 16 active runs and the cache of ended ones is reached there), notes the
server process's resident memory (VmRSS, its workers not counted), trains the runs (at most 16
at once), waits until they are written and have left memory, and prints the resident memory
again and the growth per ended run. The target: flat, within a few tens of MB (before the
database, each ended 2,000-epoch run kept ~3 MB in memory: 200 of them, ~600 MB).
"""

from __future__ import annotations

import argparse
import copy
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

import httpx

from server.api.models import SPIRAL_EXAMPLE
from tests import servers

TARGET_MB = 40.0
AT_ONCE = 16


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def design(epochs: int) -> dict:
    doc = copy.deepcopy(SPIRAL_EXAMPLE)
    doc["dataset"]["samples"] = 100
    doc["training"].update(epochs=epochs, batch_size=50)
    return doc


def train(http: httpx.Client, count: int, epochs: int) -> None:
    started, waiting = 0, set()
    while started < count or waiting:
        while started < count and len(waiting) < AT_ONCE:
            response = http.post("/api/runs", json=design(epochs))
            response.raise_for_status()
            waiting.add(response.json()["id"])
            started += 1
        time.sleep(0.5)
        active = {
            r["id"]
            for r in http.get("/api/runs", params={"limit": 500}).json()
            if r["status"] in ("queued", "running", "paused")
        }
        waiting &= active


def settle(http: httpx.Client, timeout: float = 60.0) -> None:
    """Until every write is committed and the ended runs have left memory."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        health = http.get("/api/health").json()
        if not health["database"]["pending"] and health["runs"] <= 16:
            time.sleep(2.0)
            return
        time.sleep(0.5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--epochs", type=int, default=2000)
    parser.add_argument("--warm-up", type=int, default=32)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # stop the server on the way out
    with tempfile.TemporaryDirectory() as state:
        env = {
            "LAYERLAB_STATE_DIR": state,
            "LAYERLAB_DATABASE_URL": args.database_url,
            "LAYERLAB_MAX_RUNS_PER_CLIENT": "64",
        }
        log = Path(state).parent / f"layerlab-memory-{os.getpid()}.log"
        with servers.running(env=env, workers=2, log=log) as process:
            http = process.http
            train(http, args.warm_up, args.epochs)  # imports, caches, the high-water mark
            settle(http)
            before = rss_mb(process.pid)
            t0 = time.monotonic()
            train(http, args.runs, args.epochs)
            settle(http)
            after = rss_mb(process.pid)
            listed = http.get("/api/runs", params={"limit": 1}).headers["X-Total-Count"]
            files = list(Path(state).glob("layerlab.db*"))  # with the WAL file
            size = sum(f.stat().st_size for f in files) / 2**20
            growth = after - before
            print(
                f"runs: {args.runs} x {args.epochs} epochs in {time.monotonic() - t0:.0f} s; "
                f"{listed} listed; SQLite file {size:.1f} MB"
            )
            print(
                f"server resident memory: before {before:.1f} MB, after {after:.1f} MB, "
                f"growth {growth:+.1f} MB (target <= {TARGET_MB:.0f} MB: ratio "
                f"{growth / TARGET_MB:.2f}); {growth * 1024 / args.runs:.0f} KB per ended run"
            )


if __name__ == "__main__":
    main()
