"""bench/lecture.py's viewers, in processes of their own: one asyncio client per process
following its share of the viewers, so the client's own CPU (every message read and parsed,
1,000 viewers) is spread over cores instead of queueing in one event loop. Light imports only
(no torch, no server): a spawned process starts in a fraction of a second.

Each process reports through its pipe: `("ready", None)` once every one of its viewers has
its hello, then `("done", result)` with the delays (seconds from the record's `time` to its
arrival), each arrival as `(server port, client port, epoch, arrival time, record time)` (for
bench/lecture_split.py, which matches them with the server's stamps), the records each viewer
saw, and the process's CPU seconds over the run.
"""

from __future__ import annotations

import asyncio
import json
import time
from multiprocessing.connection import Connection

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

SNAPSHOT_PREFIX = b'{"type":"snapshot"'
VOLUME = ("snapshot_messages", "snapshot_chars", "other_messages", "other_chars")


async def follow(
    url: str, delays: list[float], arrivals: list[tuple], ready: asyncio.Event, volume: dict
) -> int:
    """One viewer to the run's end; the records it saw. `volume`: messages and characters
    received, by type (snapshot or other), added to."""
    count = 0
    try:
        # No opening timeout: a loaded machine accepts 1,000 sockets slowly, and the bench
        # waits for every hello before the run starts anyway.
        async with connect(
            url, max_size=None, compression=None, proxy=None, open_timeout=None
        ) as ws:
            server, port = ws.remote_address[1], ws.local_address[1]
            while True:
                # Bytes: neither decoded nor checked as UTF-8 here (json.loads reads bytes),
                # so the client's own CPU per message, on the replicas' cores, stays small.
                try:
                    text = await ws.recv(decode=False)
                except ConnectionClosed:
                    break
                now = time.time()
                kind = "snapshot" if text.startswith(SNAPSHOT_PREFIX) else "other"
                volume[kind + "_messages"] += 1
                volume[kind + "_chars"] += len(text)
                if kind == "snapshot":  # drawn by a page; not timed here
                    continue
                message = json.loads(text)
                if message["type"] == "hello":
                    count += len(message["history"])
                    ready.set()
                elif message["type"] == "epoch":
                    for record in message["records"]:
                        delays.append(now - record["time"])
                        arrivals.append((server, port, record["epoch"], now, record["time"]))
                        count += 1
                elif message["type"] == "status" and message["status"] in {"finished", "failed"}:
                    break
    except Exception as err:  # counted as a viewer that missed records
        print(f"  a viewer failed: {err!r}", flush=True)
    finally:
        ready.set()
    return count


async def viewers(urls: list[str], pipe: Connection) -> None:
    delays: list[float] = []
    arrivals: list[tuple] = []
    volume: dict[str, int] = dict.fromkeys(VOLUME, 0)
    events = [asyncio.Event() for _ in urls]
    tasks = [
        asyncio.create_task(follow(u, delays, arrivals, e, volume))
        for u, e in zip(urls, events, strict=True)
    ]
    await asyncio.gather(*(e.wait() for e in events))
    cpu = time.process_time()
    volume.update(dict.fromkeys(VOLUME, 0))  # from the resume on (the hellos aside)
    pipe.send(("ready", None))
    seen = await asyncio.gather(*tasks)
    cpu = time.process_time() - cpu
    pipe.send(
        (
            "done",
            {"delays": delays, "arrivals": arrivals, "seen": seen, "cpu": cpu, "volume": volume},
        )
    )


def main(urls: list[str], pipe: Connection) -> None:
    """A spawned process's entry: follow `urls` and report through `pipe`."""
    asyncio.run(viewers(urls, pipe))
    pipe.close()
