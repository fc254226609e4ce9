"""Sharing an upload: its owner makes a share token, another owner accepts it and then reads
the upload and trains on it, until the owner revokes the share; nobody else can do any of it."""

from __future__ import annotations

from live_server import Live

UPLOADS = "/api/datasets/uploads"
OWNER = {"X-Owner-Token": "upload-share-owner-0123456789"}
FRIEND = {"X-Owner-Token": "upload-share-friend-0123456789"}
STRANGER = {"X-Owner-Token": "upload-share-stranger-012345678"}
CSV = b"a,b,label\n" + b"\n".join(
    f"{i / 10:.1f},{(i % 7) / 3:.3f},{'xy'[i % 2]}".encode() for i in range(60)
)


def experiment(upload_id: str) -> dict:
    return {
        "dataset": {"name": "upload", "id": upload_id},
        "model": {"layers": [{"type": "dense", "units": 4}]},
        "training": {"optimizer": "sgd", "learning_rate": 0.1, "batch_size": 8, "epochs": 2},
    }


def can_read(live: Live, upload_id: str, who: dict) -> bool:
    got = live.http.get(f"{UPLOADS}/{upload_id}", headers=who)
    assert got.status_code in (200, 403), got.text
    if got.status_code == 200:
        assert got.json()["preview"]["rows"]
    return got.status_code == 200


def can_train(live: Live, upload_id: str, who: dict) -> bool:
    got = live.http.post("/api/runs", json=experiment(upload_id), headers=who)
    assert got.status_code in (201, 403), got.text
    return got.status_code == 201


def test_an_owner_shares_an_upload_and_revokes_it(live: Live):
    made = live.http.post(UPLOADS, files={"file": ("mine.csv", CSV)}, headers=OWNER)
    assert made.status_code == 201, made.text
    upload_id = made.json()["id"]
    share_url = f"{UPLOADS}/{upload_id}/share"

    # Only the owner shares or revokes.
    for who in (FRIEND, STRANGER):
        refused = live.http.post(share_url, headers=who)
        assert refused.status_code == 403 and "share" in refused.json()["detail"]
        assert live.http.delete(share_url, headers=who).status_code == 403
    assert not can_read(live, upload_id, FRIEND) and not can_train(live, upload_id, FRIEND)

    shared = live.http.post(share_url, headers=OWNER)
    assert shared.status_code == 201, shared.text
    token = shared.json()["token"]
    accepted = live.http.post(f"{UPLOADS}/shares/accept", json={"token": token}, headers=FRIEND)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json() == {"upload_id": upload_id}
    assert can_read(live, upload_id, FRIEND) and can_train(live, upload_id, FRIEND)
    got = live.http.get(f"{UPLOADS}/{upload_id}", headers=FRIEND).json()
    assert got["mine"] is False  # shared with, not owned: it is not listed as theirs
    listed = live.http.get(UPLOADS, headers=FRIEND).json()
    assert upload_id not in [u["id"] for u in listed]
    assert live.http.delete(f"{UPLOADS}/{upload_id}", headers=FRIEND).status_code == 403
    # The token alone opens nothing: a stranger still has to accept it.
    assert not can_read(live, upload_id, STRANGER) and not can_train(live, upload_id, STRANGER)
    wrong = live.http.post(f"{UPLOADS}/shares/accept", json={"token": "x" * 32}, headers=STRANGER)
    assert wrong.status_code == 404

    revoked = live.http.delete(share_url, headers=OWNER)
    assert revoked.status_code == 200 and revoked.json()["revoked"] == 1
    assert not can_read(live, upload_id, FRIEND) and not can_train(live, upload_id, FRIEND)
    late = live.http.post(f"{UPLOADS}/shares/accept", json={"token": token}, headers=STRANGER)
    assert late.status_code == 404  # the revoked token opens nothing any more
    assert can_read(live, upload_id, OWNER) and can_train(live, upload_id, OWNER)

    # A new share makes a new token; deleting the upload ends every share of it.
    again = live.http.post(share_url, headers=OWNER).json()["token"]
    assert again != token
    live.http.post(f"{UPLOADS}/shares/accept", json={"token": again}, headers=FRIEND)
    assert can_read(live, upload_id, FRIEND)
    live.wait_idle()
    assert live.http.delete(f"{UPLOADS}/{upload_id}", headers=OWNER).status_code == 204
    gone = live.http.post(f"{UPLOADS}/shares/accept", json={"token": again}, headers=FRIEND)
    assert gone.status_code == 404
