"""Uploads in the database (SQLite and PostgreSQL): created with their arrays, listed per
owner without them, files restored from the database, removed with their file."""

from __future__ import annotations

import io

from server.engine.datasets import load_data
from server.engine.datasets.upload import upload_path
from server.store.store import Store
from server.uploads import repo
from server.uploads.csv_table import CsvOptions, parse_csv

pytest_plugins = ["store_fixtures"]

CSV = b"a,b,label\n" + b"\n".join(f"{i},{i % 3},{'xy'[i % 2]}".encode() for i in range(20))


def test_an_upload_is_kept_listed_restored_and_removed(settings):
    store = Store(settings)
    store.open()
    try:
        processed = parse_csv(io.BytesIO(CSV), "t.csv", CsvOptions(), settings)
        row = store.read(repo.create, settings.state_dir, "owner-a", processed)
        path = upload_path(settings.state_dir, row.id)
        assert path.exists() and row.info["class_names"] == ["x", "y"]
        assert [r.id for r in store.read(repo.list_owned, "owner-a")] == [row.id]
        assert store.read(repo.list_owned, "owner-b") == []
        assert store.read(repo.count_owned, "owner-a") == 1
        # A state folder that lost the file gets it back from the database, byte for byte.
        before = path.read_bytes()
        path.unlink()
        assert store.read(repo.restore_files, settings.state_dir) == 1
        assert path.read_bytes() == before
        data = load_data({"name": "upload", "id": row.id}, settings)
        assert data.n_train + data.n_val == 20
        store.read(repo.remove, settings.state_dir, row.id)
        assert not path.exists() and store.read(repo.get, row.id) is None
    finally:
        store.close()
