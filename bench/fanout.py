"""Fan-out: one run, many WebSocket viewers on loopback; delay from an epoch's end (the
worker's clock, `record.time`) to its arrival at each viewer. Target: p99 <= 100 ms.

    python -m bench.fanout [--viewers 200] [--epochs 300]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

import httpx
from websockets.asyncio.client import connect

from bench.common import example, percentile, server

TARGET_P99_S = 0.100
SNAPSHOT_PREFIX = '{"type":"snapshot"'


async def viewer(url: str, delays: list[float], counts: list[int], ready: asyncio.Event) -> None:
    async with connect(url, max_size=None, compression=None, proxy=None) as ws:
        ready.set()
        seen = 0
        async for text in ws:
            now = time.time()
            if text.startswith(SNAPSHOT_PREFIX):
                counts[1] += 1
                continue
            message = json.loads(text)
            if message["type"] == "hello":
                seen += len(message["history"])
            elif message["type"] == "epoch":
                for record in message["records"]:
                    delays.append(now - record["time"])
                    seen += 1
            elif message["type"] == "status" and message["status"] == "finished":
                break
        counts[0] += seen


async def run(base: str, viewers: int, epochs: int) -> None:
    doc = example("spiral_mlp", epochs=epochs)
    async with httpx.AsyncClient(base_url=base, trust_env=False) as http:
        run = (await http.post("/api/runs", json=doc)).json()
        control = f"/api/runs/{run['id']}/control"
        headers = {"X-Run-Token": run["token"]}
        await http.post(control, json={"action": "pause"}, headers=headers)
        url = base.replace("http", "ws") + f"/ws/runs/{run['id']}"
        delays: list[float] = []
        counts = [0, 0]
        events = [asyncio.Event() for _ in range(viewers)]
        tasks = [asyncio.create_task(viewer(url, delays, counts, e)) for e in events]
        await asyncio.gather(*(e.wait() for e in events))
        started = time.perf_counter()
        await http.post(control, json={"action": "resume"}, headers=headers)
        await asyncio.gather(*tasks)
        wall = time.perf_counter() - started
    p50, p99 = percentile(delays, 50), percentile(delays, 99)
    print(f"one run (spiral example, {epochs} epochs, {wall:.1f} s), {viewers} viewers:")
    print(
        f"  {counts[0]:,} records delivered (expected {viewers * epochs:,}), "
        f"{counts[1]:,} snapshots"
    )
    print(
        f"  epoch end -> arrival: p50 {p50 * 1e3:.1f} ms, p99 {p99 * 1e3:.1f} ms, "
        f"max {max(delays) * 1e3:.1f} ms"
    )
    print(f"  p99 / target ({TARGET_P99_S * 1e3:.0f} ms) = {p99 / TARGET_P99_S:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--viewers", type=int, default=200)
    parser.add_argument("--epochs", type=int, default=300)
    args = parser.parse_args()
    with server(workers=1) as base:
        asyncio.run(run(base, args.viewers, args.epochs))


if __name__ == "__main__":
    main()
