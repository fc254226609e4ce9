"""Rows validated on read: a row that does not parse is skipped and logged, never fatal.

The database is written by this server only, but a file can be edited by hand, restored from
an older version or damaged; a bad row must cost that row, not a listing or the server.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from pydantic import BaseModel, Field, ValidationError, field_validator

from ..core.statuses import STATUSES
from ..core.tokens import same_hash

log = logging.getLogger("layerlab.store")


class StoredRun(BaseModel):
    """A run as the database holds it (ended ones, and active ones as last flushed)."""

    id: str = Field(min_length=1, max_length=32)
    status: str
    message: str | None = None
    client: str = ""
    owner: str | None = None
    token_hash: str | None = None
    design_id: str | None = None
    dataset: str | None = None
    experiment: dict[str, Any]
    check: dict[str, Any]
    epoch: int = Field(ge=0)
    epochs: int | None = None
    total_params: int | None = None
    last: dict[str, Any] | None = None
    created: float
    ended: float | None = None

    @field_validator("status")
    @classmethod
    def _known_status(cls, value: str) -> str:
        if value not in STATUSES:
            raise ValueError(f"unknown status {value!r}")
        return value

    @property
    def active(self) -> bool:
        return False  # a stored run is served from the database once it is not in memory

    def owns(self, token: str | None) -> bool:
        """Whether `token` is this run's owner token (by its stored hash)."""
        return same_hash(self.token_hash, token)

    def summary(self) -> dict:
        return {
            "id": self.id,
            "status": self.status,
            "message": self.message,
            "epoch": self.epoch,
            "epochs": self.epochs,
            "dataset": self.dataset,
            "total_params": self.total_params,
            "created": self.created,
            "ended": self.ended,
            "last": self.last,
            "viewers": 0,
            "design": self.design_id,
        }


def run_from_row(row: Any) -> StoredRun | None:
    """A `runs` row as a StoredRun, or None (logged) when it does not validate."""
    m = row._mapping
    try:
        return StoredRun(
            id=m["id"],
            status=m["status"],
            message=m["message"],
            client=m["client"] or "",
            owner=m["owner"],
            token_hash=m["token_hash"],
            design_id=m["design_id"],
            dataset=m["dataset"],
            experiment=_json(m["experiment_json"]),
            check=_json(m["check_json"]),
            epoch=m["epoch"],
            epochs=m["epochs"],
            total_params=m["total_params"],
            last=_json(m["last_json"]) if m["last_json"] is not None else None,
            created=m["created"],
            ended=m["ended"],
        )
    except (ValidationError, ValueError, TypeError, KeyError) as err:
        log.warning("skipping the unreadable stored run %r: %s", m.get("id"), _short(err))
        return None


def record_text(run_id: str, text: Any) -> str | None:
    """An epoch record's JSON text when it is an object with an integer epoch, else None."""
    try:
        record = json.loads(text)
        if isinstance(record, dict) and isinstance(record.get("epoch"), int):
            return text
        raise ValueError("not an epoch record")
    except (ValueError, TypeError) as err:
        log.warning("skipping an unreadable epoch record of run %s: %s", run_id, _short(err))
        return None


def layers_text(run_id: str, text: Any) -> str | None:
    """A per-layer summary's JSON text (`{"epoch", "layers": [...]}`), else None."""
    try:
        doc = json.loads(text)
        if isinstance(doc, dict) and isinstance(doc.get("layers"), list):
            return text
        raise ValueError("not a per-layer summary")
    except (ValueError, TypeError) as err:
        log.warning("skipping an unreadable layer summary of run %s: %s", run_id, _short(err))
        return None


def _json(text: Any) -> Any:
    if not isinstance(text, str):
        raise ValueError("not JSON text")
    return json.loads(text)


def _short(err: Exception) -> str:
    return " ".join(str(err).split())[:200]
