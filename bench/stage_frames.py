"""Frames on the stage: what a class sees of a tiny net learning, in real Chromium at 1280x720.

Starts a server, opens the page, starts the spiral starter (two dense layers of 32 tanh, Adam,
epochs null) from its Train button, and counts, over `--seconds` each:
- at full speed, then at a classroom pace (`--pace` epochs/s, set live with the `pace`
  control and the page's own owner token): snapshots received per second (the page's
  WebSocket messages, counted by a wrapper installed before the page loads), decision-surface
  redraws per second (`window.layerlab.surfaceFrames()` where the page has it, else the
  snapshots), epochs per second, and the page's painted frames per second;
- the server's CPU (the server process and its workers, from /proc) in each phase, and while
  the paced run trains beside a second, full-speed run (started through the API, unwatched).

    python -m bench.stage_frames [--seconds 5] [--pace 20] [--workers 2]

The target: at least 30 surface redraws a second while the tiny net trains at full speed, and
one per epoch at a classroom pace. A benchmark, not a test: numbers depend on the machine.

Measured on the project's shared 2-core machine while other sessions ran their tests (load
average 6-14, so the worker got 0.15-0.55 of a core and Chromium painted 7-18 frames a second):
before (main: probes within 3% of training time, 20/s) 0 snapshots in a 5-s window at full
speed (its first probe had used the share); now 22-35 snapshots/s at full speed (120-224
epochs/s), 13-17 a second at 20 epochs/s paced (0.8-0.93 per epoch: the starved worker kept
14-19 epochs/s), and the server's CPU 0.16-0.19 cores paced against 0.39-0.61 at full speed.
With the page of wave4/stage-page (its `surfaceFrames()`), the surface redrew 10.5 times a
second at full speed from 34.5 snapshots: Chromium itself painted only 15 frames a second on
that loaded machine, and the page redraws at most once per painted frame.

Where a frame's time goes (the page's `drawCosts()`, milliseconds of draw jobs per second of
wall time, printed under each phase): at load average 26, full speed, 14.6 snapshots/s gave
2.5 surface redraws/s and Chromium painted 4 frames/s; the draws took 281 ms/s (metric 92,
surface 80, editor 48, norms 23, hists 13), paced 366 ms/s (hists 129, loss 84, editor 81).
So the surface itself is a fifth to a third of the frame: the views below the fold (metric,
histograms, norms) cost as much, drawn every frame although nobody sees them at 1280x720.
Those now redraw at most 4 times a second while off screen (static/js/util/offscreen.js).
Two runs a minute apart on a quieter machine: before (every frame), load 6.7: 15.4 surface
redraws/s from 37.0 snapshots/s (0.42 of them), 22 paints/s, hists + metric 70 ms/s; after,
load 3.7: 29.6 redraws/s from 45.8 snapshots/s (0.65), 42 paints/s, hists 17 ms/s and the
metric out of the top five. The largest cost left is the network editor's neuron heatmaps
("editor", 126 ms/s at full speed, about 3 ms a frame); the surface is 1.6 ms a redraw.
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import dataclass

import httpx
from playwright.sync_api import Page, sync_playwright

from bench.common import example, server
from tests.servers import CHROMIUM, CHROMIUM_ARGS

TARGET_FPS = 30.0
TICKS = os.sysconf("SC_CLK_TCK")

# Installed before the page's own scripts: counts the run stream's messages by type, from the
# raw text, so the count does not depend on the page's widgets.
COUNT_MESSAGES = """
(() => {
  const counts = { snapshot: 0, epoch: 0, pace: 0 };
  window.__stageCounts = counts;
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', (event) => {
        if (typeof event.data !== 'string') return;
        const m = /^\\{"type":"(\\w+)"/.exec(event.data);
        if (m && m[1] in counts) counts[m[1]] += 1;
      });
    }
  };
})();
"""

READ_COUNTS = """() => ({
  snapshots: window.__stageCounts.snapshot,
  surface: typeof window.layerlab.surfaceFrames === 'function'
    ? window.layerlab.surfaceFrames() : null,
  epoch: window.layerlab.session.epoch,
  paints: window.layerlab.frames(),
  costs: typeof window.layerlab.drawCosts === 'function' ? window.layerlab.drawCosts() : {},
})"""


@dataclass
class Phase:
    name: str
    snapshots: float
    surface: float | None
    epochs: float
    paints: float
    cpu: float  # cores busy: the server and its workers together
    worker_cpu: list[float]  # per worker
    draw_ms: dict[str, float]  # the page's draw jobs: milliseconds per second, by job

    def costs(self) -> str:
        top = sorted(self.draw_ms.items(), key=lambda kv: -kv[1])[:5]
        jobs = ", ".join(f"{k} {v:.0f}" for k, v in top)
        return f"{'':<34} draws took {sum(self.draw_ms.values()):.0f} ms/s ({jobs})"

    def line(self) -> str:
        surface = (
            "n/a (page lacks surfaceFrames)" if self.surface is None else f"{self.surface:.1f}"
        )
        workers = ", ".join(f"{c:.2f}" for c in self.worker_cpu)
        return (
            f"{self.name:<34} snapshots/s {self.snapshots:6.1f}   surface redraws/s {surface:>6}"
            f"   epochs/s {self.epochs:7.1f}   paints/s {self.paints:5.1f}"
            f"   server CPU {self.cpu:4.2f} cores (workers {workers})"
        )


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of one process (/proc/<pid>/stat), 0 once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


def parent_of(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])


def measure(page: Page, name: str, seconds: float, pids: list[int], workers: list[int]) -> Phase:
    before, cpu0, wcpu0 = page.evaluate(READ_COUNTS), _cpu(pids), [cpu_seconds(p) for p in workers]
    start = time.monotonic()
    page.wait_for_timeout(seconds * 1000)
    after, cpu1, wcpu1 = page.evaluate(READ_COUNTS), _cpu(pids), [cpu_seconds(p) for p in workers]
    wall = time.monotonic() - start
    surface = None
    if after["surface"] is not None and before["surface"] is not None:
        surface = (after["surface"] - before["surface"]) / wall
    return Phase(
        name,
        (after["snapshots"] - before["snapshots"]) / wall,
        surface,
        (after["epoch"] - before["epoch"]) / wall,
        (after["paints"] - before["paints"]) / wall,
        (cpu1 - cpu0) / wall,
        [(b - a) / wall for a, b in zip(wcpu0, wcpu1, strict=True)],
        {k: (v - before["costs"].get(k, 0.0)) / wall for k, v in after["costs"].items()},
    )


def _cpu(pids: list[int]) -> float:
    return sum(cpu_seconds(p) for p in pids)


def control(http: httpx.Client, run_id: str, token: str, action: str, value=None) -> None:
    response = http.post(
        f"/api/runs/{run_id}/control",
        json={"action": action, "value": value},
        headers={"X-Run-Token": token},
    )
    response.raise_for_status()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="per measured phase")
    parser.add_argument("--pace", type=float, default=20.0, help="the classroom pace, epochs/s")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    with server(workers=args.workers) as base, sync_playwright() as pw:
        http = httpx.Client(base_url=base, trust_env=False, timeout=30)
        workers = [w["pid"] for w in http.get("/api/workers").json() if w["pid"]]
        # The server, then its workers (forked from its forkserver: their grandparent).
        pids = [parent_of(parent_of(workers[0])), *workers]
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        # bypass_csp: wait_for_function evaluates its expression (the page allows no eval)
        context = browser.new_context(viewport={"width": 1280, "height": 720}, bypass_csp=True)
        page = context.new_page()
        page.add_init_script(COUNT_MESSAGES)
        page.goto(f"{base}/")  # the default starter: the spiral MLP, 32-32 tanh, epochs null
        page.wait_for_selector("body[data-ready='true']", timeout=30_000)
        page.wait_for_selector("body[data-check='ok']", timeout=30_000)
        page.click("#train")
        page.wait_for_function("window.layerlab.session.epoch >= 20", timeout=60_000)
        run_id, token = page.evaluate(
            "[window.layerlab.session.runId, window.layerlab.session.token]"
        )
        has_surface = page.evaluate("typeof window.layerlab.surfaceFrames === 'function'")
        print(
            f"run {run_id}; surface redraws from {'surfaceFrames()' if has_surface else 'snapshots'}"
        )
        page.wait_for_timeout(1000)  # past the first epochs and the first frames

        # Full speed first (a starter may come with a classroom pace of its own).
        full = http.post(
            f"/api/runs/{run_id}/control",
            json={"action": "pace", "value": None},
            headers={"X-Run-Token": token},
        )
        if full.status_code == 200:  # a server from before pace (a baseline) refuses it
            page.wait_for_function("window.__stageCounts.pace >= 1", timeout=10_000)
            page.wait_for_timeout(1000)
        phases = [measure(page, "full speed", args.seconds, pids, workers)]
        if full.status_code == 200:
            control(http, run_id, token, "pace", args.pace)
            page.wait_for_function("window.__stageCounts.pace >= 2", timeout=10_000)
            page.wait_for_timeout(500)
            phases.append(measure(page, f"paced at {args.pace:g}/s", args.seconds, pids, workers))
            other = http.post("/api/runs", json=example("spiral_mlp", epochs=None)).json()
            page.wait_for_timeout(1000)
            name = f"paced at {args.pace:g}/s + a full-speed run"
            phases.append(measure(page, name, args.seconds, pids, workers))
            control(http, other["id"], other["token"], "stop")
        else:
            print(f"this server does not take the pace control ({full.status_code})")
        control(http, run_id, token, "stop")
        browser.close()
        http.close()

    print("\n".join(f"{p.line()}\n{p.costs()}" for p in phases))
    full = phases[0]
    redraws = full.surface if full.surface is not None else full.snapshots
    verdict = "meets" if redraws >= TARGET_FPS else "misses"
    print(f"full speed: {redraws:.1f} surface redraws/s, {verdict} the target of {TARGET_FPS:g}")
    if len(phases) > 1:
        paced = phases[1]
        frames = paced.surface if paced.surface is not None else paced.snapshots
        per_epoch = frames / max(paced.epochs, 1e-9)
        print(f"paced: {per_epoch:.2f} surface redraws per epoch (target 1: every epoch visible)")
        print(f"server CPU: {full.cpu:.2f} cores at full speed, {paced.cpu:.2f} paced")
    print(f"load average while measured: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
