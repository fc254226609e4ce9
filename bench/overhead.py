"""Engine overhead: a model trained as a run (worker, time slicing, probes, a viewer attached)
against the same model, data and seed in a plain PyTorch loop. Target: <= 1.10x wall time.

    python -m bench.overhead [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import httpx
import torch
import torch.nn.functional as F
from websockets.sync.client import connect

from bench.common import example, server
from server.config import Settings
from server.engine.model import build_model, parse_experiment, plan

TARGET = 1.10
CASES = {
    "digits CNN": example("digits_cnn", epochs=20),
    "spiral MLP": example("spiral_mlp", epochs=150),
}


def plain_loop(doc: dict) -> float:
    """The same training in the plainest PyTorch: batches, backward, step, then validation."""
    start = time.perf_counter()
    settings = Settings()
    experiment = parse_experiment(doc, settings)
    t = experiment.training
    p = plan(experiment, settings)
    torch.manual_seed(t.seed)
    model = build_model(p)
    # fused=True as in the engine's trainer, so the ratio measures overhead, not the kernel.
    optimizer = {"adam": torch.optim.Adam, "sgd": torch.optim.SGD}[t.optimizer](
        model.parameters(), lr=t.learning_rate, fused=True
    )
    data = p.data
    n = data.x_train.shape[0]
    generator = torch.Generator().manual_seed(t.seed + 1_000_003)
    for _ in range(t.epochs):
        model.train()
        perm = torch.randperm(n, generator=generator)
        total = 0.0
        for i in range(0, n, t.batch_size):
            idx = perm[i : i + t.batch_size]
            loss = F.cross_entropy(model(data.x_train[idx]), data.y_train[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += loss.item()
        model.eval()
        with torch.no_grad():
            out = model(data.x_val)
            F.cross_entropy(out, data.y_val).item()
            (out.argmax(1) == data.y_val).float().mean().item()
    return time.perf_counter() - start


def as_run(http: httpx.Client, ws_base: str, doc: dict) -> tuple[float, int, int]:
    """Wall time from POST /api/runs to `finished` on an attached viewer."""
    start = time.perf_counter()
    run = http.post("/api/runs", json=doc).json()
    epochs = snapshots = 0
    with connect(f"{ws_base}/ws/runs/{run['id']}", proxy=None, max_size=None) as ws:
        while True:
            message = json.loads(ws.recv(timeout=120))
            if message["type"] == "epoch":
                epochs += len(message["records"])
            elif message["type"] == "hello":
                epochs += len(message["history"])
            elif message["type"] == "snapshot":
                snapshots += 1
            elif message["type"] == "status" and message["status"] == "finished":
                break
    return time.perf_counter() - start, epochs, snapshots


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)  # as in a worker
    with server(workers=1) as base, httpx.Client(base_url=base, trust_env=False) as http:
        ws_base = base.replace("http", "ws")
        for name, doc in CASES.items():
            plain, runs, shots = [], [], 0
            for _ in range(args.repeat):
                plain.append(plain_loop(doc))
                elapsed, epochs, snapshots = as_run(http, ws_base, doc)
                assert epochs == doc["training"]["epochs"], epochs
                runs.append(elapsed)
                shots += snapshots
            p, r = statistics.median(plain), statistics.median(runs)
            print(
                f"{name}: {doc['training']['epochs']} epochs, plain loop {p:.2f} s, "
                f"as a run with a viewer {r:.2f} s ({shots // args.repeat} snapshots/run): "
                f"{r / p:.2f}x (target <= {TARGET:.2f}x)"
            )


if __name__ == "__main__":
    main()
