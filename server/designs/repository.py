"""Saved designs in the database, on the shared owned-resource repository.

Written at once, not through the write-behind thread: whoever saves a design reads it back
next. Blocking calls on the engine (the API runs them in its thread pool, through the store).
"""

from __future__ import annotations

import json
import time
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Engine, insert, update

from ..core.ids import new_id
from ..core.jsonsafe import dumps
from ..store.owned import OwnedRepository
from .tables import designs


class Design(BaseModel):
    id: str
    owner: str
    name: str
    note: str
    experiment: dict[str, Any]
    created: float
    updated: float


def _design(row: Any) -> Design:
    m = row._mapping
    return Design(
        **{k: m[k] for k in ("id", "owner", "name", "note", "created", "updated")},
        experiment=json.loads(m["experiment_json"]),
    )


class DesignRepository(OwnedRepository[Design]):
    def __init__(self) -> None:
        super().__init__(designs, "design", _design, order=(designs.c.updated.desc(),))

    def create(self, engine: Engine, owner: str, name: str, note: str, experiment: dict) -> Design:
        now = time.time()
        row = {
            "id": new_id(),
            "owner": owner,
            "name": name,
            "note": note,
            "experiment_json": dumps(experiment),
            "created": now,
            "updated": now,
        }
        with engine.begin() as conn:
            conn.execute(insert(designs), row)
        fields = {k: v for k, v in row.items() if k != "experiment_json"}
        return Design(**fields, experiment=experiment)

    def change(self, engine: Engine, design_id: str, values: dict) -> Design:
        """Set some of name, note, experiment; the design as it is now (NotFound)."""
        patch = {k: v for k, v in values.items() if k in ("name", "note")}
        if "experiment" in values:
            patch["experiment_json"] = dumps(values["experiment"])
        patch["updated"] = time.time()
        with engine.begin() as conn:
            conn.execute(update(designs).where(designs.c.id == design_id).values(**patch))
        return self.find(engine, design_id)


DESIGNS = DesignRepository()
