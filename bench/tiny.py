"""Tiny networks: a run through the server (worker, fast path, a viewer attached) against a
plain eager PyTorch loop on the same model, data and batch, in the same process run.

    python -m bench.tiny [--repeat 3] [--concurrent 16] [--cold]

C1 circle 4-2 tanh batch 10, C2 spiral six layers of 8 batch 10, C3 spiral 8-8 tanh batch 1
(SGD, learning rate 0.03, 500 samples, half for training, as TensorFlow Playground's defaults).
Prints epochs per second and the ratio to eager (targets: C1, C2 >= 2x, C3 >= 5x), the time
from POST /api/runs to the first epoch on the viewer (target <= 150 ms), the time the compiled
kernel needs to be ready in a fresh process (cached; `--cold`: also from an empty cache), and
the total rate of `--concurrent` runs at once (target: at least the single run's rate).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import httpx
import torch
import torch.nn.functional as F
from websockets.sync.client import connect

from bench.common import ROOT, server
from server.config import Settings
from server.engine.model import build_model, parse_experiment, plan


def config(dataset: str, layers: list[int], batch: int, epochs: int) -> dict:
    return {
        "dataset": {"name": dataset, "samples": 500, "noise": 0.0, "train_fraction": 0.5},
        "model": {"layers": [{"type": "dense", "units": u, "activation": "tanh"} for u in layers]},
        "training": {"optimizer": "sgd", "learning_rate": 0.03, "batch_size": batch,
                     "epochs": epochs, "seed": 0},
    }  # fmt: skip


# name -> (experiment with the run's epochs, eager epochs to time, target ratio)
CASES = {
    "C1 circle 4-2 tanh, batch 10": (config("circle", [4, 2], 10, 6000), 200, 2.0),
    "C2 spiral 6x8 tanh, batch 10": (config("spiral", [8] * 6, 10, 4000), 150, 2.0),
    "C3 spiral 8-8 tanh, batch 1": (config("spiral", [8, 8], 1, 3000), 20, 5.0),
}
FIRST_EPOCH_TARGET_S = 0.150


def eager_rate(doc: dict, epochs: int) -> float:
    """Epochs per second of the plainest eager loop: batches, backward, step, validation."""
    settings = Settings()
    experiment = parse_experiment(doc, settings)
    t = experiment.training
    p = plan(experiment, settings)
    torch.manual_seed(t.seed)
    model = build_model(p)
    optimizer = torch.optim.SGD(model.parameters(), lr=t.learning_rate, fused=True)
    data = p.data
    n = data.x_train.shape[0]
    generator = torch.Generator().manual_seed(t.seed + 1_000_003)
    start = time.perf_counter()
    for _ in range(epochs):
        perm = torch.randperm(n, generator=generator)
        total = 0.0
        for i in range(0, n, t.batch_size):
            idx = perm[i : i + t.batch_size]
            loss = F.cross_entropy(model(data.x_train[idx]), data.y_train[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += loss.item()
        with torch.no_grad():
            out = model(data.x_val)
            F.cross_entropy(out, data.y_val).item()
            (out.argmax(1) == data.y_val).float().mean().item()
    return epochs / (time.perf_counter() - start)


def watch(http: httpx.Client, ws_base: str, doc: dict, out: dict) -> None:
    """Start a run and follow it to the end: time to its first epoch and its epoch rate."""
    start = time.perf_counter()
    run = http.post("/api/runs", json=doc).json()
    epochs, first = 0, None
    with connect(f"{ws_base}/ws/runs/{run['id']}", proxy=None, max_size=None) as ws:
        while True:
            message = json.loads(ws.recv(timeout=300))
            got = message.get("records") or message.get("history") or []
            if got and first is None:
                first = time.perf_counter()
            epochs += len(got)
            if message["type"] == "status" and message["status"] not in ("queued", "running"):
                break
    end = time.perf_counter()
    assert message["status"] == "finished", message
    assert epochs == doc["training"]["epochs"], epochs
    out.update(start=start, first=first, end=end, epochs=epochs,
               first_epoch_s=first - start, rate=(epochs - 1) / (end - first))  # fmt: skip


def concurrent(base: str, doc: dict, runs: int) -> float:
    """Total epochs per second of `runs` runs started at once, each with its viewer."""
    results = [{} for _ in range(runs)]
    ws_base = base.replace("http", "ws")
    with httpx.Client(base_url=base, trust_env=False, timeout=60) as http:
        threads = [threading.Thread(target=watch, args=(http, ws_base, doc, r)) for r in results]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert all("rate" in r for r in results), "a run did not finish"
    wall = max(r["end"] for r in results) - min(r["start"] for r in results)
    return sum(r["epochs"] for r in results) / wall


def kernel_ready_s(cache_dir: str | None) -> float:
    """Seconds a fresh process needs until the compiled kernel is ready (None: the default
    cache, as a worker uses it)."""
    code = (
        "import time; t = time.perf_counter()\n"
        "from server.engine.fastpath import compiler\n"
        f"compiler.warm({cache_dir!r})\n"
        "assert compiler.wait(), compiler.status()\n"
        "print(time.perf_counter() - t)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return float(done.stdout.strip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--concurrent", type=int, default=16)
    parser.add_argument("--cold", action="store_true", help="also time a compile from no cache")
    args = parser.parse_args()
    torch.set_num_threads(1)  # as in a worker
    print(f"compiled kernel ready in a fresh process (cached): {kernel_ready_s(None):.2f} s")
    if args.cold:
        with tempfile.TemporaryDirectory() as empty:
            print(f"compiled kernel ready in a fresh process (cold): {kernel_ready_s(empty):.2f} s")
    with server(workers=2) as base, httpx.Client(base_url=base, trust_env=False) as http:
        ws_base = base.replace("http", "ws")
        for name, (doc, eager_epochs, target) in CASES.items():
            eager, rates, firsts = [], [], []
            for _ in range(args.repeat):
                eager.append(eager_rate(doc, eager_epochs))
                run: dict = {}
                watch(http, ws_base, doc, run)
                rates.append(run["rate"])
                firsts.append(run["first_epoch_s"])
            e, r = statistics.median(eager), statistics.median(rates)
            first = statistics.median(firsts)
            print(
                f"{name}: eager {e:,.0f} epochs/s, as a run with a viewer {r:,.0f} epochs/s: "
                f"{r / e:.1f}x eager (target >= {target:.0f}x); first epoch after "
                f"{first * 1000:.0f} ms (target <= {FIRST_EPOCH_TARGET_S * 1000:.0f} ms)"
            )
            if args.concurrent > 1:
                many = dict(doc, training={**doc["training"], "epochs": max(
                    50, doc["training"]["epochs"] // 4)})  # fmt: skip
                total = concurrent(base, many, args.concurrent)
                print(
                    f"  {args.concurrent} runs at once: {total:,.0f} epochs/s in all, "
                    f"{total / r:.2f}x the single run (target >= 1x)"
                )


if __name__ == "__main__":
    main()
