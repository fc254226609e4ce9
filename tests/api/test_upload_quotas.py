"""Issue 20: upload quotas count stored bytes per owner, per address and in all, so a fresh
owner token does not reset them; a refusal is a 429 naming the setting."""

from __future__ import annotations

import secrets

from live_server import Live

from server.uploads.repository import UPLOADS

UPLOADS_PATH = "/api/datasets/uploads"
CSV = b"a,b,label\n" + b"\n".join(f"{i},{i * 7 % 13},{'xy'[i % 2]}".encode() for i in range(300))


def upload(live: Live, token: str):
    return live.http.post(
        UPLOADS_PATH, files={"file": ("q.csv", CSV)}, headers={"X-Owner-Token": token}
    )


def fresh_token() -> str:
    return secrets.token_hex(16)


def used_here(live: Live) -> tuple[int, int]:
    """Stored bytes from this test's address (127.0.0.1), and in all."""
    store = live.server.config.app.state.manager.store
    _, address, everyone = store.read(UPLOADS.stored_bytes, "nobody", "127.0.0.1")
    return address, everyone


def test_a_new_owner_token_does_not_reset_the_address_quota(live: Live, limits):
    first = upload(live, fresh_token())
    assert first.status_code == 201, first.text
    size = first.json()["bytes"]
    address, _ = used_here(live)
    limits(upload_quota_client_bytes=address + size // 2)  # room for half of one more
    again = upload(live, fresh_token())  # another token, the same address
    assert again.status_code == 429, again.text
    assert "LAYERLAB_UPLOAD_QUOTA_CLIENT_BYTES" in again.json()["detail"]
    assert used_here(live)[0] == address  # nothing was stored


def test_the_owner_and_server_quotas_count_stored_bytes(live: Live, limits):
    token = fresh_token()
    first = upload(live, token)
    assert first.status_code == 201, first.text
    size = first.json()["bytes"]
    limits(upload_quota_owner_bytes=size + size // 2)
    mine = upload(live, token)
    assert mine.status_code == 429 and "LAYERLAB_UPLOAD_QUOTA_OWNER_BYTES" in mine.text
    _, everyone = used_here(live)
    limits(upload_quota_owner_bytes=10 * size, upload_quota_total_bytes=everyone + size // 2)
    full = upload(live, fresh_token())
    assert full.status_code == 429 and "LAYERLAB_UPLOAD_QUOTA_TOTAL_BYTES" in full.text
    # Deleting frees the owner's room again.
    gone = live.http.delete(
        f"{UPLOADS_PATH}/{first.json()['id']}", headers={"X-Owner-Token": token}
    )
    assert gone.status_code == 204
    limits(upload_quota_total_bytes=everyone + 10 * size)
    assert upload(live, token).status_code == 201
