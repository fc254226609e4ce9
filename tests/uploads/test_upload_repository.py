"""Uploads in the database (SQLite; tests/store runs the store on PostgreSQL too): created with their arrays, listed per
owner without them, files restored from the database, removed with their file."""

from __future__ import annotations

import io

import pytest

from server.config import Settings
from server.engine.datasets import load_data
from server.engine.datasets.upload import upload_path
from server.store.owned import NotFound, NotOwner
from server.store.store import Store
from server.uploads.csv_table import CsvOptions, parse_csv
from server.uploads.repository import UPLOADS


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(state_dir=tmp_path / "state", flush_interval_s=0.2, persist_runs=True)


CSV = b"a,b,label\n" + b"\n".join(f"{i},{i % 3},{'xy'[i % 2]}".encode() for i in range(20))


def test_an_upload_is_kept_listed_restored_and_removed(settings):
    store = Store(settings)
    store.open()
    try:
        processed = parse_csv(io.BytesIO(CSV), "t.csv", CsvOptions(), settings)
        data = processed.npz()
        row = store.read(UPLOADS.create, settings.state_dir, "owner-a", "1.2.3.4", processed, data)
        path = upload_path(settings.state_dir, row.id)
        assert path.exists() and row.info["class_names"] == ["x", "y"]
        assert store.read(UPLOADS.page, "owner-a", 10, 0) == ([row], 1)
        assert store.read(UPLOADS.page, "owner-b", 10, 0) == ([], 0)
        assert store.read(UPLOADS.count, "owner-a") == 1
        assert store.read(UPLOADS.stored_bytes, "owner-b", "1.2.3.4") == (0, len(data), len(data))
        with pytest.raises(NotOwner, match="only the owner of this upload may delete it"):
            store.read(UPLOADS.owned, row.id, "owner-b", "delete")
        # A state folder that lost the file gets it back from the database, byte for byte.
        before = path.read_bytes()
        path.unlink()
        assert store.read(UPLOADS.restore_files, settings.state_dir) == 1
        assert path.read_bytes() == before
        # A damaged one (cut short) too, at startup; an intact one is left alone.
        path.write_bytes(before[:50])
        assert store.read(UPLOADS.restore_files, settings.state_dir) == 1
        assert path.read_bytes() == before
        assert store.read(UPLOADS.restore_files, settings.state_dir) == 0
        data = load_data({"name": "upload", "id": row.id}, settings)
        assert data.n_train + data.n_val == 20
        store.read(UPLOADS.delete, settings.state_dir, row.id)
        assert not path.exists() and store.read(UPLOADS.get, row.id) is None
        with pytest.raises(NotFound, match=f"no upload with id '{row.id}'"):
            store.read(UPLOADS.find, row.id)
    finally:
        store.close()
