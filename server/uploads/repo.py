"""Uploads in the database, and their files where workers read them.

Blocking calls on the store's engine (the API runs them in its thread pool), written at once:
whoever uploads trains on it next. The database holds the processed arrays (the npz bytes);
`materialise` writes them to `<state_dir>/uploads/<id>.npz` (a temporary file renamed into
place), the file the engine's `upload` dataset reads; `restore_files` writes every missing
one again (a fresh state folder over a kept PostgreSQL database).
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Engine, delete, func, insert, select

from ..engine.datasets.upload import upload_path
from .processed import Processed
from .tables import uploads

log = logging.getLogger("layerlab.uploads")


class UploadRow(BaseModel):
    id: str
    owner: str
    name: str
    kind: str
    info: dict[str, Any]
    bytes: int
    created: float


def _row(row: Any) -> UploadRow | None:
    m = row._mapping
    try:
        return UploadRow(
            **{k: m[k] for k in ("id", "owner", "name", "kind", "bytes", "created")},
            info=json.loads(m["info_json"]),
        )
    except (ValueError, TypeError) as err:
        log.warning("skipping the unreadable upload %r: %s", m.get("id"), str(err)[:200])
        return None


def write_file(state_dir: Path, upload_id: str, data: bytes) -> Path:
    """Put an upload's npz where workers read it (atomically: never half a file)."""
    path = upload_path(state_dir, upload_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{secrets.token_hex(4)}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return path


def create(engine: Engine, state_dir: Path, owner: str, processed: Processed) -> UploadRow:
    data = processed.npz()
    row = {
        "id": secrets.token_hex(6),
        "owner": owner,
        "name": processed.name[:200],
        "kind": processed.kind,
        "info_json": json.dumps(processed.info()),
        "data": data,
        "bytes": len(data),
        "created": time.time(),
    }
    write_file(state_dir, row["id"], data)
    try:
        with engine.begin() as conn:
            conn.execute(insert(uploads), row)
    except Exception:
        upload_path(state_dir, row["id"]).unlink(missing_ok=True)
        raise
    return UploadRow(
        **{k: v for k, v in row.items() if k not in ("info_json", "data")}, info=processed.info()
    )


def get(engine: Engine, upload_id: str) -> UploadRow | None:
    columns = [c for c in uploads.c if c.name != "data"]
    with engine.connect() as conn:
        row = conn.execute(select(*columns).where(uploads.c.id == upload_id)).first()
    return _row(row) if row is not None else None


def count_owned(engine: Engine, owner: str) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).where(uploads.c.owner == owner)).scalar_one()


def list_owned(engine: Engine, owner: str) -> list[UploadRow]:
    """The owner's uploads, newest first (without their arrays)."""
    columns = [c for c in uploads.c if c.name != "data"]
    with engine.connect() as conn:
        rows = conn.execute(
            select(*columns).where(uploads.c.owner == owner).order_by(uploads.c.created.desc())
        ).all()
    return [r for r in map(_row, rows) if r is not None]


def remove(engine: Engine, state_dir: Path, upload_id: str) -> None:
    with engine.begin() as conn:
        conn.execute(delete(uploads).where(uploads.c.id == upload_id))
    upload_path(state_dir, upload_id).unlink(missing_ok=True)


def restore_files(engine: Engine, state_dir: Path) -> int:
    """Write the file of every upload that has none (one at a time); how many were written."""
    with engine.connect() as conn:
        ids = conn.execute(select(uploads.c.id)).scalars().all()
    written = 0
    for upload_id in ids:
        if upload_path(state_dir, upload_id).exists():
            continue
        with engine.connect() as conn:
            data = conn.execute(select(uploads.c.data).where(uploads.c.id == upload_id)).scalar()
        if data is not None:
            write_file(state_dir, upload_id, bytes(data))
            written += 1
    return written
