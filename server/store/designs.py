"""Saved designs: a name, a note and an experiment, owned by the hash of an owner token.

Blocking calls on the engine (the API runs them in its thread pool); written at once, not
through the write-behind thread: whoever saves a design reads it back next. Rows are
validated on read like runs: a bad one is skipped (listing) or absent (by id), and logged.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import Engine, delete, func, insert, select, update

from ..core.jsontext import dumps
from . import tables

log = logging.getLogger("layerlab.store")


class Design(BaseModel):
    id: str
    owner: str
    name: str
    note: str
    experiment: dict[str, Any]
    created: float
    updated: float


def _design(row: Any) -> Design | None:
    m = row._mapping
    try:
        return Design(
            **{k: m[k] for k in ("id", "owner", "name", "note", "created", "updated")},
            experiment=json.loads(m["experiment_json"]),
        )
    except (ValidationError, ValueError, TypeError) as err:
        log.warning("skipping the unreadable design %r: %s", m.get("id"), str(err)[:200])
        return None


def create(engine: Engine, owner: str, name: str, note: str, experiment: dict) -> Design:
    now = time.time()
    row = {
        "id": secrets.token_hex(6),
        "owner": owner,
        "name": name,
        "note": note,
        "experiment_json": dumps(experiment),
        "created": now,
        "updated": now,
    }
    with engine.begin() as conn:
        conn.execute(insert(tables.designs), row)
    return Design(**{k: v for k, v in row.items() if k != "experiment_json"}, experiment=experiment)


def get(engine: Engine, design_id: str) -> Design | None:
    with engine.connect() as conn:
        row = conn.execute(select(tables.designs).where(tables.designs.c.id == design_id)).first()
    return _design(row) if row is not None else None


def list_owned(engine: Engine, owner: str, limit: int, offset: int) -> tuple[list[Design], int]:
    """The owner's designs, the most recently changed first, and how many there are."""
    d = tables.designs.c
    with engine.connect() as conn:
        rows = conn.execute(
            select(tables.designs)
            .where(d.owner == owner)
            .order_by(d.updated.desc(), d.id)
            .limit(limit)
            .offset(offset)
        ).all()
        total = conn.execute(select(func.count()).where(d.owner == owner)).scalar_one()
    designs = [x for x in map(_design, rows) if x is not None]
    return designs, total - (len(rows) - len(designs))


def change(engine: Engine, design_id: str, values: dict) -> Design | None:
    """Set some of name, note, experiment; the design as it is now."""
    patch = {k: v for k, v in values.items() if k in ("name", "note")}
    if "experiment" in values:
        patch["experiment_json"] = dumps(values["experiment"])
    patch["updated"] = time.time()
    with engine.begin() as conn:
        conn.execute(update(tables.designs).where(tables.designs.c.id == design_id).values(**patch))
    return get(engine, design_id)


def remove(engine: Engine, design_id: str) -> None:
    with engine.begin() as conn:
        conn.execute(delete(tables.designs).where(tables.designs.c.id == design_id))
