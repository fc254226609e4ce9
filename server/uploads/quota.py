"""Upload quotas: stored bytes per owner token, per address and in all (a fresh owner token
does not reset them: the address still counts), plus the number of uploads per owner.

`check` runs before the file is read (already full) and again, under a lock, with the new
upload's size just before it is stored, so two uploads at once cannot both slip under a limit.
A refusal is a 429 whose message names the `LAYERLAB_*` setting.
"""

from __future__ import annotations

import threading

from fastapi import HTTPException

from ..config import Settings
from ..store.store import Store
from .repository import UPLOADS

STORING = threading.Lock()  # check-then-insert, one upload at a time per process


def _mb(n: int) -> str:
    return f"{n / 2**20:,.1f} MB"


def check(store: Store, settings: Settings, owner: str, client: str, adding: int = 0) -> None:
    """429 unless `adding` more stored bytes fit every quota."""
    if store.read(UPLOADS.count, owner) >= settings.upload_max_per_owner:
        raise HTTPException(
            429,
            f"you keep {settings.upload_max_per_owner} uploads already "
            "(LAYERLAB_UPLOAD_MAX_PER_OWNER); delete one first",
        )
    mine, address, everyone = store.read(UPLOADS.stored_bytes, owner, client)
    for used, limit, who, name in (
        (mine, settings.upload_quota_owner_bytes, "your uploads", "OWNER"),
        (address, settings.upload_quota_client_bytes, "uploads from your address", "CLIENT"),
        (everyone, settings.upload_quota_total_bytes, "this server's uploads", "TOTAL"),
    ):
        if used + adding > limit or (adding == 0 and used >= limit):
            raise HTTPException(
                429,
                f"{who} keep {_mb(used)} already; with this one ({_mb(adding)}) that is over "
                f"{_mb(limit)} (LAYERLAB_UPLOAD_QUOTA_{name}_BYTES): delete some first",
            )
