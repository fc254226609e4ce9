"""What help flags add to the teacher's dashboard: one class of N students, each with a run in
memory holding H epoch records and a snapshot's layer statistics, dashboard built as the hub
builds it once a second (server/classes/dashboard.py), then with every entry diagnosed
(server/classes/help_flags.py): cold (every run new to the cache) and warm (one new epoch per
run since the last tick, as while training).

Printed: milliseconds per dashboard build (the baseline) and for diagnosing every entry, with
the ratio of the latter to the former.

    python -m bench.class_diagnosis [--students 200] [--history 2000] [--repeat 20]
"""

from __future__ import annotations

import argparse
import json
import time
from types import SimpleNamespace

from server.classes.dashboard import dashboard_message
from server.classes.help_flags import HelpFlags
from server.classes.registry import Classroom, Member, Student
from server.runs.hub import RunChannel

EXPERIMENT = {
    "dataset": {"name": "spiral"},
    "model": {"layers": [{"type": "dense", "units": 8, "activation": "relu"}] * 3},
    "training": {"optimizer": "adam", "learning_rate": 0.01},
}


def record(epoch: int) -> dict:
    loss = 1.0 / (1 + 0.01 * epoch)
    return {
        "epoch": epoch,
        "loss": loss,
        "val_loss": loss * 1.1,
        "metrics": {"accuracy": 0.8, "val_accuracy": 0.78},
        "time": float(epoch),
    }


def layers_text(epoch: int) -> str:
    hist = {"lo": 0.0, "hi": 2.0, "counts": [40] + [2] * 29}
    layers = [
        {"index": i, "type": "dense", "mean": 0.3, "std": 0.4, "hist": hist, "grad_norm": 0.1}
        for i in range(3)
    ]
    layers.append({"index": 3, "type": "head", "grad_norm": 0.2, "hist": hist})
    return json.dumps({"epoch": epoch, "layers": layers})


def build(students: int, history: int):
    room = Classroom("BEN-CHM", "bench", "hash", 0.0)
    runs, members = {}, []
    for i in range(students):
        s = Student(f"s{i:04d}", room.code, f"Student {i}", f"t{i}", float(i))
        room.students[s.id] = s
        channel = RunChannel(f"r{i:04d}", {})
        channel.status = "running"
        channel.history = [record(e) for e in range(1, history + 1)]
        channel.epoch = history
        channel.layer_history = [layers_text(history)]
        runs[channel.id] = SimpleNamespace(
            id=channel.id, experiment=EXPERIMENT, channel=channel, created=float(i)
        )
        members.append(Member(channel.id, room.code, s.id))
    return room, runs, members


def view(runs):
    def lookup(run_id: str):
        run = runs.get(run_id)
        if run is None:
            return None
        c = run.channel
        return SimpleNamespace(
            id=run.id,
            status=c.status,
            epoch=c.epoch,
            experiment=run.experiment,
            history=c.history,
            worker=None,
            created=run.created,
        )

    return lookup


def timed(fn, repeat: int) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - start) / repeat * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=200)
    parser.add_argument("--history", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    room, runs, members = build(args.students, args.history)
    lookup = view(runs)

    def baseline():
        dashboard_message(room, members, lookup)

    rows = dashboard_message(room, members, lookup)["students"]

    def cold():  # every run new to the cache
        HelpFlags().annotate(room.code, rows, runs.get)

    warm_flags = HelpFlags()
    warm_flags.annotate(room.code, rows, runs.get)

    def warm():  # one new epoch per run since the last tick, as while training
        for run in runs.values():
            c = run.channel
            c.epoch += 1
            c.history.append(record(c.epoch))
        warm_flags.annotate(room.code, rows, runs.get)

    def still():  # nothing new since the last tick (paused or ended runs): all cached
        warm_flags.annotate(room.code, rows, runs.get)

    base_ms = timed(baseline, args.repeat)
    cold_ms = timed(cold, args.repeat)
    warm_ms = timed(warm, args.repeat)
    still_ms = timed(still, args.repeat)
    print(f"{args.students} students, {args.history} records each, {args.repeat} builds")
    print(f"dashboard build (baseline):        {base_ms:8.2f} ms")
    for label, ms in (
        ("cold", cold_ms),
        ("one new epoch each", warm_ms),
        ("nothing new", still_ms),
    ):
        print(f"diagnosis of every entry, {label + ':':19}{ms:8.2f} ms  ({ms / base_ms:.3f}x)")


if __name__ == "__main__":
    main()
