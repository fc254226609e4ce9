"""What the sweep lessons say, measured: each lesson's sweep trained in process (one torch
thread, the runs' own trainer), printing every variant's validation accuracy at a few epochs.
The lesson texts in static/js/starters.js quote these figures; the designs here are theirs
(tests/browser/test_sweep.py checks that they are the same).

    python -m bench.sweep_lessons [lesson id ...] [--also SETTING=V1,V2]
"""

from __future__ import annotations

import argparse

import torch

from server.config import Settings
from server.engine.model import parse_experiment
from server.engine.trainer import Diverged, Trainer
from server.engine.validation import validate_experiment
from server.sweeps.spec import Axis, expand

CIRCLE = {
    "name": "circle",
    "samples": 500,
    "noise": 0.1,
    "train_fraction": 0.5,
    "seed": 1,
    "crosses": ["x1", "x2"],
}


def _dense(units: int, activation: str) -> dict:
    return {"type": "dense", "units": units, "activation": activation}


def _sgd(lr: float) -> dict:
    return {
        "optimizer": "sgd",
        "learning_rate": lr,
        "batch_size": 10,
        "epochs": None,
        "seed": 0,
        "device": "auto",
    }


# id -> (experiment, sweep), as in starters.js
LESSONS: dict[str, tuple[dict, dict]] = {
    "sweep-data-needed": (
        {
            "dataset": {**CIRCLE, "name": "spiral"},
            "model": {"layers": [_dense(32, "tanh"), _dense(32, "tanh")]},
            "training": {**_sgd(0.01), "optimizer": "adam"},
        },
        {
            "axes": [{"setting": "data_fraction", "values": [0.05, 0.1, 0.25, 0.5, 1]}],
            "epochs": 150,
        },
    ),
    "sweep-learning-rate": (
        {
            "dataset": CIRCLE,
            "model": {"layers": [_dense(8, "tanh"), _dense(8, "tanh")]},
            "training": _sgd(0.03),
        },
        {"axes": [{"setting": "learning_rate", "values": [0.003, 0.03, 0.3, 3, 10]}], "epochs": 60},
    ),
    "sweep-depth-activation": (
        {
            "dataset": CIRCLE,
            "model": {"layers": [_dense(8, "sigmoid"), _dense(8, "sigmoid")]},
            "training": _sgd(0.1),
        },
        {
            "axes": [
                {"setting": "layers", "values": [1, 2, 4, 6]},
                {"setting": "activation", "values": ["sigmoid", "relu"]},
            ],
            "epochs": 60,
        },
    ),
}


def run(lesson: str, also: list[Axis], settings: Settings) -> None:
    experiment, sweep = LESSONS[lesson]
    doc = {**experiment, "training": {**experiment["training"], "epochs": sweep["epochs"]}}
    base = validate_experiment(doc, settings)[0]
    axes = [Axis(**a) for a in sweep["axes"]] + also
    print(f"{lesson}: {' x '.join(a.setting for a in axes)}, {sweep['epochs']} epochs")
    epochs = sweep["epochs"]
    marks = sorted({5, epochs // 3, epochs})
    for variant in expand(base, axes):
        trainer = Trainer(parse_experiment(variant.experiment, settings), settings)
        seen = []
        try:
            for epoch in range(1, epochs + 1):
                record = trainer.train_epoch()
                if epoch in marks:
                    seen.append(f"{epoch}: {record['metrics'].get('val_accuracy', 0):.3f}")
        except Diverged:
            seen.append(f"diverged at epoch {trainer.epoch}")
        print(f"  {variant.label:40s} val_accuracy at epoch {', '.join(seen)}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lessons", nargs="*", default=list(LESSONS))
    parser.add_argument("--also", action="append", default=[], help="a second axis: units=4,32")
    args = parser.parse_args()
    torch.set_num_threads(1)
    settings = Settings(device="cpu")
    also = []
    for text in args.also:
        setting, values = text.split("=", 1)
        parsed = [v if v.isalpha() else float(v) if "." in v else int(v) for v in values.split(",")]
        also.append(Axis(setting=setting, values=parsed))
    for lesson in args.lessons:
        run(lesson, also, settings)


if __name__ == "__main__":
    main()
