"""Sharing an upload: its owner makes (or replaces) a share token and revokes it; another owner
accepts a token and may then read the upload and train on it (server/uploads/shares.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body
from pydantic import BaseModel, Field

from ..web.deps import StoreDep
from ..web.owner import Owner
from . import shares
from .repository import UPLOADS

router = APIRouter(prefix="/api/datasets/uploads", tags=["uploads"])

OWNER_ONLY = {403: {"description": "not yours"}, 404: {"description": "no such upload"}}


class ShareOut(BaseModel):
    """A share token, shown once: whoever accepts it reads and trains on the upload."""

    upload_id: str
    token: str = Field(description="give it to those you share with; a new share replaces it")


class Accepted(BaseModel):
    upload_id: str = Field(description="the upload you may now read and train on")


class Revoked(BaseModel):
    upload_id: str
    revoked: int = Field(description="owners who held the share and no longer do")


@router.post("/{upload_id}/share", status_code=201, responses=OWNER_ONLY)
def create_share(upload_id: str, owner: Owner, store: StoreDep) -> ShareOut:
    """Share your upload: a new token (the old one, if any, stops working for newcomers)."""
    store.read(UPLOADS.owned, upload_id, owner.hash, "share")
    return ShareOut(upload_id=upload_id, token=store.write(shares.share, upload_id))


@router.delete("/{upload_id}/share", responses=OWNER_ONLY)
def delete_share(upload_id: str, owner: Owner, store: StoreDep) -> Revoked:
    """Revoke your upload's share: its token, and everyone who accepted it."""
    store.read(UPLOADS.owned, upload_id, owner.hash, "revoke the share of")
    return Revoked(upload_id=upload_id, revoked=store.write(shares.revoke, upload_id))


@router.post("/shares/accept", responses={404: {"description": "no share with this token"}})
def accept_share(
    owner: Owner,
    store: StoreDep,
    token: Annotated[str, Body(embed=True, min_length=8, max_length=200)],
) -> Accepted:
    """Accept a share token: the upload it shares is then yours to read and train on."""
    return Accepted(upload_id=store.write(shares.accept, token, owner.hash))
