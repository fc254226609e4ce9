"""Uploads in the database, and their files where workers read them.

On the shared owned-resource repository; written at once (whoever uploads trains on it
next). The database holds the processed arrays (the npz bytes); `write_file` puts them at
`<state_dir>/uploads/<id>.npz` (a temporary file renamed into place), the file the engine's
`upload` dataset reads; `restore_files` writes every missing one again (a fresh state folder
over a kept PostgreSQL database). The preview a GET answers is computed once, at upload, and
kept in its own column (`preview`): a GET reads it alone, never the arrays.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Engine, func, insert, select, update

from ..core.ids import new_id
from ..engine.datasets.upload import upload_path
from ..store.owned import OwnedRepository
from .processed import Processed
from .tables import uploads


class UploadRow(BaseModel):
    id: str
    owner: str
    name: str
    kind: str
    info: dict[str, Any]
    bytes: int
    created: float


def _row(row: Any) -> UploadRow:
    m = row._mapping
    return UploadRow(
        **{k: m[k] for k in ("id", "owner", "name", "kind", "bytes", "created")},
        info=json.loads(m["info_json"]),
    )


def write_file(state_dir: Path, upload_id: str, data: bytes) -> Path:
    """Put an upload's npz where workers read it (atomically: never half a file)."""
    path = upload_path(state_dir, upload_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{secrets.token_hex(4)}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return path


def file_intact(path: Path, size: int) -> bool:
    """Whether the file is there with the stored size (a stat: no read)."""
    try:
        return path.stat().st_size == size
    except OSError:
        return False


class UploadRepository(OwnedRepository[UploadRow]):
    def __init__(self) -> None:
        super().__init__(
            uploads,
            "upload",
            _row,
            order=(uploads.c.created.desc(),),
            hidden=("data", "preview_json"),
        )

    def create(
        self,
        engine: Engine,
        state_dir: Path,
        owner: str,
        client: str,
        processed: Processed,
        data: bytes,
        preview_of: Callable[[str], dict | None] = lambda upload_id: None,
    ) -> UploadRow:
        """Write the upload's file, compute its preview from it (`preview_of(id)`, once), and
        store both; `data` is `processed.npz()`."""
        row = {
            "id": new_id(),
            "owner": owner,
            "client": client[:64],
            "name": processed.name[:200],
            "kind": processed.kind,
            "info_json": json.dumps(processed.info()),
            "data": data,
            "bytes": len(data),
            "created": time.time(),
        }
        write_file(state_dir, row["id"], data)
        try:
            row["preview_json"] = json.dumps(preview_of(row["id"]))
            with engine.begin() as conn:
                conn.execute(insert(uploads), row)
        except Exception:
            upload_path(state_dir, row["id"]).unlink(missing_ok=True)
            raise
        return _row_of(row, processed)

    def preview(self, engine: Engine, upload_id: str) -> tuple[bool, dict | None]:
        """(kept, preview): the stored preview alone (kept False: an upload stored before
        previews were kept, or none such)."""
        with engine.connect() as conn:
            text = conn.execute(
                select(uploads.c.preview_json).where(uploads.c.id == upload_id)
            ).scalar()
        return (False, None) if text is None else (True, json.loads(text))

    def save_preview(self, engine: Engine, upload_id: str, preview: dict | None) -> None:
        """Keep the preview of an upload stored before previews were kept."""
        with engine.begin() as conn:
            conn.execute(
                update(uploads)
                .where(uploads.c.id == upload_id)
                .values(preview_json=json.dumps(preview))
            )

    def stored_bytes(self, engine: Engine, owner: str, client: str) -> tuple[int, int, int]:
        """Bytes kept by this owner, from this address, and in all."""
        c = uploads.c
        with engine.connect() as conn:

            def total(*where: Any) -> int:
                return int(conn.execute(select(func.sum(c.bytes)).where(*where)).scalar() or 0)

            return total(c.owner == owner), total(c.client == client[:64]), total()

    def delete(self, engine: Engine, state_dir: Path, upload_id: str) -> None:
        """The row, then its file."""
        self.remove(engine, upload_id)
        upload_path(state_dir, upload_id).unlink(missing_ok=True)

    def restore_files(self, engine: Engine, state_dir: Path) -> int:
        """Write the file of every upload that has none, or a damaged one (one at a time);
        how many written."""
        with engine.connect() as conn:
            rows = conn.execute(select(uploads.c.id, uploads.c.bytes)).all()
        return sum(self.repair_file(engine, state_dir, i, size) for i, size in rows)

    def repair_file(self, engine: Engine, state_dir: Path, upload_id: str, size: int) -> bool:
        """Write the upload's file again from the database when it is missing or is not the
        `size` bytes stored (cut short, overwritten); whether it was written."""
        if file_intact(upload_path(state_dir, upload_id), size):
            return False
        with engine.connect() as conn:
            data = conn.execute(select(uploads.c.data).where(uploads.c.id == upload_id)).scalar()
        if data is None:
            return False
        write_file(state_dir, upload_id, bytes(data))
        return True


def _row_of(row: dict, processed: Processed) -> UploadRow:
    kept = ("id", "owner", "name", "kind", "bytes", "created")
    return UploadRow(**{k: row[k] for k in kept}, info=processed.info())


UPLOADS = UploadRepository()
