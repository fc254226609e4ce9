"""A run's epoch records in server memory: kept twice (a dict and its text, as the hub did)
against once (`server.runs.history.History`: the text, plus each record's epoch and validation
loss as numbers and the newest 64 decoded), measured with tracemalloc in the same run.

    python -m bench.history_memory [--epochs 10000] [--example spiral]

The records are the example's own: its first epochs trained for real, repeated with their
numbers varied (a record's size depends on its keys and digits, not on how it was trained).
Measured on the 2-core machine, the spiral starter (`spiral_mlp`, a 175-byte record), 10,000
epochs (`max_epochs`): twice 0.55 KB an epoch (5.6 MB a run), once 0.32 KB (3.2 MB): 0.57x.
"""

from __future__ import annotations

import argparse
import random
import tracemalloc

from bench.common import example
from server.config import Settings
from server.engine.model import parse_experiment
from server.engine.trainer import Trainer
from server.runs.history import History
from server.runs.messages import dumps, json_safe


def real_records(name: str, count: int) -> list[dict]:
    """`count` records shaped as the example's: a few trained, then varied copies."""
    settings = Settings()
    trainer = Trainer(parse_experiment(example(name, epochs=3), settings), settings)
    while not trainer.finished:
        trainer.train_steps(1.0)
    rng = random.Random(0)
    out = []
    for epoch in range(1, count + 1):
        record = dict(trainer.history[epoch % len(trainer.history)], epoch=epoch)
        for key, value in record.items():
            if isinstance(value, float):
                record[key] = value * rng.uniform(0.5, 1.5)
        out.append(json_safe(record))
    return out


def measure(records: list[dict], keep) -> int:
    texts = [dumps(r) for r in records]
    dicts = [dict(r) for r in records]  # each its own object, as a worker's message decodes
    del records
    tracemalloc.start()
    kept = keep(dicts, texts)
    size, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del kept
    return size


def twice(dicts: list[dict], texts: list[str]):
    history, history_json = [], []
    for record, text in zip(dicts, texts, strict=True):
        history.append(dict(record))
        history_json.append(str(text + " ")[:-1])  # its own copy, as the hub's encode made
    return history, history_json


def once(dicts: list[dict], texts: list[str]) -> History:
    history = History()
    for record, text in zip(dicts, texts, strict=True):
        history.append(dict(record), str(text + " ")[:-1])
    return history


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=10_000)
    parser.add_argument("--example", default="spiral_mlp")
    args = parser.parse_args()
    records = real_records(args.example, args.epochs)
    before = measure(list(records), twice)
    after = measure(list(records), once)
    per = 1024 * args.epochs
    print(f"{args.example}, {args.epochs} epochs, record text {len(dumps(records[-1]))} bytes")
    print(f"  twice (dict + text): {before / per:.2f} KB an epoch, {before / 1e6:.1f} MB a run")
    print(f"  once (History):      {after / per:.2f} KB an epoch, {after / 1e6:.1f} MB a run")
    print(f"  ratio once / twice:  {after / before:.2f}x")


if __name__ == "__main__":
    main()
