"""An upload's rows are its owner's: the id a public run shows opens nothing to anyone else.

Reproduces issue 20's leak: another user read the upload's preview rows by its id, trained on
the id and read every example back through `step_batch` traces. Now each is a 403 (a 422
naming the header without a token), and the owner still does all of it.
"""

from __future__ import annotations

import io
import zipfile

from live_server import Live
from PIL import Image

UPLOADS = "/api/datasets/uploads"
MINE = {"X-Owner-Token": "upload-access-owner-0123456789"}
THEIRS = {"X-Owner-Token": "upload-access-other-9876543210"}
CSV = b"a,b,label\n" + b"\n".join(
    f"{i / 10:.1f},{(i % 7) / 3:.3f},{'xy'[i % 2]}".encode() for i in range(80)
)


OWNER_PROTOCOLS = ["layerlab", f"layerlab-owner.{MINE['X-Owner-Token']}"]  # as the page offers


def experiment(upload_id: str) -> dict:
    return {
        "dataset": {"name": "upload", "id": upload_id},
        "model": {"layers": [{"type": "dense", "units": 4}]},
        "training": {"optimizer": "sgd", "learning_rate": 0.1, "batch_size": 8, "epochs": None},
    }


def make_upload(live: Live) -> str:
    made = live.http.post(UPLOADS, files={"file": ("secret.csv", CSV)}, headers=MINE)
    assert made.status_code == 201, made.text
    assert made.json()["preview"]["rows"]  # the owner sees its rows
    return made.json()["id"]


def test_only_the_owner_reads_an_upload(live: Live):
    upload_id = make_upload(live)
    theirs = live.http.get(f"{UPLOADS}/{upload_id}", headers=THEIRS)
    assert theirs.status_code == 403
    assert theirs.json() == {"detail": "only the owner of this upload may read it (X-Owner-Token)"}
    assert "rows" not in theirs.text
    anonymous = live.http.get(f"{UPLOADS}/{upload_id}")
    assert anonymous.status_code == 422
    assert anonymous.json()["detail"][0]["loc"] == ["header", "X-Owner-Token"]
    mine = live.http.get(f"{UPLOADS}/{upload_id}", headers=MINE)
    assert mine.status_code == 200 and mine.json()["mine"] is True
    assert mine.json()["preview"]["rows"][1][:2] == ["0.0", "0.000"]


def test_only_the_owner_trains_on_an_upload(live: Live):
    upload_id = make_upload(live)
    before = live.http.get("/api/runs", params={"limit": 1}).headers["X-Total-Count"]
    for headers in (THEIRS, {}):
        refused = live.http.post("/api/runs", json=experiment(upload_id), headers=headers)
        assert refused.status_code == 403, refused.text
        assert refused.json()["detail"] == (
            "only the owner of this upload may train on it (X-Owner-Token)"
        )
    sweep = {
        "experiment": {**experiment(upload_id), "training": {"epochs": 2}},
        "axes": [{"setting": "learning_rate", "values": [0.1, 0.2]}],
    }
    refused = live.http.post("/api/sweeps", json=sweep, headers=THEIRS)
    assert refused.status_code == 403, refused.text
    # Nothing was created by the refused requests.
    assert live.http.get("/api/runs", params={"limit": 1}).headers["X-Total-Count"] == before
    started = live.http.post(
        "/api/runs", json=experiment(upload_id), headers=MINE, params={"paused": "true"}
    )
    assert started.status_code == 201, started.text
    assert live.control(started.json(), "stop").status_code == 200


def test_a_public_run_on_an_upload_keeps_its_trace_to_its_owner(live: Live):
    upload_id = make_upload(live)
    started = live.http.post(
        "/api/runs", json=experiment(upload_id), headers=MINE, params={"paused": "true"}
    )
    assert started.status_code == 201, started.text
    run = started.json()
    shown = live.http.get(f"/api/runs/{run['id']}")  # the run is public, and shows the id
    assert shown.status_code == 200 and upload_id in shown.text
    stream = live.stream(run["id"], OWNER_PROTOCOLS)
    try:
        assert live.control(run, "step_batch").status_code == 200
        trace = stream.read_until(lambda m: m["type"] == "trace")["trace"]
    finally:
        stream.close()
    assert len(trace["samples"]) == 8  # the owner's page sees its batch
    url = f"/api/runs/{run['id']}/trace"
    for headers in ({}, THEIRS, {"X-Run-Token": "not-the-token-0123456789"}):
        refused = live.http.get(url, headers=headers)
        assert refused.status_code == 403, refused.text
        assert "uploaded dataset" in refused.json()["detail"]
    assert live.http.get(url, headers={"X-Run-Token": run["token"]}).json() == trace
    assert live.http.get(url, headers=MINE).json() == trace
    assert live.control(run, "stop").status_code == 200


def image_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for i in range(40):
            png = io.BytesIO()
            Image.new("L", (8, 8), 40 + 5 * i if i % 2 else 250 - 5 * i).save(png, "PNG")
            zf.writestr(f"{'dark' if i % 2 else 'light'}/{i}.png", png.getvalue())
    return buf.getvalue()


def test_a_public_run_on_uploaded_images_streams_no_example_to_others(live: Live):
    """Issue 20: a public run's stream carried the upload's rows to every viewer: step_batch
    traces and the snapshot's sample images. Now only its owner's stream (its owner token
    offered as a subprotocol, never in the URL) carries them; others see the curves, the
    per-layer statistics and no example."""
    made = live.http.post(
        UPLOADS, files={"file": ("shapes.zip", image_zip())}, data={"kind": "images"}, headers=MINE
    )
    assert made.status_code == 201, made.text
    doc = experiment(made.json()["id"])
    doc["training"]["epochs"] = 3
    doc["model"]["layers"].insert(0, {"type": "flatten"})
    started = live.http.post("/api/runs", json=doc, headers=MINE, params={"paused": "true"})
    assert started.status_code == 201, started.text
    run = started.json()
    mine = live.stream(run["id"], OWNER_PROTOCOLS)
    theirs = live.stream(run["id"])
    wrong = live.stream(run["id"], ["layerlab", f"layerlab-owner.{THEIRS['X-Owner-Token']}"])
    try:
        assert live.control(run, "step_batch").status_code == 200
        trace = mine.read_until(lambda m: m["type"] == "trace")["trace"]
        assert trace["samples"]
        assert live.control(run, "resume").status_code == 200
        for stream in (mine, theirs, wrong):
            stream.read_to_end()
    finally:
        for stream in (mine, theirs, wrong):
            stream.close()
    owned = mine.of_type("snapshot")
    assert owned and all(m["snapshot"]["images"]["samples"] for m in owned)
    for stream in (theirs, wrong):
        assert [r["epoch"] for r in stream.records()] == [1, 2, 3]  # the curves: public
        assert not stream.of_type("trace")
        shown = stream.of_type("snapshot")
        assert shown and all("layers" in m["snapshot"] for m in shown)
        assert not any(key in m["snapshot"] for m in shown for key in ("images", "sequence"))
