"""Workers are forked from one process that loaded the engine, and share its memory."""

from __future__ import annotations

import json
from pathlib import Path

from websockets.sync.client import connect

from tests import servers


def _kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1])
    raise AssertionError(f"no {field} for {pid}")


def _parent(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def test_workers_share_the_engine_loaded_once(tmp_path):
    env = {"LAYERLAB_STATE_DIR": str(tmp_path), "LAYERLAB_PERSIST_RUNS": "false"}
    with servers.running(env=env, workers=2, log=tmp_path / "server.log") as server:
        workers = server.http.get("/api/workers").json()
        pids = [w["pid"] for w in workers]
        assert len(pids) == 2
        forkserver = _parent(pids[0])
        assert forkserver != server.pid and _parent(pids[1]) == forkserver
        assert _parent(forkserver) == server.pid  # a child of this server, ended with it
        for pid in pids:
            # torch alone is ~145 MB of heap per process when each imports it; forked, most of
            # that is the forkserver's pages, shared (copy-on-write) and not the worker's own.
            shared = _kb(pid, "Shared_Dirty:") + _kb(pid, "Shared_Clean:")
            assert shared > 100 * 1024, (pid, shared)
            assert _kb(pid, "Pss:") < _kb(pid, "Rss:") * 0.6
        # And they train: a run on the shared engine reaches its end.
        run = server.http.post(
            "/api/runs",
            json={
                "dataset": {"name": "xor", "samples": 100},
                "model": {"layers": [{"type": "dense", "units": 4, "activation": "tanh"}]},
                "training": {"epochs": 5},
            },
        ).json()
        url = server.base.replace("http", "ws") + f"/ws/runs/{run['id']}"
        with connect(url, proxy=None, max_size=None) as ws:
            while True:
                message = json.loads(ws.recv(timeout=120))
                if message["type"] == "status" and message["status"] != "running":
                    break
        assert message["status"] == "finished", message
