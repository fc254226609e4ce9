"""A class of 200 on this machine: 200 students joined, each with their class page open (and a
run training at a pace), the teacher's dashboard and the race board open. Measured:

- the dashboard's update rate (messages a second at the teacher's page; goal >= 1/s) and the
  race board's (capped by LAYERLAB_CLASS_RACE_INTERVAL_S);
- the time for a teacher's action (spotlight, push, lock) to reach every page: from just
  before the HTTP call to the arrival of its `state` message, on each of the 202 pages;
  p50/p99 against the goal (1 s), and against a baseline measured first in the same run (the
  same actions in a class of one student, one page).

All clients live in this one process (one event loop), so their own delay is included: the
numbers are an upper bound of what 200 separate browsers would see.

    python -m bench.class_scale [--students 200] [--training 200] [--pace 4] [--actions 12]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

import httpx
from websockets.asyncio.client import connect

from bench.common import example, percentile, server

ACTION_GOAL_S = 1.0
DASHBOARD_GOAL_PER_S = 1.0


class Page:
    """One class socket: the arrival time of every `state` message, by its change."""

    def __init__(self, ws_base: str, code: str, role: str, token: str, view: str = ""):
        self.url = f"{ws_base}/ws/classes/{code}?{role}={token}{view}"
        self.arrivals: list[tuple[float, str]] = []
        self.dashboards: list[float] = []
        self.races: list[float] = []
        self.ready = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> None:
        async with connect(
            self.url, max_size=None, compression=None, proxy=None, open_timeout=60
        ) as ws:
            while not stop.is_set():
                try:
                    text = await asyncio.wait_for(ws.recv(), 0.5)
                except TimeoutError:
                    continue
                now = time.time()
                kind = text[:40]  # '{"type": "state", ...': a cheap look before parsing
                if '"hello"' in kind:
                    self.ready.set()
                elif '"state"' in kind:
                    self.arrivals.append((now, json.loads(text)["change"]))
                elif '"dashboard"' in kind:
                    self.dashboards.append(now)
                elif '"race"' in kind:
                    self.races.append(now)


async def actions(http, code: str, headers: dict, run_ids: list[str], pages, count: int):
    """`count` teacher actions in turn (spotlight, push, lock...); each one's delay to every
    page (seconds), waiting for all pages to have it before the next."""
    doc = example("spiral_mlp", epochs=None)
    delays: list[float] = []
    for i in range(count):
        kind = ("spotlight", "push", "lock")[i % 3]
        before = [len(p.arrivals) for p in pages]
        started = time.time()
        if kind == "spotlight":
            body = {"run_id": run_ids[i % len(run_ids)] if run_ids else None}
            response = await http.post(f"/api/classes/{code}/spotlight", json=body, headers=headers)
        elif kind == "push":
            response = await http.post(
                f"/api/classes/{code}/push", json={"experiment": doc}, headers=headers
            )
        else:
            body = {"locked": i % 2 == 0}
            response = await http.post(f"/api/classes/{code}/lock", json=body, headers=headers)
        assert response.status_code == 200, response.text
        deadline = time.monotonic() + 30
        while any(len(p.arrivals) <= n for p, n in zip(pages, before, strict=True)):
            if time.monotonic() > deadline:
                raise RuntimeError(f"a {kind} did not reach every page in 30 s")
            await asyncio.sleep(0.005)
        delays += [p.arrivals[n][0] - started for p, n in zip(pages, before, strict=True)]
    return delays


async def class_of(http, ws_base: str, students: int, training: int, pace: float, name: str):
    opened = (await http.post("/api/classes", json={"name": name})).json()
    code, token = opened["code"], opened["teacher_token"]
    tokens = []
    for i in range(students):
        joined = await http.post(f"/api/classes/{code}/join", json={"name": f"Student {i}"})
        assert joined.status_code == 201, joined.text
        tokens.append(joined.json()["student_token"])
    doc = example("spiral_mlp", epochs=None, pace=pace)
    created = await asyncio.gather(
        *(
            http.post("/api/runs", json=doc, headers={"X-Student-Token": t})
            for t in tokens[:training]
        )
    )
    assert all(r.status_code == 201 for r in created), [r.text for r in created][:3]
    pages = [Page(ws_base, code, "student", t) for t in tokens]
    teacher = Page(ws_base, code, "teacher", token)
    race = Page(ws_base, code, "teacher", token, "&view=race")
    return code, {"X-Teacher-Token": token}, [r.json()["id"] for r in created], pages, teacher, race


async def measure(base: str, students: int, training: int, pace: float, count: int, seconds: float):
    ws_base = base.replace("http", "ws")
    async with httpx.AsyncClient(base_url=base, trust_env=False, timeout=60) as http:
        # Baseline: one student, one page, the same actions.
        code, headers, ids, pages, teacher, race = await class_of(http, ws_base, 1, 1, pace, "one")
        stop = asyncio.Event()
        tasks = [asyncio.create_task(p.run(stop)) for p in pages]
        await asyncio.wait_for(asyncio.gather(*(p.ready.wait() for p in pages)), 60)
        baseline = await actions(http, code, headers, ids, pages, count)
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        await http.post(f"/api/classes/{code}/close", headers=headers)

        started = time.perf_counter()
        code, headers, ids, pages, teacher, race = await class_of(
            http, ws_base, students, training, pace, "two hundred"
        )
        print(
            f"{students} students joined, {len(ids)} runs started at {pace:g} epochs/s in "
            f"{time.perf_counter() - started:.1f} s"
        )
        stop = asyncio.Event()
        everyone = [*pages, teacher, race]
        tasks = [asyncio.create_task(p.run(stop)) for p in everyone]
        await asyncio.wait_for(asyncio.gather(*(p.ready.wait() for p in everyone)), 120)
        print(f"{len(everyone)} class pages connected (students, the dashboard, the race board)")
        window_from = time.time()
        await asyncio.sleep(seconds)
        delays = await actions(http, code, headers, ids, everyone, count)
        window = time.time() - window_from
        rate = sum(t >= window_from for t in teacher.dashboards) / window
        race_rate = sum(t >= window_from for t in race.races) / window
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        await http.post(f"/api/classes/{code}/close", headers=headers)

    print(
        f"dashboard: {rate:.2f} updates/s over {window:.0f} s (goal >= "
        f"{DASHBOARD_GOAL_PER_S:g}/s: {rate / DASHBOARD_GOAL_PER_S:.2f}x); race board "
        f"{race_rate:.2f}/s"
    )
    b50, b99 = percentile(baseline, 50), percentile(baseline, 99)
    p50, p99 = percentile(delays, 50), percentile(delays, 99)
    print(
        f"teacher action -> every page ({count} actions x {len(everyone)} pages): p50 "
        f"{p50 * 1e3:.0f} ms, p99 {p99 * 1e3:.0f} ms (p99 / goal {ACTION_GOAL_S:g} s = "
        f"{p99 / ACTION_GOAL_S:.2f}); baseline (1 page) p50 {b50 * 1e3:.1f} ms, p99 "
        f"{b99 * 1e3:.1f} ms (p99 / baseline = {p99 / max(b99, 1e-6):.1f}x)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--students", type=int, default=200)
    parser.add_argument("--training", type=int, default=200, help="students with a run")
    parser.add_argument("--pace", type=float, default=4.0, help="epochs a second per run")
    parser.add_argument("--actions", type=int, default=12)
    parser.add_argument("--seconds", type=float, default=10, help="dashboard window first")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    env = {
        "max_runs": args.training + 8,
        "max_runs_per_class": args.training + 1,
        "max_class_runs_per_client": args.training + 1,
        "max_runs_per_client": args.training + 8,
        "class_max_students": max(args.students, 200),
        "class_joins_per_minute": args.students + 10,
        "max_class_sockets_per_client": args.students + 16,
    }
    with server(workers=args.workers, **env) as base:
        asyncio.run(
            measure(base, args.students, args.training, args.pace, args.actions, args.seconds)
        )


if __name__ == "__main__":
    main()
