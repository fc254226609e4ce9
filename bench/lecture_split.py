"""Where a lecture's seconds go: each record's delay at each viewer, split into its stages.

The replicas write timing stamps (`LAYERLAB_STREAM_STAMPS`, server/runs/stamps.py) and the
viewers note each arrival (bench/lecture_viewers.py); matched by (replica port, viewer's client
port, epoch), one record's delay at one viewer is the sum of:

- worker -> hub: from the record's `time` (the worker's clock, rounded to the millisecond) to
  the owner's hub publishing it (the worker's pipe and the owner's event loop);
- hub -> mirror: from there to the viewer's replica's hub publishing it (through Redis: the
  owner's bus writer, Redis, the mirror's reader); 0 for viewers of the owner;
- queue: in that viewer's queue until its sender began the send of the message holding it;
- send: `websocket.send_text` (encoding the frame, the transport write, waiting on a full
  buffer);
- client read: from the send's end to the viewer reading it (the kernel, and the viewer
  process's own event loop).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from bench.common import percentile

STAGES = ("worker -> hub", "hub -> mirror", "queue", "send", "client read")


def read_stamps(folder: Path, ports: dict[str, int]) -> tuple[dict, dict]:
    """(published: (port, epoch) -> time, sent: (port, client port, epoch) -> (start, end))
    from each replica's file; `ports`: replica id -> its port."""
    published: dict[tuple[int, int], float] = {}
    sent: dict[tuple[int, int, int], tuple[float, float]] = {}
    for replica, port in ports.items():
        path = folder / f"stamps-{replica}.txt"
        if not path.exists():
            continue
        for line in path.read_text().splitlines():
            fields = line.split()
            if fields[0] == "p":
                published[(port, int(fields[2]))] = float(fields[3])
            elif fields[0] == "s" and fields[1] != "-":
                client, first, count = int(fields[1]), int(fields[2]), int(fields[3])
                times = (float(fields[4]), float(fields[5]))
                for epoch in range(first, first + count):
                    sent[(port, client, epoch)] = times
    return published, sent


def split(arrivals: list[tuple], folder: Path, ports: dict[str, int], owner: int) -> dict:
    """Each stage's delays (seconds) over the matched arrivals, and the stages' mean share of
    the slowest 1% (the records at or past the p99 of the whole delay)."""
    published, sent = read_stamps(folder, ports)
    stages: dict[str, list[float]] = defaultdict(list)
    rows = []
    missing = 0
    for server, client, epoch, arrival, made in arrivals:
        hub = published.get((owner, epoch))
        here = published.get((server, epoch))
        times = sent.get((server, client, epoch))
        if hub is None or here is None or times is None:
            missing += 1
            continue
        start, end = times
        row = (hub - made, here - hub, start - here, end - start, arrival - end)
        rows.append((arrival - made, row))
        for name, value in zip(STAGES, row, strict=True):
            stages[name].append(value)
    tail: dict[str, float] = {}
    if rows:
        cut = percentile([total for total, _ in rows], 99)
        slow = [row for total, row in rows if total >= cut]
        tail = {name: sum(r[i] for r in slow) / len(slow) for i, name in enumerate(STAGES)}
    return {"stages": dict(stages), "tail": tail, "matched": len(rows), "missing": missing}


def print_split(result: dict) -> None:
    stages, tail = result["stages"], result["tail"]
    if not stages:
        print(f"  split: no arrival matched the stamps ({result['missing']} not found)")
        return
    print(
        f"  split of {result['matched']:,} arrivals ({result['missing']:,} unmatched), "
        "p50 / p99 / mean among the slowest 1%, ms:"
    )
    for name in STAGES:
        values = stages[name]
        p50, p99 = percentile(values, 50), percentile(values, 99)
        print(f"    {name:>14}: {p50 * 1e3:8.1f} {p99 * 1e3:8.1f} {tail[name] * 1e3:8.1f}")
