"""Designs several test folders share (`import sample_designs`: tests/ is on the path)."""

from __future__ import annotations

# Issue 7.1: 3.56 M parameters, fits the memory estimate, ~87 s per training step on one core:
# the design that froze a shared server, refused by its FLOPs before anything runs.
HEAVY = {
    "dataset": {"name": "digits"},
    "model": {
        "layers": [
            {"type": "upsample", "scale": 8},
            {"type": "conv2d", "filters": 64, "kernel_size": 15},
            {"type": "conv2d", "filters": 64, "kernel_size": 15},
            {"type": "flatten"},
        ]
    },
    "training": {"batch_size": 256, "epochs": 5},
}
