"""An upload whose file in the state folder is damaged (cut short) is written again from the
database's copy when it is next used or read (issue 20: only a missing file was restored; a
truncated one answered errors for good)."""

from __future__ import annotations

from live_server import Live

from server.engine.datasets.upload import upload_path

UPLOADS = "/api/datasets/uploads"
MINE = {"X-Owner-Token": "upload-repair-owner-0123456789"}
CSV = b"a,b,label\n" + b"\n".join(
    f"{i / 10:.1f},{(i % 7) / 3:.3f},{'xy'[i % 2]}".encode() for i in range(80)
)


def test_a_cut_short_upload_file_is_written_again_from_the_database(live: Live):
    made = live.http.post(UPLOADS, files={"file": ("c.csv", CSV)}, headers=MINE)
    assert made.status_code == 201, made.text
    upload_id = made.json()["id"]
    path = upload_path(live.settings.state_dir, upload_id)
    whole = path.read_bytes()

    path.write_bytes(whole[:60])  # a disk that filled, a copy cut short
    read = live.http.get(f"{UPLOADS}/{upload_id}", headers=MINE)
    assert read.status_code == 200, read.text
    assert path.read_bytes() == whole

    path.write_bytes(whole[:60])
    doc = {
        "dataset": {"name": "upload", "id": upload_id},
        "model": {"layers": [{"type": "dense", "units": 4}]},
        "training": {"epochs": 2, "batch_size": 8},
    }
    checked = live.http.post("/api/check", json=doc)  # the check alone repairs nothing
    started = live.http.post("/api/runs", json=doc, headers=MINE)
    assert started.status_code == 201, started.text
    assert path.read_bytes() == whole
    stream = live.stream(started.json()["id"])
    try:
        messages = stream.read_to_end(timeout=120)
    finally:
        stream.close()
    assert [m for m in messages if m["type"] == "status"][-1]["status"] == "finished"
    assert checked.status_code == 422, checked.text  # named, never a 500
    assert checked.json()["detail"][0]["loc"][-2:] == ["dataset", "id"]
    assert "cannot be read" in checked.json()["detail"][0]["msg"]
