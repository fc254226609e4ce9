"""The GPU benchmarks, ready for a machine with one: runs through the server against plain
PyTorch on the same device, and the class capacity there.

    python -m bench.gpu [--device cuda] [--quick]

1. CNNs (the digits CNN; an MNIST-sized CNN on generated files where MNIST's are absent): each
   trained as a run with a viewer, and in a plain PyTorch loop on the device with the same
   model, data, batch and seed. Printed: the run's speed as a share of the plain loop's (goal:
   at least 0.95x).
2. The tiny spiral MLP, where each step is a handful of small kernels and launch overhead is
   the cost: the same ratio (on CUDA, the plain loop is what CUDA graphs or several steps per
   launch would have to beat).
3. The class capacity benchmark (bench/capacity.py) with the runs on the device.

`--device` defaults to cuda when torch sees a GPU, else cpu; `--quick` trains a few epochs and
measures capacity at one small size, so tests can run the whole script on a CPU machine and it
runs first time where a GPU is lent.
"""

from __future__ import annotations

import argparse
import asyncio
import os

import httpx
import torch

from bench import capacity, overhead
from bench.common import example, server
from server.config import Settings

TARGET = 0.95


def cases(quick: bool) -> dict[str, dict]:
    mnist = {
        **overhead.MNIST_CNN,
        "dataset": dict(overhead.MNIST_CNN["dataset"]),
        "training": dict(overhead.MNIST_CNN["training"]),
    }
    mnist["training"]["epochs"] = 1 if quick else 3
    if quick:
        mnist["dataset"].update(samples=1_000, val_samples=200)
    return {
        "digits CNN": example("digits_cnn", epochs=1 if quick else 20),
        "MNIST-sized CNN": mnist,
        "spiral MLP": example("spiral_mlp", epochs=20 if quick else 300),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    repeat = 1 if args.quick else args.repeat
    torch.set_num_threads(1)  # as in a worker
    name = torch.cuda.get_device_name() if args.device == "cuda" else "cpu"
    print(f"device: {args.device} ({name}); load average {os.getloadavg()[0]:.2f}")
    with overhead.mnist_data_dir() as (data_dir, source):
        settings = Settings(data_dir=data_dir)
        print(f"MNIST-sized CNN trains on {source}")
        with (
            server(workers=1, device=args.device, data_dir=data_dir) as base,
            httpx.Client(base_url=base, trust_env=False, timeout=60.0) as http,
        ):
            ws_base = base.replace("http", "ws")
            for label, doc in cases(args.quick).items():
                doc["training"]["device"] = args.device
                doc["training"]["pace"] = None
                result = overhead.compare(http, ws_base, doc, settings, repeat, args.device)
                goal = f"goal >= {TARGET:.2f}x"
                print(result.line(f"{label} on {args.device}", doc["training"]["epochs"], goal))
    sizes = [4] if args.quick else [25, 50, 100, 200, 400]
    seconds = 3.0 if args.quick else 10.0
    print(f"class capacity on {args.device}:")
    best = 0
    for n in sizes:
        limits = {"max_runs": n + 8, "max_runs_per_client": n + 8}
        with server(workers=2, device=args.device, **limits) as base:
            pids = capacity.server_pids(base)
            if not asyncio.run(capacity.level(base, n, seconds, args.device, pids)):
                break
            best = n
    print(f"largest N that held on {args.device}: {best or 'none'}")


if __name__ == "__main__":
    main()
