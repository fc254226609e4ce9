"""At startup: the file of every upload whose state folder lost it, written from the database."""

from __future__ import annotations

import logging

from starlette.concurrency import run_in_threadpool

from ..config import Settings
from ..store.store import Store, StoreUnavailable
from .repository import UPLOADS

log = logging.getLogger("layerlab.uploads")


async def restore_upload_files(store: Store, settings: Settings) -> None:
    """Workers read uploads from `<state_dir>/uploads/`; the database is their record."""
    try:
        written = await run_in_threadpool(store.read, UPLOADS.restore_files, settings.state_dir)
    except (StoreUnavailable, OSError) as err:
        log.warning("uploaded datasets' files were not restored: %s", err)
        return
    if written:
        log.info("restored %d uploaded datasets' files", written)
