"""Time from POST /api/runs to the first epoch record on a viewer (target <= 300 ms).

python -m bench.first_epoch [--runs 10]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import httpx
from websockets.sync.client import connect

from bench.common import example, percentile, server

TARGET_S = 0.300


def first_epoch_s(http: httpx.Client, ws_base: str, doc: dict) -> float:
    start = time.perf_counter()
    run = http.post("/api/runs", json=doc).json()
    with connect(f"{ws_base}/ws/runs/{run['id']}", proxy=None, max_size=None) as ws:
        while True:
            message = json.loads(ws.recv(timeout=30))
            if (message["type"] == "hello" and message["history"]) or message["type"] == "epoch":
                elapsed = time.perf_counter() - start
                break
    http.post(
        f"/api/runs/{run['id']}/control",
        json={"action": "stop"},
        headers={"X-Run-Token": run["token"]},
    )
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    doc = example("spiral_mlp")
    with server(workers=2) as base, httpx.Client(base_url=base, trust_env=False) as http:
        ws_base = base.replace("http", "ws")
        times = [first_epoch_s(http, ws_base, doc) for _ in range(args.runs)]
    median = statistics.median(times)
    print(f"POST /api/runs -> first epoch on a viewer, spiral example, {args.runs} runs:")
    print(
        f"  median {median * 1e3:.0f} ms, p90 {percentile(times, 90) * 1e3:.0f} ms, "
        f"max {max(times) * 1e3:.0f} ms"
    )
    print(f"  median / target ({TARGET_S * 1e3:.0f} ms) = {median / TARGET_S:.2f}")


if __name__ == "__main__":
    main()
