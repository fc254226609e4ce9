"""Sharing an upload: its owner makes a share token, another owner accepts it and may then
read and train on the upload, until the owner revokes the share (every acceptance with it).

The token is shown once, when made (the database keeps its SHA-256); a new share replaces
the old token (those who accepted keep their access until a revoke). Blocking calls on the
engine, made through `Store.read`/`Store.write`.
"""

from __future__ import annotations

import secrets
import time

from sqlalchemy import Engine, delete, insert, select

from ..core.tokens import token_hash
from ..store.owned import NotFound
from .tables import upload_grants, upload_shares


def share(engine: Engine, upload_id: str) -> str:
    """A new share token for the upload (the old one, if any, stops working)."""
    token = secrets.token_urlsafe(24)
    with engine.begin() as conn:
        conn.execute(delete(upload_shares).where(upload_shares.c.upload_id == upload_id))
        conn.execute(
            insert(upload_shares).values(
                upload_id=upload_id, token_hash=token_hash(token), created=time.time()
            )
        )
    return token


def revoke(engine: Engine, upload_id: str) -> int:
    """End the share: its token and every owner who accepted it; how many owners lost it."""
    with engine.begin() as conn:
        conn.execute(delete(upload_shares).where(upload_shares.c.upload_id == upload_id))
        return conn.execute(
            delete(upload_grants).where(upload_grants.c.upload_id == upload_id)
        ).rowcount


def accept(engine: Engine, token: str, owner: str) -> str:
    """`owner` (a hash) may now use the upload this token shares: its id (NotFound)."""
    with engine.begin() as conn:
        upload_id = conn.execute(
            select(upload_shares.c.upload_id).where(upload_shares.c.token_hash == token_hash(token))
        ).scalar_one_or_none()
        if upload_id is None:
            raise NotFound("upload share", "<token>")
        known = conn.execute(
            select(upload_grants.c.owner).where(
                upload_grants.c.upload_id == upload_id, upload_grants.c.owner == owner
            )
        ).first()
        if known is None:
            conn.execute(
                insert(upload_grants).values(upload_id=upload_id, owner=owner, created=time.time())
            )
    return upload_id


def granted(engine: Engine, upload_id: str, owner: str | None) -> bool:
    """Whether `owner` (a hash) accepted a share of the upload that still holds."""
    if owner is None:
        return False
    with engine.connect() as conn:
        row = conn.execute(
            select(upload_grants.c.owner).where(
                upload_grants.c.upload_id == upload_id, upload_grants.c.owner == owner
            )
        ).first()
    return row is not None


def shared_with(engine: Engine, upload_id: str) -> int:
    """How many owners hold the upload's share."""
    with engine.connect() as conn:
        return len(
            conn.execute(
                select(upload_grants.c.owner).where(upload_grants.c.upload_id == upload_id)
            ).all()
        )
