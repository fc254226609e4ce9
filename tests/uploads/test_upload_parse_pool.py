"""Uploads are parsed in a bounded pool of processes with a time limit, against a real
server process: a file that takes too long gets a 413 naming LAYERLAB_UPLOAD_PARSE_TIMEOUT_S,
the server answers `/api/health` within a second meanwhile, and the next upload is parsed by a
fresh process. A zip bomb is refused by its own limit inside the child."""

from __future__ import annotations

import io
import threading
import time
import zipfile

import httpx
import pytest
from PIL import Image
from servers import ServerProcess, layerlab_env

pytestmark = pytest.mark.slow

# 10,000 tiny PNGs: about 0.7 CPU-seconds to decode and resize on the machine this was written
# on, so several times the limit below even on a much faster one.
LIMIT_S = 0.2
CSV = b"a,b,label\n" + b"".join(f"{i},{i % 7},{'xy'[i % 2]}\n".encode() for i in range(40))


def many_images(count: int = 10_000) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for i in range(count):
            png = io.BytesIO()
            Image.new("L", (8, 8), i % 256).save(png, "PNG")
            zf.writestr(f"{'ab'[i % 2]}/{i}.png", png.getvalue())
    return buf.getvalue()


def bomb() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in ("a/1.png", "b/1.png"):
            zf.writestr(name, b"\0" * (8 << 20))  # 8 MiB of zeros each: a few KiB zipped
    return buf.getvalue()


def upload(server: ServerProcess, data: bytes, kind: str, name: str) -> httpx.Response:
    return server.http.post(
        "/api/datasets/uploads",
        files={"file": (name, data)},
        data={"kind": kind},
        headers={"X-Owner-Token": "parse-pool-owner"},
        timeout=120,
    )


def test_a_slow_parse_is_cut_off_by_its_limit_while_the_server_keeps_answering(tmp_path):
    env = layerlab_env(
        state_dir=tmp_path / "state",
        upload_parse_timeout_s=LIMIT_S,
        upload_parse_workers=1,
        upload_max_unzipped_bytes=4 << 20,
    )
    server = ServerProcess(env=env, workers=1)
    try:
        first = upload(server, CSV, "csv", "small.csv")
        assert first.status_code == 201, first.text

        heavy = many_images()
        answer: dict[str, httpx.Response] = {}
        sender = threading.Thread(
            target=lambda: answer.setdefault("r", upload(server, heavy, "images", "many.zip"))
        )
        sender.start()
        slowest = 0.0
        probes = 0
        while sender.is_alive() or probes < 3:
            began = time.monotonic()
            health = server.http.get("/api/health", timeout=10)
            slowest = max(slowest, time.monotonic() - began)
            assert health.status_code == 200
            probes += 1
            time.sleep(0.05)
        sender.join()
        refused = answer["r"]
        assert refused.status_code == 413, refused.text
        assert "LAYERLAB_UPLOAD_PARSE_TIMEOUT_S" in refused.json()["detail"][0]["msg"]
        assert slowest < 1.0, f"/api/health took {slowest:.2f} s during the parse"

        again = upload(server, CSV, "csv", "again.csv")  # a fresh process took the slot
        assert again.status_code == 201, again.text

        bombed = upload(server, bomb(), "images", "bomb.zip")
        assert bombed.status_code == 413, bombed.text
        assert "LAYERLAB_UPLOAD_MAX_UNZIPPED_BYTES" in bombed.json()["detail"][0]["msg"]
        print(f"\n[parse pool] {probes} health probes, slowest {slowest:.3f} s")
    finally:
        server.stop()
