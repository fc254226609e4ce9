"""Engine overhead: a model trained as a run (worker, time slicing, probes, a viewer attached)
against the same model, data and seed in a plain PyTorch loop with the same threads (one, as
in a worker). Printed per case: both wall times and the run's speed as a share of the plain
loop's epochs per second. Target: at least 0.95x for the CNNs (the issue's "PyTorch's own
speed"); the tiny spiral MLP is far above 1x because the run takes the compiled fast path.

The MNIST-sized CNN trains on the real MNIST files where `LAYERLAB_DATA_DIR` has them, and
otherwise on generated files of the same shape (bench/mnist_like.py), so it runs offline.

    python -m bench.overhead [--repeat 15] [--only digits]

Measured on a quiet 2-core machine (load average 0.1-0.8), five runs: the digits CNN 0.87x,
0.93x, 0.89x, 0.92x, 0.89x (`--repeat 5`) the plain loop's speed (target 0.95x: not met); the
MNIST-sized CNN 0.97x, 0.95x, 0.95x. The digits run is 20 epochs in ~1.2 s, so its start
counts: POST (the design check) 16-21 ms, the worker's build to "running" 10-25 ms more, and
its first epoch 60-70 ms (a throwaway timeline script over the WebSocket). The Trainer alone,
in one process without the server, made 0.94x, 0.99x, 0.97x of the plain loop.
Then (an AMD EPYC, load average 0.6-1.0): the check's FLOP count kept per network (it was
~13 ms of the POST's 16-21: now 7-10 ms), the probes' histograms binned in NumPy (a digits
CNN probe 4.8 -> ~3.5 ms), still frames 2% of a run's wall time instead of 5%: `--only digits
--repeat 15` twice: 0.91x (pairs 0.82-1.06x) and 0.92x (0.75-1.28x), the run's training
alone 0.95x and 0.96x of the plain loop, and 65 and 69 ms outside it (POST ~8 ms, build ~10,
6-7 frames of ~3.5 ms, the first and last among them). This machine's speed drifts more than
the gap being measured: the plain loop alone took 1.37-1.80 s of CPU time within a minute,
never waiting (CPU time equalled wall time), and the trainer's epochs against the plain
loop's, alternated in one process 30 times (a throwaway script), were 0.98-0.99x while its
20-epoch runs against the plain loop's came out 0.94x and then 1.03x (medians of 10-12).
So the digits CNN's 0.95x is not shown here: the run's ~65 ms outside training is ~4.5% of
its 1.4 s, and its training is within ~2% of the plain loop's.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import torch
import torch.nn.functional as F
from websockets.sync.client import connect

from bench.common import example, server
from bench.mnist_like import write_mnist_like
from server.config import Settings
from server.engine.datasets.mnist_files import find_files
from server.engine.model import build_model, parse_experiment, plan

TARGET = 0.95  # the run's epochs per second over the plain loop's, for the CNNs
MNIST_CNN = {
    "dataset": {"name": "mnist", "samples": 10_000, "val_samples": 2_000, "seed": 1},
    "model": {
        "layers": [
            {"type": "conv2d", "filters": 16, "kernel_size": 3, "activation": "relu"},
            {"type": "maxpool2d", "pool_size": 2},
            {"type": "conv2d", "filters": 32, "kernel_size": 3, "activation": "relu"},
            {"type": "maxpool2d", "pool_size": 2},
            {"type": "flatten"},
            {"type": "dense", "units": 64, "activation": "relu"},
        ]
    },
    "training": {
        "optimizer": "adam",
        "learning_rate": 0.003,
        "batch_size": 64,
        "epochs": 2,
        "seed": 0,
        "device": "cpu",
    },
}
CASES = {
    "digits CNN": example("digits_cnn", epochs=20),
    "MNIST-sized CNN": MNIST_CNN,
    "spiral MLP": example("spiral_mlp", epochs=150),
}


@contextlib.contextmanager
def mnist_data_dir():
    """The data_dir holding MNIST: the configured one if it has the files, else generated."""
    settings = Settings()
    if len(find_files("mnist", settings)) == 4:
        yield settings.data_dir, "the MNIST files"
        return
    with tempfile.TemporaryDirectory() as folder:
        yield write_mnist_like(Path(folder)), "generated MNIST-shaped files"


def plain_loop(doc: dict, settings: Settings, device: str = "cpu") -> float:
    """The same training in the plainest PyTorch: batches, backward, step, then validation
    (on `device`, data and model moved there first, as the trainer does)."""
    start = time.perf_counter()
    experiment = parse_experiment(doc, settings)
    t = experiment.training
    p = plan(experiment, settings)
    torch.manual_seed(t.seed)
    model = build_model(p).to(device)
    # fused=True as in the engine's trainer, so the ratio measures overhead, not the kernel.
    optimizer = {"adam": torch.optim.Adam, "sgd": torch.optim.SGD}[t.optimizer](
        model.parameters(), lr=t.learning_rate, fused=True
    )
    x_train, y_train = p.data.x_train.to(device), p.data.y_train.to(device)
    x_val, y_val = p.data.x_val.to(device), p.data.y_val.to(device)
    n = x_train.shape[0]
    generator = torch.Generator().manual_seed(t.seed + 1_000_003)
    for _ in range(t.epochs):
        model.train()
        perm = torch.randperm(n, generator=generator).to(device)
        total = 0.0
        for i in range(0, n, t.batch_size):
            idx = perm[i : i + t.batch_size]
            loss = F.cross_entropy(model(x_train[idx]), y_train[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += loss.item()
        model.eval()
        with torch.no_grad():
            out = model(x_val)
            F.cross_entropy(out, y_val).item()
            (out.argmax(1) == y_val).float().mean().item()
    return time.perf_counter() - start


@dataclass
class RunTimes:
    """One run through the server, seen from an attached viewer."""

    wall: float  # POST /api/runs to `finished`
    training: float  # the trainer's own time in the worker (its last record's `elapsed`)
    epochs: int
    snapshots: int

    @property
    def outside(self) -> float:
        """Seconds besides training: the POST, the build, frames, messages, the end."""
        return self.wall - self.training


def as_run(http: httpx.Client, ws_base: str, doc: dict) -> RunTimes:
    """Train `doc` as a run with a viewer attached, timed from POST to `finished`."""
    start = time.perf_counter()
    run = http.post("/api/runs", json=doc).json()
    epochs = snapshots = 0
    training = 0.0
    with connect(f"{ws_base}/ws/runs/{run['id']}", proxy=None, max_size=None) as ws:
        while True:
            message = json.loads(ws.recv(timeout=120))
            records = message.get("records") or message.get("history") or []
            if message["type"] in ("epoch", "hello") and records:
                epochs += len(records)
                training = records[-1]["elapsed"]
            elif message["type"] == "snapshot":
                snapshots += 1
            elif message["type"] == "status" and message["status"] in ("finished", "failed"):
                if message["status"] == "failed":
                    raise SystemExit(f"the run failed: {message.get('message')}")
                break
    return RunTimes(time.perf_counter() - start, training, epochs, snapshots)


@dataclass
class Comparison:
    """A case's repeats: each run timed against a plain loop beside it."""

    plain: list[float]
    runs: list[RunTimes]

    @property
    def ratios(self) -> list[float]:
        return sorted(p / r.wall for p, r in zip(self.plain, self.runs, strict=True))

    @property
    def speed(self) -> float:
        """The median of the paired ratios: the run's speed as a share of the plain loop's."""
        return statistics.median(self.ratios)

    def line(self, name: str, epochs: int, goal: str) -> str:
        p = statistics.median(self.plain)
        r = statistics.median(run.wall for run in self.runs)
        training = statistics.median(
            p / run.training for p, run in zip(self.plain, self.runs, strict=True)
        )
        outside = statistics.median(run.outside for run in self.runs)
        shots = sum(run.snapshots for run in self.runs) // len(self.runs)
        lo, hi = self.ratios[0], self.ratios[-1]
        return (
            f"{name}: {epochs} epochs, plain loop {p:.2f} s, as a run with a viewer {r:.2f} s "
            f"({shots} snapshots/run): speed {self.speed:.2f}x the plain loop's "
            f"(median of {len(self.runs)} pairs, {lo:.2f}-{hi:.2f}x; {goal}); "
            f"its training alone {training:.2f}x, {outside * 1000:.0f} ms outside it"
        )


def compare(
    http: httpx.Client,
    ws_base: str,
    doc: dict,
    settings: Settings,
    repeat: int,
    device: str = "cpu",
) -> Comparison:
    """`repeat` pairs of the plain loop and the run, after one pair not counted: the first of
    each loads the data and warms torch (4.5 s and 2.7 s for the digits CNN, against ~1.4 s
    after). Paired, and each pair in the other order from the one before, because this
    machine's speed drifts: the plain loop alone took 1.37-1.80 s of CPU time within a minute
    (never waiting: CPU time equalled wall time), more than the overhead measured."""
    plain: list[float] = []
    runs: list[RunTimes] = []
    for i in range(repeat + 1):
        if i % 2:
            run = as_run(http, ws_base, doc)
            p = plain_loop(doc, settings, device)
        else:
            p = plain_loop(doc, settings, device)
            run = as_run(http, ws_base, doc)
        assert run.epochs == doc["training"]["epochs"], run.epochs
        if i:
            plain.append(p)
            runs.append(run)
    return Comparison(plain, runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--only", default="", help="run only cases whose name contains this")
    args = parser.parse_args()
    torch.set_num_threads(1)  # as in a worker
    print(f"load average before: {os.getloadavg()[0]:.2f} (2-core machine: quiet below ~0.3)")
    with mnist_data_dir() as (data_dir, source):
        settings = Settings(data_dir=data_dir)
        print(f"MNIST-sized CNN trains on {source}")
        with (
            server(workers=1, data_dir=data_dir) as base,
            httpx.Client(base_url=base, trust_env=False, timeout=60.0) as http,
        ):
            ws_base = base.replace("http", "ws")
            for name, doc in CASES.items():
                if args.only.lower() not in name.lower():
                    continue
                goal = f"target >= {TARGET:.2f}x" if "CNN" in name else "the fast path"
                result = compare(http, ws_base, doc, settings, args.repeat)
                print(result.line(name, doc["training"]["epochs"], goal), flush=True)


if __name__ == "__main__":
    main()
