"""Do the starters overfit? Each 2D and table starter trained in process (one torch thread, the
runs' own trainer) for a few thousand epochs, with variants of its training settings: the epoch
where the validation loss is lowest, its value, the value at the end and the final validation
accuracy. static/js/starters.js chooses its settings from these figures.

    python -m bench.starter_overfit [--epochs 2000] [--l2 0,0.001,0.003]
"""

from __future__ import annotations

import argparse
import math

import torch

from server.api.routes_check import validate_experiment
from server.config import Settings
from server.engine.model import parse_experiment
from server.engine.trainer import Diverged, Trainer

SPIRAL = {
    "name": "spiral",
    "samples": 500,
    "noise": 0.1,
    "train_fraction": 0.5,
    "seed": 1,
    "crosses": ["x1", "x2"],
}


def _dense(units: int, activation: str) -> dict:
    return {"type": "dense", "units": units, "activation": activation}


def _adam(**overrides) -> dict:
    return {
        "optimizer": "adam",
        "learning_rate": 0.01,
        "batch_size": 10,
        "epochs": None,
        "seed": 0,
        "device": "auto",
        **overrides,
    }


# id -> experiment, as in starters.js (before this bench chose their regularisation)
STARTERS: dict[str, dict] = {
    "spiral-mlp": {
        "dataset": SPIRAL,
        "model": {"layers": [_dense(32, "tanh"), _dense(32, "tanh")]},
        "training": _adam(),
    },
    "plane-regression": {
        "dataset": {**SPIRAL, "name": "plane"},
        "model": {"layers": [_dense(8, "tanh")]},
        "training": _adam(),
    },
    "iris-mlp": {
        "dataset": {"name": "iris", "train_fraction": 0.8, "seed": 1},
        "model": {"layers": [_dense(16, "relu"), _dense(16, "relu")]},
        "training": _adam(batch_size=16),
    },
}


def measure(doc: dict, epochs: int, settings: Settings) -> str:
    exp = validate_experiment({**doc, "training": {**doc["training"], "epochs": epochs}}, settings)[
        0
    ]
    trainer = Trainer(parse_experiment(exp, settings), settings)
    best, best_epoch, last, acc = math.inf, 0, math.nan, math.nan
    try:
        for epoch in range(1, epochs + 1):
            record = trainer.train_epoch()
            last = record.get("val_loss", math.nan)
            acc = record.get("metrics", {}).get("val_accuracy", math.nan)
            if last < best:
                best, best_epoch = last, epoch
    except Diverged:
        return f"diverged at epoch {trainer.epoch}"
    return f"best val loss {best:.4f} at epoch {best_epoch}, at {epochs}: {last:.4f} (val accuracy {acc:.3f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("starters", nargs="*", default=list(STARTERS))
    parser.add_argument("--epochs", type=int, default=2000)
    parser.add_argument("--l2", default="0,0.001,0.003", help="L2 values to try")
    args = parser.parse_args()
    torch.set_num_threads(1)
    settings = Settings(device="cpu")
    for sid in args.starters:
        for l2 in (float(v) for v in args.l2.split(",")):
            doc = STARTERS[sid]
            doc = {**doc, "training": {**doc["training"], "l2": l2}}
            print(f"{sid:18s} l2={l2:<7g} {measure(doc, args.epochs, settings)}", flush=True)


if __name__ == "__main__":
    main()
