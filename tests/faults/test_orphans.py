"""A kill -9 of the server takes its children with it: training workers and the process for
ended runs (issue 20: after a kill -9 during an ONNX export the export process ran on,
orphaned, 518 MB). The server runs in a process group of its own (tests/servers.py), so the
group's emptiness is what is checked; the ended run's process is started by a prediction (it
then waits for the next job: the case that never noticed its server was gone)."""

from __future__ import annotations

import os
import signal
import time

from servers import ServerProcess, layerlab_env


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def _members(pgid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                found.append(int(entry))
    return found


def _described(pgid: int) -> list[str]:
    described = []
    for pid in _members(pgid):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                text = cmdline.read().replace(b"\0", b" ")[:160].decode(errors="replace")
            described.append(f"{pid}: {text}")
        except OSError:
            continue
    return described


def test_a_killed_server_leaves_no_process_behind(tmp_path):
    env = layerlab_env(state_dir=tmp_path / "state", persist_runs="true")
    server = ServerProcess(env=env, workers=1)
    pgid = server.pid
    try:
        doc = {
            "dataset": {"name": "circle", "samples": 100},
            "model": {"layers": [{"type": "dense", "units": 4}]},
            "training": {"epochs": 2},
        }
        run = server.http.post("/api/runs", json=doc).json()
        deadline = time.monotonic() + 60
        while server.http.get(f"/api/runs/{run['id']}").json()["status"] != "finished":
            assert time.monotonic() < deadline, "the run did not finish"
            time.sleep(0.05)
        url = f"/api/runs/{run['id']}/predict"
        answer = server.http.post(url, json={"input": [0.5, -0.5]}, timeout=120)
        assert answer.status_code == 200, answer.text  # the ended-run process is up
        assert len(_members(pgid)) >= 3  # the server, its worker, the ended-run process
        server.process.send_signal(signal.SIGKILL)
        server.process.wait(30)
        deadline = time.monotonic() + 15
        while _members(pgid):
            assert time.monotonic() < deadline, f"left behind: {_described(pgid)}"
            time.sleep(0.1)
    finally:
        server.stop()  # kills whatever the group still holds
    assert not _group_alive(pgid) or not _members(pgid)
