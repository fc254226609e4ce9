"""Calibrate LAYERLAB_MAX_STEP_FLOPS: seconds per training step against the FLOPs the check
counts, on one torch thread (as in a worker). Prints GFLOP/s per design and what a step at the
limit costs here (target: one step at the limit <= 0.5 s on one core).

    python -m bench.step_cost [--steps 3]
"""

from __future__ import annotations

import argparse
import time

import torch

from server.config import Settings
from server.engine.cost import flops_text
from server.engine.model import check, parse_experiment
from server.engine.trainer import Trainer

TARGET_S = 0.5
IMAGE = {"dataset": {"name": "digits"}, "training": {"optimizer": "adam", "epochs": 1}}
CASES = {
    "conv 32+64 3x3, batch 128": {
        **IMAGE,
        "model": {
            "layers": [
                {"type": "conv2d", "filters": 32, "kernel_size": 3},
                {"type": "conv2d", "filters": 64, "kernel_size": 3},
                {"type": "flatten"},
                {"type": "dense", "units": 128},
            ]
        },
        "training": {**IMAGE["training"], "batch_size": 128},
    },
    "upsample 4, conv 32 5x5, batch 64": {
        **IMAGE,
        "model": {
            "layers": [
                {"type": "upsample", "scale": 4},
                {"type": "conv2d", "filters": 32, "kernel_size": 5},
                {"type": "flatten"},
            ]
        },
        "training": {**IMAGE["training"], "batch_size": 64},
    },
    "dense 1024x3, batch 512": {
        **IMAGE,
        "model": {
            "layers": [
                {"type": "flatten"},
                {"type": "dense", "units": 1024},
                {"type": "dense", "units": 1024},
                {"type": "dense", "units": 1024},
            ]
        },
        "training": {**IMAGE["training"], "batch_size": 512},
    },
    "lstm 128 on waveform, batch 64": {
        "dataset": {"name": "waveform", "length": 64},
        "model": {"layers": [{"type": "lstm", "units": 128}]},
        "training": {"optimizer": "adam", "epochs": 1, "batch_size": 64},
    },
}


def measure(doc: dict, steps: int, settings: Settings) -> tuple[float, float]:
    """(step FLOPs as checked, seconds per step measured after one warm-up step)."""
    experiment = parse_experiment(doc, settings)
    flops = check(experiment, settings)["step_flops"]
    trainer = Trainer(experiment, settings, device=torch.device("cpu"))
    trainer.train_steps(0)  # one step: allocation and first-call costs
    start = time.perf_counter()
    for _ in range(steps):
        trainer.train_steps(0)
    return flops, (time.perf_counter() - start) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    settings = Settings(max_step_flops=1e15, device="cpu")
    limit = Settings().max_step_flops
    slowest = float("inf")
    for name, doc in CASES.items():
        flops, seconds = measure(doc, args.steps, settings)
        rate = flops / seconds
        slowest = min(slowest, rate)
        print(
            f"{name:36s} {flops_text(flops):>14s}/step {seconds * 1000:8.1f} ms/step "
            f"{rate / 1e9:6.1f} GFLOP/s"
        )
    at_limit = limit / slowest
    print(
        f"a step at LAYERLAB_MAX_STEP_FLOPS ({flops_text(limit)}) costs <= {at_limit:.2f} s "
        f"here at the slowest rate; ratio to the {TARGET_S} s target: {at_limit / TARGET_S:.2f}"
    )


if __name__ == "__main__":
    main()
