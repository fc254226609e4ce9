"""Designs, uploads and sweeps answer alike (one repository, one Owner dependency): 404 for an
unknown id, 403 for somebody else's, 422 naming the header without a token."""

from __future__ import annotations

import pytest
from live_server import Live, spiral

MINE = {"X-Owner-Token": "owned-resources-owner-0123456789"}
THEIRS = {"X-Owner-Token": "owned-resources-other-9876543210"}
CSV = b"a,b,label\n" + b"\n".join(f"{i},{i % 7},{'xy'[i % 2]}".encode() for i in range(60))


def make(live: Live, kind: str) -> str:
    if kind == "design":
        response = live.http.post(
            "/api/designs", json={"name": "d", "experiment": spiral()}, headers=MINE
        )
    elif kind == "upload":
        response = live.http.post(
            "/api/datasets/uploads", files={"file": ("t.csv", CSV)}, headers=MINE
        )
    else:
        body = {
            "experiment": spiral(epochs=2),
            "axes": [{"setting": "learning_rate", "values": [0.1]}],
        }
        response = live.http.post("/api/sweeps", json=body, headers=MINE)
    assert response.status_code == 201, response.text
    return response.json()["id"]


# (kind, the path of one, the owner-only change: method, suffix, body, verb in the message)
CASES = [
    ("design", "/api/designs", ("PATCH", "", {"name": "x"}, "change")),
    ("upload", "/api/datasets/uploads", ("DELETE", "", None, "delete")),
    ("sweep", "/api/sweeps", ("POST", "/stop", None, "stop")),
]


@pytest.mark.parametrize(("kind", "base", "change"), CASES, ids=[c[0] for c in CASES])
def test_404_403_and_a_missing_token_are_answered_alike(live: Live, kind, base, change):
    method, suffix, body, verb = change
    item = make(live, kind)
    unknown = live.http.get(f"{base}/000000000000", headers=MINE)
    assert unknown.status_code == 404
    assert unknown.json() == {"detail": f"no {kind} with id '000000000000'"}
    if kind == "upload":  # its rows are its owner's (tests/api/test_upload_access.py)
        assert live.http.get(f"{base}/{item}", headers=THEIRS).status_code == 403
    else:
        assert live.http.get(f"{base}/{item}").json()["mine"] is False  # anyone with the id
    assert live.http.get(f"{base}/{item}", headers=MINE).json()["mine"] is True
    refused = live.http.request(method, f"{base}/{item}{suffix}", json=body, headers=THEIRS)
    assert refused.status_code == 403
    assert refused.json() == {
        "detail": f"only the owner of this {kind} may {verb} it (X-Owner-Token)"
    }
    missing = live.http.request(method, f"{base}/{item}{suffix}", json=body)
    assert missing.status_code == 422
    assert missing.json()["detail"][0]["loc"] == ["header", "X-Owner-Token"]
    listed = live.http.get(base, headers=MINE, params={"limit": 1})
    assert listed.status_code == 200 and int(listed.headers["X-Total-Count"]) >= 1
    assert len(listed.json()) == 1
    done = live.http.request(method, f"{base}/{item}{suffix}", json=body, headers=MINE)
    assert done.status_code in (200, 204), done.text
    live.wait_idle()
