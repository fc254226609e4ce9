"""Sweeps in the database: create one with its variants' run ids, read, list, mark stopped.

Blocking calls on the engine (the API runs them in its thread pool, through `Store.read`),
written at once like designs: whoever starts a sweep reads it back next. A bad row is skipped
(listing) or absent (by id), and logged.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import Engine, func, insert, select, update

from ..runs.messages import dumps
from .tables import sweep_runs, sweeps

log = logging.getLogger("layerlab.store")


class StoredVariant(BaseModel):
    index: int
    run_id: str
    values: dict[str, Any]


class StoredSweep(BaseModel):
    id: str
    owner: str
    name: str
    experiment: dict[str, Any]  # the base design, normalised
    axes: list[dict[str, Any]]
    created: float
    stopped: float | None
    variants: list[StoredVariant]


def new_id() -> str:
    return secrets.token_hex(5)


def create(
    engine: Engine,
    sweep_id: str,
    owner: str,
    name: str,
    experiment: dict,
    axes: list[dict],
    variants: list[tuple[str, dict]],  # (run id, values) per variant, in order
) -> StoredSweep:
    now = time.time()
    with engine.begin() as conn:
        conn.execute(
            insert(sweeps),
            {
                "id": sweep_id,
                "owner": owner,
                "name": name,
                "spec_json": dumps({"experiment": experiment, "axes": axes}),
                "created": now,
                "stopped": None,
            },
        )
        conn.execute(
            insert(sweep_runs),
            [
                {"sweep_id": sweep_id, "position": i, "run_id": r, "values_json": dumps(v)}
                for i, (r, v) in enumerate(variants)
            ],
        )
    return StoredSweep(
        id=sweep_id,
        owner=owner,
        name=name,
        experiment=experiment,
        axes=axes,
        created=now,
        stopped=None,
        variants=[StoredVariant(index=i, run_id=r, values=v) for i, (r, v) in enumerate(variants)],
    )


def _sweep(row: Any, variant_rows: list[Any]) -> StoredSweep | None:
    m = row._mapping
    try:
        spec = json.loads(m["spec_json"])
        return StoredSweep(
            id=m["id"],
            owner=m["owner"],
            name=m["name"],
            experiment=spec["experiment"],
            axes=spec["axes"],
            created=m["created"],
            stopped=m["stopped"],
            variants=[
                StoredVariant(
                    index=v._mapping["position"],
                    run_id=v._mapping["run_id"],
                    values=json.loads(v._mapping["values_json"]),
                )
                for v in variant_rows
            ],
        )
    except (ValidationError, ValueError, TypeError, KeyError) as err:
        log.warning("skipping the unreadable sweep %r: %s", m.get("id"), str(err)[:200])
        return None


def _variants(conn: Any, ids: list[str]) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {i: [] for i in ids}
    if ids:
        rows = conn.execute(
            select(sweep_runs)
            .where(sweep_runs.c.sweep_id.in_(ids))
            .order_by(sweep_runs.c.sweep_id, sweep_runs.c.position)
        ).all()
        for r in rows:
            out[r._mapping["sweep_id"]].append(r)
    return out


def get(engine: Engine, sweep_id: str) -> StoredSweep | None:
    with engine.connect() as conn:
        row = conn.execute(select(sweeps).where(sweeps.c.id == sweep_id)).first()
        if row is None:
            return None
        return _sweep(row, _variants(conn, [sweep_id])[sweep_id])


def list_owned(engine: Engine, owner: str, limit: int, offset: int) -> tuple[list, int]:
    """The owner's sweeps, newest first, and how many there are."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(sweeps)
            .where(sweeps.c.owner == owner)
            .order_by(sweeps.c.created.desc(), sweeps.c.id)
            .limit(limit)
            .offset(offset)
        ).all()
        total = conn.execute(select(func.count()).where(sweeps.c.owner == owner)).scalar_one()
        variants = _variants(conn, [r._mapping["id"] for r in rows])
    found = [_sweep(r, variants[r._mapping["id"]]) for r in rows]
    kept = [s for s in found if s is not None]
    return kept, total - (len(found) - len(kept))


def mark_stopped(engine: Engine, sweep_id: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(sweeps)
            .where(sweeps.c.id == sweep_id, sweeps.c.stopped.is_(None))
            .values(stopped=time.time())
        )
