"""A classroom: 60 students each training a run, their 60 class pages, the teacher's dashboard,
and 200 watchers of the spotlighted run, all on one server on this machine.

Printed: whether every run progressed while measured; the dashboard's delay (arrival of each
dashboard message minus the end time of the newest epoch it shows, and per row the age of the
student's last epoch), its interval; the epoch delivery delay of the spotlight's watchers
(epoch end, the worker's clock, to arrival), p50/p99, against the fan-out target of 100 ms.

    python -m bench.classroom [--students 60] [--watchers 200] [--seconds 30] [--workers 2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

import httpx
from websockets.asyncio.client import connect

from bench.common import example, percentile, server

TARGET_P99_S = 0.100  # the fan-out target (bench/fanout.py)
DASHBOARD_TARGET_S = 2.0  # "about once a second": a row is at most ~2 intervals old


async def class_page(base: str, code: str, token: str, role: str, sink: list, stop) -> None:
    url = base.replace("http", "ws") + f"/ws/classes/{code}?{role}={token}"
    async with connect(url, max_size=None, compression=None, proxy=None) as ws:
        while not stop.is_set():
            try:
                text = await asyncio.wait_for(ws.recv(), 0.5)
            except TimeoutError:
                continue
            if role == "teacher":
                message = json.loads(text)
                if message["type"] == "dashboard":
                    sink.append((time.time(), message))


async def watcher(url: str, delays: list, ready: asyncio.Event, stop) -> None:
    async with connect(url, max_size=None, compression=None, proxy=None) as ws:
        ready.set()
        while not stop.is_set():
            try:
                text = await asyncio.wait_for(ws.recv(), 0.5)
            except TimeoutError:
                continue
            if text.startswith('{"type":"epoch"'):
                now = time.time()
                for record in json.loads(text)["records"]:
                    delays.append(now - record["time"])


async def run(base: str, students: int, watchers: int, seconds: float) -> None:
    doc = example("spiral_mlp", epochs=None)
    async with httpx.AsyncClient(base_url=base, trust_env=False, timeout=60) as http:
        opened = (await http.post("/api/classes", json={"name": "bench"})).json()
        code, teacher = opened["code"], opened["teacher_token"]
        as_teacher = {"X-Teacher-Token": teacher}
        tokens = []
        for i in range(students):
            joined = await http.post(f"/api/classes/{code}/join", json={"name": f"s{i}"})
            tokens.append(joined.json()["student_token"])
        started = time.perf_counter()
        created = await asyncio.gather(
            *(http.post("/api/runs", json=doc, headers={"X-Student-Token": t}) for t in tokens)
        )
        assert all(r.status_code == 201 for r in created), [r.text for r in created][:3]
        ids = [r.json()["id"] for r in created]
        print(
            f"{students} students joined and started runs in {time.perf_counter() - started:.1f} s"
        )
        spot = ids[0]
        await http.post(f"/api/classes/{code}/spotlight", json={"run_id": spot}, headers=as_teacher)

        stop = asyncio.Event()
        boards: list = []
        pages = [asyncio.create_task(class_page(base, code, teacher, "teacher", boards, stop))]
        pages += [
            asyncio.create_task(class_page(base, code, t, "student", [], stop)) for t in tokens
        ]
        delays: list[float] = []
        events = [asyncio.Event() for _ in range(watchers)]
        ws_base = base.replace("http", "ws")
        streams = [
            asyncio.create_task(
                watcher(f"{ws_base}/ws/runs/{spot}?student={tokens[i % students]}", delays, e, stop)
            )
            for i, e in enumerate(events)
        ]
        await asyncio.wait_for(asyncio.gather(*(e.wait() for e in events)), 120)
        print(f"{watchers} watchers of the spotlight and {students + 1} class pages connected")
        first = await epochs_now(http, code, as_teacher)
        delays.clear()
        measure_from = time.time()
        await asyncio.sleep(seconds)
        last = await epochs_now(http, code, as_teacher)
        stop.set()
        await asyncio.gather(*pages, *streams, return_exceptions=True)
        await http.post(
            f"/api/classes/{code}/pause-all", json={"action": "stop"}, headers=as_teacher
        )

    progressed = [last[i] - first.get(i, 0) for i in last]
    stuck = sum(p <= 0 for p in progressed)
    print(
        f"over {seconds:.0f} s: every run progressed: {'yes' if not stuck else f'NO ({stuck} stuck)'}"
        f"; epochs per run min {min(progressed)}, median {sorted(progressed)[len(progressed) // 2]}"
        f", max {max(progressed)}"
    )
    boards = [(t, m) for t, m in boards if t >= measure_from]
    freshest = [t - max(r["updated"] or 0 for r in m["students"]) for t, m in boards]
    ages = [t - r["updated"] for t, m in boards for r in m["students"] if r["updated"]]
    gaps = [b[0] - a[0] for a, b in zip(boards, boards[1:], strict=False)]
    print(
        f"dashboard: {len(boards)} messages, interval median {percentile(gaps, 50):.2f} s, "
        f"max {max(gaps):.2f} s; delay (arrival - newest epoch shown) p50 "
        f"{percentile(freshest, 50) * 1e3:.0f} ms, p99 {percentile(freshest, 99) * 1e3:.0f} ms; "
        f"row age p99 {percentile(ages, 99):.2f} s "
        f"(/ {DASHBOARD_TARGET_S:g} s = {percentile(ages, 99) / DASHBOARD_TARGET_S:.2f})"
    )
    p50, p99 = percentile(delays, 50), percentile(delays, 99)
    print(
        f"spotlight: {len(delays):,} records delivered to {watchers} watchers; epoch end -> "
        f"arrival p50 {p50 * 1e3:.1f} ms, p99 {p99 * 1e3:.1f} ms "
        f"(p99 / target {TARGET_P99_S * 1e3:.0f} ms = {p99 / TARGET_P99_S:.2f})"
    )


async def epochs_now(http: httpx.AsyncClient, code: str, headers: dict) -> dict[str, int]:
    body = (await http.get(f"/api/classes/{code}", headers=headers)).json()
    return {r["id"]: r["epoch"] for s in body["students_list"] for r in s["runs"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--students", type=int, default=60)
    parser.add_argument("--watchers", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    limits = {"max_runs": args.students + 8, "max_runs_per_class": args.students + 4}
    with server(workers=args.workers, max_runs_per_student=2, **limits) as base:
        asyncio.run(run(base, args.students, args.watchers, args.seconds))


if __name__ == "__main__":
    main()
