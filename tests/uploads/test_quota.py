"""Upload quotas without HTTP: stored bytes per owner, per address and in all, and the count
per owner; each refusal names its setting."""

from __future__ import annotations

import io

import pytest
from fastapi import HTTPException

from server.config import Settings
from server.store.store import Store
from server.uploads import quota
from server.uploads.csv_table import CsvOptions, parse_csv
from server.uploads.repository import UPLOADS

CSV = b"a,b,label\n" + b"\n".join(f"{i},{i % 5},{'xy'[i % 2]}".encode() for i in range(50))


def keep(store: Store, settings: Settings, owner: str, client: str) -> int:
    processed = parse_csv(io.BytesIO(CSV), "t.csv", CsvOptions(), settings)
    data = processed.npz()
    store.read(UPLOADS.create, settings.state_dir, owner, client, processed, data)
    return len(data)


def refusal(store: Store, settings: Settings, owner: str, client: str, adding: int) -> str:
    with pytest.raises(HTTPException) as caught:
        quota.check(store, settings, owner, client, adding)
    assert caught.value.status_code == 429
    return str(caught.value.detail)


def test_each_quota_counts_what_is_stored(fresh_store: Store, tmp_path):
    store = fresh_store
    settings = Settings(state_dir=tmp_path / "state")
    size = keep(store, settings, "ann", "10.0.0.1")
    quota.check(store, settings, "ann", "10.0.0.1", size)  # the defaults leave room
    tight = settings.model_copy(update={"upload_quota_owner_bytes": 2 * size - 1})
    assert "LAYERLAB_UPLOAD_QUOTA_OWNER_BYTES" in refusal(store, tight, "ann", "10.0.0.9", size)
    quota.check(store, tight, "bob", "10.0.0.9", size)  # another owner, another address
    tight = settings.model_copy(update={"upload_quota_client_bytes": 2 * size - 1})
    assert "LAYERLAB_UPLOAD_QUOTA_CLIENT_BYTES" in refusal(store, tight, "bob", "10.0.0.1", size)
    tight = settings.model_copy(update={"upload_quota_total_bytes": 2 * size - 1})
    assert "LAYERLAB_UPLOAD_QUOTA_TOTAL_BYTES" in refusal(store, tight, "eve", "10.9.9.9", size)
    full = settings.model_copy(update={"upload_quota_client_bytes": size})
    assert "LAYERLAB_UPLOAD_QUOTA_CLIENT_BYTES" in refusal(store, full, "new", "10.0.0.1", 0)


def test_the_number_of_uploads_per_owner_is_bounded_too(fresh_store: Store, tmp_path):
    store = fresh_store
    settings = Settings(state_dir=tmp_path / "state", upload_max_per_owner=1)
    keep(store, settings, "ann", "10.0.0.1")
    assert "LAYERLAB_UPLOAD_MAX_PER_OWNER" in refusal(store, settings, "ann", "10.0.0.2", 0)
