"""A GET of an upload reads its kept preview, never its arrays (issue 20: 20 concurrent GETs
of one upload decompressed its npz 20 times, 428 MB to 3 GB). Shown by breaking the arrays'
file after the upload: every GET still answers the preview the upload answered."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa
from live_server import Live

from server.engine.datasets.upload import upload_path

UPLOADS = "/api/datasets/uploads"
MINE = {"X-Owner-Token": "upload-preview-owner-0123456789"}
CSV = b"a,b,label\n" + b"\n".join(
    f"{i / 10:.1f},{(i % 7) / 3:.3f},{'xy'[i % 2]}".encode() for i in range(120)
)


def make_upload(live: Live) -> dict:
    made = live.http.post(UPLOADS, files={"file": ("p.csv", CSV)}, headers=MINE)
    assert made.status_code == 201, made.text
    assert made.json()["preview"]["rows"] and made.json()["preview"]["kind"] == "table"
    return made.json()


def break_arrays(live: Live, upload_id: str) -> None:
    """The npz cut short: anything that opened it would fail."""
    path = upload_path(live.settings.state_dir, upload_id)
    path.write_bytes(path.read_bytes()[:40])


def get_many(live: Live, upload_id: str, n: int = 20) -> list:
    with ThreadPoolExecutor(8) as pool:
        return list(
            pool.map(lambda _: live.http.get(f"{UPLOADS}/{upload_id}", headers=MINE), range(n))
        )


def test_a_get_answers_the_kept_preview_without_opening_the_arrays(live: Live):
    made = make_upload(live)
    break_arrays(live, made["id"])
    for answer in get_many(live, made["id"]):
        assert answer.status_code == 200, answer.text
        assert answer.json()["preview"] == made["preview"]


def test_an_upload_from_before_kept_previews_gets_one_at_its_first_get(live: Live):
    made = make_upload(live)
    engine = sa.create_engine(f"sqlite:///{live.settings.state_dir / 'layerlab.db'}")
    try:
        with engine.begin() as conn:  # as stored before migration 0004
            conn.execute(
                sa.text("UPDATE uploads SET preview_json = NULL WHERE id = :id"), {"id": made["id"]}
            )
        first = get_many(live, made["id"], 8)  # concurrent: computed once, kept
        assert {a.status_code for a in first} == {200}
        assert all(a.json()["preview"] == made["preview"] for a in first)
        with engine.connect() as conn:
            kept = conn.execute(
                sa.text("SELECT preview_json FROM uploads WHERE id = :id"), {"id": made["id"]}
            ).scalar()
        assert kept is not None
    finally:
        engine.dispose()
    break_arrays(live, made["id"])
    later = live.http.get(f"{UPLOADS}/{made['id']}", headers=MINE)
    assert later.status_code == 200 and later.json()["preview"] == made["preview"]
