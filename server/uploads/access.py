"""Who may use and read an upload: its owner, and those it shared it with (`shares.py`).

An upload's rows are its owner's: a public run trained on it shows the upload's id, and that
id alone must not let anyone train on the rows (and read them back through `step_batch`
traces or sample predictions) or read its preview. `uses` names the uploads an experiment
trains on; `check_use` raises `NotOwner` (403) unless the request's owner token owns every
one; `create_app` hands it to the run manager (`RunManager.dataset_guard`), which runs and
sweeps call before they create anything.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..core.tokens import same_token
from ..store.owned import NotOwner
from ..store.store import Store
from . import shares
from .repository import UPLOADS


def may_use(store: Store, row_owner: str, upload_id: str, owner: str | None) -> bool:
    """Whether `owner` (a hash) owns the upload or holds its share."""
    if owner is None:
        return False
    return same_token(row_owner, owner) or store.read(shares.granted, upload_id, owner)


def uses(experiment: dict[str, Any]) -> set[str]:
    """The ids of the uploads `experiment` trains on (none or one today)."""
    dataset = experiment.get("dataset") if isinstance(experiment, dict) else None
    if isinstance(dataset, dict) and dataset.get("name") == "upload":
        upload_id = dataset.get("id")
        if isinstance(upload_id, str):
            return {upload_id}
    return set()


def check_use(
    store: Store, state_dir: Path, experiments: Iterable[dict[str, Any]], owner: str | None
) -> None:
    """NotOwner (403) unless `owner` (a hash, or None without X-Owner-Token) owns every upload
    the experiments train on, or holds its share. An unknown id is left to the experiment's check (a 422 at
    `dataset.id`). The upload's file, which workers read, is written again from the database
    when it is missing or damaged (not its stored size)."""
    ids: set[str] = set()
    for experiment in experiments:
        ids |= uses(experiment)
    for upload_id in sorted(ids):
        row = store.read(UPLOADS.get, upload_id)
        if row is None:
            continue
        if not may_use(store, row.owner, upload_id, owner):
            raise NotOwner("upload", "train on")
        store.write(UPLOADS.repair_file, state_dir, upload_id, row.bytes)
